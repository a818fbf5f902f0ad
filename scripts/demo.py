"""`make demo`: run notebooks/quickstart.ipynb in a real kernel against the local inbox and show what arrived."""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from wxnotify_magic.inbox import Inbox
from wxnotify_magic.message import strip_ansi

ROOT = Path(__file__).resolve().parent.parent
NOTIFICATIONS = 4  # notifying cells in the quickstart notebook, each sent to 2 destinations
DEMO_TO = "wxpusher://AT_demo_fake_token_000/UID_demo_user wecombot://demo-fake-key"


def main() -> int:
    with Inbox() as inbox, tempfile.TemporaryDirectory(prefix="wxnotify-demo-") as home:
        os.environ.update(WXNOTIFY_API_BASE=inbox.url, WXNOTIFY_HOME=home, WXNOTIFY_TO=DEMO_TO,
                          IPYTHONDIR=os.path.join(home, "ipython"))
        print(f"local inbox (emulates WxPusher, PushPlus, ServerChan, WeCom) at {inbox.url}, "
              f"its message page at {inbox.url}/ while the demo runs")
        nb = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
        client = NotebookClient(nb, timeout=120, kernel_name="python3",
                                resources={"metadata": {"path": str(ROOT / "notebooks")}})
        try:
            client.execute()
            print("the notebook ran to the end (unexpected: its last %%wxnotify cell fails on purpose)")
        except CellExecutionError as exc:
            print(f"the notebook stopped at its deliberately failing cell, as Run All does: "
                  f"{strip_ansi(str(exc).strip().splitlines()[-1])}")
        settled(Path(home) / "outbox.sqlite3")
        messages = inbox.messages
        print(f"\nthe inbox received {len(messages)} messages for {NOTIFICATIONS} notifications to 2 destinations "
              f"(cells that ran back to back, as in Run All, go out merged into one message per destination):\n")
        for m in messages:
            print(f"── {m['service']}: {m['title'] or '(no title field)'}")
            print(textwrap.indent(m["content"][:600].rstrip(), "   "))
            print()
        print("the same messages look like a phone's list on the inbox page: run `wxnotify inbox` "
              "(or `python -m wxnotify_magic.inbox`) and open http://127.0.0.1:8787/")
        return 0


def settled(outbox: Path, timeout: float = 30.0) -> None:
    """Wait until the kernel's outbox has nothing pending or being sent (the kernel flushes it as it exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(outbox) as db:
                left = db.execute("SELECT COUNT(*) FROM outbox WHERE status IN ('pending','sending')").fetchone()[0]
        except sqlite3.Error:
            left = 1
        if not left:
            return
        time.sleep(0.1)


if __name__ == "__main__":
    sys.exit(main())
