"""Settings: the ``WxNotify`` configurable, env vars, the settings file, and named destinations.

Precedence, highest first: magic options > IPython config (``%config``, ipython_config.py) > env vars
(``WXNOTIFY_TO``) > the settings file written by the panel > built-in defaults.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from traitlets import Bool, Dict, Enum, Float, Int, List, Unicode, Union, validate
from traitlets.config import Configurable

from .durations import parse_duration

SETTINGS_FILE = "settings.json"
FILE_KEYS = ("to", "destinations", "after", "tail", "on", "wait", "quotas", "fallbacks", "auto", "batch", "settle")


def config_dir() -> Path:
    home = os.environ.get("WXNOTIFY_HOME")
    if home:
        return Path(home).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "wxnotify"


def state_dir() -> Path:
    home = os.environ.get("WXNOTIFY_HOME")
    if home:
        return Path(home).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "wxnotify"


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


def read_settings_file(path: Path | None = None) -> dict[str, Any]:
    """The saved settings, or {} when there are none; a broken file is reported, not fatal."""
    path = path or settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        import warnings

        warnings.warn(f"wxnotify: ignoring unreadable settings file {path}: {type(exc).__name__}", stacklevel=2)
        return {}
    return {k: v for k, v in data.items() if k in FILE_KEYS} if isinstance(data, dict) else {}


def write_settings_file(data: dict[str, Any], path: Path | None = None) -> Path:
    """Write the settings file with owner-only permissions (folder 0700, file 0600), atomically."""
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({k: v for k, v in data.items() if k in FILE_KEYS}, fh, indent=2, ensure_ascii=False)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


class WxNotify(Configurable):
    """Settings of the wxnotify magics (``%config WxNotify.after = 60``)."""

    to = List(Unicode(), help="Default destinations: URLs or names from `destinations`.").tag(config=True)
    destinations = Dict(
        value_trait=Unicode(), help="Named destinations, e.g. {'me': 'wxpusher://AT_.../UID_...'}."
    ).tag(config=True)
    fallbacks = Dict(value_trait=Unicode(),
                     help="Fallback per destination name: {'me': 'team'} takes over when 'me' fails "
                          "permanently or is over quota.").tag(config=True)
    after = Union([Float(), Unicode()], default_value=0.0,
                  help="Notify only for cells that ran at least this long (seconds or '5m').").tag(config=True)
    tail = Int(20, help="Lines of output to include.").tag(config=True)
    on = Enum(["always", "success", "failure"], "always", help="When to notify.").tag(config=True)
    wait = Float(2.0, help="Seconds a cell waits for the delivery receipt before returning.").tag(config=True)
    quiet = Bool(False, help="Print no delivery status line.").tag(config=True)
    auto = Bool(False, help="Notify for every long or failed cell.").tag(config=True)
    batch = Bool(False, help="In auto mode, gather back-to-back cells into one digest.").tag(config=True)
    settle = Float(2.0, help="Seconds of idleness that end a batch (Run All) in auto mode.").tag(config=True)
    quotas = Dict(value_trait=Int(), help="Daily quota per provider, e.g. {'serverchan': 5}.").tag(config=True)

    @validate("after")
    def _valid_after(self, proposal: Any) -> float:
        return parse_duration(proposal["value"])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.file_values: dict[str, Any] = {}
        self.load_file()

    # -- layers ------------------------------------------------------------------------------------------

    def from_config(self, name: str) -> bool:
        """True when IPython config (ipython_config.py or %config) set this trait."""
        section = self.config.get(type(self).__name__, {})
        return name in section

    def load_file(self) -> None:
        """Apply the settings file to every trait that IPython config did not set."""
        self.file_values = read_settings_file()
        for key, value in self.file_values.items():
            if not self.has_trait(key) or (self.from_config(key) and key != "destinations"):
                continue
            try:
                if key == "destinations":  # names from the file and from config combine; config wins a clash
                    value = {**value, **self._config_value("destinations")}
                setattr(self, key, value)
            except Exception:  # a bad value in the file must never stop the extension
                continue

    def _config_value(self, name: str) -> Any:
        return self.config.get(type(self).__name__, {}).get(name, {}) if self.from_config(name) else {}

    def source(self, name: str) -> str:
        """Where the effective value of ``name`` comes from: config, env, file or default."""
        if self.from_config(name):
            return "config"
        if name == "to" and os.environ.get("WXNOTIFY_TO", "").strip():
            return "env"
        if name in self.file_values:
            return "file"
        return "default"

    def default_to(self) -> list[str]:
        """The destinations used when a magic has no ``--to``."""
        if self.source("to") == "env":
            return os.environ["WXNOTIFY_TO"].split()
        return list(self.to)



class NoDestinationError(ValueError):
    """Nothing to send to; the message says how to set a destination."""


NO_DESTINATION = ("no destination configured: pass --to URL, set %config WxNotify.to = ['wxpusher://AT_.../UID_...'], "
                  "export WXNOTIFY_TO, or run %wxnotify config")


def resolve_destinations(targets: list[str], settings: WxNotify) -> tuple[list[Any], dict[str, Any]]:
    """Names or URLs -> (destinations, fallbacks by name); raises DestinationError / NoDestinationError."""
    from .providers import DestinationError, parse_destination

    targets = [t for t in (targets or settings.default_to()) if t.strip()]
    if not targets:
        raise NoDestinationError(NO_DESTINATION)
    named = dict(settings.destinations)
    dests, fallbacks = [], {}
    for target in targets:
        if "://" in target:
            dests.append(parse_destination(target))
            continue
        if target not in named:
            known = ", ".join(sorted(named)) or "none saved"
            raise DestinationError(f"unknown destination name {target!r} (named destinations: {known})")
        dests.append(parse_destination(named[target], name=target))
        fallback = settings.fallbacks.get(target)
        if fallback:
            url = named.get(fallback, fallback)
            fallbacks[target] = parse_destination(url, name=fallback if fallback in named else "")
    return dests, fallbacks
