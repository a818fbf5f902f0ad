"""pytest plugin for IPython's own test suite: the global test shell gets wxnotify in auto mode.

Loaded with ``-p wxnotify_guest`` by ``scripts/ipython_suite/run.py`` in the "with wxnotify" run. IPython's
suite shares one ``TerminalInteractiveShell`` (``tests/conftest.py``, ``IPython/testing/globalipapp.py``); at
the start of the session this loads ``%load_ext wxnotify_magic`` and ``%wxnotify auto on --after 0`` into it, so
every cell the suite runs is watched and notifies. Destinations are the local inbox emulator (the runner sets
``WXNOTIFY_API_BASE`` and ``WXNOTIFY_TO``); nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import io

import pytest


def _load(shell) -> None:  # type: ignore[no-untyped-def]
    with contextlib.redirect_stdout(io.StringIO()):
        shell.run_line_magic("load_ext", "wxnotify_magic")
        shell.run_line_magic("wxnotify", "auto on --after 0")


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """After collection IPython's conftest has made its shell; load the extension into it."""
    from IPython.terminal.interactiveshell import TerminalInteractiveShell

    shell = TerminalInteractiveShell._instance
    assert shell is not None, "IPython's test shell was not made at collection"
    _load(shell)
    assert "wxnotify_magic" in shell.extension_manager.loaded, "wxnotify did not load into IPython's test shell"
