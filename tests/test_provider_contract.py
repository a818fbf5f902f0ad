"""One contract, every provider: each provider declares its example (``Provider.example``), and the same
checks run for all (in the spirit of apprise's URL tester). A new provider module is picked up as it is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from wxnotify_magic.message import Notification
from wxnotify_magic.policy import Action, decide
from wxnotify_magic.providers import PROVIDERS, DestinationError, parse_destination
from wxnotify_magic.redact import redact
from wxnotify_magic.transport import Transport


@dataclass(frozen=True)
class Row:
    provider: str
    url: str
    secrets: tuple[str, ...]  # every secret value in the URL
    refusal: int  # a business error code of the service (permanent)


# the catch-all (every other apprise URL) sends through apprise, whose answer is its verdict: its own
# contract is tests/test_apprise_provider.py, against apprise's json:// on a loopback server
ROWS = [Row(name, p.example.url, p.example.secrets, p.example.refusal) for name, p in PROVIDERS.items()
        if not p.catch_all and p.example is not None]
NOTE = Notification(status="failed", title="train resnet", started=time.time() - 90, ended=time.time(), host="box",
                    output="\n".join(f"epoch {i} loss 0.{i}" for i in range(400)),
                    traceback="Traceback (most recent call last):\n" + "  frame\n" * 3000 + "RuntimeError: CUDA oom")


@pytest.fixture(autouse=True)
def _clear(inbox):  # type: ignore[no-untyped-def]
    inbox.clear()
    yield


def send(inbox, row: Row):  # type: ignore[no-untyped-def]
    dest = parse_destination(row.url)
    transport = Transport(api_base=inbox.url, timeout=(2.0, 5.0))
    return [dest.provider.judge(transport.send(dest.provider.signed(r, dest), dest.secrets))
            for r in dest.provider.build(NOTE, dest)]


def test_every_provider_declares_an_example():
    assert sorted(r.provider for r in ROWS) == sorted(name for name, p in PROVIDERS.items() if not p.catch_all)
    assert {"dingtalk", "feishu", "lark"} <= {r.provider for r in ROWS}


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.provider)
def test_declarations_are_complete(row: Row):
    provider = PROVIDERS[row.provider]
    assert provider.label and provider.hint and provider.hint_url.startswith("https://") and provider.url_example
    assert provider.limits and provider.limit > 0 and any(f.secret for f in provider.fields)
    assert {lim.by for lim in provider.limits} <= {f.name for f in provider.fields}


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.provider)
def test_url_parses_round_trips_and_never_shows_a_secret(row: Row):
    dest = parse_destination(row.url)
    assert dest.provider.name == row.provider
    again = parse_destination(dest.provider.to_url(dest.values))
    assert again.values == dest.values
    shown = " ".join([dest.redacted, repr(dest), str(dest), dest.key, dest.provider.lane(dest)]
                     + [f"{k.key} {k.label}" for k in dest.limit_keys()])
    assert not [s for s in row.secrets if s in shown]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.provider)
def test_the_redactor_finds_its_secrets_in_free_text(row: Row):
    text = f"POST {row.url} failed; token {' and '.join(row.secrets)} rejected: key={row.secrets[0]}"
    redacted = redact(text, parse_destination(row.url).secrets)
    assert not [s for s in row.secrets if s in redacted]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.provider)
def test_unknown_query_parameters_are_named(row: Row):
    with pytest.raises(DestinationError, match=r"unknown parameter \?colour="):
        parse_destination(row.url + "?colour=red")


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.provider)
def test_a_long_failure_is_accepted_by_the_service_and_judged_delivered(inbox, row: Row):
    verdicts = send(inbox, row)
    assert verdicts and all(v.ok for v in verdicts), verdicts
    assert all(m["accepted"] for m in inbox.messages)  # the emulator checks every field and limit as the service
    assert all(m["url"].startswith("https://") for m in _requests(row))
    assert any("RuntimeError: CUDA oom" in m["content"] for m in inbox.messages)  # the exception line survives


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.provider)
def test_business_errors_are_permanent_and_explained(inbox, row: Row):
    inbox.add_fault("code", code=row.refusal)
    (verdict, *_) = send(inbox, row)
    assert verdict.outcome == "permanent" and str(row.refusal) in verdict.reason


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.provider)
@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_and_rate_limits_retry(inbox, row: Row, status: int):
    inbox.add_fault("status", status=status, retry_after=7)
    (verdict, *_) = send(inbox, row)
    assert verdict.outcome == "retry"
    if status == 429 and row.provider != "serverchan":  # ServerChan's 429 is its daily limit: an hour
        assert verdict.retry_after == 7


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.provider)
def test_its_rate_limits_pace_a_burst(row: Row):
    dest = parse_destination(row.url)
    keys = dest.limit_keys()
    windows = [k for k in keys if not k.limit.daily and not k.limit.same_content]
    assert windows, "every service counts calls in some window"
    now = 1_000_000.0
    for key in windows:  # the window full: the next message waits, its whole lane with it
        full = [(now - key.limit.seconds / 2, f"content {i}") for i in range(key.limit.count)]
        decision = decide(keys, {key.key: full}, now)
        assert decision.action == Action.HOLD and decision.until > now and decision.lane_wide
        assert decide(keys, {key.key: full[1:]}, now).action == Action.SEND


def _requests(row: Row) -> list[dict]:
    dest = parse_destination(row.url)
    return [{"url": r.url} for r in dest.provider.build(NOTE, dest)]
