"""Distributed jobs: which rank this process is, so that only rank 0 reports success."""

from __future__ import annotations

import os

RANK_VARIABLES = ("RANK", "LOCAL_RANK")


def secondary_rank() -> str | None:
    """The rank of this process when it is not rank 0, else None."""
    for name in RANK_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value and value != "0":
            return value
    return None


def with_rank(title: str, rank: str | None) -> str:
    return f"{title} [rank {rank}]" if rank is not None else title
