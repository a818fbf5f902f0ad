"""`make demo` ends with a hint; run it as printed in a fresh shell and see the demo's messages on the page."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

pytestmark = pytest.mark.skipif(not VENV_PYTHON.exists() or not (ROOT / "Makefile").exists(),
                                reason="needs the checkout's .venv (make test-venv) and its Makefile")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_shell_env(home: Path) -> dict[str, str]:
    """What a new login shell has: no activated venv, no wxnotify variables."""
    return {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TERM": "dumb"}


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.read().decode()


def test_the_demos_closing_hint_serves_its_messages_rendered_in_a_fresh_shell(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "WXNOTIFY_DEMO_DIR": str(tmp_path / "demo"), "WXNOTIFY_DEMO_PORT": str(port),
           "IPYTHONDIR": str(tmp_path / "ipython")}
    for name in ("WXNOTIFY_TO", "WXNOTIFY_HOME", "WXNOTIFY_API_BASE"):
        env.pop(name, None)
    demo = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py")], env=env, capture_output=True,
                          text=True, timeout=300)
    assert demo.returncode == 0, demo.stderr
    assert "WARNING" not in demo.stderr, demo.stderr  # no kernel transport warning, no shutdown warning
    lines = demo.stdout.rstrip().splitlines()
    assert lines[-1] == f"and open http://127.0.0.1:{port}/ (Ctrl-C stops it)", demo.stdout
    hint = lines[-3].strip()
    assert hint.startswith("make -C "), demo.stdout
    kept = [json.loads(line) for line in (tmp_path / "demo" / "inbox.jsonl").read_text().splitlines()]
    titles = {m["title"] for m in kept if m["title"]}
    assert titles and all(m["accepted"] for m in kept)

    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    server = subprocess.Popen(["bash", "-c", hint], cwd=elsewhere, env=fresh_shell_env(elsewhere),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                status, html = get(f"http://127.0.0.1:{port}/")
                break
            except OSError:
                assert server.poll() is None, server.communicate()[0]
                assert time.monotonic() < deadline, "the inbox page did not come up"
                time.sleep(0.2)
        assert status == 200
        for title in titles:  # every message the demo sent, on the page
            assert title.replace("&", "&amp;") in html
        assert "doomed run failed" in html and "CUDA out of memory (simulated)" in html
        assert "<strong>" in html  # the WxPusher markdown is rendered, not shown raw
        assert "**Duration**" not in html and "wxnotify-magic[inbox]" not in html  # no raw markdown, no banner
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        out = server.communicate(timeout=20)[0]
    assert "Traceback" not in out, out


def post_pushplus(url: str, title: str) -> None:
    data = json.dumps({"token": "0123456789abcdef0123456789abcdef", "title": title, "content": "body"}).encode()
    req = urllib.request.Request(f"{url}/send", data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        assert json.loads(r.read())["code"] == 200


def test_an_inbox_with_a_store_keeps_its_messages_across_runs(tmp_path: Path) -> None:
    from wxnotify_magic.inbox import Inbox

    store = tmp_path / "kept" / "inbox.jsonl"
    with Inbox(store=store) as first:
        post_pushplus(first.url, "one")
        post_pushplus(first.url, "two")
    assert store.stat().st_mode & 0o777 == 0o600
    with Inbox(store=store) as second:
        assert [m["title"] for m in second.messages] == ["one", "two"]
        post_pushplus(second.url, "three")
        assert [m["id"] for m in second.messages] == [1, 2, 3]  # ids go on from the kept ones
        _, html = get(second.url + "/")
        assert "one" in html and "three" in html
        second.clear()
    with Inbox(store=store) as third:
        assert third.messages == []


def test_an_editable_install_prints_no_warning_box(tmp_path: Path) -> None:
    """`make demo` and `make test-venv` install the checkout editable: setuptools has nothing to warn about."""
    if not (ROOT / "pyproject.toml").exists():
        pytest.skip("not a checkout")
    build = "import sys; from setuptools import build_meta as b; print(b.build_editable(sys.argv[1]))"
    out = subprocess.run([sys.executable, "-W", "default", "-c", build, str(tmp_path)], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith(".whl")
    assert "Editable installation" not in out.stderr and "!!" not in out.stderr, out.stderr
