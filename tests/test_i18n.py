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
from wxnotify_magic.lang_zh import ZH as TABLE_FILE
from wxnotify_magic.message import Notification, render, render_title
from wxnotify_magic.providers import PROVIDERS

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
ZH = i18n.table("zh")  # lang_zh.py and the entries every provider module declares (PROVIDERS is imported above)
assert PROVIDERS


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
        assert i18n.tr("finished") == "已完成" and i18n.tr("finished", lang="en") == "finished"
        i18n.set_language("en")
        assert i18n.tr("finished") == "finished"
        with pytest.raises(ValueError, match="lang must be one of auto, zh, en"):
            i18n.set_language("fr")
    finally:
        i18n.set_language("auto")


@pytest.mark.parametrize(("seconds", "zh", "en"), [
    (0.42, "0.42 秒", "0.42 s"), (12.3, "12.3 秒", "12.3 s"), (245, "4 分 5 秒", "4m 05s"),
    (300, "5 分钟", "5m 00s"), (3605, "1 小时 5 秒", "1h 00m 05s"),
    (20530, "5 小时 42 分 10 秒", "5h 42m 10s"), (200000, "2 天 7 小时 33 分钟", "2d 7h 33m"),
])
def test_durations_in_both_languages(seconds: float, zh: str, en: str) -> None:
    assert human_duration(seconds, "zh") == zh and human_duration(seconds, "en") == en


def test_short_durations_keep_two_units() -> None:
    assert human_duration(7390, "zh", short=True) == "2 小时 3 分钟"
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
    assert re.fullmatch(r"❌ 训练 resnet50 失败 · [\d.]+ 秒 · ZeroDivisionError: division by zero", message["title"])
    content = message["content"]
    assert content.startswith("**ZeroDivisionError: division by zero**")  # the body leads with the exception line
    assert "- **时间**：" in content and "**最后的输出**" in content and "**错误堆栈**" in content
    assert "耗时" not in content and "秒" not in content  # the card says how long, once
    assert content.index("第 3 轮") < content.index("**错误堆栈**") < content.index("- **主机**：")
    assert "训练 resnet50" not in content.split("**最后的输出**")[0]  # the card says the title; the body does not
    assert content.count("ZeroDivisionError: division by zero") == 2  # the lead and the traceback's last line
    assert "Traceback (most recent call last)" in content  # technical text stays as it is
    ip.run_line_magic("wxnotify", "wait 30")  # a terminal cell's receipt is printed after the cell
    assert "wxnotify：已发送（WxPusher）· 发送用时 " in capsys.readouterr().out
    ip.run_line_magic("wxnotify", "status")
    status = capsys.readouterr().out
    assert "默认推送目标来自：环境变量" in status and "发件箱：0 条待发送，0 条失败" in status
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
    assert sent["accepted"] and re.fullmatch(r"✅ 夜间任务已完成 · [\d.]+ ?秒", sent["title"])
    assert "- **时间**：" in sent["content"]


def test_a_notification_renders_in_its_own_language_whatever_the_current_one() -> None:
    note = Notification(status="interrupted", title="t", started=0.0, ended=20530.0, lang="zh")
    i18n.set_language("en")
    try:
        assert render_title(note, 100) == "⏹ t 已中断 · 5 小时 42 分钟"
        assert "时间：1970-01-01 " in render(note, "text") and "5 小时 42 分 10 秒" not in render(note, "text")
        assert render_title(replace(note, lang="en"), 100) == "⏹ t interrupted · 5h 42m"
    finally:
        i18n.set_language("auto")


def test_the_command_line_follows_the_locale_and_the_saved_choice(home: Path, inbox: Any) -> None:
    proc = wxnotify("send", "你好", LANG="zh_CN.UTF-8")
    assert proc.returncode == 0 and proc.stdout.startswith("wxnotify：已发送（WxPusher）· 发送用时 ")
    assert "立即发送一条消息" in wxnotify("--help", LANG="zh_CN.UTF-8").stdout
    home.mkdir(exist_ok=True)
    (home / "settings.json").write_text(json.dumps({"lang": "zh"}))
    proc = wxnotify("status")  # LANG=C.UTF-8, but the panel saved Chinese
    assert "发件箱：" in proc.stdout


@pytest.mark.parametrize("args", [("--help",), ("run", "--help"), ("send", "--help"), ("inbox", "--help")])
def test_help_in_chinese_has_no_english_left_from_argparse(args: tuple[str, ...]) -> None:
    """argparse's own lines (the headings and ``-h, --help  show this help message and exit``) speak Chinese."""
    out = wxnotify(*args, LANG="zh_CN.UTF-8").stdout
    assert "-h, --help" in out and "显示本帮助并退出" in out, out
    assert not re.search(r"show this help|^usage:|^options:|positional arguments", out, re.M), out


def test_the_chinese_readme_is_linked_and_as_complete_as_the_english_one() -> None:
    root = PACKAGE.parent
    english, chinese = (root / "README.md").read_text(), (root / "README.zh-CN.md").read_text()
    assert "(README.zh-CN.md)" in english.split("\n## ", 1)[0]  # linked from the top
    headings = [len(re.findall(rf"^{level} ", text, flags=re.M)) for text in (english, chinese) for level in
                ("##", "###")]
    assert headings[:2] == headings[2:], "every section of README.md has its Chinese counterpart"
    code = [re.findall(r"^```", text, flags=re.M) for text in (english, chinese)]
    assert len(code[0]) == len(code[1])
    steps = [re.findall(r"^- \*\*(.+?)\*\*\n  1\. ", text, flags=re.M) for text in (english, chinese)]
    assert steps[1] == ["WxPusher（标准推送：应用 Token + UID）", "WxPusher 极简推送（SPT）", "PushPlus", "Server酱",
                        "企业微信群机器人", "钉钉群机器人", "飞书 / Lark 群机器人"]  # the token how-to, step by step
    assert len(steps[0]) == len(steps[1])



def test_a_services_own_strings_live_in_its_module_not_in_the_table_file() -> None:
    # a string marked in one service module only (its label, hints, error meanings) is translated by that
    # module's ZH, so lang_zh.py does not grow with the number of services
    import importlib

    shared = {"__init__", "base", "forms", "emulation", "judging"}
    places: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "lang_zh.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("tr", "N_"):
                text = _literal(node.args[0]) if node.args else None
                if text is not None:
                    places.setdefault(text, set()).add(str(path.relative_to(PACKAGE)))
    wrong = []
    for text, where in places.items():
        (only,) = where if len(where) == 1 else ("",)
        if only.startswith("providers/") and Path(only).stem not in shared:
            module = importlib.import_module("wxnotify_magic.providers." + Path(only).stem)
            if text in TABLE_FILE or text not in getattr(module, "ZH", {}):
                wrong.append(f"{only}: {text!r}")
    assert not wrong, "\n".join(wrong)
    modules = {importlib.import_module(p.build.__module__) for p in PROVIDERS.values()}
    twice = sorted(set(TABLE_FILE) & {k for m in modules for k in getattr(m, "ZH", {})})
    assert not twice, "entries both in lang_zh.py and a provider module: " + ", ".join(twice)
