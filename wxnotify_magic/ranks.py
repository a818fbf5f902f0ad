"""Distributed jobs: which rank this process is, and one failure message per failed job.

Only rank 0 reports success. When a distributed job fails, usually every rank fails at once: the ranks on one
host share the state folder, and the first failing rank there claims the job's failure report atomically (an
``O_EXCL`` file), waits briefly for the others to register theirs, and sends one message saying how many failed.
With a shared limits ledger (Redis, ``board``) the claim spans every host of the job: one message per job.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import time
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Protocol

from .paths import make_private_dir, state_dir

# torchrun / torch.distributed, SLURM, Open MPI, MPICH / Intel MPI (PMI), PMIx; LOCAL_RANK alone last
RANK_VARIABLES = ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "LOCAL_RANK")
LOCAL_SIZE_VARIABLES = ("LOCAL_WORLD_SIZE", "SLURM_NTASKS_PER_NODE", "OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS")
WORLD_SIZE_VARIABLES = ("WORLD_SIZE", "SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE")
STEP_VARIABLES = ("SLURM_STEP_ID", "TORCHELASTIC_RESTART_COUNT")  # a new launch within the same job
JOB_VARIABLES = ("SLURM_JOB_ID", "TORCHELASTIC_RUN_ID", "PMIX_NAMESPACE", "OMPI_MCA_orte_ess_jobid", "LSB_JOBID",
                 "PBS_JOBID")
SETTLE = 3.0  # seconds the reporting rank waits for the other ranks on its host to register their failure
KEEP = 7 * 86400.0  # claim folders older than this are removed


def rank() -> str | None:
    """This process's rank when a launcher set one (``"0"`` included), else None."""
    for name in RANK_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def secondary_rank() -> str | None:
    """The rank of this process when it is not rank 0, else None."""
    for name in RANK_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value and value != "0":
            return value
    return None


def world_size() -> int | None:
    """How many ranks the job has, when the launcher says so."""
    for name in WORLD_SIZE_VARIABLES:
        m = re.match(r"\d+", os.environ.get(name, "").strip())
        if m and int(m.group()) > 0:
            return int(m.group())
    return None


def distributed() -> bool:
    """A rank of a job of several ranks (a launcher's rank variable, and no world size of 1)."""
    return rank() is not None and (world_size() or 2) > 1


def with_rank(title: str, rank: str | None) -> str:
    return f"{title} [rank {rank}]" if rank is not None else title


def local_size() -> int | None:
    """How many ranks run on this host, when the launcher says so."""
    for name in LOCAL_SIZE_VARIABLES:
        value = os.environ.get(name, "").strip()
        m = re.match(r"\d+", value)  # SLURM writes e.g. "4(x2)"
        if m and int(m.group()) > 0:
            return int(m.group())
    return None


def job_id() -> str:
    """The launcher's job id, else what the ranks of one launch share (the launcher's pid, the rendezvous)."""
    for name in JOB_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value and value.lower() != "none":
            return f"{name}={value}"
    return f"ppid={os.getppid()} master={os.environ.get('MASTER_ADDR', '')}:{os.environ.get('MASTER_PORT', '')}"


def shared_job_id() -> str:
    """What every rank of a job shares on every host: the launcher's job id, else the rendezvous address."""
    own = job_id()
    if not own.startswith("ppid="):
        return own
    return f"master={os.environ.get('MASTER_ADDR', '')}:{os.environ.get('MASTER_PORT', '')}"


class Board(Protocol):
    """Claims every host of a job sees (the shared limits ledger)."""

    def first(self, name: str, ttl: float) -> bool: ...

    def add(self, name: str, member: str, ttl: float) -> None: ...

    def members(self, name: str) -> list[str]: ...


@dataclass(frozen=True)
class FailureClaim:
    """This rank reports the job's failure on this host: how many ranks there failed, and which."""

    failed: list[str]
    local_size: int | None  # with a shared board: the job's world size
    host: str  # '' with a shared board: the ranks of every host

    @property
    def count(self) -> int:
        return len(self.failed)


def claim_failure(title: str = "", folder: Path | None = None, settle: float = SETTLE,
                  board: Board | None = None) -> FailureClaim | None:
    """Register this rank's failure of the watched job ``title``; return the claim when this rank reports it,
    None when another one does. A claim covers one watched job of one launch (job id, step) on one host, or on
    every host with a shared ``board``."""
    if board is not None:
        shared = _claim_shared(title, board, settle)
        if shared is None or isinstance(shared, FailureClaim):
            return shared
    me = rank() or "0"
    host = socket.gethostname()
    root = (folder or state_dir()) / "ranks"
    step = "|".join(os.environ.get(name, "") for name in STEP_VARIABLES)
    job = root / sha256(f"{job_id()}|{step}|{host}|{title}".encode()).hexdigest()[:20]
    make_private_dir(job)
    _clean(root, job)
    _create(job / f"failed-{_safe(me)}")
    if not _create(job / "reported"):
        return None
    size = local_size()
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline and (size is None or len(_failed(job)) < size):
        time.sleep(0.05)
    return FailureClaim(_failed(job), size, host)


def _claim_shared(title: str, board: Board, settle: float) -> FailureClaim | bool | None:
    """The claim on the shared board (False when the board cannot be used)."""
    step = "|".join(os.environ.get(name, "") for name in STEP_VARIABLES)
    job = "job-" + sha256(f"{shared_job_id()}|{step}|{title}".encode()).hexdigest()[:20]
    try:
        board.add(job, rank() or "0", KEEP)
        if not board.first(job, KEEP):
            return None
        size = world_size()
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline and (size is None or len(board.members(job)) < size):
            time.sleep(0.05)
        return FailureClaim(board.members(job), size, "")
    except Exception:
        return False


def _create(path: Path) -> bool:
    """Create ``path`` if it does not exist; True when this call created it (atomic across processes)."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return False
    return True


def _failed(job: Path) -> list[str]:
    ranks = [p.name[len("failed-"):] for p in job.glob("failed-*")]
    return sorted(ranks, key=lambda r: (len(r), r))


def _safe(value: str) -> str:
    return re.sub(r"[^\w.-]", "_", value)[:40]


def _clean(root: Path, keep: Path) -> None:
    now = time.time()
    for old in root.iterdir():
        with contextlib.suppress(OSError):
            if old != keep and now - old.stat().st_mtime > KEEP:
                shutil.rmtree(old)
