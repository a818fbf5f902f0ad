"""What the oldest supported stacks need (``make test`` also runs this in .venv-ipy7, Colab's stack, and .venv-ipy8).

The cell contract, the panel and the quickstart notebook run there too (the Makefile's TESTS_ipy7, TESTS_ipy8).
"""

from __future__ import annotations

import sys
from importlib import metadata

import IPython
import pytest
from packaging.requirements import Requirement


def test_installed_stack_satisfies_the_declared_requirements() -> None:
    """pip upgrades a dependency only when the installed version misses the floor: here it never would."""
    for text in metadata.requires("wxnotify-magic") or []:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue  # an extra's requirement
        installed = metadata.version(req.name)
        assert req.specifier.contains(installed, prereleases=True), f"{req} but {installed} is installed"


def test_cell_output_reaches_the_message_with_or_without_ipythons_history_tee(ip, inbox) -> None:  # type: ignore[no-untyped-def]
    """IPython 9 keeps a copy of each cell's output (read, not teed again); before 9 the streams' write is teed."""
    from wxnotify_magic.capture import HistoryTail

    ip.user_ns["HistoryTail"] = HistoryTail
    ip.run_cell("%%wxnotify --tail 2\nimport sys\nprint('one'); print('two'); sys.stderr.write('three\\n')\n"
                "tail_source = HistoryTail.of(get_ipython(), 2)").raise_error()
    reads_history = ip.user_ns["tail_source"] is not None
    assert reads_history == (IPython.version_info[0] >= 9)
    content = inbox.wait_for(1, timeout=10)[0]["content"]
    assert "two" in content and "three" in content and "one" not in content
    assert "write" not in vars(sys.stdout) or IPython.version_info[0] >= 9  # the tee is undone after the cell


@pytest.mark.skipif(IPython.version_info[0] >= 8, reason="IPython 7 only")
def test_ipython_7_has_the_cleanup_transformers_the_cell_contract_uses(ip) -> None:  # type: ignore[no-untyped-def]
    assert any(getattr(t, "__qualname__", "") == "Front.transform" for t in ip.input_transformers_cleanup)
    result = ip.run_cell("%%wxnotify --after 1h\nvalue = 6 * 7\nvalue")
    assert result.success and result.result == 42 and ip.user_ns["_"] == 42
