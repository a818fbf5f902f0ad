"""The receipts a sender owes: which ticket waits on which outbox item, and what each item's result is now."""

from __future__ import annotations

import threading
from dataclasses import replace

from .receipts import Result, Ticket
from .status import Status


class TicketBook:
    """Tickets by item id; a ticket settles when every one of its items has. The sender's lock guards it all."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # tickets, results, busy lanes
        self._tickets: dict[int, Ticket] = {}
        self._followers: dict[int, list[int]] = {}  # digest item -> items merged into it

    def _rekey(self, old: int, new: int) -> None:
        """An item queued in memory (``old``, negative) was written to the outbox as ``new``."""
        with self._lock:
            ticket = self._tickets.pop(old, None)
            if ticket is None:
                return
            ticket.ids[ticket.ids.index(old)] = new
            ticket.results[new] = ticket.results.pop(old)
            self._tickets[new] = ticket

    def _register(self, ticket: Ticket, item_id: int, result: Result) -> None:
        with self._lock:
            ticket.ids.append(item_id)
            ticket.results[item_id] = result
            self._tickets[item_id] = ticket

    def _report(self, item_id: int, status: Status, reason: str, note: str = "", until: float = 0.0) -> None:
        with self._lock:
            ticket = self._tickets.get(item_id)
            if ticket is None:
                return
            old = ticket.results.get(item_id)
            ticket.results[item_id] = (replace(old, status=status, reason=reason, note=note, until=until) if old else
                                       Result("", "", status, reason, note, until=until))
            settled = all(r.settled for r in ticket.results.values())
            if settled:
                for i in ticket.ids:
                    self._tickets.pop(i, None)
        if settled:
            ticket.settle()
        else:
            ticket.changed()
