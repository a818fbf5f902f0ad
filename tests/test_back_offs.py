"""Back-offs per token: HTTP 429 and every "you are limited" answer hold the token's whole lane (every message to
it), a Retry-After of 0 keeps a floor, and an unreadable success answer is tried once more at most."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from conftest import WECOM_KEY

from wxnotify_magic.message import Notification
from wxnotify_magic.policy import MAX_ATTEMPTS
from wxnotify_magic.providers import parse_destination

PP_TOKEN = "test0123456789abcdef0123456789ab"
PP_URL = f"pushplus://{PP_TOKEN}"
WECOM_URL = f"wecombot://{WECOM_KEY}"


def note(title: str = "job") -> Notification:
    return Notification(status="success", title=title, started=time.time() - 3, ended=time.time(), text="ok")


def calls(inbox) -> int:  # type: ignore[no-untyped-def]
    return len(inbox.messages)


def drive(sender, clock, seconds: float) -> None:  # type: ignore[no-untyped-def]
    """Run the sender through ``seconds`` of simulated time, attempting whatever falls due."""
    end = clock.now + seconds
    sender.run_once()
    while (due := sender.outbox.next_due()) is not None and due <= end:
        clock.now = max(clock.now, due)
        sender.run_once()
    clock.now = max(clock.now, end)


# -- HTTP 429 holds the token's lane, not only the message that got it ---------------------------------------


def test_retry_after_holds_every_message_to_that_token(sender, clock, inbox):
    inbox.add_fault("status", status=429, retry_after=120)
    first = sender.submit(note("first"), [parse_destination(WECOM_URL)])
    sender.run_once()
    second = sender.submit(note("second"), [parse_destination(WECOM_URL)])
    drive(sender, clock, 100)
    assert calls(inbox) == 1, "a message to the same token went out during its Retry-After"
    (result,) = second.results.values()
    assert result.status == "pending" and "every message to this token waits" in result.reason
    drive(sender, clock, 60)  # the hold is over: both go (as one digest)
    assert first.finished and second.finished
    assert [m["accepted"] for m in inbox.messages] == [False, True]


@pytest.mark.parametrize("value", [0, -30])
def test_a_retry_after_of_zero_or_less_keeps_a_floor(sender, clock, inbox, value):
    inbox.add_fault("status", status=429, retry_after=value, count=MAX_ATTEMPTS)
    sender.submit(note(), [parse_destination(WECOM_URL)])
    drive(sender, clock, 5)
    assert calls(inbox) <= 3, "Retry-After 0 burnt the attempts within seconds"
    drive(sender, clock, 3600)
    (item,) = sender.outbox.items()
    assert item.status == "failed" and calls(inbox) == MAX_ATTEMPTS


# -- "you are limited": a cool-down of the token's lane, said in receipts and status --------------------------


def test_pushplus_900_stops_the_token_for_a_cool_down(sender, clock, inbox, home, monkeypatch):
    inbox.add_fault("code", service="pushplus", code=900)
    first = sender.submit(note("first"), [parse_destination(PP_URL)])
    sender.run_once()
    second = sender.submit(note("second"), [parse_destination(PP_URL)])
    drive(sender, clock, 86400)  # a day later: nothing more went to the restricted account
    assert calls(inbox) == 1, "sent again to a token PushPlus restricted (code 900)"
    for ticket in (first, second):
        (result,) = ticket.results.values()
        assert result.status == "pending" and "(cool-down)" in result.reason and "code 900" in result.reason
    assert min(sender.outbox.items(), key=lambda i: i.id).attempts == 1  # PushPlus counted one failed call
    proc = subprocess.run([sys.executable, "-m", "wxnotify_magic.cli", "status"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "WXNOTIFY_TO": PP_URL})
    assert "cool-down until" in proc.stdout and "code 900" in proc.stdout, proc.stdout
    assert PP_TOKEN not in proc.stdout
    drive(sender, clock, 86400 + 60)  # two days on, the cool-down is over
    assert first.finished and second.finished and calls(inbox) == 2


def test_retrying_by_hand_does_not_end_a_cool_down(sender, clock, inbox):
    inbox.add_fault("code", service="pushplus", code=900)
    sender.submit(note(), [parse_destination(PP_URL)])
    sender.run_once()
    sender.outbox.requeue_failed(now=clock.now)  # what `wxnotify retry` does
    drive(sender, clock, 3600)
    assert calls(inbox) == 1, "a retry by hand sent again to a token PushPlus restricted"


def test_a_message_with_a_fallback_does_not_wait_out_a_cool_down(sender, clock, inbox):
    inbox.add_fault("code", service="pushplus", code=900)
    me = parse_destination(PP_URL, name="me")
    team = parse_destination(WECOM_URL, name="team")
    ticket = sender.submit(note(), [me], fallbacks={"me": team})
    drive(sender, clock, 60)
    assert [r.status for r in ticket.wait(0)] == ["failed", "delivered"]
    assert [m["service"] for m in inbox.messages] == ["pushplus", "wecombot"]
    sender.submit(note("later"), [parse_destination(PP_URL)])  # the token still cools down
    drive(sender, clock, 3600)
    assert [m["service"] for m in inbox.messages] == ["pushplus", "wecombot"]


def test_wecom_45009_holds_the_bot_for_its_minute(sender, clock, inbox):
    inbox.add_fault("code", service="wecombot", code=45009)
    sender.submit(note("first"), [parse_destination(WECOM_URL)])
    sender.run_once()
    sender.submit(note("second"), [parse_destination(WECOM_URL)])
    drive(sender, clock, 50)
    assert calls(inbox) == 1
    drive(sender, clock, 30)
    assert calls(inbox) == 2


# -- an unreadable success answer: it may have arrived, so it is tried once more at most ----------------------


@pytest.mark.parametrize("body", ["<html>ok</html>", '{"code": 1000, "msg": "' + "x" * (1024 * 1024 + 10) + '"}'],
                         ids=["not-json", "over-the-1-MiB-cap"])
def test_an_unreadable_200_is_tried_once_more_at_most(sender, clock, inbox, body):
    inbox.add_fault("malformed", body=body, count=MAX_ATTEMPTS)
    ticket = sender.submit(note(), [parse_destination(WECOM_URL)])
    drive(sender, clock, 3600)
    (item,) = sender.outbox.items()
    assert item.status == "failed" and calls(inbox) == 2, f"{calls(inbox)} copies may have arrived"
    (result,) = ticket.results.values()
    assert "it may have arrived, so it is not sent again" in result.reason
