"""notebooks/quickstart.ipynb executed in a real kernel with nbclient, against the local inbox."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from conftest import SECRETS
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.fixture
def kernel_env(home, inbox, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """Kernels inherit the environment: inbox endpoints, a temp WXNOTIFY_HOME, a fake destination."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    return inbox


def run(nb, cwd: Path, **kwargs):  # type: ignore[no-untyped-def]
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(cwd)}},
                            **kwargs)
    return client.execute()


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
    assert "epoch 2 loss 0.333" in streamed and "sent to WeChat via WxPusher" in streamed
    results = [o for o in training.outputs if o.output_type == "execute_result"]
    assert results and results[0].data["text/plain"] == "0.93"  # Out[n] as usual

    titles = [m["title"] for m in inbox.wait_for(4)]
    assert titles[0].startswith("✅ toy training finished")
    assert "epoch 2 loss 0.333" in inbox.messages[0]["content"]  # the output tail, read in a real kernel
    loading = next(m for m in inbox.messages if "data loading" in m["title"])["content"]
    assert "loading 100%" in loading and "loading 99%" not in loading
    assert any("accuracy is 93% after 3 epochs" in m["content"] for m in inbox.messages)
    failed = [m for m in inbox.messages if m["title"].startswith("❌ doomed run failed")]
    assert failed and "RuntimeError: CUDA out of memory (simulated)" in failed[0]["content"]

    saved = tmp_path / "executed.ipynb"
    nbformat.write(nb, saved)
    text = saved.read_text()
    for secret in SECRETS:
        assert secret not in text
    assert "AT_test" not in json.dumps(nb)
