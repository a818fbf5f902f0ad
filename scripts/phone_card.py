"""Take docs/img/phone-card.png: the inbox page showing the demo's messages, as a phone shows them.

Run `make demo` first (it keeps its messages in .demo/inbox.jsonl), then `.venv/bin/python scripts/phone_card.py`.
The Chinese picture: `LANG=zh_CN.UTF-8 make demo DEMO_DIR=/tmp/zh`, then `... scripts/phone_card.py zh /tmp/zh`.
Needs the playwright package and a chromium at /usr/bin/chromium (`apt-get install -y chromium fonts-noto-cjk`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from wxnotify_magic.inbox import Inbox

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "img" / "phone-card.png"


def main(lang: str = "en", folder: str = str(ROOT / ".demo")) -> int:
    with Inbox(store=Path(folder) / "inbox.jsonl", lang=lang) as inbox, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page(viewport={"width": 390, "height": 720}, device_scale_factor=1.5)
        page.goto(inbox.url + "/")
        page.wait_for_timeout(500)
        out = OUT if lang == "en" else OUT.with_name(f"phone-card.{lang}.png")
        page.screenshot(path=str(out))
        browser.close()
    print(out, out.stat().st_size // 1024, "KB")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
