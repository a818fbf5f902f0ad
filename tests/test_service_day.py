"""Daily quotas are counted in the service's day (China time for the built-in services), whatever the machine's
time zone: on a UTC machine the count does not restart at 08:00 Beijing time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from wxnotify_magic.message import Notification
from wxnotify_magic.providers import parse_destination

SC_URL = "schan://SCT1234Ttest_fake_sendkey_day"


@pytest.fixture
def utc_machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local time zone is UTC (a Docker image, a cloud VM)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=timezone.utc).timestamp()


def test_the_day_does_not_restart_at_the_machines_midnight(utc_machine, sender, clock, inbox):  # type: ignore[no-untyped-def]
    dest = parse_destination(SC_URL)
    key = next(k for k in dest.limit_keys() if k.limit.daily)
    for minute in range(5):  # ServerChan's 5 of the day, used up at 07:00 Beijing time (23:00 UTC the day before)
        sender.outbox.log_call([key.key], now=utc(2026, 3, 9, 23, minute))
    clock.now = utc(2026, 3, 10, 0, 30)  # 08:30 Beijing time: the machine's day is new, the service's is not
    ticket = sender.submit(Notification(title="train", text="done"), [dest])
    sender.run_once()
    (result,) = ticket.wait(0)
    assert inbox.messages == [] and result.status == "pending" and "daily quota of 5" in result.reason
    assert result.until == utc(2026, 3, 10, 16, 0) + 1  # midnight in Beijing
    clock.now = utc(2026, 3, 10, 16, 0, 5)
    sender.run_once()
    assert len(inbox.messages) == 1 and ticket.wait(0)[0].status == "delivered"


def test_status_says_whose_day_it_counts(utc_machine, ip, inbox, capsys):  # type: ignore[no-untyped-def]
    ip.run_cell(f"%config WxNotify.to = ['{SC_URL}']").raise_error()
    ip.run_cell("%wxsend hello").raise_error()
    capsys.readouterr()
    ip.run_cell("%wxnotify").raise_error()
    out = capsys.readouterr().out
    assert "1 of 5 today (Beijing time)" in out
