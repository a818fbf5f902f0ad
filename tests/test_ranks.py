"""Distributed jobs: one failure message per host per failed job, and no job's report used up by another."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

PY = sys.executable


def run_script(tmp_path: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "job.py"
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    return subprocess.run([PY, str(path)], capture_output=True, text=True, timeout=90, env={**os.environ, **env})


def test_later_jobs_of_one_allocation_report_their_own_failures(home: Path, inbox: Any, tmp_path: Path) -> None:
    code = """
        import sys
        from wxnotify_magic.api import notify
        for stage in sys.argv[1:] or ["prep", "train"]:
            try:
                with notify(stage, wait=10):
                    raise RuntimeError(stage + " broke")
            except RuntimeError:
                pass
    """
    slurm = {"SLURM_JOB_ID": "888", "SLURM_PROCID": "0", "SLURM_NTASKS": "2", "SLURM_NTASKS_PER_NODE": "1"}
    proc = run_script(tmp_path, code, **slurm)
    assert proc.returncode == 0, proc.stderr
    titles = [m["title"] for m in inbox.messages]
    assert len(titles) == 2 and "prep" in titles[0] and "train" in titles[1], titles
    again = run_script(tmp_path, code, **slurm, SLURM_STEP_ID="1")  # a second step of the same job
    assert again.returncode == 0 and len(inbox.messages) == 4


def test_a_single_task_job_is_not_distributed_and_a_counted_rank_says_so(home: Path, inbox: Any,
                                                                         tmp_path: Path) -> None:
    code = """
        from wxnotify_magic.api import notify
        for _ in range(2):
            try:
                with notify("same title", wait=10):
                    raise RuntimeError("broke")
            except RuntimeError:
                pass
    """
    single = run_script(tmp_path, code, SLURM_JOB_ID="9", SLURM_PROCID="0", SLURM_NTASKS="1")
    assert single.returncode == 0 and len(inbox.messages) == 2  # every failure of a one-task job is its own
    many = run_script(tmp_path, code, SLURM_JOB_ID="10", SLURM_PROCID="0", SLURM_NTASKS="4",
                      SLURM_NTASKS_PER_NODE="1")
    assert len(inbox.messages) == 3  # the second failure of the same watched job in one launch is counted
    assert "counted in the message another rank on this host sends" in many.stderr
