"""notebooks/quickstart.ipynb executed in a real kernel with nbclient, against the local inbox."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from conftest import SECRETS
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.fixture
def kernel_env(home, inbox, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """Kernels inherit the environment: inbox endpoints, a temp WXNOTIFY_HOME, a fake destination."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    return inbox


def run(nb, cwd: Path):  # type: ignore[no-untyped-def]
    """Run All as a front end does (it stops at the first failing cell), then ``%wxnotify wait`` in the same
    kernel so that every receipt is final when the kernel stops (the notebook's cells never wait)."""
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    with client.setup_kernel():
        try:
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
        finally:
            nb.cells.append(new_code_cell("%wxnotify wait 30"))
            client.execute_cell(nb.cells[-1], len(nb.cells) - 1)
            waited = nb.cells.pop()
            assert "settled" in waited.outputs[0]["text"], waited.outputs


def test_quickstart_runs_until_its_failing_cell_and_everything_arrives(kernel_env, tmp_path):
    inbox = kernel_env
    nb = nbformat.read(NOTEBOOKS / "quickstart.ipynb", as_version=4)
    with pytest.raises(CellExecutionError) as info:
        run(nb, NOTEBOOKS)
    assert "CUDA out of memory (simulated)" in str(info.value)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[-1].get("execution_count") is None and not code[-1].outputs  # Run All stopped at the failure
    failing = code[-2]
    assert [o.output_type for o in failing.outputs if o.output_type == "error"] == ["error"]

    training = code[1]
    streamed = "".join(o.get("text", "") for o in training.outputs if o.output_type == "stream")
    assert "epoch 2 loss 0.333" in streamed and "wxnotify" not in streamed
    receipts = [o.data["text/plain"] for o in training.outputs if o.output_type == "display_data"]
    # in place; cells run back to back (Run All) share its line: "wxnotify: 3 notifications from cells [2]–[4]: …"
    assert len(receipts) == 1 and re.match(r"wxnotify: (\d+ notifications( from cells? \S+)?: )?sent via "
                                           r"WxPusher", receipts[0]), receipts
    results = [o for o in training.outputs if o.output_type == "execute_result"]
    assert results and results[0].data["text/plain"] == "0.93"  # Out[n] as usual

    messages = inbox.messages  # every receipt settled: the wait cell saw to it
    assert 1 <= len(messages) <= 4  # messages waiting for the sender or the service's pacing go out as one digest
    everything = "\n".join(m["title"] + "\n" + m["content"] for m in messages)
    assert "toy training" in everything and "data loading" in everything and "doomed run" in everything
    alone = [m for m in messages if m["title"].startswith("✅ toy training finished")]
    assert not alone or "epoch 2 loss 0.333" in alone[0]["content"]  # the output tail, read in a real kernel
    assert "loading 100%" in everything and "loading 99%" not in everything  # the last output of any digest
    assert "accuracy is 93% after 3 epochs" in everything
    failed = messages[-1]
    assert failed["title"].startswith("❌") and "doomed run" in failed["title"] + failed["content"]
    assert "RuntimeError: CUDA out of memory (simulated)" in failed["content"]
    final = [o.data["text/plain"] for o in failing.outputs if o.output_type == "display_data"]
    assert len(final) == 1 and final[0].startswith("wxnotify: sent via WxPusher")

    saved = tmp_path / "executed.ipynb"
    nbformat.write(nb, saved)
    text = saved.read_text()
    for secret in SECRETS:
        assert secret not in text
    assert "AT_test" not in json.dumps(nb)


def test_a_headless_run_in_auto_mode_sends_the_last_cell_before_the_kernel_stops(kernel_env, tmp_path, home):
    """The last cell's message, held for pacing when the kernel shuts down, still goes out."""
    import sqlite3
    import time

    inbox = kernel_env
    nb = nbformat.v4.new_notebook(cells=[
        new_code_cell("%load_ext wxnotify_magic\n%wxnotify auto on --after 0"),
        new_code_cell("import time\ntime.sleep(0.6); print('one')"),
        new_code_cell("time.sleep(0.6); print('two')"),
        new_code_cell("print('three')"),
    ])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    deadline = time.monotonic() + 15  # the kernel's exit flush is bounded (5 s)
    while time.monotonic() < deadline and not any("three" in m["content"] for m in inbox.messages):
        time.sleep(0.2)
    assert any("three" in m["content"] for m in inbox.messages), [m["content"] for m in inbox.messages]
    with sqlite3.connect(home / "outbox.sqlite3") as con:
        assert con.execute("SELECT COUNT(*) FROM outbox WHERE status IN ('pending','sending')").fetchone()[0] == 0
