"""Smoke test in a real browser: JupyterLab on loopback, Debian's Chromium driven by playwright.

Opens notebooks/panel.ipynb, runs its cell, types a (fake) WeCom key, clicks Save and Send test, and checks
the local inbox, the settings file and the emptied password box. See docs/testing-recipes.md section 5.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
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
            expect(status).to_have_text(re.compile(r"^wxnotify: sent to WeChat via WeCom group bot"), timeout=15_000)
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
