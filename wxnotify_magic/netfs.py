"""Where the state (the outbox, the watchdog's files) may live: never on a network or FUSE filesystem.

SQLite's WAL mode needs shared memory that a network filesystem does not keep coherent across hosts, so two nodes
sharing a home on NFS or Lustre could corrupt the outbox. When the state folder is on one of those (``statfs``
type: NFS, Lustre, GPFS, CIFS/SMB, BeeGFS, Ceph, 9P, FUSE), the state moves to a private folder on this host:
``/tmp/wxnotify-<uid>/<folder hash>``, made 0700 and checked to be ours. (``$XDG_RUNTIME_DIR`` is removed at
logout and absent in batch jobs, and ``$TMPDIR`` is per job on many schedulers: both would lose waiting messages.)
Settings stay in the home. ``WXNOTIFY_STATE`` names the state folder outright.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .i18n import tr

NETWORK = {  # statfs f_type -> name (linux/magic.h and the filesystems' own headers)
    0x6969: "NFS", 0x0BD00BD0: "Lustre", 0x47504653: "GPFS", 0xFF534D42: "CIFS", 0xFE534D42: "SMB2",
    0x517B: "SMB", 0x19830326: "BeeGFS", 0x65735546: "FUSE", 0x00C36400: "Ceph", 0x01021997: "9P",
    0x5346414F: "AFS",
}
TOLD = ".placed"  # in the local folder: the move was announced on this host


def statfs_type(path: str) -> int | None:
    """The filesystem type (``f_type``) of ``path``, or None where it cannot be read (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    buffer = ctypes.create_string_buffer(256)  # struct statfs begins with f_type, a native long
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.statfs(os.fsencode(path), buffer) != 0:
        return None
    return ctypes.c_long.from_buffer(buffer).value & 0xFFFFFFFF


@dataclass(frozen=True)
class Placement:
    """Where the state lives, and why it is not where it would be."""

    folder: Path
    home: Path  # where it would have been
    filesystem: str = ""  # the network filesystem the home is on ('' when the state stays there)

    @property
    def moved(self) -> bool:
        return self.folder != self.home

    def why(self) -> str:
        return tr("state (outbox, watchdog) kept on this host in {folder}: {home} is on {fs}, where SQLite "
                  "cannot be shared safely", folder=self.folder, home=self.home, fs=self.filesystem)


def filesystem_of(path: Path, statfs: Callable[[str], int | None] | None = None) -> str:
    """The network filesystem ``path`` (or its nearest existing parent) is on, or ''."""
    probe = path
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    try:
        kind = (statfs or statfs_type)(str(probe))
    except Exception:
        return ""
    return NETWORK.get(kind, "") if kind is not None else ""


def place(home: Path, statfs: Callable[[str], int | None] | None = None, root: Path | None = None) -> Placement:
    """Where the state of ``home`` lives: ``home`` itself, or a private folder on this host when ``home`` is on a
    network filesystem (and that folder can be made ours)."""
    filesystem = filesystem_of(home, statfs)
    if not filesystem:
        return Placement(home, home)
    base = root or Path("/tmp") / f"wxnotify-{os.getuid()}"
    local = base / hashlib.sha256(str(home).encode()).hexdigest()[:12]
    if not (_private(base) and _private(local)):
        return Placement(home, home, "")  # someone else's folder: stay in the home (and say nothing)
    placement = Placement(local, home, filesystem)
    _tell_once(placement)
    return placement


def _private(folder: Path) -> bool:
    """Make ``folder`` (0700) or check it: a real folder, ours, that nobody else can write."""
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        return False
    if info.st_mode & 0o077:
        os.chmod(folder, 0o700)
    return True


def _tell_once(placement: Placement) -> None:
    """Say where the state went and why, once per host and folder."""
    try:
        fd = os.open(placement.folder / TOLD, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
    except OSError:
        return
    os.close(fd)
    print(tr("wxnotify: {why}", why=placement.why()), file=sys.stderr, flush=True)
