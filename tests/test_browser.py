"""Smoke test in a real browser: JupyterLab on loopback, Debian's Chromium driven by playwright.

Opens notebooks/panel.ipynb, runs its cell, types a (fake) WeCom key, clicks Save and Send test, and checks
the local inbox, the settings file and the emptied password box. See docs/testing-recipes.md section 5.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import shutil
import socket
import stat
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from conftest import WECOM_KEY

from wxnotify_magic.inbox import Inbox

CHROMIUM = Path("/usr/bin/chromium")
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
# The kernel is really there: a kernel object, connected and idle, and the session context ready (gotcha G5).
KERNEL_READY = """() => { const app = window.jupyterapp; const w = app && app.shell.currentWidget;
  const ctx = w && w.sessionContext; const k = ctx && ctx.session && ctx.session.kernel;
  return !!k && ctx.isReady && k.connectionStatus === 'connected' && k.status === 'idle'; }"""

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")


@dataclass
class Lab:
    url: str
    home: Path  # WXNOTIFY_HOME of the kernels
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, inbox: Inbox) -> Iterator[Lab]:
    """A throwaway, token-less JupyterLab whose kernels send to the inbox and keep settings in a temp folder."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(NOTEBOOKS, root / "notebooks")
    user_settings = root / "jupyter" / "user-settings"
    notification = user_settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))  # no news toast (G4)
    page_config = root / "jupyter" / "config" / "labconfig" / "page_config.json"
    page_config.parent.mkdir(parents=True)
    page_config.write_text(json.dumps({"buildCheck": False, "buildAvailable": False}))  # no slow build check
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(root / "jupyter" / "config"),
           "JUPYTER_DATA_DIR": str(root / "jupyter" / "data"), "JUPYTER_RUNTIME_DIR": str(root / "jupyter" / "run"),
           "IPYTHONDIR": str(root / "ipython"), "WXNOTIFY_HOME": str(root / "wxhome"), "WXNOTIFY_API_BASE": inbox.url}
    env.pop("WXNOTIFY_TO", None)
    port = _free_port()
    log = root / "lab.log"
    cmd = [sys.executable, "-m", "jupyterlab", f"--port={port}", "--no-browser", "--ip=127.0.0.1", "--allow-root",
           "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root / 'notebooks'}",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly", "--expose-app-in-browser",
           f"--LabApp.user_settings_dir={user_settings}", f"--LabApp.workspaces_dir={root / 'jupyter' / 'ws'}"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
            try:
                if requests.get(f"{url}/api/status", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within 60 s:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield Lab(url, root / "wxhome", log)
    finally:
        proc.terminate()  # the server shuts its kernels down too (G9)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_panel_in_jupyterlab(lab: Lab, inbox: Inbox, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    inbox.clear()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{lab.url}/lab/tree/panel.ipynb?reset", wait_until="domcontentloaded")  # ?reset: G6
            notebook = page.locator(".jp-NotebookPanel:visible")
            notebook.locator(".jp-Cell .cm-content").first.wait_for(timeout=60_000)
            page.wait_for_function(KERNEL_READY, timeout=60_000, polling=100)
            notebook.locator(".jp-Cell .cm-content").first.click()
            page.keyboard.press("Shift+Enter")
            expect(notebook.locator(".jp-Cell").first.locator(".jp-InputPrompt")).to_have_text(
                re.compile(r"\[(\d+|\*)\]"))  # the run was not dropped (G5)

            panel = notebook.locator(".jp-OutputArea-output .widget-vbox").first
            panel.wait_for(timeout=30_000)
            assert page.locator("text=Error displaying widget").count() == 0
            panel.get_by_label("Channel", exact=True).select_option(label="WeCom group bot")
            key = panel.get_by_label("Webhook key", exact=True)
            key.fill(WECOM_KEY)
            status = panel.locator("div.widget-label", has_text=re.compile(r"^(not saved yet|saved to |wxnotify: )"))
            expect(status).to_have_text("not saved yet")  # the kernel has the value and found it valid
            panel.get_by_role("button", name=re.compile(r"Save$")).click()  # the name starts with the icon glyph
            expect(status).to_have_text(re.compile(r"^saved to .*settings\.json; applied to this session$"))
            expect(key).to_have_value("")
            expect(key).to_have_attribute("placeholder", "…6789 (saved)")
            expect(panel.get_by_text("me: wecombot://…6789 · default")).to_be_visible()

            panel.get_by_role("button", name=re.compile(r"Send test message$")).click()
            expect(status).to_have_text(re.compile(r"^wxnotify: sent via WeCom group bot"), timeout=15_000)
            [msg] = inbox.wait_for(1)
            assert msg["service"] == "wecombot" and msg["query"] == {"key": WECOM_KEY}
            assert "wxnotify test" in msg["content"]
            page.screenshot(path=str(tmp_path / "panel.png"), full_page=True)
        finally:
            browser.close()
    path = lab.home / "settings.json"
    assert json.loads(path.read_text())["destinations"] == {"me": f"wecombot://{WECOM_KEY}"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (tmp_path / "panel.png").stat().st_size > 10_000


def test_inbox_page_lists_messages_like_a_phone(inbox: Inbox, home: Path, tmp_path: Path) -> None:
    """`wxnotify inbox` page: a sent message is there, newest first, and a new one appears by itself."""
    from playwright.sync_api import expect, sync_playwright

    from wxnotify_magic.api import send

    assert send("first <b>not bold</b>", title="page check", to=f"wecombot://{WECOM_KEY}").ok
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 420, "height": 800})
            page.goto(f"{inbox.url}/", wait_until="domcontentloaded")
            expect(page.get_by_text("page check").first).to_be_visible(timeout=10_000)
            expect(page.get_by_text("first <b>not bold</b>").first).to_be_visible()  # shown as text, not HTML
            assert send("second", title="arrives live", to=f"wecombot://{WECOM_KEY}").ok
            expect(page.get_by_text("arrives live").first).to_be_visible(timeout=10_000)  # no reload
            page.screenshot(path=str(tmp_path / "inbox.png"))
            text = page.locator("body").inner_text()
            assert text.index("arrives live") < text.index("page check")  # newest first
        finally:
            browser.close()


# --- The inbox page: each service's message as its phone shows it ----------------------------------------

ARTIFACTS = Path(__file__).resolve().parents[1] / ".demo" / "artifacts"
PHONE = {"width": 390, "height": 844}
PP_TOKEN = "0123456789abcdef0123456789ABCDEF"
TRACEBACK = "Traceback (most recent call last):\n" + "".join(
    f'  File "/work/train.py", line {10 + i}, in epoch\n    loss = step(model, batch)\n' for i in range(12)) + \
    '  File "/work/model.py", line 88, in forward\n    return x / scale\nZeroDivisionError: division by zero'
OUTPUT = "\n".join(f"epoch {i:2d}  loss {1 / (i + 1):.4f}  acc {0.5 + i / 60:.3f}" for i in range(24))
FAILURE_MD = f"""### ❌ train resnet50 failed · 2h 03m 10s

**ZeroDivisionError: division by zero**

- **Status**: failed
- **Duration**: 2h 03m 10s
- **Host**: gpu-01 · **Cell**: [12]

**Traceback**

```python
{TRACEBACK}
```

**Last output**

```
{OUTPUT}
```
"""
HOSTILE = '<script>window.__pwned = 1</script><img src="x" onerror="window.__pwned = 2">'
FAILURE_HTML = (f"<h3>❌ train resnet50 failed · 2h 03m 10s</h3><p><b>ZeroDivisionError: division by zero</b></p>"
                f"<p><b>Duration</b>: 2h 03m 10s<br><b>Host</b>: gpu-01</p>{HOSTILE}"
                f"<p><b>Traceback</b></p><pre>{html.escape(TRACEBACK)}</pre>"
                f"<p><b>Last output</b></p><pre>{html.escape(OUTPUT)}</pre>")
FAILURE_TEXT = f"❌ train resnet50 failed in 2h 03m 10s\nStatus: failed\nHost: gpu-01\n\n{TRACEBACK}"
RAW_MARKUP = re.compile(r"###|\*\*|```|</?(?:b|p|h3|pre|script|img|font|strong)\b[^>]*>")


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes((7, 193, 96)) * 40 for _ in range(20))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 40, 20, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _post_each_service(url: str) -> int:
    """Post a realistic message to every service path, as its provider would send it; return how many."""
    wx = {"appToken": "AT_test_browser", "uids": ["UID_test_browser"], "summary": "❌ train resnet50 failed"}
    raw = _png()
    wecom = url + "/cgi-bin/webhook/send?key=test-browser-key"
    posts = [
        (url + "/api/send/message", {"json": {**wx, "content": FAILURE_MD + HOSTILE, "contentType": 3}}),
        (url + "/api/send/message", {"json": {**wx, "content": FAILURE_HTML, "contentType": 2}}),
        (url + "/api/send/message", {"json": {**wx, "content": FAILURE_TEXT, "contentType": 1}}),
        (url + "/api/send/message/simple-push", {"json": {"spt": "SPT_test", "content": FAILURE_MD, "contentType": 3,
                                                          "summary": "❌ failed"}}),
        (url + "/send", {"json": {"token": PP_TOKEN, "title": "❌ failed", "content": FAILURE_HTML}}),
        (url + "/send", {"json": {"token": PP_TOKEN, "title": "❌ failed", "content": FAILURE_MD,
                                  "template": "markdown"}}),
        (url + "/SCTtestbrowser.send", {"data": {"title": "❌ train failed", "desp": FAILURE_MD}}),
        (url + "/send/sctp1tbrowser.send", {"json": {"title": "❌ train failed", "desp": FAILURE_MD}}),
        (wecom, {"json": {"msgtype": "markdown_v2", "markdown_v2": {"content": FAILURE_MD}}}),
        (wecom, {"json": {"msgtype": "markdown", "markdown": {
            "content": '### ❌ train failed\n<font color="warning">ZeroDivisionError</font>\n> **Host**: gpu-01'}}}),
        (wecom, {"json": {"msgtype": "text", "text": {"content": FAILURE_TEXT}}}),
        (wecom, {"json": {"msgtype": "image", "image": {"base64": base64.b64encode(raw).decode(),
                                                        "md5": hashlib.md5(raw).hexdigest()}}}),
    ]
    for target, kwargs in posts:
        answer = requests.post(target, timeout=5, **kwargs).json()
        assert answer.get("code", answer.get("errcode")) in (0, 200, 1000), (target, answer)
    return len(posts)


def _luminance(css_color: str) -> float:
    red, green, blue = (int(v) for v in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def test_inbox_page_shows_each_service_as_its_phone_does(inbox: Inbox) -> None:
    """Markdown rendered, HTML sanitized and rendered, text as text, an image shown; no script runs."""
    from playwright.sync_api import expect, sync_playwright

    inbox.clear()
    count = _post_each_service(inbox.url)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport=PHONE, color_scheme="light")
            page.goto(f"{inbox.url}/", wait_until="load")
            cards = page.locator("article.card")
            expect(cards).to_have_count(count)
            for i in range(count):
                shown = cards.nth(i).inner_text()
                assert not RAW_MARKUP.search(shown), (RAW_MARKUP.search(shown), shown[:300])
            assert page.evaluate("window.__pwned") is None  # neither the <script> nor onerror ran
            expect(page.locator(".body strong", has_text="ZeroDivisionError: division by zero")).to_have_count(6)
            expect(page.locator(".body b", has_text="ZeroDivisionError: division by zero")).to_have_count(2)
            expect(page.locator(".body font[color=warning]")).to_have_css("color", "rgb(250, 157, 59)")
            picture = page.locator("img.picture")
            expect(picture).to_be_visible()
            assert picture.evaluate("img => img.complete && img.naturalWidth") == 40
            mono = page.locator(".body pre").first.evaluate("pre => getComputedStyle(pre).fontFamily")
            assert "monospace" in mono
            assert _luminance(cards.first.evaluate("c => getComputedStyle(c).backgroundColor")) > 0.9

            dark = browser.new_page(viewport=PHONE, color_scheme="dark")
            dark.goto(f"{inbox.url}/", wait_until="load")
            card = dark.locator("article.card").first
            assert _luminance(card.evaluate("c => getComputedStyle(c).backgroundColor")) < 0.2
            assert _luminance(card.locator(".body").evaluate("b => getComputedStyle(b).color")) > 0.7
            assert _luminance(dark.locator("body").evaluate("b => getComputedStyle(b).backgroundColor")) < 0.1
        finally:
            browser.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_inbox_failure_card_on_a_phone(inbox: Inbox, scheme: str) -> None:
    """The exception line shows without scrolling; the whole traceback is one tap away; screenshot kept."""
    from playwright.sync_api import expect, sync_playwright

    inbox.clear()
    lang, inbox.lang = inbox.lang, "zh"
    try:
        wecom = inbox.url + "/cgi-bin/webhook/send?key=test-browser-key"
        requests.post(wecom, json={"msgtype": "markdown_v2", "markdown_v2": {"content": FAILURE_MD}}, timeout=5)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
            try:
                page = browser.new_page(viewport=PHONE, color_scheme=scheme)
                page.goto(f"{inbox.url}/", wait_until="load")
                card = page.locator("article.card")
                expect(card).to_have_count(1)
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / f"inbox-failure-card-{scheme}.png"))
                exception = card.locator("pre", has_text="ZeroDivisionError: division by zero")
                expect(exception).to_be_visible()
                box = exception.bounding_box()
                assert box is not None and box["y"] + box["height"] <= PHONE["height"], box  # no scrolling needed
                assert exception.evaluate("pre => pre.scrollHeight <= pre.clientHeight + 1")  # no inner scroll box
                first_frame = card.get_by_text('line 10, in epoch')
                expect(first_frame).to_be_hidden()
                card.locator("summary", has_text=re.compile(r"^展开前面 \d+ 行$")).first.click()  # tap to expand
                expect(first_frame).to_be_visible()
                expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
                expect(page.locator("#status")).to_have_text("1 条消息 · 实时更新")
            finally:
                browser.close()
    finally:
        inbox.lang = lang
    assert (ARTIFACTS / f"inbox-failure-card-{scheme}.png").stat().st_size > 10_000


# --- The settings panel's rough edges, in JupyterLab's light and dark themes ------------------------------

THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
EDGES_CELLS = ["%load_ext wxnotify_magic\n%wxnotify config",
               "%wxnotify status\nprint('a raw link for comparison: wecombot://…6789')"]
# The computed colour of the theme's error colour variable, resolved the way the browser resolves it.
ERROR_COLOR = """() => { const probe = document.createElement('span'); probe.style.color = 'var(--jp-error-color1)';
  document.body.appendChild(probe); const color = getComputedStyle(probe).color; probe.remove(); return color; }"""
CLIPPED = """panel => [...panel.querySelectorAll('.widget-label, .widget-html-content, label')]
  .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"""


def _open(page: object, lab: Lab, name: str, theme: str) -> object:
    """Open notebook ``name`` in a ready kernel, in ``theme``; return the visible notebook panel."""
    page.goto(f"{lab.url}/lab/tree/{name}?reset", wait_until="domcontentloaded")  # type: ignore[attr-defined]
    notebook = page.locator(".jp-NotebookPanel:visible")  # type: ignore[attr-defined]
    notebook.locator(".jp-Cell .cm-content").first.wait_for(timeout=60_000)
    page.wait_for_function(KERNEL_READY, timeout=60_000, polling=100)  # type: ignore[attr-defined]
    page.evaluate("t => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})",  # type: ignore
                  THEMES[theme])
    light = "true" if theme == "light" else "false"
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'")  # type: ignore[attr-defined]
    return notebook


def _run(page: object, notebook: object, index: int) -> object:
    from playwright.sync_api import expect

    cell = notebook.locator(".jp-Cell").nth(index)  # type: ignore[attr-defined]
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")  # type: ignore[attr-defined]
    expect(cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"), timeout=30_000)
    return cell


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_panel_edges_in_jupyterlab(lab: Lab, theme: str) -> None:
    """Problems under their field in the error colour, a visibly disabled Save, typed values kept across a
    channel switch, hints as links, a narrow window without cut labels, status destinations not linked."""
    from playwright.sync_api import expect, sync_playwright

    name = f"edges-{theme}.ipynb"
    nbformat_write(lab.home.parent / "notebooks" / name, EDGES_CELLS)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            notebook = _open(page, lab, name, theme)
            _run(page, notebook, 0)
            panel = notebook.locator(".wxnotify-panel").first
            panel.wait_for(timeout=30_000)
            assert page.locator("text=Error displaying widget").count() == 0
            panel.get_by_label("Channel", exact=True).select_option(label="WxPusher")
            token = panel.get_by_label("App token", exact=True)
            width = token.bounding_box()["width"]

            # a problem shows under its field, full width, in the theme's error colour; the box keeps its width
            token.fill("xyz")
            problem = panel.locator(".wxnotify-error", has_text="App token: this value does not look right")
            expect(problem).to_be_visible()
            box, line = token.bounding_box(), problem.bounding_box()
            assert line["y"] >= box["y"] + box["height"] - 1 and line["width"] >= 0.9 * box["width"]
            assert abs(token.bounding_box()["width"] - width) <= 1
            assert problem.evaluate("e => e.scrollWidth <= e.clientWidth + 1")  # nothing clipped
            assert problem.evaluate("e => getComputedStyle(e).color") == page.evaluate(ERROR_COLOR)

            # the disabled Save looks disabled, and the enabled one does not
            save = panel.get_by_role("button", name=re.compile(r"Save$"))
            expect(save).to_be_disabled()
            assert float(save.evaluate("b => getComputedStyle(b).opacity")) <= 0.5
            page.screenshot(path=str(ARTIFACTS / f"panel-problem-{theme}.png"), full_page=True)
            token.fill("AT_test_browser_token_0001")
            panel.get_by_label("UID", exact=True).fill("UID_test_browser_0001")
            expect(save).to_be_enabled()
            assert float(save.evaluate("b => getComputedStyle(b).opacity")) == 1.0

            # the hint is a link to where the token comes from
            link = panel.locator(".wxnotify-hint a[href='https://wxpusher.zjiecode.com/admin/']")
            expect(link).to_be_visible()
            assert link.get_attribute("target") == "_blank"

            # switching the channel keeps what was typed
            topic = panel.get_by_label("Topic id", exact=True)
            topic.fill("42")
            panel.get_by_label("Channel", exact=True).select_option(label="WeCom group bot")
            panel.get_by_label("Webhook key", exact=True).fill(WECOM_KEY)
            page.wait_for_timeout(500)  # a typed value reaches the kernel after its change event, not with it
            panel.get_by_label("Channel", exact=True).select_option(label="WxPusher")
            expect(topic).to_have_value("42")
            expect(token).to_have_attribute("placeholder", "AT_…0001 (typed, not saved)")
            panel.get_by_label("Channel", exact=True).select_option(label="WeCom group bot")
            expect(panel.get_by_label("Webhook key", exact=True)).to_have_attribute("placeholder",
                                                                                    "…6789 (typed, not saved)",
                                                                                    timeout=15_000)
            save.click()
            expect(panel.get_by_text("me: wecombot://…6789 · default")).to_be_visible()

            # a narrow window: no huge line spacing, nothing cut, nothing wider than the panel
            page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
            page.set_viewport_size({"width": 480, "height": 1000})
            hint = panel.locator(".wxnotify-hint .widget-html-content")
            expect(hint).to_be_visible()
            spacing = hint.evaluate("e => parseFloat(getComputedStyle(e).lineHeight) / "
                                    "parseFloat(getComputedStyle(e).fontSize)")
            page.screenshot(path=str(ARTIFACTS / f"panel-narrow-{theme}.png"), full_page=True)
            assert spacing < 1.8, spacing
            assert panel.evaluate(CLIPPED) == []
            right = panel.bounding_box()["x"] + panel.bounding_box()["width"]
            for field in ("Name", "Shortest run"):
                edge = panel.get_by_label(field, exact=True).bounding_box()
                assert edge["x"] + edge["width"] <= right + 1
            page.screenshot(path=str(ARTIFACTS / f"panel-narrow-{theme}.png"), full_page=True)
            page.set_viewport_size({"width": 1280, "height": 1000})

            # %wxnotify status: the redacted destinations are text, not links (a raw URL still is one)
            output = _run(page, notebook, 1).locator(".jp-OutputArea-output")
            expect(output.first).to_contain_text("wecombot:")
            expect(output.locator("a")).to_have_count(1)
            expect(output.locator("a")).to_have_text("wecombot://…6789")
            page.screenshot(path=str(ARTIFACTS / f"panel-status-{theme}.png"), full_page=True)

            # the language choice is saved, and the panel speaks it at once
            panel.get_by_label("Language", exact=True).select_option(label="中文")
            save.click()
            expect(panel.get_by_role("button", name=re.compile(r"保存$"))).to_be_visible()
            expect(panel.get_by_label("推送服务", exact=True)).to_be_visible()
            assert json.loads((lab.home / "settings.json").read_text())["lang"] == "zh"
            page.screenshot(path=str(ARTIFACTS / f"panel-zh-{theme}.png"), full_page=True)
            panel.get_by_label("语言", exact=True).select_option(label="自动（跟随系统）")  # back, for the other tests
            panel.get_by_role("button", name=re.compile(r"保存$")).click()
            expect(panel.get_by_role("button", name=re.compile(r"Save$"))).to_be_visible()
        finally:
            browser.close()
    for kind in ("problem", "narrow", "status", "zh"):
        assert (ARTIFACTS / f"panel-{kind}-{theme}.png").stat().st_size > 10_000


def nbformat_write(path: Path, cells: list[str]) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                                           "language": "python"}})
    nbformat.write(nb, path)
