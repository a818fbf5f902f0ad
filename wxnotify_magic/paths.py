"""Where wxnotify keeps its files, and how it makes its folders (0700, whatever the umask)."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from .netfs import Placement, place

SETTINGS_FILE = "settings.json"


def config_dir() -> Path:
    """``$WXNOTIFY_HOME``, else ``$XDG_CONFIG_HOME/wxnotify`` (``~/.config/wxnotify``)."""
    home = os.environ.get("WXNOTIFY_HOME")
    if home:
        return Path(home).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "wxnotify"


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
    if state:
        return Placement(Path(state).expanduser(), Path(state).expanduser())
    return place(_state_dir(home, xdg_state, user_home))


@cache
def _state_dir(home: str, xdg_state: str, user_home: str) -> Path:  # every send asks: computed once per env
    if home:
        return Path(home).expanduser()
    base = xdg_state or Path.home() / ".local" / "state"
    return Path(base) / "wxnotify"


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
