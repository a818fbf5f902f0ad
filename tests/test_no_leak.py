"""No leak: a service answer quoting part of a token, a token pasted twice, and equivalent spellings of one
destination, through the fronts a user has (the command line, the IPython magics)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import WX_TOKEN, WX_UID
from test_cli import wxnotify

RUN = 8
PP_TOKEN = "test0123456789abcdef0123456789ab"


def runs(secret: str, text: str) -> list[str]:
    """Every RUN-character run of ``secret`` that ``text`` shows."""
    return [secret[i:i + RUN] for i in range(len(secret) - RUN + 1) if secret[i:i + RUN] in text]


def stored_reasons(home: Path) -> str:
    with sqlite3.connect(home / "outbox.sqlite3") as db:
        return "\n".join(r[0] for r in db.execute("SELECT reason FROM outbox"))


# -- a service or gateway answer quoting part of a token ----------------------------------------------------


def test_an_answer_quoting_part_of_a_token_is_hidden_everywhere(home, inbox, ip, capsys):
    quoted = WX_TOKEN[4:22]  # "est_token_01234567": no exact copy of the token, 18 of its characters
    inbox.add_fault("code", service="wxpusher", code=1001, msg=f"token {quoted}… is invalid")
    send = wxnotify("send", "--wait", "10", "hi")
    status = wxnotify("status")
    capsys.readouterr()
    ip.run_cell("%wxnotify history").raise_error()
    history = capsys.readouterr().out
    assert "1001" in send.stdout + send.stderr and "1001" in history  # the answer is shown, not the token
    for front, text in (("send", send.stdout + send.stderr), ("status", status.stdout), ("history", history),
                        ("stored reason", stored_reasons(home))):
        assert not runs(WX_TOKEN, text), f"{front} shows part of the token: {text!r}"


# -- a token pasted twice ---------------------------------------------------------------------------------


def test_a_pushplus_token_pasted_twice_is_not_a_topic(home):
    status = wxnotify("status", WXNOTIFY_TO=f"pushplus://{PP_TOKEN}/{PP_TOKEN}")
    assert not runs(PP_TOKEN, status.stdout), status.stdout
    assert "given twice" in status.stdout


@pytest.mark.parametrize("command", [("status",), ("send", "hi")])
def test_a_serverchan_key_pasted_twice_is_refused_redacted_at_every_front(home, command, ip, capsys):
    key = "SCT1234TtestkeyAB"  # short enough that the refusal would quote it whole
    url = f"schan://{key}/{key}"
    proc = wxnotify(*command, WXNOTIFY_TO=url)
    assert "unexpected path" in proc.stdout + proc.stderr and key not in proc.stdout + proc.stderr
    ip.run_cell(f"%env WXNOTIFY_TO={url}")
    capsys.readouterr()
    ip.run_cell("%wxnotify status" if command == ("status",) else "%wxsend hi")
    out = capsys.readouterr()
    assert "unexpected path" in out.out + out.err and key not in out.out + out.err


# -- equivalent spellings of one destination are sent once ----------------------------------------------------


@pytest.mark.parametrize("other", [f"wxpusher://{WX_TOKEN}/UID_test_b,{WX_UID}",
                                   f"wxpusher://{WX_TOKEN}/{WX_UID},UID_test_b?format=markdown"],
                         ids=["recipients-in-another-order", "default-format-spelled-out"])
def test_equivalent_spellings_of_one_destination_send_once(ip, inbox, other):
    url = f"wxpusher://{WX_TOKEN}/{WX_UID},UID_test_b"
    ip.run_cell(f"%wxsend -t T --to {url} --to '{other}' hi").raise_error()
    ip.run_cell("%wxnotify wait 10").raise_error()
    assert len(inbox.messages) == 1, "one destination, spelled two ways, got the message twice"


# -- a home folder that is not private, and state files that are links ---------------------------------------


@pytest.mark.parametrize("owner", ["mine", "another user's"])
def test_a_home_others_can_write_is_replaced_by_a_private_folder(home, inbox, tmp_path, owner):
    import os

    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # a folder in a shared /tmp that anyone can write (and plant links in)
    if owner != "mine":
        if os.geteuid() != 0:
            pytest.skip("making a folder of another user needs root")
        os.chown(shared, 65534, 65534)
    planted = tmp_path / "planter.db"
    planted.write_bytes(b"")
    (shared / "outbox.sqlite3").symlink_to(planted)
    private = tmp_path / "xdg-state"
    proc = wxnotify("send", "--wait", "10", "hi", WXNOTIFY_HOME=str(shared), XDG_STATE_HOME=str(private),
                    XDG_CONFIG_HOME=str(tmp_path / "xdg-config"))
    assert planted.read_bytes() == b"", "the destination URL went into the planter's file"
    assert proc.returncode == 0, proc.stderr
    assert f"WXNOTIFY_HOME {shared} is not used" in proc.stderr
    assert (private / "wxnotify" / "outbox.sqlite3").exists() and len(inbox.messages) == 1


def test_a_state_file_that_is_a_link_is_not_followed(home, inbox, tmp_path):
    home.mkdir(mode=0o700)
    planted = tmp_path / "planter.db"
    planted.write_bytes(b"")
    (home / "outbox.sqlite3").symlink_to(planted)
    proc = wxnotify("send", "--wait", "10", "hi")
    assert planted.read_bytes() == b"", "the destination URL went through the link into another file"
    assert proc.returncode == 0, proc.stderr
    assert "symbolic link" in proc.stderr and len(inbox.messages) == 1
    assert not (home / "outbox.sqlite3").is_symlink()


# -- internal reprs -------------------------------------------------------------------------------------------


def test_every_repr_of_a_job_and_its_counters_is_redacted(home, inbox):
    from wxnotify_magic import notify
    from wxnotify_magic.providers import parse_destination

    url = f"wxpusher://{WX_TOKEN}/{WX_UID}"
    shown = [repr(key) for key in parse_destination(url).limit_keys()]
    with notify("job", to=url, wait=10) as notifier:
        (watch, _), = notifier._jobs
        shown += [repr(vars(watch)), str(vars(watch))]
    for text in shown:
        assert not runs(WX_TOKEN, text) and WX_UID not in text, text
