"""What a cell's message says about the cell: its title, notebook, number, outcome and traceback."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

from .i18n import tr
from .watch import format_traceback, is_interrupt

TITLE_LIMIT = 80


def notebook_name(shell: Any) -> str:
    """The notebook's file name (``__session__``, ``JPY_SESSION_NAME``, VS Code's), or ''."""
    ns = getattr(shell, "user_ns", {})
    for value in (ns.get("__session__"), os.environ.get("JPY_SESSION_NAME"), ns.get("__vsc_ipynb_file__")):
        if isinstance(value, str) and value.strip():
            return os.path.basename(value.strip())
    return ""


def default_title(raw_cell: str, count: int | None, notebook: str) -> str:
    """The cell's first comment line after its cell magics, else ``notebook [n]``, else ``Cell [n]``."""
    lines = raw_cell.lstrip("\n").split("\n")
    while lines and lines[0].startswith("%%"):
        lines = lines[1:]
    for line in lines:
        text = line.strip()
        if text.startswith("#") and text.lstrip("#").strip():
            return text.lstrip("#").strip()[:TITLE_LIMIT]
        if text:
            break
    return f"{notebook} [{count}]" if notebook else tr("Cell [{count}]", count=count)


def cell_count(shell: Any, info: Any) -> int | None:
    """The number the cell starting now is stored under (``In[n]``), read in ``pre_run_cell``.

    IPython 9 counts a cell before ``pre_run_cell``, older versions after it; the display hook's prompt count
    (what ``Out[n]`` uses) is right in both while a cell that is stored in the history runs.
    """
    count = getattr(shell, "execution_count", None)
    if getattr(info, "store_history", False):
        try:
            prompt = shell.displayhook.prompt_count
        except Exception:
            return count
        return prompt if isinstance(prompt, int) else count
    return count


def outcome(shell: Any, result: Any, info: Any, earlier_error: Any) -> tuple[BaseException | None, str, Any]:
    """(error, status, last value) of a cell that just ran, as the kernel judges it.

    ``result`` is what ``post_run_cell`` received: the cell's own ``ExecutionResult``; or, when IPython could not
    finish the cell normally (its traceback display raised, an interrupt cancelled the cell's task), another
    result or None. Then the cell's own result is the shell's last one if that is it; else the error is the one
    IPython was showing (``sys.last_value``, if it changed during the cell: ``earlier_error`` is its value
    before) or the one in flight. A last value whose display failed fails the cell in a kernel; so does
    ``SystemExit``, whatever its code.
    """
    if getattr(result, "info", None) is not info:
        last = getattr(shell, "last_execution_result", None)  # the cell's own result, if IPython filed it
        result = last if getattr(last, "info", None) is info else result
    own = result is not None and getattr(result, "info", None) is info
    # the cell's own exception first: when showing it failed, IPython files that failure as error_before_exec
    error = _first(getattr(result, "error_in_exec", None), getattr(result, "error_before_exec", None))
    fresh = getattr(sys, "last_value", None)
    fresh = fresh if fresh is not earlier_error else None
    if not own:
        error = _first(fresh, sys.exc_info()[1], error)
    elif error is None and fresh is not None and getattr(shell, "_last_traceback_during_displayhook", False):
        error = fresh  # the last value's repr raised: ipykernel marks the cell failed
    if error is None:
        return None, "success", getattr(result, "result", None) if own else None
    return error, "interrupted" if is_interrupt(error) else "failed", None


def _first(*values: Any) -> Any:
    """The first value that is not None (an exception class may define ``__bool__`` or ``__len__``)."""
    return next((v for v in values if v is not None), None)


def traceback_text(shell: Any, error: BaseException) -> str:
    """The traceback as the notebook shows it (``Cell In[n], line 3``), without IPython's or our frames."""
    compiler = getattr(shell, "compile", None)

    def rename(filename: str) -> str:
        try:
            label = compiler.format_code_name(filename) if compiler is not None else None
        except Exception:
            label = None
        return f"{label[0]} {label[1]}" if label else filename

    return format_traceback(error, rename=rename)


def printed_error(error: BaseException | None) -> str:
    """What IPython prints itself for an error it cannot format (an exception group): Python's own traceback,
    which lands in the cell's output; the message leaves it out of the output tail ('' when unknown)."""
    if error is None:
        return ""
    try:
        return "".join(traceback.format_exception(error))
    except Exception:
        return ""
