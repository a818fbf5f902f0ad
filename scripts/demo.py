"""`make demo`: run notebooks/quickstart.ipynb in a real kernel against the local inbox and show what arrived.

The inbox keeps the demo's messages in .demo/inbox.jsonl, so the page that `make inbox` serves afterwards shows
them. The kernel talks to this process over local sockets (IPC), not TCP.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from wxnotify_magic.inbox import Inbox
from wxnotify_magic.message import strip_ansi

ROOT = Path(__file__).resolve().parent.parent
NOTIFICATIONS = 4  # notifying cells in the quickstart notebook, each sent to 2 destinations
DEMO_TO = "wxpusher://AT_demo_fake_token_000/UID_demo_user wecombot://demo-fake-key"
DEFAULT_DIR = ROOT / ".demo"
DEFAULT_PORT = 8787


def demo_dir() -> Path:
    """Where the demo keeps its inbox (``WXNOTIFY_DEMO_DIR``, else .demo/ in the checkout)."""
    return Path(os.environ.get("WXNOTIFY_DEMO_DIR") or DEFAULT_DIR).resolve()


def page_port() -> int:
    """The port the closing hint's inbox page listens on (``WXNOTIFY_DEMO_PORT``, else 8787)."""
    return int(os.environ.get("WXNOTIFY_DEMO_PORT") or DEFAULT_PORT)


def closing_hint(folder: Path, port: int) -> str:
    """The command that serves the demo's inbox page, runnable as printed from any folder of a fresh shell."""
    words = ["make", "-C", shlex.quote(str(ROOT)), "inbox"]
    if folder != DEFAULT_DIR.resolve():
        words.append(shlex.quote(f"DEMO_DIR={folder}"))
    if port != DEFAULT_PORT:
        words.append(f"INBOX_PORT={port}")
    return " ".join(words)


def main() -> int:
    folder, port = demo_dir(), page_port()
    folder.mkdir(parents=True, exist_ok=True)
    with Inbox(store=folder / "inbox.jsonl") as inbox, tempfile.TemporaryDirectory(prefix="wxnotify-demo-") as home:
        inbox.clear()  # the page shows this run's messages only
        os.environ.update(WXNOTIFY_API_BASE=inbox.url, WXNOTIFY_HOME=home, WXNOTIFY_TO=DEMO_TO,
                          IPYTHONDIR=os.path.join(home, "ipython"))
        print(f"local inbox (emulates WxPusher, PushPlus, ServerChan, WeCom, DingTalk and Feishu) at {inbox.url}; "
              "running notebooks/quickstart.ipynb in a Jupyter kernel against it…")
        nb = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
        km = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(home, "kernel"))
        client = NotebookClient(nb, km=km, timeout=120, resources={"metadata": {"path": str(ROOT / "notebooks")}})
        try:
            client.execute()
            print("the notebook ran to the end (unexpected: its last %%wxnotify cell fails on purpose)")
        except CellExecutionError as exc:
            print(f"the notebook stopped at its deliberately failing cell, as Run All does: "
                  f"{strip_ansi(str(exc).strip().splitlines()[-1])}")
        finally:
            if km.has_kernel:
                km.shutdown_kernel()  # the kernel flushes its outbox as it exits
        settled(Path(home) / "outbox.sqlite3")
        messages = inbox.messages
        print(f"\nthe inbox received {len(messages)} messages for {NOTIFICATIONS} notifications to 2 destinations "
              f"(cells that ran back to back, as in Run All, go out merged into one message per destination):\n")
        for m in messages:
            print(f"── {m['service']}: {m['title'] or '(no title field)'}")
            print(textwrap.indent(m["content"][:600].rstrip(), "   "))
            print()
        print(f"to see them as a phone shows them, run\n\n    {closing_hint(folder, port)}\n\n"
              f"and open http://127.0.0.1:{port}/ (Ctrl-C stops it)")
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
