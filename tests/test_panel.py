"""The settings panel, widget by widget: build it, type, click, and check the file, the session and the inbox."""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
from conftest import SECRETS, WECOM_KEY, WX_TOKEN, WX_UID, WX_URL, assert_no_secret
from ipywidgets import Password, Text, Widget

import wxnotify_magic
from wxnotify_magic.inbox import Inbox
from wxnotify_magic.providers import PROVIDERS
from wxnotify_magic.session import current
from wxnotify_magic.settings import SettingsFile, WxNotify, settings_path
from wxnotify_magic.settings_panel import TOOLTIP, Panel, build_panel, channels

APPRISE = find_spec("apprise") is not None  # the old stacks' venvs have no apprise

PP_TOKEN = "0123456789abcdefTESTTOKEN0123456"  # fake, 32 characters as PushPlus tokens are
WEBHOOK = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}"


@pytest.fixture
def settings(ip: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[WxNotify]:
    """The live configurable of the extension loaded in the shell, with no WXNOTIFY_TO in the env."""
    monkeypatch.delenv("WXNOTIFY_TO")
    yield current().settings


@pytest.fixture
def panel(settings: WxNotify) -> Iterator[Panel]:
    p = build_panel(settings)
    yield p
    _close_tree(p.widget)


def _tree(root: Widget) -> list[Widget]:
    """Every widget reachable from ``root`` through synced traits (children, layout, style...)."""
    seen: dict[str, Widget] = {}
    stack = [root]
    while stack:
        widget = stack.pop()
        if widget.model_id in seen:
            continue
        seen[widget.model_id] = widget
        for key in widget.keys:
            value = getattr(widget, key)
            stack += [v for v in (value if isinstance(value, (list, tuple)) else [value]) if isinstance(v, Widget)]
    return list(seen.values())


def _close_tree(root: Widget) -> None:
    for widget in _tree(root):
        widget.close()


def _state_text(root: Widget) -> str:
    return json.dumps([widget.get_state() for widget in _tree(root)], default=str, ensure_ascii=False)


def _type_wecom(p: Panel, key: str = WECOM_KEY, name: str = "me") -> None:
    p.channel.value = "wecombot"
    p.name.value = name
    p.fields["key"].value = key


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- building -----------------------------------------------------------------------------------------------


def test_fields_come_from_the_provider_declarations(panel: Panel) -> None:
    named = [p.label for p in PROVIDERS.values() if not p.catch_all]
    other = ["Other service (apprise URL)"] if APPRISE else []  # last, and only where apprise is installed
    assert [label for label, _ in panel.channel.options] == [*named, *other]
    for provider in channels():
        panel.channel.value = provider.name
        assert list(panel.fields) == [f.name for f in provider.fields]
        for f in provider.fields:
            box = panel.fields[f.name]
            assert isinstance(box, Password if f.secret else Text)
            assert box.description == f.label and getattr(box, TOOLTIP) == f.hint
            assert panel.messages[f.name].value == ""
        assert provider.hint.split(" ")[0] in panel.hint.value
        assert panel.field_box.children[0].children[0] is panel.fields[provider.fields[0].name]
    assert panel.name.value == "me" and panel.after.value == "0" and panel.tail.value == 20
    assert [value for _, value in panel.on.options] == ["always", "success", "failure"]
    assert not panel.save_button.disabled
    assert [c.value for c in panel.saved.children] == ["none saved yet"]
    assert str(settings_path()) in _state_text(panel.widget)


# --- saving -------------------------------------------------------------------------------------------------


def test_save_writes_the_file_0600_and_applies_to_the_session(panel: Panel, settings: WxNotify, home: Path) -> None:
    _type_wecom(panel)
    panel.after.value = "1h30m"
    panel.tail.value = 7
    panel.on.value = "failure"
    assert panel.status.value == "not saved yet"
    panel.save_button.click()

    path = home / "settings.json"
    assert json.loads(path.read_text()) == {"destinations": {"me": f"wecombot://{WECOM_KEY}"}, "to": ["me"],
                                            "after": 5400.0, "tail": 7, "on": "failure", "lang": "auto"}
    assert _mode(path) == 0o600 and _mode(home) == 0o700
    assert panel.status.value == f"saved to {path}; applied to this session"
    # the running session, at once
    assert settings.to == ["me"] and settings.default_to() == ["me"]
    assert settings.destinations == {"me": f"wecombot://{WECOM_KEY}"}
    assert (settings.after, settings.tail, settings.on) == (5400.0, 7, "failure")
    assert settings.source("to") == "file"
    # the password box is emptied and shows the redacted saved key
    assert panel.fields["key"].value == "" and panel.fields["key"].placeholder == "…6789 (saved)"
    [row] = panel.saved.children
    assert row.children[0].value == "me: wecombot://…6789 · default"
    assert list(panel.remove_buttons) == ["me"]
    assert panel.notes["to"].value == "default: me"
    # the next kernel picks it up
    fresh = WxNotify()
    assert fresh.default_to() == ["me"] and fresh.destinations["me"] == f"wecombot://{WECOM_KEY}"
    assert fresh.after == 5400.0


def test_save_merges_into_the_existing_file(panel: Panel, settings: WxNotify, home: Path) -> None:
    path = home / "settings.json"
    home.mkdir()
    path.write_text(json.dumps({"destinations": {"team": WX_URL}, "to": ["team"], "quotas": {"serverchan": 3}}))
    settings.load_file()
    p = build_panel(settings)
    assert p.name.value == "team" and p.channel.value == "wxpusher"
    assert p.fields["token"].placeholder == "AT_…cdef (saved)" and p.fields["uids"].placeholder == "UID_… (saved)"
    _type_wecom(p, name="me")
    p.save_button.click()
    data = SettingsFile().read()
    assert data["destinations"] == {"team": WX_URL, "me": f"wecombot://{WECOM_KEY}"}
    assert data["to"] == ["me", "team"] and data["quotas"] == {"serverchan": 3}
    assert settings.default_to() == ["me", "team"]
    # remove one: the file and the session forget it
    p.remove_buttons["team"].click()
    assert SettingsFile().read()["destinations"] == {"me": f"wecombot://{WECOM_KEY}"}
    assert settings.to == ["me"] and "team" not in settings.destinations
    assert list(p.remove_buttons) == ["me"] and p.status.value == f"removed 'team' from {path}"
    assert _mode(path) == 0o600


def test_saved_secret_is_kept_when_its_box_is_left_empty(panel: Panel, settings: WxNotify) -> None:
    panel.fields["token"].value = WX_TOKEN
    panel.fields["uids"].value = f"{WX_UID}, UID_test_user_0002"
    panel.fields["topics"].value = "42 43"
    panel.save_button.click()
    assert settings.destinations["me"] == f"{WX_URL}/UID_test_user_0002/42/43"
    assert panel.fields["topics"].value == "42 43"  # not secret: left as typed
    panel.fields["topics"].value = "7"  # only a non-secret value changes; the saved token and UIDs stay
    panel.save_button.click()
    assert settings.destinations["me"] == f"{WX_URL}/UID_test_user_0002/7"


def test_pasted_webhook_url_is_accepted(panel: Panel, settings: WxNotify) -> None:
    _type_wecom(panel, key=WEBHOOK)
    assert panel.validate() == {}
    panel.save_button.click()
    assert settings.destinations["me"] == f"wecombot://{WECOM_KEY}"


def test_a_signing_robot_is_offered_and_saved_in_apprises_form(panel: Panel, settings: WxNotify) -> None:
    token, secret = "test0dingtalk0token0123456789abcdef", "SEC" + "0123456789abcdef" * 4
    assert {"dingtalk", "feishu", "lark"} <= {value for _, value in panel.channel.options}
    panel.channel.value = "dingtalk"
    panel.name.value = "ding"
    panel.fields["token"].value = f"https://oapi.dingtalk.com/robot/send?access_token={token}"
    panel.fields["secret"].value = secret
    assert panel.validate() == {}
    panel.save_button.click()
    assert settings.destinations["ding"] == f"dingtalk://{secret}@{token}"
    assert token not in _state_text(panel.widget) and secret not in _state_text(panel.widget)


def test_pushplus_topic_is_optional(panel: Panel, settings: WxNotify) -> None:
    panel.channel.value = "pushplus"
    panel.fields["token"].value = PP_TOKEN
    panel.save_button.click()
    panel.fields["topics"].value = "team-1"
    panel.save_button.click()
    assert settings.destinations["me"] == f"pushplus://{PP_TOKEN}/team-1"


def test_switching_the_channel_keeps_what_was_typed(panel: Panel, settings: WxNotify) -> None:
    panel.fields["token"].value = WX_TOKEN
    panel.fields["topics"].value = "42"
    panel.channel.value = "wecombot"
    panel.fields["key"].value = WECOM_KEY
    panel.channel.value = "wxpusher"
    assert panel.fields["topics"].value == "42"  # as typed
    assert panel.fields["token"].value == "" and panel.fields["token"].placeholder == "AT_…cdef (typed, not saved)"
    assert_no_secret(_state_text(panel.widget))  # typed secrets of a channel left behind live in Python only
    panel.save_button.click()
    assert settings.destinations["me"] == f"wxpusher://{WX_TOKEN}/42"
    panel.channel.value = "wecombot"
    assert panel.fields["key"].placeholder == "…6789 (typed, not saved)"
    panel.name.value = "team"
    panel.save_button.click()
    assert settings.destinations["team"] == f"wecombot://{WECOM_KEY}"


def test_problems_show_under_their_field(panel: Panel) -> None:
    panel.fields["token"].value = "xyz"
    row = panel.field_box.children[0]
    assert row.children == (panel.fields["token"], panel.messages["token"])  # under the box, not beside it
    assert panel.messages["token"].layout.display is None and "wxnotify-error" in panel.messages["token"]._dom_classes
    assert panel.messages["uids"].layout.display == "none"  # an empty problem line takes no room
    panel.fields["token"].value = WX_TOKEN
    assert panel.messages["token"].layout.display == "none"


def test_the_hint_links_to_where_the_token_is(panel: Panel) -> None:
    for provider in channels():
        panel.channel.value = provider.name
        assert f'<a href="{provider.hint_url}" target="_blank" rel="noopener noreferrer">' in panel.hint.value


def test_the_language_choice_is_saved_and_the_panel_speaks_it(panel: Panel, settings: WxNotify, home: Path) -> None:
    assert [value for _, value in panel.language.options] == ["auto", "zh", "en"] and panel.language.value == "auto"
    panel.language.value = "zh"
    panel.save_button.click()
    assert SettingsFile().read()["lang"] == "zh" and settings.lang == "zh"
    assert (panel.save_button.description, panel.channel.description, panel.language.description) == \
        ("保存", "推送服务", "语言")
    assert panel.status.value.startswith("已保存到 ") and panel.fields["token"].description == "应用令牌"
    assert "企业微信群机器人" in [label for label, _ in panel.channel.options]
    assert "打开 wxpusher.zjiecode.com ↗" in panel.hint.value
    panel.fields["token"].value = "xyz"
    assert panel.messages["token"].value.startswith("⚠ 应用令牌：这个值，格式不对")
    assert WxNotify().lang == "zh"  # the next kernel speaks Chinese too


# --- validation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("channel", "field", "value", "message"), [
    ("wxpusher", "token", "xyz", "App token: this value does not look right (starts with AT_"),
    ("wxpusher", "uids", "UID_ok, nope", "UID: this value does not look right"),
    ("wxpusher", "topics", "12a", "Topic id: '12a' does not look right (a number"),
    ("wxpusher-spt", "spts", "AT_abc", "SPT: this value does not look right (starts with SPT_"),
    ("pushplus", "token", "short", "Token: this value does not look right (32 characters"),
    ("serverchan", "key", "SCT 1", "SendKey: this value does not look right"),
    ("wecombot", "key", "has space", "Webhook key: this value does not look right"),
])
def test_bad_value_shows_a_message_and_disables_save(panel: Panel, home: Path, channel: str, field: str, value: str,
                                                     message: str) -> None:
    panel.channel.value = channel
    panel.fields[field].value = value
    assert panel.messages[field].value.startswith("⚠ " + message)
    if next(f for f in PROVIDERS[channel].fields if f.name == field).secret:
        assert value not in panel.messages[field].value
    assert panel.save_button.disabled and panel.status.value == "fix the marked values to save"
    panel.save_button.click()  # a click from code on a disabled button still must not save
    assert panel.status.value == "not saved: fix the marked values first"
    assert not (home / "settings.json").exists()


def test_missing_values_and_numbers_are_checked(panel: Panel) -> None:
    panel.fields["uids"].value = WX_UID
    assert panel.messages["token"].value == "⚠ App token is required" and panel.save_button.disabled
    panel.fields["uids"].value = ""
    panel.fields["token"].value = WX_TOKEN
    assert panel.messages["destination"].value.startswith("⚠ WxPusher destination needs at least one of: UID")
    panel.fields["topics"].value = "42"
    assert panel.validate() == {} and not panel.save_button.disabled
    for box, bad, key in ((panel.after, "soon", "after"), (panel.tail, -1, "tail"), (panel.name, "my name", "name")):
        good = box.value
        box.value = bad
        assert panel.messages[key].value.startswith("⚠ ") and panel.save_button.disabled
        box.value = good
        assert not panel.save_button.disabled
    panel.after.value = "90s"
    assert not panel.save_button.disabled


# --- precedence ---------------------------------------------------------------------------------------------


def test_env_and_ipython_config_still_win_and_the_panel_says_so(ip: Any, home: Path, inbox: Inbox) -> None:
    settings = current().settings
    ip.run_line_magic("config", "WxNotify.tail = 3")
    p = build_panel(settings)
    assert p.notes["to"].value == "default: wxpusher://AT_…cdef/UID_… (overridden by env WXNOTIFY_TO)"
    assert p.notes["tail"].value == "(set in IPython config)" and p.tail.value == 3
    assert p.notes["after"].value == ""
    _type_wecom(p)
    p.after.value = "5m"
    p.save_button.click()
    data = SettingsFile().read()
    assert "tail" not in data and data["after"] == 300.0  # an untouched config value is not copied into the file
    assert settings.tail == 3 and settings.after == 300.0
    assert settings.default_to() == [WX_URL]  # the env still decides
    assert p.status.value.endswith("(env or IPython config still decide: to, tail)")
    # Send test with nothing typed uses the default destinations, so the env one
    p.test_button.click()
    [msg] = inbox.wait_for(1)
    assert msg["service"] == "wxpusher" and p.status.value.startswith("wxnotify: sent via WxPusher")
    ip.run_line_magic("config", "WxNotify.tail = 20")


# --- send test ----------------------------------------------------------------------------------------------


def test_send_test_after_save_reaches_the_inbox(panel: Panel, inbox: Inbox) -> None:
    _type_wecom(panel)
    panel.save_button.click()
    panel.test_button.click()
    [msg] = inbox.wait_for(1)
    assert msg["service"] == "wecombot" and msg["query"] == {"key": WECOM_KEY}
    assert "If you can read this on your phone" in msg["content"]
    assert panel.status.value.startswith("wxnotify: sent via WeCom group bot · ")


def test_send_test_uses_typed_unsaved_values_then_empties_the_boxes(panel: Panel, settings: WxNotify,
                                                                    inbox: Inbox, home: Path) -> None:
    panel.fields["token"].value = WX_TOKEN
    panel.fields["uids"].value = WX_UID
    panel.test_button.click()
    [msg] = inbox.wait_for(1)
    assert msg["service"] == "wxpusher" and msg["body"]["appToken"] == WX_TOKEN and msg["body"]["uids"] == [WX_UID]
    assert panel.status.value.startswith("wxnotify: sent via WxPusher")
    assert panel.fields["token"].value == "" and panel.fields["token"].placeholder == "AT_…cdef (typed, not saved)"
    assert not (home / "settings.json").exists() and settings.destinations == {}
    assert_no_secret(_state_text(panel.widget))
    panel.save_button.click()  # Save stores what was typed before the test
    assert settings.destinations["me"] == WX_URL
    assert panel.fields["token"].placeholder == "AT_…cdef (saved)"


def test_send_test_reports_problems_in_the_status_line(panel: Panel, inbox: Inbox) -> None:
    panel.test_button.click()
    assert panel.status.value.startswith("not sent: no destination configured")
    _type_wecom(panel, key="bad-key-for-test")  # the inbox rejects keys containing "bad"
    panel.test_button.click()
    assert panel.status.value.startswith("wxnotify: failed (wecombot://…test): WeCom rejected the webhook key")
    panel.fields["key"].value = "not ok"
    panel.test_button.click()
    assert panel.status.value == "not sent: fix the marked values first"


# --- secrets ------------------------------------------------------------------------------------------------


def test_no_widget_state_holds_a_secret_after_save_and_test(panel: Panel, inbox: Inbox) -> None:
    panel.fields["token"].value = WX_TOKEN
    panel.fields["uids"].value = WX_UID
    assert WX_TOKEN in _state_text(panel.widget)  # while typing, the box holds it (that is how a frontend types)
    panel.save_button.click()
    _type_wecom(panel, name="team")
    panel.test_button.click()
    inbox.wait_for(1)
    panel.save_button.click()
    panel.name.value = "me"  # switches back to the saved wxpusher destination
    text = _state_text(panel.widget)
    assert_no_secret(text)
    assert "AT_…cdef (saved)" in text and "me: wxpusher://AT_…cdef/UID_…" in text
    from ipywidgets.widgets import widget

    _instances = getattr(widget, "_instances", None) or Widget.widgets  # every live widget (ipywidgets 8 / 7)
    assert_no_secret(json.dumps([x.get_state() for x in list(_instances.values())], default=str, ensure_ascii=False))


NOTEBOOK_CELLS = [
    "%load_ext wxnotify_magic\n%wxnotify config",
    "import os\nfrom wxnotify_magic.settings_panel import build_panel\np = build_panel()\ndisplay(p.widget)\n"
    "p.channel.value = 'wecombot'\np.fields['key'].value = os.environ['PANEL_TEST_KEY']\n"
    "p.save_button.click()\np.test_button.click()\nprint(p.status.value)",
]


def test_notebook_saved_with_widget_state_holds_no_token(home: Path, inbox: Inbox, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv("WXNOTIFY_TO")
    monkeypatch.setenv("PANEL_TEST_KEY", WECOM_KEY)  # reaches the kernel through its env, not the notebook
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in NOTEBOOK_CELLS],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    NotebookClient(nb, timeout=60, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    saved = nbformat.writes(nb)
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    views = [o.data["application/vnd.jupyter.widget-view+json"]["model_id"] for c in nb.cells for o in c.outputs
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 2 and all(v in state for v in views)
    assert "…6789 (saved)" in saved and "sent via WeCom group bot" in saved
    for secret in SECRETS:
        assert secret not in saved
    [msg] = inbox.wait_for(1)
    assert msg["query"] == {"key": WECOM_KEY}
    assert json.loads((home / "settings.json").read_text())["destinations"] == {"me": f"wecombot://{WECOM_KEY}"}


# --- no widget frontend -------------------------------------------------------------------------------------


def test_terminal_config_prints_the_settings(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert ip.run_line_magic("wxnotify", "config") is None
    out = capsys.readouterr().out
    assert "wxnotify settings (secrets redacted):" in out and "wxpusher://AT_…cdef/UID_…" in out
    assert f"settings file: {settings_path()}" in out and "wxnotify config add NAME" in out
    assert "%wxnotify config shows a settings panel" in out
    assert_no_secret(out)

    wxnotify_magic.panel()  # the public function, even after the panel module was imported
    assert "wxnotify settings" in capsys.readouterr().out


# --- polish: what a user met in the panel ---------------------------------------------------------------------


def test_other_service_is_offered_only_when_apprise_is_installed(panel: Panel, monkeypatch: pytest.MonkeyPatch,
                                                                  settings: WxNotify) -> None:
    assert (channels()[-1].name == "apprise") == APPRISE
    monkeypatch.setitem(sys.modules, "apprise", None)  # how Python sees a package that is not installed
    assert "apprise" not in [p.name for p in channels()]
    p = build_panel(settings)
    assert "apprise" not in [value for _, value in p.channel.options]


@pytest.mark.parametrize(("channel", "field", "value", "looks_like"), [
    ("wecombot", "key", WX_TOKEN, "looks like a WxPusher App token, not a Webhook key"),
    ("serverchan", "key", "UID_test_user_0001", "looks like a WxPusher UID, not a SendKey"),
    ("pushplus", "token", "SPT_test_simple_push_0001_abcdefghij", "looks like a WxPusher simple push SPT, not a Token"),
])
def test_each_box_refuses_another_services_value(panel: Panel, channel: str, field: str, value: str,
                                                 looks_like: str) -> None:
    panel.channel.value = channel
    panel.fields[field].value = value
    assert looks_like in panel.messages[field].value and panel.save_button.disabled
    assert value not in panel.messages[field].value  # the token itself is not repeated


def test_save_never_silently_replaces_another_saved_destination(panel: Panel, settings: WxNotify) -> None:
    panel.fields["token"].value = WX_TOKEN
    panel.fields["uids"].value = WX_UID
    panel.save_button.click()
    assert settings.destinations["me"] == WX_URL
    _type_wecom(panel)  # another service under the same name
    panel.save_button.click()
    assert settings.destinations["me"] == WX_URL  # kept, and the panel says so
    assert panel.status.value == ("'me' is already saved (wxpusher://AT_…cdef/UID_…): Save again to replace it, "
                                  "or choose another name")
    panel.save_button.click()  # asked twice: replaced
    assert settings.destinations["me"] == f"wecombot://{WECOM_KEY}"


def test_default_none_is_explained_and_the_list_marks_every_default(panel: Panel, settings: WxNotify,
                                                                    home: Path) -> None:
    assert panel.notes["to"].value == "default: none yet (Save makes the destination above the default)"
    home.mkdir()
    (home / "settings.json").write_text(json.dumps({"destinations": {"me": WX_URL, "team": f"wecombot://{WECOM_KEY}"},
                                                    "to": ["me", "team"]}))
    settings.load_file()
    p = build_panel(settings)
    assert p.notes["to"].value == "default: me, team"
    rows = [row.children[0].value for row in p.saved.children]
    assert rows == ["me: wxpusher://AT_…cdef/UID_… · default", "team: wecombot://…6789 · default"]
    assert all("wxnotify-saved" in row._dom_classes for row in p.saved.children)  # the Remove buttons line up
    _close_tree(p.widget)


@pytest.mark.parametrize(("typed", "seconds"), [("5 minutes", 300.0), ("1 hour 30 min", 5400.0), ("5分钟", 300.0),
                                                ("2 hrs", 7200.0)])
def test_durations_are_understood_as_people_type_them(panel: Panel, settings: WxNotify, typed: str,
                                                      seconds: float) -> None:
    panel.after.value = typed
    assert panel.messages["after"].value == ""
    panel.save_button.click()
    assert settings.after == seconds


def test_a_duration_not_understood_is_quoted_as_typed(panel: Panel) -> None:
    panel.after.value = "5 minuets"
    assert panel.messages["after"].value == "⚠ not a duration: '5 minuets' (use e.g. 90, 90s, 5m, 1h30m)"
