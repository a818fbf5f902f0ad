"""Where one outbox item (and one destination of a receipt) stands."""

from __future__ import annotations

from enum import Enum

from .i18n import N_, tr


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
WORDS = {Status.PENDING: N_("pending"), Status.SENDING: N_("sending"), Status.DELIVERED: N_("delivered"),
         Status.FAILED: N_("failed"), Status.DROPPED: N_("dropped"), Status.MERGED: N_("merged")}


def status_word(status: Status | str) -> str:
    """The status as the user reads it, in the current language."""
    try:
        return tr(WORDS[Status(status)])
    except ValueError:
        return str(status)


__all__ = ["TERMINAL", "WORDS", "Status", "status_word"]
