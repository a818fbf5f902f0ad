"""Where wxnotify keeps its files, and how it makes its folders (0700, whatever the umask)."""

from __future__ import annotations

import os
import stat
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from .i18n import tr

if TYPE_CHECKING:
    from .netfs import Placement

SETTINGS_FILE = "settings.json"


def config_dir() -> Path:
    """``$WXNOTIFY_HOME`` (when it is a private folder of this user), else ``$XDG_CONFIG_HOME/wxnotify``
    (``~/.config/wxnotify``)."""
    home = os.environ.get("WXNOTIFY_HOME")
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    default = Path(base) / "wxnotify"
    return private_home(Path(home).expanduser(), default) if home else default


def state_dir() -> Path:
    """``$WXNOTIFY_STATE``, else ``$WXNOTIFY_HOME``, else ``$XDG_STATE_HOME/wxnotify`` (``~/.local/state/wxnotify``);
    a private folder on this host instead when that is on a network filesystem (``netfs``)."""
    return state_placement().folder


def state_placement() -> Placement:
    """Where the state lives and, when it was moved off a network filesystem, why."""
    env = os.environ
    return _placement(env.get("WXNOTIFY_STATE", ""), env.get("WXNOTIFY_HOME", ""), env.get("XDG_STATE_HOME", ""),
                      env.get("HOME", ""))


@cache
def _placement(state: str, home: str, xdg_state: str, user_home: str) -> Placement:
    from .netfs import Placement, place  # the filesystem is looked at when the state is first needed

    if state:
        return Placement(Path(state).expanduser(), Path(state).expanduser())
    return place(_state_dir(home, xdg_state, user_home))


@cache
def _state_dir(home: str, xdg_state: str, user_home: str) -> Path:  # every send asks: computed once per env
    base = xdg_state or Path.home() / ".local" / "state"
    default = Path(base) / "wxnotify"
    return private_home(Path(home).expanduser(), default) if home else default


_refused: set[str] = set()


def home_problem(path: Path) -> str:
    """Why ``path`` may not hold tokens ('' when it may): a folder that does not exist yet (it is made 0700) or
    one of this user's that nobody else can write is fine; one of another user's, or writable by others, is not
    (they could read the tokens, or plant a link that sends every destination URL into a file of theirs)."""
    try:
        st = os.stat(path)
    except OSError:
        return ""
    if not hasattr(os, "geteuid"):  # no owners to compare (Windows)
        return ""
    if not stat.S_ISDIR(st.st_mode):  # not usable at all: the outbox says so and sends from memory
        return ""
    if st.st_uid != os.geteuid():
        return tr("it belongs to another user")
    if st.st_mode & 0o022:
        return tr("others can write to it")
    return ""


def private_home(home: Path, default: Path) -> Path:
    """``home``, or ``default`` (said once on stderr) when ``home`` is not a private folder of this user."""
    problem = home_problem(home)
    if not problem:
        return home
    if str(home) not in _refused:
        _refused.add(str(home))
        print(tr("wxnotify: WXNOTIFY_HOME {path} is not used ({why}); using {default} instead", path=home,
                 why=problem, default=default), file=sys.stderr)
    return default


NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def open_private(path: str | os.PathLike[str], flags: int) -> int:
    """``os.open`` of a state file, owner-only, never through a symbolic link (O_NOFOLLOW)."""
    return os.open(path, flags | NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o600)


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


def make_private_dir(path: Path) -> None:
    """Create ``path`` and any missing parents with mode 0700, whatever the umask."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(folder, 0o700)
