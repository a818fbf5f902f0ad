"""The limits ledger: room is checked and taken in one step, so lanes deciding in parallel never overrun a quota."""

from __future__ import annotations

import time

from conftest import wait_until

from wxnotify_magic import delivery
from wxnotify_magic.message import Notification
from wxnotify_magic.providers import parse_destination

ROUNDS = 12


def decided(ticket, now: float) -> bool:  # type: ignore[no-untyped-def]
    """Every destination delivered, or held until the service's next day."""
    return all(r.status == "delivered" or (r.status == "pending" and (r.until or 0) > now + 3600)
               for r in ticket.current())


def test_one_uid_behind_six_tokens_gets_its_quota_not_more(home, inbox):  # type: ignore[no-untyped-def]
    """Six lanes (one per app token) decide at the same moment on one UID's day of 2: exactly 2 arrive, every
    round (the race was 6 of 6 before the check and the count were one step)."""
    sender = delivery.get_sender()
    overruns = []
    for round_ in range(ROUNDS):
        uid = f"UID_test_race_{round_:04d}"
        dests = [parse_destination(f"wxpusher://AT_test_race_token_{i}_0123456789/{uid}") for i in range(6)]
        inbox.clear()
        ticket = sender.submit(Notification(title=f"round {round_}", text="done"), dests, quotas={"wxpusher": 2})
        wait_until(lambda t=ticket: decided(t, time.time()), timeout=30, what="every lane decided")
        arrived = [m for m in inbox.messages if uid in m["body"].get("uids", [])]
        if len(arrived) != 2:
            overruns.append(len(arrived))
        held = [r for r in ticket.current() if r.status == "pending"]
        assert len(held) == 6 - len(arrived) and all("daily quota of 2" in r.reason for r in held)
    assert overruns == [], f"rounds where the UID got other than its 2 messages: {overruns}"
