"""A home on a network filesystem: the outbox and the watchdog's state move to private storage on this host,
settings stay in the home, and the user is told once where and why (and status says so)."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from wxnotify_magic import delivery, netfs
from wxnotify_magic.paths import settings_path, state_dir

NFS = 0x6969


@pytest.fixture
def nfs_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The test's home, seen by the filesystem check as NFS (everything else as it really is)."""
    real = netfs.statfs_type
    monkeypatch.setattr(netfs, "statfs_type", lambda path: NFS if Path(path).is_relative_to(home.parent)
                        else real(path))
    delivery.reset_sender()
    yield home
    local = state_dir()
    delivery.reset_sender()
    if local != home:
        shutil.rmtree(local, ignore_errors=True)


def test_the_outbox_leaves_a_network_home_and_says_so_once(capsys, nfs_home, ip, inbox):  # type: ignore[no-untyped-def]
    ip.run_cell("%wxsend hello").raise_error()
    first = capsys.readouterr()
    local = state_dir()
    assert local != nfs_home and not local.is_relative_to(nfs_home.parent)
    assert (local / "outbox.sqlite3").exists() and not (nfs_home / "outbox.sqlite3").exists()
    assert stat.S_IMODE(os.stat(local).st_mode) == 0o700 and os.stat(local).st_uid == os.getuid()
    assert settings_path().parent == nfs_home  # settings stay in the home
    told = [line for line in first.err.splitlines() if "kept on this host" in line]
    assert len(told) == 1 and str(local) in told[0] and "NFS" in told[0]
    ip.run_cell("%wxsend again").raise_error()
    ip.run_cell("%wxnotify").raise_error()
    later = capsys.readouterr()
    assert "kept on this host" not in later.err
    assert f"kept on this host in {local}" in later.out and "is on NFS" in later.out
    assert len(inbox.wait_for(2)) == 2


@pytest.fixture
def chosen(nfs_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "my-state"
    monkeypatch.setenv("WXNOTIFY_STATE", str(folder))
    return folder


def test_wxnotify_state_names_the_folder(capsys, chosen, ip, inbox):  # type: ignore[no-untyped-def]
    ip.run_cell("%wxsend hello").raise_error()
    assert state_dir() == chosen and (chosen / "outbox.sqlite3").exists()
    assert "kept on this host" not in capsys.readouterr().err


def test_a_local_folder_that_is_not_ours_is_not_used(tmp_path: Path) -> None:
    home = tmp_path / "home" / "wxnotify"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    planted = tmp_path / "planted"
    planted.symlink_to(elsewhere)  # someone's symlink where the private folder would be
    placed = netfs.place(home, statfs=lambda _: NFS, root=planted)
    assert placed.folder == home and not placed.moved
    assert not list(elsewhere.iterdir())
    assert netfs.place(home, statfs=lambda _: 0xEF53).folder == home  # ext4: stays


def test_the_filesystem_check_reads_this_machine() -> None:
    kind = netfs.statfs_type("/")
    assert kind is None or (isinstance(kind, int) and kind > 0)
