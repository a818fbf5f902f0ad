"""A real ipykernel driven cell by cell through nbclient, the way a notebook front end runs it."""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import WX_URL, wait_until
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_notebook

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


class Kernel:
    """One kernel; ``run(source)`` executes a new cell (errors allowed) and returns it with its outputs."""

    def __init__(self, cwd: Path) -> None:
        self.nb = new_notebook(metadata={"kernelspec": KERNELSPEC})
        self.client = NotebookClient(self.nb, timeout=120, kernel_name="python3", allow_errors=True,
                                     resources={"metadata": {"path": str(cwd)}})
        self._setup: Any = None

    def __enter__(self) -> Kernel:
        self._setup = self.client.setup_kernel()
        self._setup.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._setup.__exit__(None, None, None)

    def run(self, source: str) -> NotebookNode:
        cell = new_code_cell(source)
        self.nb.cells.append(cell)
        self.client.execute_cell(cell, len(self.nb.cells) - 1)
        return cell

    def interrupt(self) -> None:
        run_sync(self.client.km.interrupt_kernel)()

    def iopub(self, timeout: float = 0.2) -> dict[str, Any] | None:
        """The next iopub message, read directly (only while no cell runs through nbclient), or None."""
        try:
            return run_sync(self.client.kc.get_iopub_msg)(timeout=timeout)
        except queue.Empty:
            return None

    def shell_reply(self, timeout: float = 60.0) -> dict[str, Any]:
        return run_sync(self.client.kc.get_shell_msg)(timeout=timeout)


def text(cell: NotebookNode) -> str:
    """Everything a cell shows as text: streams, displays (their current text), results and errors."""
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}\n")
        else:
            parts.append(str(out.get("data", {}).get("text/plain", "")) + "\n")
    return "".join(parts)


def displays(cell: NotebookNode) -> list[str]:
    return [str(o.data.get("text/plain", "")) for o in cell.outputs if o.output_type == "display_data"]


def errors(cell: NotebookNode) -> list[str]:
    return [o.ename for o in cell.outputs if o.output_type == "error"]



def titled(inbox: Any, marker: str, n: int = 1, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Wait until ``n`` messages whose title contains ``marker`` arrived; return those messages."""
    return wait_until(lambda: (found if len(found := [m for m in inbox.messages if marker in m["title"]]) >= n
                               else None), timeout, f"{n} message(s) titled {marker!r}")


@contextlib.contextmanager
def kernel_with_extension(inbox: Any, tmp: Path, **env: str) -> Iterator[Kernel]:
    """A kernel with the inbox's endpoints, its own state folder, a fake default destination and the extension."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WXNOTIFY_HOME", str(tmp / "wxhome"))
        mp.setenv("WXNOTIFY_API_BASE", inbox.url)
        mp.setenv("WXNOTIFY_TO", WX_URL)
        mp.setenv("IPYTHONDIR", str(tmp / "ipython"))
        for name, value in env.items():
            mp.setenv(name, value)
        with Kernel(tmp) as kernel:
            loaded = kernel.run("%load_ext wxnotify_magic")
            assert not errors(loaded), text(loaded)
            yield kernel
