"""Fuzzing mistakes with real-looking fake secrets in every position: whatever a user types
wrong, in a cell, a line magic, a subcommand, the command line, WXNOTIFY_TO or the Python API, no secret (nor
8 characters of one in a row) appears in stdout, stderr, a logged line or an exception's text.

Over 3,000 generated mistakes in all; the examples are derandomized, so a run is repeatable.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"


def _mixed(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    while True:
        text = "".join(rng.choice(alphabet) for _ in range(n))
        if any(c.isdigit() for c in text) and any(c.isalpha() for c in text):
            return text


def make_secrets(seed: int) -> dict[str, str]:
    """One set of fake secrets shaped like the real ones (random, so no two examples share them)."""
    rng = random.Random(seed)
    uuid = "-".join(_mixed(rng, n, HEX) for n in (8, 4, 4, 4, 12))
    return {
        "at": "AT_" + _mixed(rng, 32), "uid": "UID_" + _mixed(rng, 28), "uid2": "UID_" + _mixed(rng, 28),
        "spt": "SPT_" + _mixed(rng, 28), "sct": f"SCT{rng.randint(1000, 999999)}T" + _mixed(rng, 27),
        "sc3": f"sctp{rng.randint(1000, 99999)}t" + _mixed(rng, 27), "pp": _mixed(rng, 32, HEX), "wecom": uuid,
        "ding": _mixed(rng, 64, HEX), "dsec": "SEC" + _mixed(rng, 64, HEX),
        "fs": "-".join(_mixed(rng, n, HEX) for n in (8, 4, 4, 4, 12)), "fsec": _mixed(rng, 22),
    }


# Where a secret can sit: valid destinations, each of their usual mistakes, native URLs, bare keys.
PLACES = [
    "wxpusher://{at}/{uid}", "wxpusher://{at}/{uid}/123", "wxpusher://{at}/{uid}/{uid2}", "wxpusher:/{at}/{uid}",
    "wxpusher//{at}/{uid}", "wxpusher:{at}/{uid}", "wxpusher://{at}", "wxpusher://{uid}/{at}", "WXPUSHER://{at}/{uid}",
    "wxpusher://{at}/{uid}/x!y", "wxpusher://{at}/{uid}?topic=1", "wxpusher://{at}/{uid}?token={at}",
    "wxpusher://{spt}", "wxpusher://{spt}/{uid}", "wxpusher://{at}/{uid}#frag", "wxpusher://{at}:{uid}@host/x",
    "pushplus://{pp}", "pushplus://{pp}/topic-1", "pushplus://{pp}/a/b", "pushplus:/{pp}", "pushplus://{pp}?key={pp}",
    "pushplus://{pp}x", "schan://{sct}", "schan://x/{sct}", "schan:/{sct}", "schan://{sc3}", "schan://{sct}/{sc3}",
    "serverchan://{sct}", "sct://{sct}", "schan://{sct}?x=1", "wecombot://{wecom}", "wecombot://a/{wecom}",
    "wecombot:/{wecom}", "wecombot://{wecom}?key={wecom}", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={wecom}",
    "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={wecom}&debug=1",
    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={wecom}/x", "https://qyapi.weixin.qq.com/{wecom}",
    "https://sctapi.ftqq.com/{sct}.send", "https://{sc3}.push.ft07.com/send", "https://example.com/hook?token={pp}",
    "{at}", "{uid}", "{spt}", "{sct}", "{sc3}", "{pp}", "{wecom}", "{at}/{uid}", "key={wecom}", "token={pp}",
    "'wxpusher://{at}/{uid}", '"pushplus://{pp}', "wxpusher://{at}/{uid}'", "<wecombot://{wecom}>",
    "(schan://{sct})", "[pushplus://{pp}]", "{{wxpusher://{at}/{uid}}}", "wecombot://{wecom},schan://{sct}",
    "wxpusher://{at}/{uid}\u3000", "ｗｘｐｕｓｈｅｒ://{at}/{uid}", "wxpusher://{at}%2F{uid}",
    "dingtalk://{dsec}@{ding}", "dingtalk://{ding}", "dingtalk://{ding}/13800001111", "dingtalk://{ding}?secret={dsec}",
    "dingtalk:/{ding}", "dingtalk://{dsec}@{ding}/x", "dingtalk://{ding}?secret={dsec}x!",
    "https://oapi.dingtalk.com/robot/send?access_token={ding}", "https://oapi.dingtalk.com/robot/{ding}",
    "https://oapi.dingtalk.com/robot/send?access_token={ding}&timestamp=1&sign=x", "feishu://{fsec}@{fs}",
    "feishu://{fs}", "lark://{fs}", "feishu://{fs}/x", "feishu://{fs}?secret={fsec}!", "lark:/{fs}",
    "https://open.feishu.cn/open-apis/bot/v2/hook/{fs}", "https://open.larksuite.com/open-apis/bot/v2/hook/{fs}/x",
    "{ding}", "{dsec}", "{fs}", "access_token={ding}",
]
OPTIONS = ["--to", "-t", "--title", "--after", "--on", "--tail", "--every", "--no-output", "--quiet", "--too", "-to",
           "--t", "—to", "--wait", "--batch", "--settle", "-x", "--", "--all-ranks", "-h"]
WORDS = ["5m", "abc", "1h30", "-5", "inf", "nan", "1e309", "always", "sometimes", "'", '"', "me", "team", "{x}",
         "$x", "on", "off", "3", "hello world", "=", ""]


@st.composite
def parts(draw: Any, secrets: dict[str, str], max_size: int = 6) -> list[str]:
    """1 to ``max_size`` words: options, plain words and secret-bearing values, sometimes glued with '='."""
    out: list[str] = []
    for _ in range(draw(st.integers(1, max_size))):
        kind = draw(st.sampled_from(["option", "word", "secret", "secret", "glued"]))
        if kind == "option":
            out.append(draw(st.sampled_from(OPTIONS)))
        elif kind == "word":
            out.append(draw(st.sampled_from(WORDS)))
        else:
            value = draw(st.sampled_from(PLACES)).format(**secrets)
            out.append(f"{draw(st.sampled_from(OPTIONS))}={value}" if kind == "glued" else value)
    return out


def mistakes(max_size: int = 6) -> Any:
    """(secrets, words): a fresh set of fake secrets and a mistake typed with them."""
    return st.integers(0, 2**63).map(make_secrets).flatmap(lambda s: st.tuples(st.just(s), parts(s, max_size)))


# examples per front: 3,000 in all (WXFUZZ_SCALE=0.1 for a quick look)
EXAMPLES = {name: max(1, int(n * float(os.environ.get("WXFUZZ_SCALE", "1")))) for name, n in
            {"cell": 900, "wxsend": 500, "subcommand": 500, "env": 300, "cli": 500, "api": 300}.items()}
FUZZ = settings(deadline=None, derandomize=True, database=None, print_blob=False,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


def leaked(secrets: dict[str, str], *texts: str) -> list[str]:
    """Every secret of which 8 characters in a row appear in one of ``texts``."""
    found = []
    for secret in secrets.values():
        windows = {secret[i:i + 8] for i in range(len(secret) - 7)}
        if any(w in text for text in texts for w in windows):
            found.append(secret)
    return found


def check(secrets: dict[str, str], what: str, *texts: str) -> None:
    bad = leaked(secrets, *texts)
    assert not bad, f"{what}: a secret leaked into {next(t for t in texts if any(s[:8] in t for s in bad))[:400]!r}"


def errors_of(result: Any) -> list[str]:
    return [str(e) for e in (result.error_before_exec, result.error_in_exec) if e is not None]


@pytest.fixture
def fuzz_ip(ip, inbox, caplog):  # type: ignore[no-untyped-def]
    """The shell with delivery that never holds a cell, and logs captured at every level."""
    ip.run_cell("%config WxNotify.wait = 0").raise_error()
    caplog.set_level(logging.DEBUG)
    yield ip
    ip.run_cell("%wxnotify auto off")


def _outputs(capsys: Any, caplog: Any) -> tuple[str, str, str]:
    out = capsys.readouterr()
    logged = caplog.text
    caplog.clear()
    return out.out, out.err, logged


# -- the IPython front --------------------------------------------------------------------------------------


@settings(FUZZ, max_examples=EXAMPLES["cell"])
@given(mistake=mistakes())
def test_cell_options(fuzz_ip, capsys, caplog, mistake):
    secrets, words = mistake
    result = fuzz_ip.run_cell("%%wxnotify " + " ".join(words) + "\nx = 1")
    check(secrets, "%%wxnotify", *_outputs(capsys, caplog), *errors_of(result))


@settings(FUZZ, max_examples=EXAMPLES["wxsend"])
@given(mistake=mistakes())
def test_wxsend(fuzz_ip, capsys, caplog, mistake):
    secrets, words = mistake
    result = fuzz_ip.run_cell("%wxsend " + " ".join(words))
    check(secrets, "%wxsend", *_outputs(capsys, caplog), *errors_of(result))


SUBCOMMANDS = ["", "status", "test", "retry", "history", "config", "auto", "auto on", "auto off", "histroy",
               "test --to", "auto on --to", "history 3"]


@settings(FUZZ, max_examples=EXAMPLES["subcommand"])
@given(sub=st.sampled_from(SUBCOMMANDS), mistake=mistakes(4))
def test_subcommands(fuzz_ip, capsys, caplog, sub, mistake):
    secrets, words = mistake
    result = fuzz_ip.run_cell(f"%wxnotify {sub} " + " ".join(words))
    shown = _outputs(capsys, caplog)
    fuzz_ip.run_cell("%wxnotify auto off")  # the next example starts without auto mode
    _outputs(capsys, caplog)
    check(secrets, f"%wxnotify {sub}", *shown, *errors_of(result))


@settings(FUZZ, max_examples=EXAMPLES["env"])
@given(mistake=mistakes(3))
def test_wxnotify_to_values(fuzz_ip, capsys, caplog, monkeypatch, mistake):
    secrets, words = mistake
    monkeypatch.setenv("WXNOTIFY_TO", " ".join(words))
    results = [fuzz_ip.run_cell("%wxnotify"), fuzz_ip.run_cell("%%wxnotify\nx = 1"),
               fuzz_ip.run_cell("%wxsend hello")]
    check(secrets, "WXNOTIFY_TO", *_outputs(capsys, caplog), *(e for r in results for e in errors_of(r)))


# -- the command line and the Python API --------------------------------------------------------------------

COMMANDS = ["send", "send hi", "test", "status", "retry", "config list", "config remove", "run", "run --", "sned", ""]


@settings(FUZZ, max_examples=EXAMPLES["cli"])
@given(command=st.sampled_from(COMMANDS), mistake=mistakes(4))
def test_command_line(home, inbox, capsys, caplog, monkeypatch, command, mistake):
    from wxnotify_magic.cli import main

    secrets, words = mistake
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("WXNOTIFY_TO", f"wecombot://{secrets['wecom']}")  # a fresh key: no pacing to wait for
    argv = [*command.split(), *words]
    texts = []
    try:
        main(argv)
    except SystemExit as exc:  # argparse's own exit (usage errors, --help)
        texts.append(str(exc.code))
    check(secrets, "wxnotify " + command, *_outputs(capsys, caplog), *texts)


@settings(FUZZ, max_examples=EXAMPLES["api"])
@given(mistake=mistakes(2))
def test_python_api(home, inbox, capsys, caplog, mistake):
    from wxnotify_magic import notify, send

    secrets, words = mistake
    texts = []
    for call in (lambda: send("hi", to=words, wait=0), lambda: repr(notify(to=words, after=words[0])),
                 lambda: repr(notify(to=words).options), lambda: send("hi", to=" ".join(words), wait=0)):
        try:
            texts.append(str(call()))
        except Exception as exc:  # a bad destination or duration is the caller's mistake: ValueError
            texts.append(f"{type(exc).__name__}: {exc}")
    with contextlib.suppress(Exception):
        from wxnotify_magic import delivery

        delivery.flush_and_stop(0)
    check(secrets, "the Python API", *_outputs(capsys, caplog), *texts)
