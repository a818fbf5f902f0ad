"""The %%wxnotify cell contract, %wxsend and %wxnotify, run through a real IPython shell exactly as typed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import unicodedata

import pytest
from conftest import SECRETS, WECOM_KEY, WX_TOKEN, assert_no_secret, outbox_statuses, settled


def messages(inbox, n=1):  # type: ignore[no-untyped-def]
    return inbox.wait_for(n, timeout=5)


# -- the cell contract, one test per clause ---------------------------------------------------------------


def test_output_is_shown_live_and_reaches_the_message(ip, inbox, capsys):
    ip.user_ns["capsys"] = capsys
    res = ip.run_cell("%%wxnotify\nprint('epoch 1 loss 0.5')\nseen_during_cell = capsys.readouterr().out")
    assert res.success
    assert "epoch 1 loss 0.5" in ip.user_ns["seen_during_cell"]  # printed through before the cell ended
    assert "epoch 1 loss 0.5" in messages(inbox)[0]["content"]


def test_last_value_is_out_and_underscore(ip, inbox):
    res = ip.run_cell("%%wxnotify\nx = 6\nx * 7")
    assert res.success and res.result == 42
    assert ip.user_ns["_"] == 42
    assert "42" in messages(inbox)[0]["content"]


def test_names_land_in_the_user_namespace(ip, inbox):
    ip.run_cell("%%wxnotify\nmodel_name = 'resnet'\ndef helper():\n    return 3").raise_error()
    assert ip.user_ns["model_name"] == "resnet" and ip.user_ns["helper"]() == 3


def test_top_level_await_works(ip, inbox):
    res = ip.run_cell("%%wxnotify\nimport asyncio\nawait asyncio.sleep(0.01)\nawaited = 'yes'")
    assert res.success, res.error_in_exec
    assert ip.user_ns["awaited"] == "yes"
    messages(inbox)


def test_exception_propagates_with_one_clean_traceback(ip, inbox, capsys):
    res = ip.run_cell("%%wxnotify\nprint('before')\nraise ValueError('bad batch')")
    assert not res.success and isinstance(res.error_in_exec, ValueError)
    out = capsys.readouterr()
    shown = out.out + out.err
    assert shown.count("Traceback (most recent call last)") == 1
    assert "----> 3 raise ValueError('bad batch')" in shown  # points at the cell's own line 3
    assert "wxnotify_magic" not in shown
    msg = messages(inbox)[0]
    assert "failed" in msg["title"] and "ValueError: bad batch" in msg["content"]
    assert "wxnotify_magic" not in msg["content"] and "IPython/core" not in msg["content"]


def test_keyboard_interrupt_is_reported_and_reraised(ip, inbox):
    res = ip.run_cell("%%wxnotify\nraise KeyboardInterrupt")
    assert isinstance(res.error_in_exec, KeyboardInterrupt)
    assert "interrupted" in messages(inbox)[0]["title"]


def test_progress_bars_collapse_to_their_final_state(ip, inbox):
    cell = ("%%wxnotify\nimport sys\nfor i in range(101):\n    sys.stdout.write(f'\\rprogress {i}%')\n"
            "print()\nprint('done')")
    ip.run_cell(cell).raise_error()
    content = messages(inbox)[0]["content"]
    assert "progress 100%" in content and "progress 99%" not in content and "done" in content


def test_tail_keeps_the_last_lines(ip, inbox):
    ip.run_cell("%%wxnotify --tail 3\nfor i in range(1000):\n    print('line', i)").raise_error()
    content = messages(inbox)[0]["content"]
    assert "line 999" in content and "line 997" in content and "line 996" not in content


def test_title_defaults_to_the_first_comment_line(ip, inbox):
    ip.run_cell("%%wxnotify\n# train resnet50 on imagenet\npass").raise_error()
    assert "train resnet50 on imagenet" in messages(inbox)[0]["title"]


def test_title_option(ip, inbox):
    ip.run_cell('%%wxnotify -t "nightly eval"\npass').raise_error()
    assert messages(inbox)[0]["title"].startswith("✅ nightly eval finished")


def test_message_facts(ip, inbox):
    ip.run_cell("%%wxnotify\nimport time\ntime.sleep(0.05)").raise_error()
    content = messages(inbox)[0]["content"]
    for fact in ("Time", "Host", "Cell"):
        assert f"**{fact}**" in content
    assert "Duration" not in content  # the card has it
    assert "Status" not in content and "finished" in messages(inbox)[0]["title"]  # the card says it, once


def test_notebook_name_from_session(ip, inbox):
    ip.user_ns["__session__"] = "/home/me/experiments/train.ipynb"
    ip.run_cell("%%wxnotify\npass").raise_error()
    assert "train.ipynb" in messages(inbox)[0]["content"]


# -- options -----------------------------------------------------------------------------------------------


def test_after_skips_short_cells(ip, home, inbox):
    ip.run_cell("%%wxnotify --after 1h\nx = 1").raise_error()
    assert outbox_statuses(home) == [] and settled(inbox) == []  # nothing was even queued


def test_a_marked_cell_that_sends_nothing_says_why_in_one_line(ip, home, inbox, capsys):
    """The panel's "Shortest run 5m" (WxNotify.after) still applies to a marked cell, but never silently."""
    ip.run_line_magic("config", "WxNotify.after = 300")
    try:
        ip.run_cell("%%wxnotify\nx = 1").raise_error()
        shown = capsys.readouterr().out.splitlines()
        skipped = r"wxnotify: not sent: it ran \d\.\d\d s, less than the shortest run to notify, 5m 00s \(--after 0 "
        assert len(shown) == 1 and re.fullmatch(skipped + r"notifies every run\)", shown[0]), shown
        ip.run_cell("%%wxnotify --after 0\nx = 1").raise_error()  # the cell's own option wins
        ip.run_line_magic("wxnotify", "wait 30")  # a terminal cell's receipt is printed once it settles
        assert capsys.readouterr().out.startswith("wxnotify: sent via WxPusher")
        ip.run_cell("%%wxnotify --on failure\nx = 1").raise_error()
        assert capsys.readouterr().out == ("wxnotify: not sent: it did not fail, and it notifies on failure only "
                                           "(--on failure)\n")
        ip.run_cell("%%wxnotify --quiet\nx = 1").raise_error()
        assert capsys.readouterr().out == ""  # --quiet asked for no status line
    finally:
        ip.run_line_magic("config", "WxNotify.after = 0")
    assert len(settled(inbox)) == 1


def test_after_still_reports_failures(ip, inbox):
    ip.run_cell("%%wxnotify --after 1h\n1/0")
    assert "ZeroDivisionError" in messages(inbox)[0]["content"]


def test_on_failure_only(ip, home, inbox):
    ip.run_cell("%%wxnotify --on failure\nx = 1").raise_error()
    assert outbox_statuses(home) == [] and settled(inbox) == []
    ip.run_cell("%%wxnotify --on failure\n1/0")
    assert len(messages(inbox)) == 1


def test_no_output_leaves_output_and_value_out(ip, inbox):
    ip.run_cell("%%wxnotify --no-output\nprint('secret-ish output')\n'the value'").raise_error()
    content = messages(inbox)[0]["content"]
    assert "secret-ish output" not in content and "the value" not in content


def test_quiet_prints_no_status_line(ip, inbox, capsys):
    ip.run_cell("%%wxnotify --quiet\nx = 1").raise_error()
    messages(inbox)
    assert "wxnotify:" not in capsys.readouterr().out


def test_status_line_after_the_cell(ip, inbox, capsys):
    ip.run_cell("%%wxnotify\nx = 1").raise_error()
    assert "wxnotify" not in capsys.readouterr().out  # not inside the cell's output
    ip.run_cell("%wxnotify wait 30").raise_error()  # a terminal cell never waits: its receipt is printed later
    assert "wxnotify: sent via WxPusher" in capsys.readouterr().out


@pytest.mark.parametrize("line,problem", [
    ("--bogus", "unrecognized arguments"),
    ("--after 5x", "not a duration"),
    ("--on sometimes", "invalid choice"),
    ("--tail -1", "--tail"),
])
def test_bad_options_raise_usage_error_before_the_body_runs(ip, inbox, capsys, line, problem):
    res = ip.run_cell(f"%%wxnotify {line}\nran_body = True")
    assert not res.success and type(res.error_in_exec).__name__ == "UsageError"
    assert problem in str(res.error_in_exec)
    assert "ran_body" not in ip.user_ns
    assert inbox.messages == []


def test_malformed_destination_names_the_problem_without_the_secret(ip, inbox):
    res = ip.run_cell(f"%%wxnotify --to wxpusher://XX_{WX_TOKEN}/UID_a\nran_body = True")
    text = str(res.error_in_exec)
    assert "App token" in text and WX_TOKEN not in text and "ran_body" not in ip.user_ns


def test_unknown_scheme_and_unknown_name(ip, inbox):
    res = ip.run_cell("%%wxnotify --to telegram://abc\npass")
    assert "unknown destination type telegram://" in str(res.error_in_exec)
    res = ip.run_cell("%%wxnotify --to team\npass")
    assert "unknown destination name 'team'" in str(res.error_in_exec)


def test_a_bad_fallback_is_named_as_the_fallback_not_blamed_on_the_destinations(ip, inbox):
    ip.run_line_magic("config", f'WxNotify.destinations = {{"me": "wxpusher://{WX_TOKEN}/UID_test_a"}}')
    ip.run_line_magic("config", 'WxNotify.fallbacks = {"me": "team"}')  # never saved
    text = str(ip.run_cell("%wxsend --to me hello").error_in_exec)
    assert text.endswith("unknown destination name 'team' (named destinations: me) (the fallback of me, in "
                         "WxNotify.fallbacks)"), text
    ip.run_line_magic("config", f'WxNotify.fallbacks = {{"me": "wxpusher://XX_{WX_TOKEN}/UID_a"}}')
    text = str(ip.run_cell("%wxsend --to me hello").error_in_exec)
    assert "App token" in text and "(the fallback of me, in WxNotify.fallbacks)" in text and WX_TOKEN not in text
    assert "default destinations" not in text


def test_no_destination_says_how_to_set_one(ip, inbox, monkeypatch):
    monkeypatch.delenv("WXNOTIFY_TO")
    res = ip.run_cell("%%wxnotify\nran_body = True")
    assert "no destination configured" in str(res.error_in_exec) and "WXNOTIFY_TO" in str(res.error_in_exec)
    assert "ran_body" not in ip.user_ns


def test_to_option_and_wecom_webhook_url(ip, inbox):
    url = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}"
    ip.run_cell(f"%%wxnotify --to {url}\npass").raise_error()
    msg = messages(inbox)[0]
    assert msg["service"] == "wecombot" and msg["query"]["key"] in (WECOM_KEY, [WECOM_KEY])


def test_named_destinations_from_config(ip, inbox):
    ip.run_cell(f"%config WxNotify.destinations = {{'team': 'wecombot://{WECOM_KEY}'}}").raise_error()
    ip.run_cell("%%wxnotify --to team\npass").raise_error()
    assert messages(inbox)[0]["service"] == "wecombot"


def test_two_destinations_at_once(ip, inbox):
    ip.run_cell(f"%%wxnotify --to wecombot://{WECOM_KEY} --to wxpusher://{WX_TOKEN}/UID_test_2\npass").raise_error()
    assert sorted(m["service"] for m in messages(inbox, 2)) == ["wecombot", "wxpusher"]


# -- delivery never breaks the cell -----------------------------------------------------------------------


def test_rejected_token_is_one_line_and_cell_still_succeeds(ip, inbox, capsys):
    ip.run_cell("%config WxNotify.to = ['wxpusher://AT_test_bad_token_000000/UID_test_1']").raise_error()
    res = ip.run_cell("%%wxnotify\nvalue = 7\nvalue")
    assert res.success and res.result == 7
    ip.run_cell("%wxnotify wait 30").raise_error()  # a terminal cell never waits: its receipt is printed later
    err = capsys.readouterr().err
    assert "failed" in err and "WxPusher" in err and "code 1001" in err and "AT_test_bad" not in err


def test_slow_service_never_holds_the_cell(ip, inbox, capsys):
    inbox.add_fault("delay", seconds=2.0)
    res = ip.run_cell("%%wxnotify\nx = 1")
    assert res.success
    ip.run_cell("%wxnotify wait 0").raise_error()  # the cell returned before the answer came (2 s later)
    assert "still sending" in capsys.readouterr().out
    assert len(messages(inbox)) == 1  # it still arrives


def test_unreachable_service_does_not_break_the_cell(ip, inbox, monkeypatch, capsys):
    monkeypatch.setenv("WXNOTIFY_API_BASE", "http://127.0.0.1:9")  # nothing listens on the discard port
    ip.run_cell("%config WxNotify.wait = 0.5").raise_error()
    res = ip.run_cell("%%wxnotify\nx = 1")
    assert res.success
    ip.run_cell("%wxnotify wait 0.5").raise_error()
    out = capsys.readouterr().out
    assert "1 held" in out and "connection" in out


# -- %wxsend and %wxnotify ------------------------------------------------------------------------------


def test_wxsend_expands_expressions(ip, inbox):
    ip.user_ns.update(acc=0.93, step=500)
    ip.run_cell("%wxsend -t eval accuracy is {round(acc * 100)}% at $step").raise_error()
    msg = messages(inbox)[0]
    assert "eval" in msg["title"] and "accuracy is 93% at 500" in msg["content"]


def test_wxsend_keeps_apostrophes_and_needs_text(ip, inbox):
    ip.run_cell("%wxsend it's done").raise_error()
    assert "it's done" in messages(inbox)[0]["content"]
    res = ip.run_cell("%wxsend")
    assert "nothing to send" in str(res.error_in_exec)


def test_wxsend_takes_text_after_a_double_dash_and_names_an_option_without_value(ip, inbox):
    ip.run_cell("%wxsend -t run -- -t is text here").raise_error()
    msg = messages(inbox)[0]
    assert "run" in msg["title"] and "-t is text here" in msg["content"] and "-- " not in msg["content"]
    for line, problem in (("%wxsend -t", "option -t needs a value"), ("%wxsend --to", "option --to needs a value"),
                          ("%wxsend --", "nothing to send"), ("%wxsend -x hi", "unknown option -x")):
        res = ip.run_cell(line)
        assert problem in str(res.error_in_exec), (line, res.error_in_exec)


def test_history_fits_a_normal_width(ip, inbox, capsys):
    """A long title and a failure's reason: each row of %wxnotify history stays within 100 columns."""
    ip.run_cell("%%wxnotify -t '" + "训练 resnet50 " * 12 + "'\npass").raise_error()
    ip.run_cell("%%wxnotify --to wxpusher://AT_test_bad_token_000000/UID_test_1 -t " + "long-title-" * 12 + "\npass")
    ip.run_cell("%wxnotify wait 30").raise_error()
    capsys.readouterr()
    ip.run_cell("%wxnotify history 5").raise_error()
    rows = capsys.readouterr().out.splitlines()
    columns = [sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in row.replace("\u2060", ""))
               for row in rows]
    assert len(rows) == 3 and max(columns) <= 100, rows  # the reason on a line of its own
    assert rows[0].startswith("#2 ") and rows[1].lstrip().startswith("— WxPusher rejected") and rows[2].startswith("#1")


def test_status_history_and_unknown_command(ip, inbox, capsys):
    ip.run_cell("%wxsend hello").raise_error()
    ip.run_cell("%wxnotify").raise_error()
    ip.run_cell("%wxnotify history 5").raise_error()
    out = capsys.readouterr().out
    assert "→ wxpusher:\u2060//AT_…cdef/UID_… [WxPusher]" in out and "UID UID_…: 1 of 500 today" in out
    assert "delivered wxpusher:\u2060//AT_…cdef/UID_…" in out  # reads the same; front ends link no scheme://
    assert "://" not in out.split("\n", 1)[1]
    assert_no_secret(out)
    for n in ("0", "-1"):
        assert "1 or more" in str(ip.run_cell(f"%wxnotify history {n}").error_in_exec)
    res = ip.run_cell("%wxnotify frobnicate")
    assert "unknown command" in str(res.error_in_exec)


def test_no_secret_in_any_output(ip, inbox, capsys):
    ip.run_cell(f"%config WxNotify.destinations = {{'team': 'wecombot://{WECOM_KEY}'}}").raise_error()
    for cell in ("%%wxnotify\nprint(1)", "%%wxnotify --to team\n1/0", "%wxsend hi", "%wxnotify",
                 "%wxnotify history", "%wxnotify config"):
        ip.run_cell(cell)
    out = capsys.readouterr()
    assert_no_secret(out.out, out.err)


def test_unload_removes_everything(shell, home):
    before_cleanup = list(shell.input_transformers_cleanup)
    shell.run_line_magic("load_ext", "wxnotify_magic")
    shell.run_cell("%wxsend hi")
    shell.run_line_magic("unload_ext", "wxnotify_magic")
    assert "wxnotify" not in shell.magics_manager.magics["cell"]
    assert "wxsend" not in shell.magics_manager.magics["line"]
    assert shell.input_transformers_cleanup == before_cleanup
    callbacks = shell.events.callbacks["pre_run_cell"] + shell.events.callbacks["post_run_cell"]
    assert not any("wxnotify" in getattr(cb, "__module__", "") for cb in callbacks)
    import threading

    assert not [t for t in threading.enumerate() if t.name in ("wxnotify-sender", "wxnotify-ping")]


def test_direct_run_cell_magic_path(ip, inbox):
    value = ip.run_cell_magic("wxnotify", "-t direct", "y = 2\ny + 3")
    assert value == 5 and ip.user_ns["y"] == 2
    with pytest.raises(ZeroDivisionError):
        ip.run_cell_magic("wxnotify", "", "1/0")
    titles = [m["title"] for m in messages(inbox, 2)]
    assert any("direct" in t for t in titles) and any("failed" in t for t in titles)


def test_load_ext_imports_neither_requests_nor_ipywidgets(tmp_path):
    code = ("from IPython.testing.globalipapp import start_ipython; ip = start_ipython(); "
            "import sys; ip.run_line_magic('load_ext', 'wxnotify_magic'); "
            "print(sorted(m for m in ('requests', 'ipywidgets', 'apprise') if m in sys.modules))")
    env = {"IPYTHONDIR": str(tmp_path), "WXNOTIFY_HOME": str(tmp_path / "h"), "PATH": "/usr/bin:/bin",
           "WXNOTIFY_TO": "json://127.0.0.1:9/hook wxpusher://AT_test_x/UID_test_y"}  # an apprise URL among them
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr


def test_load_ext_loads_only_the_settings_and_the_rest_comes_with_the_first_use(tmp_path):
    """``%load_ext`` registers the settings and light stand-ins; the session, the hooks, the magics (with their
    ten argparse parsers), the watchdog and the cluster and training-curve modules load with the first cell
    that needs them. Plain cells before it load nothing; the first ``%%wxnotify`` cell is watched and parsed."""
    code = textwrap.dedent("""
        import sys
        from IPython.testing.globalipapp import start_ipython
        ip = start_ipython()
        heavy = ("session", "hooks", "magics", "watch", "message", "receipts", "receipt_view", "watchdog", "ranks",
                 "metrics")
        loaded = lambda: sorted(m for m in heavy if "wxnotify_magic." + m in sys.modules)
        ip.run_line_magic("load_ext", "wxnotify_magic")
        print(loaded())
        ip.run_cell("y = 2 + 2").raise_error()
        print(loaded())
        ip.run_cell("%%wxnotify --after 1h --tail 3\\nx = 1").raise_error()
        from wxnotify_magic.magics import WxNotifyMagics
        print(ip.user_ns["x"], "parser" in vars(WxNotifyMagics.wxnotify), "hooks" in loaded())
    """)
    env = {"IPYTHONDIR": str(tmp_path), "WXNOTIFY_HOME": str(tmp_path / "h"), "PATH": "/usr/bin:/bin",
           "WXNOTIFY_TO": "wxpusher://AT_test_x/UID_test_y"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    lines = out.stdout.strip().splitlines()
    assert lines[:2] == ["[]", "[]"] and lines[-1] == "1 True True", out.stdout + out.stderr


def test_load_then_unload_before_any_use_leaves_nothing(shell, home):
    before = (list(shell.input_transformers_cleanup), list(shell.events.callbacks["pre_run_cell"]),
              list(shell.events.callbacks["post_run_cell"]))
    shell.run_line_magic("load_ext", "wxnotify_magic")
    assert "wxnotify" in shell.magics_manager.magics["cell"] and "wxsend" in shell.magics_manager.magics["line"]
    shell.run_line_magic("unload_ext", "wxnotify_magic")
    assert "wxnotify" not in shell.magics_manager.magics["cell"]
    assert "wxnotify" not in shell.magics_manager.magics["line"] and "wxsend" not in shell.magics_manager.magics["line"]
    assert before == (shell.input_transformers_cleanup, shell.events.callbacks["pre_run_cell"],
                      shell.events.callbacks["post_run_cell"])
    assert not [c for c in shell.configurables if type(c).__module__.startswith("wxnotify_magic")]


def test_the_first_use_is_the_python_api_in_a_cell(ip, inbox):
    """A cell naming wxnotify builds the machinery before it runs: its send goes through the loaded session, and
    the magics in place are the real ones from then on."""
    from wxnotify_magic import session
    from wxnotify_magic.magics import WxNotifyMagics

    assert session.attached(ip) is None  # not built by loading
    ip.run_cell(f"import wxnotify_magic\nr = wxnotify_magic.send('from the api', to='wecombot://{WECOM_KEY}', "
                "wait=10)").raise_error()
    assert ip.user_ns["r"].ok, ip.user_ns["r"]
    assert "from the api" in messages(inbox)[0]["content"]
    assert session.attached(ip) is session.current() is not None
    assert isinstance(ip.find_line_magic("wxsend").__self__, WxNotifyMagics)


def test_secrets_constant_is_used():
    assert len(SECRETS) == 3


def test_direct_path_tees_output_too(ip, inbox, capsys):
    ip.run_cell_magic("wxnotify", "--tail 2", "for i in range(5):\n    print('step', i)")
    assert "step 4" in capsys.readouterr().out
    content = messages(inbox)[0]["content"]
    assert "step 4" in content and "step 3" in content and "step 2" not in content


def test_output_of_earlier_cells_is_not_reported(ip, inbox):
    ip.run_cell("print('from an earlier cell')").raise_error()
    ip.run_cell("%%wxnotify\nprint('from this cell')").raise_error()
    content = messages(inbox)[0]["content"]
    assert "from this cell" in content and "from an earlier cell" not in content


def test_file_and_config_destinations_combine(shell, home, inbox):
    from wxnotify_magic.settings import SettingsFile

    SettingsFile().write({"destinations": {"me": f"wecombot://{WECOM_KEY}"}, "to": ["me"]})
    shell.config.WxNotify.destinations = {"team": f"wxpusher://{WX_TOKEN}/UID_test_team"}
    shell.run_line_magic("load_ext", "wxnotify_magic")
    try:
        shell.run_cell("%%wxnotify --to me --to team\npass").raise_error()
        assert sorted(m["service"] for m in messages(inbox, 2)) == ["wecombot", "wxpusher"]
    finally:
        shell.run_line_magic("unload_ext", "wxnotify_magic")
        shell.config.pop("WxNotify", None)


# -- in the terminal shell ----------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["%%time\n%%wxnotify -t stacked\nx = 1\nprint('ran once')",
                                    "%%wxnotify -t stacked\n%%time\nx = 1\nprint('ran once')",
                                    "%%timeit -n 4 -r 2\n%%wxnotify -t stacked\nx = 1",
                                    "%%wxnotify -t stacked\n%%timeit -n 4 -r 2\nx = 1"])
def test_stacked_cell_magics_send_one_message(ip, inbox, capsys, source):
    res = ip.run_cell(source)
    assert res.success, res.error_in_exec
    out = capsys.readouterr().out
    assert "Wall time" in out or "per loop" in out
    ip.run_cell("%wxnotify wait 10").raise_error()
    assert [m["title"].split(" · ")[0] for m in inbox.messages] == ["✅ stacked finished"]
    if "print" in source:
        assert "ran once" in inbox.messages[0]["content"]


@pytest.mark.parametrize("source", ["%%wxnotify\n%%wxnotify -t double\nran_twice = 1",
                                    "%%time\n%%wxnotify\n%%wxnotify -t double\nran_twice = 1"])
def test_two_wxnotify_lines_are_one_usage_line_and_nothing_runs(ip, inbox, capsys, source):
    res = ip.run_cell(source)
    error = res.error_before_exec or res.error_in_exec
    if source.startswith("%%wxnotify") or error is not None:  # IPython 7's %%time shows its body's error itself
        assert not res.success and "two %%wxnotify lines" in str(error) and "\n" not in str(error).strip()
    else:
        out = capsys.readouterr()
        assert "two %%wxnotify lines" in out.out + out.err
    ip.run_cell("%wxnotify wait 10").raise_error()
    assert "ran_twice" not in ip.user_ns and inbox.messages == []


@pytest.mark.parametrize("flags", ["", "--no-stdout", "--no-stderr", "--no-display"])
def test_capture_above_wxnotify_captures_only_the_cells_output(ip, inbox, capsys, flags):
    """The capture holds what %%capture alone would; the receipt is shown once, outside it."""
    ip.run_cell(f"%%capture {flags} alone\nprint('captured text')").raise_error()
    alone = ip.user_ns["alone"]
    capsys.readouterr()
    res = ip.run_cell(f"%%capture {flags} out\n%%wxnotify -t cap\nprint('captured text')")
    assert res.success, res.error_in_exec
    out = ip.user_ns["out"]
    assert (out.stdout, out.stderr, out.outputs) == (alone.stdout, alone.stderr, alone.outputs)
    assert "wxnotify" not in out.stdout + out.stderr
    ip.run_cell("%wxnotify wait 30").raise_error()  # a terminal cell never waits: its receipt is printed later
    shown = capsys.readouterr().out
    assert shown.count("wxnotify: sent via WxPusher") == 1
    assert shown.index("wxnotify:") > shown.find("captured text")  # after the cell's own output, if shown
    assert "captured text" in messages(inbox)[0]["content"]


def test_capture_above_a_failing_delivery_keeps_warnings_and_the_failure_out_of_the_capture(ip, inbox, capsys):
    ip.run_cell("%%capture out\n%%wxnotify --to wxpusher://AT_test_bad_token_000000/UID_test_1\n"
                "print('captured text')").raise_error()
    out = ip.user_ns["out"]
    assert (out.stdout, out.stderr) == ("captured text\n", "")
    ip.run_cell("%wxnotify wait 30").raise_error()  # a terminal cell never waits: its receipt is printed later
    err = capsys.readouterr().err
    assert "code 1001" in err and "a token is written in this cell" in err


def test_help_in_the_terminal(ip, inbox, capsys):
    ip.run_cell("%%wxnotify --help\nran_help = 1").raise_error()
    ip.run_cell("%wxnotify -h").raise_error()
    out = capsys.readouterr().out
    assert out.count("Push a WeChat notification when this cell ends") == 2 and "ran_help" not in ip.user_ns
    assert inbox.messages == []


def test_expanded_options_in_the_terminal(ip, inbox):
    ip.user_ns["lr"] = 0.5
    ip.run_cell("%%wxnotify -t run-lr={lr}\nx = 1").raise_error()
    assert messages(inbox)[0]["title"].startswith("✅ run-lr=0.5 finished")


def test_wait_in_the_terminal_says_what_is_left(ip, inbox, capsys):
    ip.run_cell("%config WxNotify.wait = 0.1").raise_error()
    inbox.add_fault("delay", seconds=1.0)
    ip.run_cell("%%wxnotify -t 'slow one'\nx = 1").raise_error()
    ip.run_cell("%wxnotify wait 0").raise_error()
    assert "still sending" in capsys.readouterr().out
    ip.run_cell("%wxnotify wait 20").raise_error()
    assert "settled" in capsys.readouterr().out
    res = ip.run_cell("%wxnotify wait soon")
    assert "not a duration" in str(res.error_in_exec)


def test_ipython_runs_an_ipy_script_and_it_notifies(home, inbox, tmp_path):
    script = tmp_path / "train.ipy"
    script.write_text("%%wxnotify -t 'from a script'\nprint('epoch 1')\n", encoding="utf-8")
    env = {**os.environ, "IPYTHONDIR": str(tmp_path / "ipython")}
    out = subprocess.run([sys.executable, "-m", "IPython", "--ext=wxnotify_magic", "--no-banner", str(script)],
                         capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "epoch 1" in out.stdout and "wxnotify: sent via " in out.stdout
    [message] = inbox.wait_for(1)
    assert message["title"].startswith("✅ from a script finished") and "epoch 1" in message["content"]


def test_wxnotify_to_takes_urls_apart_by_commas_and_names_itself_in_errors(ip, inbox, monkeypatch, capsys):
    monkeypatch.setenv("WXNOTIFY_TO", f"wecombot://{WECOM_KEY}, wxpusher://{WX_TOKEN}/UID_a,UID_b")
    ip.run_cell("%%wxnotify -t both\npass").raise_error()
    ip.run_cell("%wxnotify wait 10").raise_error()
    assert {m["service"] for m in inbox.messages} == {"wecombot", "wxpusher"}
    assert sorted(u for m in inbox.messages if m["service"] == "wxpusher" for u in m["body"]["uids"]) == ["UID_a",
                                                                                                         "UID_b"]
    monkeypatch.setenv("WXNOTIFY_TO", f"wxpusher://{WX_TOKEN}/not-a-uid")
    res = ip.run_cell("%%wxnotify\npass")
    error = str(res.error_before_exec or res.error_in_exec)
    assert "WXNOTIFY_TO" in error and WX_TOKEN not in error + capsys.readouterr().err


def test_status_names_when_it_notifies_in_the_users_language(ip, capsys):
    ip.run_line_magic("config", "WxNotify.on = 'failure'")
    try:
        ip.run_cell("%wxnotify").raise_error()
        ip.run_line_magic("config", "WxNotify.lang = 'zh'")
        ip.run_cell("%wxnotify").raise_error()
    finally:
        ip.run_line_magic("config", "WxNotify.lang = 'en'")
        ip.run_line_magic("config", "WxNotify.on = 'always'")
    out = capsys.readouterr().out
    assert ", on failure only;" in out and "；仅失败时；" in out and "failure）" not in out


def test_the_same_destination_twice_sends_one_message(ip, inbox):
    url = f"wxpusher://{WX_TOKEN}/UID_test_same"
    ip.run_cell(f"%wxsend -t T --to {url} --to 'wxpusher://UID_test_same?token={WX_TOKEN}' --to {url} hi").raise_error()
    ip.run_cell("%wxnotify wait 10").raise_error()
    [message] = inbox.messages
    assert message["title"].startswith("💬 T") and "hi" in message["content"]
