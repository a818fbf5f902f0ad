"""Where one outbox item (and one destination of a receipt) stands."""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """Where one outbox item stands; ``TERMINAL`` ones never change again."""

    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"
    DROPPED = "dropped"
    MERGED = "merged"  # sent as part of a digest with other items

    def __str__(self) -> str:
        return self.value


TERMINAL = frozenset({Status.DELIVERED, Status.FAILED, Status.DROPPED, Status.MERGED})

__all__ = ["TERMINAL", "Status"]
