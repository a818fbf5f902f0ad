"""The language table: every string passed to tr() or N_() in the package has a Chinese entry with the same
placeholders, the table has no stale entries, and the language follows WxNotify.lang and the locale."""

from __future__ import annotations

import ast
import json
import os
import re
import string
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from wxnotify_magic import delivery, i18n
from wxnotify_magic.durations import human_duration
from wxnotify_magic.lang_zh import ZH
from wxnotify_magic.message import Notification, render, render_title

PACKAGE = Path(__file__).resolve().parents[1] / "wxnotify_magic"


def _literal(node: ast.expr) -> str | None:
    """The text of a string literal, or of implicitly concatenated ones."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def marked_strings() -> dict[str, str]:
    """Every literal passed to tr() / N_() in the package -> where it is (file:line)."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "lang_zh.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("tr", "N_")):
                continue
            text = _literal(node.args[0]) if node.args else None
            if text is not None:
                found.setdefault(text, f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


MARKED = marked_strings()


def test_the_collector_sees_the_package() -> None:
    assert len(MARKED) > 150
    assert "finished" in MARKED and "{n} s" in MARKED and "wxnotify settings" in MARKED


def test_every_marked_string_has_a_chinese_entry_with_the_same_placeholders() -> None:
    missing = [f"{where}: {text!r}" for text, where in MARKED.items() if not ZH.get(text)]
    assert not missing, "no Chinese entry for:\n" + "\n".join(missing)
    differ = [f"{MARKED[text]}: {text!r} -> {ZH[text]!r}" for text in MARKED
              if placeholders(text) != placeholders(ZH[text])]
    assert not differ, "placeholders differ:\n" + "\n".join(differ)


def test_the_chinese_table_has_no_stale_entries() -> None:
    stale = sorted(set(ZH) - set(MARKED))
    assert not stale, "ZH entries no tr()/N_() uses:\n" + "\n".join(map(repr, stale))


def test_a_string_without_a_literal_fails_the_collector(tmp_path: Path) -> None:
    """The collector itself: a new tr() call with an unknown text is found (so the first test can fail)."""
    tree = ast.parse('tr("a brand new sentence {x}", x=1)\nN_("another one")')
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert [_literal(c.args[0]) for c in calls] == ["a brand new sentence {x}", "another one"]
    assert all(_literal(c.args[0]) not in ZH for c in calls)


@pytest.mark.parametrize(("env", "expected"), [
    ({"LC_ALL": "zh_CN.UTF-8"}, "zh"), ({"LANG": "zh_TW.UTF-8"}, "zh"), ({"LC_MESSAGES": "en_US.UTF-8"}, "en"),
    ({"LC_ALL": "C.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),  # LC_ALL wins, as it does for the C library
])
def test_auto_language_follows_the_locale(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                          expected: str) -> None:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert i18n.language("auto") == expected


def test_chosen_language_wins_and_bad_choices_are_refused() -> None:
    try:
        i18n.set_language("zh")
        assert i18n.tr("finished") == "完成" and i18n.tr("finished", lang="en") == "finished"
        i18n.set_language("en")
        assert i18n.tr("finished") == "finished"
        with pytest.raises(ValueError, match="lang must be one of auto, zh, en"):
            i18n.set_language("fr")
    finally:
        i18n.set_language("auto")


@pytest.mark.parametrize(("seconds", "zh", "en"), [
    (0.42, "0.42秒", "0.42 s"), (12.3, "12.3秒", "12.3 s"), (245, "4分5秒", "4m 05s"),
    (20530, "5小时42分10秒", "5h 42m 10s"), (200000, "2天7小时33分", "2d 7h 33m"),
])
def test_durations_in_both_languages(seconds: float, zh: str, en: str) -> None:
    assert human_duration(seconds, "zh") == zh and human_duration(seconds, "en") == en


def test_short_durations_keep_two_units() -> None:
    assert human_duration(7390, "zh", short=True) == "2小时3分"
    assert human_duration(7390, "en", short=True) == "2h 03m"


# --- the language as a user meets it ------------------------------------------------------------------------

CLI = [sys.executable, "-m", "wxnotify_magic.cli"]


def wxnotify(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **env})


def test_a_cell_in_chinese_card_body_receipt_status_and_history(ip: Any, inbox: Any,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("config", "WxNotify.lang = 'zh'")
    result = ip.run_cell("%%wxnotify\n# 训练 resnet50\nprint('第 3 轮 loss 0.25')\n1 / 0")
    assert not result.success
    [message] = inbox.wait_for(1)
    assert re.fullmatch(r"❌ 训练 resnet50 失败 · [\d.]+秒 · ZeroDivisionError: division by zero", message["title"])
    content = message["content"]
    assert content.startswith("**ZeroDivisionError: division by zero**")  # the body leads with the exception line
    assert "- **耗时**: " in content and "**最后输出**" in content and "**错误堆栈**" in content
    assert "训练 resnet50" not in content.split("**最后输出**")[0]  # the card says the title; the body does not
    assert "Traceback (most recent call last)" in content  # technical text stays as it is
    ip.run_line_magic("wxnotify", "wait 30")  # a terminal cell's receipt is printed after the cell
    assert "wxnotify：已通过 WxPusher 发送到微信 · " in capsys.readouterr().out
    ip.run_line_magic("wxnotify", "status")
    status = capsys.readouterr().out
    assert "默认目标来自：环境变量" in status and "发件箱：0 条待发送，0 条失败" in status
    ip.run_line_magic("wxnotify", "history")
    assert re.search(r"#1 .* 已送达 .* ❌ 训练 resnet50 失败", capsys.readouterr().out)


def test_a_message_keeps_the_language_it_was_built_in(ip: Any, inbox: Any, home: Path) -> None:
    """Built in Chinese, refused once, sent later by `wxnotify retry` in an English process: still Chinese."""
    ip.run_line_magic("config", "WxNotify.lang = 'zh'")
    inbox.add_fault("code", service="wxpusher", code=1002)
    ip.run_cell("%%wxnotify -t 夜间任务\nprint('ok')")
    inbox.wait_for(1)
    ip.run_line_magic("config", "WxNotify.lang = 'en'")
    delivery.reset_sender()
    proc = wxnotify("retry")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "wxnotify: 1 failed message(s) queued again; 0 pending, 0 failed now"
    sent = inbox.wait_for(2)[1]
    assert sent["accepted"] and re.fullmatch(r"✅ 夜间任务 完成 · [\d.]+秒", sent["title"])
    assert "- **耗时**: " in sent["content"]


def test_a_notification_renders_in_its_own_language_whatever_the_current_one() -> None:
    note = Notification(status="interrupted", title="t", started=0.0, ended=20530.0, lang="zh")
    i18n.set_language("en")
    try:
        assert render_title(note, 100) == "⏹ t 已中断 · 5小时42分"
        assert "耗时: 5小时42分10秒" in render(note, "text")
        assert render_title(replace(note, lang="en"), 100) == "⏹ t interrupted · 5h 42m"
    finally:
        i18n.set_language("auto")


def test_the_command_line_follows_the_locale_and_the_saved_choice(home: Path, inbox: Any) -> None:
    proc = wxnotify("send", "你好", LANG="zh_CN.UTF-8")
    assert proc.returncode == 0 and proc.stdout.startswith("wxnotify：已通过 WxPusher 发送到微信 · ")
    assert "立即发送一条消息" in wxnotify("--help", LANG="zh_CN.UTF-8").stdout
    home.mkdir(exist_ok=True)
    (home / "settings.json").write_text(json.dumps({"lang": "zh"}))
    proc = wxnotify("status")  # LANG=C.UTF-8, but the panel saved Chinese
    assert "发件箱：" in proc.stdout


def test_the_chinese_readme_is_linked_and_as_complete_as_the_english_one() -> None:
    root = PACKAGE.parent
    english, chinese = (root / "README.md").read_text(), (root / "README.zh-CN.md").read_text()
    assert "(README.zh-CN.md)" in english.split("\n## ", 1)[0]  # linked from the top
    headings = [len(re.findall(rf"^{level} ", text, flags=re.M)) for text in (english, chinese) for level in
                ("##", "###")]
    assert headings[:2] == headings[2:], "every section of README.md has its Chinese counterpart"
    code = [re.findall(r"^```", text, flags=re.M) for text in (english, chinese)]
    assert len(code[0]) == len(code[1])
    steps = re.findall(r"^- \*\*(.+?)\*\*\n  1\. ", chinese, flags=re.M)  # the token how-to, step by step
    assert steps == ["WxPusher（标准推送）", "WxPusher 极简推送（SPT）", "PushPlus", "Server酱", "企业微信群机器人"]
