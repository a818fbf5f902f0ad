"""The magics in Chinese: argparse's and shlex's complaints about an option line, and the help, follow the
language chosen at the time (``%config WxNotify.lang``), not the one of the import."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from conftest import WECOM_KEY, WX_TOKEN, WX_UID, assert_no_secret

ENGLISH = re.compile(r"invalid|unrecognized|expected|required|closing|argument |choose from")


def choices(*names: str) -> str:
    """How this Python's argparse lists the choices in its complaint (quoted before 3.14, plain since)."""
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("--x", choices=names)
    try:
        parser.parse_args(["--x", "?"])
    except argparse.ArgumentError as exc:
        return re.fullmatch(r".*\(choose from (.*)\)", str(exc))[1]  # type: ignore[index]
    raise AssertionError("argparse took an invalid choice")


ON, SWITCH = choices("always", "success", "failure"), choices("on", "off")


def usage_error(ip: Any, source: str) -> str:
    res = ip.run_cell(source)
    assert not res.success and type(res.error_in_exec).__name__ == "UsageError", source
    text = str(res.error_in_exec)
    assert "\n" not in text, "one line"
    return text


@pytest.mark.parametrize(("source", "expected"), [
    ("%%wxnotify --on sometimes\nran_body = 1",
     f"%%wxnotify：参数 --on：'sometimes' 不是可选的值（可选：{ON}）"),
    ("%%wxnotify --bogus x\nran_body = 1", "%%wxnotify：无法识别的参数：--bogus x"),
    ("%%wxnotify --tail abc\nran_body = 1", "%%wxnotify：参数 --tail：不是整数：'abc'"),
    ("%%wxnotify --tail\nran_body = 1", "%%wxnotify：参数 --tail：需要一个值"),
    ("%%wxnotify -t 'my run\nran_body = 1", "%%wxnotify：引号没有闭合"),
    ("%wxnotify auto", "%wxnotify auto：缺少必需的参数：switch"),
    ("%wxnotify auto maybe", f"%wxnotify auto：参数 switch：'maybe' 不是可选的值（可选：{SWITCH}）"),
    ("%wxnotify history abc", "%wxnotify history：参数 n：不是整数：'abc'"),
    ("%wxnotify status extra", "%wxnotify status：无法识别的参数：extra"),
    ("%wxnotify test --to", "%wxnotify test：参数 --to：需要一个值"),
    ("%wxsend -t 'a b c", "%wxsend：引号没有闭合"),
])
def test_option_errors_are_chinese_when_the_language_is(ip: Any, inbox: Any, source: str, expected: str) -> None:
    ip.run_line_magic("config", "WxNotify.lang = 'zh'")
    text = usage_error(ip, source)
    assert text == expected
    assert not ENGLISH.search(text), text
    assert "ran_body" not in ip.user_ns and inbox.messages == []


@pytest.mark.parametrize(("source", "expected"), [
    ("%%wxnotify --on sometimes\nx = 1",
     f"%%wxnotify: argument --on: invalid choice: 'sometimes' (choose from {ON})"),
    ("%%wxnotify --bogus x\nx = 1", "%%wxnotify: unrecognized arguments: --bogus x"),
    ("%wxnotify auto", "%wxnotify auto: the following arguments are required: switch"),
    ("%%wxnotify -t 'my run\nx = 1", "%%wxnotify: No closing quotation"),
])
def test_option_errors_stay_english_in_english(ip: Any, source: str, expected: str) -> None:
    ip.run_line_magic("config", "WxNotify.lang = 'en'")
    text = usage_error(ip, source)
    assert text == expected


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_option_errors_keep_secrets_redacted_in_both_languages(ip: Any, lang: str) -> None:
    ip.run_line_magic("config", f"WxNotify.lang = '{lang}'")
    for source in (f"%%wxnotify --bogus wxpusher://{WX_TOKEN}/{WX_UID}\nx = 1",
                   f"%%wxnotify --bogus {WECOM_KEY}\nx = 1",
                   f"%%wxnotify --on {WX_TOKEN}\nx = 1",
                   f"%wxnotify history {WECOM_KEY}"):
        text = usage_error(ip, source)
        assert_no_secret(text)
        assert "…" in text, text
        assert ("无法识别的参数" in text or "不是可选的值" in text or "不是整数" in text) == (lang == "zh"), text


def test_python_level_errors_are_translated_once_and_unknown_ones_pass_through() -> None:
    from wxnotify_magic.i18n import tr_usage

    assert tr_usage("argument --x: expected at most one argument", "zh") == "参数 --x：最多需要一个值"
    assert tr_usage("argument -t/--title: expected one argument", "zh") == "参数 -t/--title：需要一个值"
    assert tr_usage("invalid float value: '1,5'", "zh") == "不是数字：'1,5'"
    assert tr_usage("No escaped character", "zh") == "反斜杠后面缺少字符"
    assert tr_usage("something argparse never said", "zh") == "something argparse never said"
    assert tr_usage("unrecognized arguments: --x", "en") == "unrecognized arguments: --x"


# -- help ------------------------------------------------------------------------------------------------------


def test_help_follows_the_current_language(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("config", "WxNotify.lang = 'zh'")
    for source in ("%wxnotify help", "%%wxnotify -h\nran_help = 1", "%wxnotify --help"):
        ip.run_cell(source).raise_error()
        out = capsys.readouterr().out
        assert "单元格结束时推送一条微信通知" in out and "何时通知" in out, out
        assert "选项：" in out and "位置参数：" in out
        assert not re.search(r"(?m)^(options|positional arguments|usage):", out), out
        assert "When to notify" not in out and "Push a WeChat notification" not in out
    ip.run_line_magic("config", "WxNotify.lang = 'en'")
    ip.run_cell("%wxnotify help").raise_error()
    out = capsys.readouterr().out
    assert "Push a WeChat notification when this cell ends" in out and "When to notify." in out
    assert "options:" in out or "optional arguments:" in out
    assert "选项" not in out and "何时通知" not in out
    assert "ran_help" not in ip.user_ns


def test_question_mark_help_follows_the_current_language(ip: Any) -> None:
    magic = ip.find_cell_magic("wxnotify")
    from IPython.core.oinspect import getdoc

    ip.run_line_magic("config", "WxNotify.lang = 'zh'")
    doc = getdoc(magic) or ""
    assert "单元格结束时推送一条微信通知" in doc and "选项：" in doc and "何时通知" in doc
    assert "--after" in doc and "%wxnotify wait" in doc
    ip.run_line_magic("config", "WxNotify.lang = 'en'")
    doc = getdoc(magic) or ""
    assert "Push a WeChat notification" in doc and "When to notify." in doc and "选项" not in doc
    assert getdoc(ip.find_line_magic("wxsend")) is not None and "Title of the message." in (
        getdoc(ip.find_line_magic("wxsend")) or "")


SCRIPT = """
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
ip.run_line_magic("load_ext", "wxnotify_magic")
ip.run_line_magic("config", "WxNotify.lang = 'en'")
ip.run_cell("%wxnotify help")
ip.run_cell("%%wxnotify?")
"""


def test_help_built_under_a_chinese_locale_shows_english_after_switching(home: Any) -> None:
    env = {**os.environ, "LANG": "zh_CN.UTF-8", "LC_ALL": "", "LC_MESSAGES": "", "PAGER": "cat"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("When to notify.") == 2, proc.stdout
    assert "何时通知" not in proc.stdout and "选项" not in proc.stdout
