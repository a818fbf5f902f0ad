"""What a cell's message says about the cell: its title, notebook, execution count and traceback."""

from __future__ import annotations

import os
from typing import Any

from .i18n import tr
from .watch import format_traceback

TITLE_LIMIT = 80


def notebook_name(shell: Any) -> str:
    """The notebook's file name (``__session__``, ``JPY_SESSION_NAME``, VS Code's), or ''."""
    ns = getattr(shell, "user_ns", {})
    for value in (ns.get("__session__"), os.environ.get("JPY_SESSION_NAME"), ns.get("__vsc_ipynb_file__")):
        if isinstance(value, str) and value.strip():
            return os.path.basename(value.strip())
    return ""


def default_title(raw_cell: str, count: int | None, notebook: str) -> str:
    """The cell's first comment line after the magic, else ``notebook [n]``, else ``Cell [n]``."""
    for line in raw_cell.split("\n")[1:]:
        text = line.strip()
        if text.startswith("#") and text.lstrip("#").strip():
            return text.lstrip("#").strip()[:TITLE_LIMIT]
        if text:
            break
    return f"{notebook} [{count}]" if notebook else tr("Cell [{count}]", count=count)


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
