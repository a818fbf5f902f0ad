"""Secrets are never shown: traitlets' %config, logs, reasons, reprs, the terminal,
folders, redirects, clear-text API bases. Each test reproduces what an attacker or an unlucky user saw."""

from __future__ import annotations

import logging
import os
import select
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest
from conftest import WECOM_KEY, WX_URL, assert_no_secret
from rawhttp import RawServer, dead_port_url

PY = sys.executable
SC_KEY = "SCT1234Ttest_fake_sendkey_0123456789"
PP_TOKEN = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


def no_part_of(secret: str, *texts: str, window: int = 8) -> None:
    """No ``window`` characters of ``secret`` in a row appear in any text (a cut must not leave most of it)."""
    for text in texts:
        for i in range(len(secret) - window + 1):
            assert secret[i:i + window] not in text, f"part of a secret leaked: {secret[i:i + window]!r}"


def run(code: str, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PY, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=90,
                          env={**os.environ, **(env or {})}, **kwargs)


# -- 1. %config WxNotify shows what traitlets holds: redacted, and config still works ---------------------


def test_config_listing_and_values_are_redacted(ip, inbox, capsys):
    ip.run_cell(f"%config WxNotify.destinations = {{'me': {WX_URL!r}}}").raise_error()
    ip.run_cell(f"%config WxNotify.to = ['me', 'wecombot://{WECOM_KEY}']").raise_error()
    ip.run_cell(f"%config WxNotify.fallbacks = {{'me': 'wecombot://{WECOM_KEY}'}}").raise_error()
    ip.run_cell("%config WxNotify").raise_error()
    shown = [ip.run_cell(f"%config WxNotify.{name}") for name in ("destinations", "to", "fallbacks")]
    out = capsys.readouterr()
    assert "Current: {'me': 'wxpusher://AT_…" in out.out and "WxNotify.to" in out.out
    assert_no_secret(out.out, out.err, *(repr(r.result) for r in shown))
    assert shown[0].result == {"me": WX_URL}  # the value itself is intact
    assert ip.run_cell("%%wxnotify --to me\n1").success  # and config still works with it
    assert inbox.wait_for(1)[0]["service"] == "wxpusher"


def test_config_type_errors_do_not_echo_the_value(ip, capsys, caplog):
    ip.run_cell(f"%config WxNotify.destinations = [{WX_URL!r}]")  # a list where a dict is expected
    ip.run_cell(f"%config WxNotify.to = [{WX_URL!r}, 5]")
    ip.run_cell(f"%config WxNotify.destinations = {{'me': [{WX_URL!r}]}}")  # a list where a URL is expected
    ip.run_cell(f"%config WxNotify.to = [[{WX_URL!r}]]")
    out = capsys.readouterr()
    assert "The 'destinations' trait of a WxNotify instance expected a dict" in caplog.text  # %config logs it
    assert "The 'to' trait" in caplog.text and "'destinations' trait of a WxNotify instance must be" in caplog.text
    assert_no_secret(out.out, out.err, caplog.text)


# -- 2. the mistakes named in the issue: one line each, no secret -----------------------------------------------

SC_URL = f"schan://{SC_KEY}"
CELL_MISTAKES = [
    f"%%wxnotify {WX_URL}\n1",  # forgot --to
    f"%%wxnotify --to {WX_URL.replace('://', ':/')}\n1",  # one slash
    f"%%wxnotify --to {SC_KEY}\n1",  # a bare key
    f"%%wxnotify --tail {WX_URL}\n1",
    f"%%wxnotify --after {PP_TOKEN}\n1",
    f"%%wxnotify --to schan://x/{SC_KEY}\n1",  # an extra segment
    f"%%wxnotify --to wecombot://a/{WECOM_KEY}\n1",
    f"%wxnotify {WX_URL}",
    f"%wxnotify history {WX_URL}",
    f"%wxnotify auto on {WX_URL}",
    f"%wxsend --too {SC_URL} hi",
]


@pytest.mark.parametrize("cell", CELL_MISTAKES, ids=range(len(CELL_MISTAKES)))
def test_the_issues_mistakes_show_one_line_and_no_secret(ip, capsys, cell):
    result = ip.run_cell(cell)
    out = capsys.readouterr()
    assert not result.success
    errors = [str(e) for e in (result.error_before_exec, result.error_in_exec) if e is not None]
    assert len(errors) == 1 and "\n" not in errors[0].strip()
    for secret in (WX_URL.split("//")[1].split("/")[0], "UID_test_user_0001", SC_KEY, WECOM_KEY, PP_TOKEN):
        no_part_of(secret, out.out, out.err, *errors)


def test_a_bare_key_in_wxnotify_to_is_never_printed(ip, monkeypatch, capsys):
    monkeypatch.setenv("WXNOTIFY_TO", SC_KEY)
    ip.run_cell("%%wxnotify\n1")
    ip.run_cell("%wxnotify")
    proc = subprocess.run([PY, "-m", "wxnotify_magic.cli", "status"], capture_output=True, text=True, timeout=60,
                          env=os.environ)
    out = capsys.readouterr()
    assert "unknown destination name (value hidden)" in out.err + out.out + proc.stdout
    no_part_of(SC_KEY, out.out, out.err, proc.stdout, proc.stderr)


def test_cli_mistakes_show_no_secret(home):
    for argv in (["send", "hi", WX_URL], ["send", "hi", "--to", SC_KEY], ["test", "--to", f"schan://x/{SC_KEY}"],
                 ["run", "--after", PP_TOKEN, "--", "true"], ["config", "add", WX_URL], ["sned", WX_URL]):
        proc = subprocess.run([PY, "-m", "wxnotify_magic.cli", *argv], capture_output=True, text=True, timeout=60,
                              env=os.environ)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert "Traceback" not in proc.stderr
        for secret in (SC_KEY, PP_TOKEN, "AT_test_token_0123456789abcdef"):
            no_part_of(secret, proc.stdout, proc.stderr)


# -- 3. the HTTP libraries' debug logs --------------------------------------------------------------------


def test_debug_logging_of_the_http_libraries_shows_no_key(home, inbox, caplog):
    from wxnotify_magic import send

    caplog.set_level(logging.DEBUG)
    for url in (f"wecombot://{WECOM_KEY}", f"schan://{SC_KEY}"):
        assert send("hello", to=url, wait=10).ok
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "POST /" in logged  # urllib3 did log the requests
    assert WECOM_KEY not in logged and SC_KEY not in logged


# -- 4. a service's answer quoting the key: redacted first, then cut ---------------------------------------


def test_a_reason_quoting_the_key_is_redacted_before_it_is_cut(ip, inbox, capsys):
    # the key at every offset, so that a cut anywhere lands inside one of them
    inbox.add_fault("code", code=93000, msg="".join(f"{'x' * i} key {WECOM_KEY} " for i in range(40)))
    ip.run_cell(f"%%wxnotify --to wecombot://{WECOM_KEY}\n1").raise_error()
    ip.run_cell("%wxnotify wait 30").raise_error()
    ip.run_cell("%wxnotify history").raise_error()
    ip.run_cell("%wxnotify").raise_error()
    out = capsys.readouterr()
    assert "93000" in out.err
    no_part_of(WECOM_KEY, out.out, out.err)


# -- 5. reprs -------------------------------------------------------------------------------------------------


def test_reprs_of_requests_and_options_show_no_token(home):
    from wxnotify_magic import notify
    from wxnotify_magic.message import Notification
    from wxnotify_magic.providers import parse_destination

    notifier = notify(to=WX_URL)
    assert_no_secret(repr(notifier.options), str(notifier.options), repr(notifier))
    assert "wxpusher://AT_…" in repr(notifier.options)
    dest = parse_destination(WX_URL)
    request = dest.provider.build(Notification(status="success", title="t"), dest)[0]
    assert_no_secret(repr(request), str(request), repr(dest))


# -- 6. tokens out of notebooks and shell history -----------------------------------------------------------


def test_a_cell_carrying_a_literal_token_is_warned_about_once(ip, inbox, capsys):
    ip.run_cell("%%wxnotify\n1").raise_error()  # the token comes from WXNOTIFY_TO: nothing to warn about
    assert "token" not in capsys.readouterr().err
    for _ in range(2):
        ip.run_cell(f"%%wxnotify --to {WX_URL}\n1").raise_error()
    ip.run_cell(f"%wxsend --to wecombot://{WECOM_KEY} hi").raise_error()
    out = capsys.readouterr()
    assert (out.out + out.err).count("a token is written in this cell") == 1
    assert "wxnotify config add NAME" in out.err
    assert_no_secret(out.out, out.err)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses a Linux pseudo-terminal")
def test_config_add_asks_for_the_url_without_echo(home, inbox):
    import pty

    take_terminal = ("import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
                     "os.execv(sys.argv[1], sys.argv[1:])")
    master, slave = pty.openpty()
    proc = subprocess.Popen([PY, "-c", take_terminal, PY, "-m", "wxnotify_magic.cli", "config", "add", "phone"],
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    seen = b""
    try:
        seen += _read_until(master, b"(input hidden)")
        os.write(master, WX_URL.encode() + b"\n")
        seen += _read_until(master, b"\n", 20)
        assert proc.wait(timeout=30) == 0
        seen += _drain(master)
    finally:
        proc.kill()
        os.close(master)
    assert_no_secret(seen.decode("utf-8", "replace"))
    saved = (home / "settings.json").read_text()
    assert WX_URL in saved and oct((home / "settings.json").stat().st_mode & 0o777) == "0o600"
    from wxnotify_magic import send

    assert send("via the saved name", to="phone", wait=10).ok


def _read_until(fd: int, marker: bytes, timeout: float = 20.0) -> bytes:
    seen, deadline = b"", time.monotonic() + timeout
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"timed out waiting for {marker!r}; got {seen!r}"
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        assert chunk, f"closed before {marker!r}; got {seen!r}"
        seen += chunk
    return seen


def _drain(fd: int) -> bytes:
    seen = b""
    while select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    return seen


# -- 7. folders are private whatever the umask ---------------------------------------------------------------


def test_every_folder_made_is_0700_under_umask_000(tmp_path, inbox):
    home = tmp_path / "a" / "b" / "wxhome"
    proc = run(f"""
        import os
        os.umask(0)
        from wxnotify_magic import send
        print(send("hi", to={'wecombot://' + WECOM_KEY!r}, wait=10).status)
    """, env={"WXNOTIFY_HOME": str(home), "WXNOTIFY_API_BASE": inbox.url})
    assert proc.stdout.split() == ["delivered"], proc.stderr
    for folder in (tmp_path / "a", tmp_path / "a" / "b", home):
        assert oct(folder.stat().st_mode & 0o777) == "0o700", folder
    assert oct((home / "outbox.sqlite3").stat().st_mode & 0o777) == "0o600"


# -- 8. a redirect is never followed ---------------------------------------------------------------------------


def test_a_307_to_another_origin_is_not_followed(ip, capsys, monkeypatch):
    with RawServer(lambda h: h.answer(200, {"errcode": 0, "errmsg": "ok"})) as elsewhere:
        def redirect(handler: Any) -> None:
            handler.answer(307, b"", {"Location": elsewhere.url + handler.path})

        with RawServer(redirect) as gateway:
            monkeypatch.setenv("WXNOTIFY_API_BASE", gateway.url)
            ip.run_cell(f"%%wxnotify --to wecombot://{WECOM_KEY}\n1").raise_error()
            ip.run_cell("%wxnotify wait 30").raise_error()
            assert gateway.seen("/cgi-bin/webhook/send") == 1
            assert elsewhere.requests == []  # the token never reached the other origin
    out = capsys.readouterr()
    assert "redirect" in out.err and "307" in out.err
    from wxnotify_magic import delivery

    (item,) = delivery.get_sender().outbox.items()
    assert item.status == "failed" and item.attempts == 1  # a permanent failure: not retried


# -- 9. a plain-http API base that is not loopback -------------------------------------------------------------


def test_plain_http_api_base_off_loopback_warns_once(home):
    # 0.0.0.0 is not a loopback address, yet connecting to it stays on this machine (no network is used)
    base = dead_port_url().replace("127.0.0.1", "0.0.0.0")
    proc = run(f"""
        from wxnotify_magic import send
        for _ in range(2):
            send("hi", to={'wecombot://' + WECOM_KEY!r}, wait=0.5)
    """, env={"WXNOTIFY_API_BASE": base})
    assert proc.stderr.count("plain http") == 1, proc.stderr
    assert_no_secret(proc.stderr, proc.stdout)


def test_plain_http_on_loopback_says_nothing(home, inbox, capsys):
    from wxnotify_magic import send

    assert send("hi", to=f"wecombot://{WECOM_KEY}", wait=10).ok
    assert "plain http" not in capsys.readouterr().err



# -- neighbouring cases: Chinese text around a URL, typed option values, apprise paths ------------------------


def test_redaction_stops_a_url_at_full_width_punctuation():
    from wxnotify_magic.redact import redact

    text = f"失败（备用：{WX_URL}）：原因很长，见 {WX_URL}。下一句"
    shown = redact(text)
    assert shown.startswith("失败（备用：wxpusher://") and "）：原因很长，见 wxpusher://" in shown
    assert shown.endswith("。下一句"), shown
    no_part_of(WX_URL.split("//")[1].split("/")[0], shown)


def test_a_chinese_error_about_a_url_keeps_its_words(ip, capsys):
    ip.run_line_magic("config", "WxNotify.lang = 'zh'")
    try:
        result = ip.run_cell("%%wxnotify --to ftp://x/y\n1")
    finally:
        ip.run_line_magic("config", "WxNotify.lang = 'en'")
    error = str(result.error_before_exec or result.error_in_exec)
    assert "ftp://…（wxnotify 和 apprise" in error, error


def test_a_typed_query_value_is_not_echoed_when_it_looks_like_a_key(ip, capsys):
    secret = "SECRETchan1234abcd"
    result = ip.run_cell(f"%%wxnotify --to 'pushplus://{PP_TOKEN}?channel={secret}'\n1")
    out = capsys.readouterr()
    error = str(result.error_before_exec or result.error_in_exec)
    assert "?channel=" in error and "not supported" in error
    no_part_of(secret, error, out.out, out.err)
    typo = ip.run_cell(f"%%wxnotify --to 'pushplus://{PP_TOKEN}?channel=mial'\n1")
    assert "?channel=mial" in str(typo.error_before_exec or typo.error_in_exec)  # a plain word helps the user


def test_apprise_urls_hide_long_keys_in_their_path():
    pytest.importorskip("apprise")
    from wxnotify_magic.redact import redact, redact_url

    for url, secret in (("ntfy://SECRETtopic12345abcdef", "SECRETtopic12345abcdef"),
                        ("json://localhost:18787/SECRETpath1234abcdXYZ", "SECRETpath1234abcdXYZ")):
        no_part_of(secret, redact_url(url), redact(f"sent to {url} ok"))
        assert redact_url(url).startswith(url.split("://")[0])  # apprise may spell it its way (ntfys)
