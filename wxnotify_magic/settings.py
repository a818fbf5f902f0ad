"""Settings: the ``WxNotify`` configurable, env vars, the settings file, and named destinations.

Precedence, highest first: magic options > IPython config (``%config``, ipython_config.py) > env vars
(``WXNOTIFY_TO``) > the settings file written by the panel > built-in defaults.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traitlets import Bool, Dict, Enum, Float, Int, List, TraitError, Unicode, Union, observe, validate
from traitlets.config import Configurable

from .i18n import LANGUAGES, N_, set_language, tr
from .paths import config_dir, make_private_dir, open_private, settings_path, state_dir
from .patterns import compiled
from .redact import echo, redact, redact_url

if TYPE_CHECKING:
    from .providers import Destination

FILE_KEYS = ("to", "destinations", "after", "tail", "on", "wait", "quotas", "fallbacks", "auto", "batch", "settle",
             "lang", "figure", "stall", "watchdog", "ledger")
MAX_WAIT = 600.0


_warned: set[str] = set()


def warn_once(text: str) -> None:
    """Print one redacted warning line to stderr, once per process."""
    if text not in _warned:
        _warned.add(text)
        print(redact(text), file=sys.stderr)


class SettingsFile:
    """The settings file the panel and ``wxnotify config`` write (folder 0700, file 0600, atomic writes)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or settings_path()

    def read(self) -> dict[str, Any]:
        """The saved settings, or {} when there are none; an unreadable file is reported once, not fatal."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            warn_once(tr("wxnotify: ignoring unreadable settings file {path}: {kind}", path=self.path,
                         kind=type(exc).__name__))
            return {}
        return {k: v for k, v in data.items() if k in FILE_KEYS} if isinstance(data, dict) else {}

    def write(self, data: dict[str, Any]) -> Path:
        make_private_dir(self.path.parent)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")  # one per writer, renamed atomically
        fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({k: v for k, v in data.items() if k in FILE_KEYS}, fh, indent=2, ensure_ascii=False)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)
        return self.path

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the settings' lock file across a read-modify-write (other processes save too: panel, CLI)."""
        make_private_dir(self.path.parent)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                import fcntl
            except ImportError:  # Windows: no advisory locks, the last writer wins
                yield
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def update(self, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Path:
        """Read, change and write the settings under the lock, so concurrent saves all land."""
        with self._locked():
            return self.write(change(self.read()))

    def save_destination(self, name: str, url: str, default: bool = True) -> Path:
        """Save (or replace) a named destination; with ``default``, make it the first of ``to``."""
        from .providers import parse_destination

        parse_destination(url, name)  # raises DestinationError before anything is written

        def change(data: dict[str, Any]) -> dict[str, Any]:
            data["destinations"] = {**(data.get("destinations") or {}), name: url}
            if default:
                data["to"] = [name] + [t for t in data.get("to") or [] if t != name]
            return data

        return self.update(change)

    def remove_destination(self, name: str) -> bool:
        """Remove a named destination (and its place in ``to``); False when no such name was saved."""
        found = False

        def change(data: dict[str, Any]) -> dict[str, Any]:
            nonlocal found
            found = name in (data.get("destinations") or {})
            data["destinations"] = {k: v for k, v in (data.get("destinations") or {}).items() if k != name}
            data["to"] = [t for t in data.get("to") or [] if t != name]
            return data

        self.update(change)
        return found

    def save_values(self, **values: Any) -> Path:
        return self.update(lambda data: {**data, **values})


class ShownList(list[Any]):
    """A list of destinations (URLs or names) whose repr shows every URL redacted (``%config WxNotify``)."""

    def __repr__(self) -> str:
        return repr([redact_url(str(v)) for v in self])

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


class ShownDict(dict[Any, Any]):
    """A dict of name -> destination whose repr shows every URL redacted."""

    def __repr__(self) -> str:
        return repr({k: redact_url(str(v)) for k, v in self.items()})

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


def _redacted_error(exc: TraitError) -> TraitError:
    return TraitError(redact(str(exc), strict=True))


class _RedactedTrait:
    """Mixin for a container trait of destinations: its value shows redacted (``shown``), and so do its errors
    and its items' errors (traitlets quotes the value in both)."""

    shown: type = list

    def validate(self, obj: Any, value: Any) -> Any:
        try:
            return self.shown(super().validate(obj, value) or ())  # type: ignore[misc]
        except TraitError as exc:
            raise _redacted_error(exc) from None

    def error(self, obj: Any, value: Any, error: Exception | None = None, info: str | None = None) -> Any:
        try:
            super().error(obj, value, error, info)  # type: ignore[misc]
        except TraitError as exc:
            raise _redacted_error(exc) from None


class Destinations(_RedactedTrait, List):
    """A list trait of destinations: traitlets shows its value (``Current: ...``) and its errors redacted."""

    shown = ShownList


class NamedDestinations(_RedactedTrait, Dict):
    """A dict trait of name -> destination, shown redacted like ``Destinations``."""

    shown = ShownDict


def seconds_problem(value: float, name: str, maximum: float) -> str | None:
    """What is wrong with ``value`` as a number of seconds from 0 to ``maximum`` (one line), or None."""
    if not math.isfinite(value) or value < 0 or value > maximum:
        return tr("{name} must be between 0 and {maximum:g} seconds", name=name, maximum=maximum)
    return None


MAX_LINES = 100_000  # lines of output a message may include; also the most history lines shown


def count_problem(value: int, name: str, minimum: int, maximum: int = MAX_LINES) -> str | None:
    """What is wrong with ``value`` as a count from ``minimum`` to ``maximum`` (one line), or None."""
    if value < minimum:
        return tr("{name} must be {minimum} or more", name=name, minimum=minimum)
    if value > maximum:
        return tr("{name} must be at most {maximum}", name=name, maximum=maximum)
    return None


def _finite_seconds(value: float, name: str, maximum: float) -> float:
    problem = seconds_problem(value, name, maximum)
    if problem:
        raise TraitError(problem)
    return float(value)


def quota_names() -> list[str]:
    """The providers whose daily quota ``WxNotify.quotas`` can set."""
    from .providers import PROVIDERS

    return sorted({limit.name for p in PROVIDERS.values() for limit in p.limits if limit.name})


def checked_quotas(value: dict[Any, int]) -> dict[str, int]:
    """Quotas by provider name (any case); a TraitError names an unknown provider or a negative count."""
    known, quotas = quota_names(), {}
    for key, count in value.items():
        name = str(key).strip().lower()
        if name not in known:
            raise TraitError(tr("quotas: unknown provider {name} (known: {known})", name=echo(str(key)),
                                known=", ".join(known)))
        if count < 0:
            raise TraitError(tr("quotas: the daily quota of {name} must be 0 or more", name=name))
        quotas[name] = int(count)
    return quotas


class WxNotify(Configurable):
    """Settings of the wxnotify magics (``%config WxNotify.after = 60``)."""

    to = Destinations(Unicode(), help=tr("Default destinations: URLs or names from `destinations`.")).tag(config=True)
    destinations = NamedDestinations(
        value_trait=Unicode(), help=tr("Named destinations, e.g. {'me': 'wxpusher://AT_.../UID_...'}.")
    ).tag(config=True)
    fallbacks = NamedDestinations(value_trait=Unicode(),
                                  help=tr("Fallback per destination name: {'me': 'team'} takes over when 'me' fails "
                                          "permanently or is over quota.")).tag(config=True)
    after = Union([Float(), Unicode()], default_value=0.0,
                  help=tr("Notify only for cells that ran at least this long (seconds or '5m').")).tag(config=True)
    tail = Int(20, help=tr("Lines of output to include.")).tag(config=True)
    on = Enum(["always", "success", "failure"], "always", help=tr("When to notify.")).tag(config=True)
    wait = Float(2.0, help=tr("Seconds %wxnotify test, %wxsend and scripts wait for the delivery receipt "
                              "(cells never wait).")).tag(config=True)
    quiet = Bool(False, help=tr("Print no delivery status line.")).tag(config=True)
    auto = Bool(False, help=tr("Notify for every long or failed cell.")).tag(config=True)
    figure = Bool(False, help=tr("Also send the last image a cell displayed (WeCom bots; others say it was not "
                                 "sent).")).tag(config=True)
    batch = Bool(False, help=tr("In auto mode, gather back-to-back cells into one digest.")).tag(config=True)
    settle = Float(2.0, help=tr("Seconds of idleness that end a batch (Run All) in auto mode.")).tag(config=True)
    quotas = Dict(value_trait=Int(), help=tr("Daily quota per provider, e.g. {'serverchan': 5}.")).tag(config=True)
    ledger = Unicode("", help=tr("Where the limits are counted: '' (this host) or redis://host:6379/0, shared by "
                                 "every host of a group (WXNOTIFY_LEDGER wins).")).tag(config=True)
    lang = Enum(list(LANGUAGES), "auto", help=tr("Language of messages and output: auto (from the locale), zh or "
                                                 "en.")).tag(config=True)
    # -- the watchdog, the stall alarm, resources -----------------------------------------------------------
    stall = Union([Float(), Unicode()], default_value=0.0, help=tr(
        "Send one message when a watched job prints nothing for this long (0: off).")).tag(config=True)
    watchdog = Bool(True, help=tr("Report a kernel that dies while a watched cell runs (a small helper process "
                                  "outlives the kernel).")).tag(config=True)

    @validate("after", "stall")
    def _valid_after(self, proposal: Any) -> float:
        from .durations import parse_duration

        try:
            return parse_duration(proposal["value"])
        except ValueError as exc:
            raise TraitError(str(exc)) from None

    @validate("tail")
    def _valid_tail(self, proposal: Any) -> int:
        problem = count_problem(proposal["value"], "tail", 0)
        if problem:
            raise TraitError(problem)
        return int(proposal["value"])

    @validate("ledger")
    def _valid_ledger(self, proposal: Any) -> str:
        url = str(proposal["value"]).strip()
        if url and not url.startswith(("redis://", "rediss://", "unix://")):
            raise TraitError(tr("ledger: a redis://host:6379/0 URL, or '' for this host"))
        return url

    @validate("quotas")
    def _valid_quotas(self, proposal: Any) -> dict[str, int]:
        return checked_quotas(proposal["value"])

    @validate("wait")
    def _valid_wait(self, proposal: Any) -> float:
        return _finite_seconds(proposal["value"], "wait", MAX_WAIT)

    @validate("settle")
    def _valid_settle(self, proposal: Any) -> float:
        return _finite_seconds(proposal["value"], "settle", MAX_WAIT)

    @observe("lang")
    def _lang_changed(self, change: Any) -> None:
        set_language(change["new"])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.file_values: dict[str, Any] = {}
        self.first_use: Callable[[], Any] | None = None  # the loaded extension's session, built when first asked
        self.load_file()
        set_language(self.lang)

    def __repr__(self) -> str:
        return f"<WxNotify to={[redact_url(t) for t in self.default_to()]}>"

    # -- layers ------------------------------------------------------------------------------------------

    def from_config(self, name: str) -> bool:
        """True when IPython config (ipython_config.py or %config) set this trait."""
        return name in self.config.get(type(self).__name__, {})

    def load_file(self) -> None:
        """Apply the settings file to every trait that IPython config did not set; skip bad values once."""
        self.file_values = SettingsFile().read()
        for key, value in self.file_values.items():
            if not self.has_trait(key) or (self.from_config(key) and key != "destinations"):
                continue
            try:
                if key == "destinations":  # names from the file and from config combine; config wins a clash
                    value = {**value, **self._config_value("destinations")}
                setattr(self, key, value)
            except Exception as exc:  # a bad value in the file must never stop the extension
                warn_once(tr("wxnotify: ignoring {key} in {path}: {problem}", key=key, path=settings_path(),
                             problem=_problem(exc)))

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
        if self.source("to") == "env":  # URLs or names apart by spaces, or by commas before a URL
            return compiled(_TO_SPLIT).split(os.environ["WXNOTIFY_TO"].strip())
        return list(self.to)


SOURCES = {"config": N_("config"), "env": N_("env"), "file": N_("file"), "default": N_("default")}
ON_CHOICES = {"always": N_("always"), "success": N_("on success only"), "failure": N_("on failure only")}
DEFAULT_TO_FROM = {"config": "WxNotify.to (%config)", "env": "WXNOTIFY_TO", "file": N_("the settings file")}
_TO_SPLIT = r"\s*,\s*(?=[A-Za-z][A-Za-z0-9+.-]*://)|\s+"


def source_word(source: str) -> str:
    """Where a setting comes from (``WxNotify.source``), as the user reads it."""
    return tr(SOURCES[source]) if source in SOURCES else source


def _problem(exc: Exception) -> str:
    text = str(exc).split("\n", 1)[0]
    return redact(text, strict=True)[:160] or type(exc).__name__


class NoDestinationError(ValueError):
    """Nothing to send to; the message says how to set a destination."""


@dataclass(frozen=True)
class Route:
    """Where one message goes: its destinations, and the fallback of each named one."""

    destinations: tuple[Destination, ...]
    fallbacks: dict[str, Destination] = field(default_factory=dict)


def resolve(targets: list[str], settings: WxNotify) -> Route:
    """Names or URLs (default: ``settings.default_to()``) -> Route; raises DestinationError/NoDestinationError."""
    from .providers import DestinationError

    where = "" if targets else settings.source("to")
    try:
        dests = _distinct(_resolve(targets, settings))
    except DestinationError as exc:
        if where not in DEFAULT_TO_FROM:
            raise
        raise DestinationError(tr("{problem} (in the default destinations, from {where})", problem=str(exc),
                                  where=tr(DEFAULT_TO_FROM[where]))) from None
    return Route(dests, _fallbacks(dests, settings))


def _resolve(targets: list[str], settings: WxNotify) -> list[Destination]:
    from .providers import DestinationError, parse_destination

    targets = [t for t in (targets or settings.default_to()) if t.strip()]
    if not targets:
        raise NoDestinationError(tr("no destination configured: run %wxnotify config (or `wxnotify config add "
                                    "NAME`), export WXNOTIFY_TO, or pass --to NAME"))
    named = dict(settings.destinations)
    dests = []
    for target in targets:
        if "://" in target:
            dests.append(parse_destination(target))
            continue
        if target not in named:
            known = ", ".join(sorted(named)) or tr("none saved")
            raise DestinationError(tr("unknown destination name {name} (named destinations: {known})",
                                      name=echo(target), known=known))
        dests.append(parse_destination(named[target], name=target))
    return dests


def _fallbacks(dests: tuple[Destination, ...], settings: WxNotify) -> dict[str, Destination]:
    """The fallback of each named destination that has one; a bad one is named as the fallback it is."""
    from .providers import DestinationError, parse_destination

    named, found = dict(settings.destinations), {}
    for dest in dests:
        fallback = settings.fallbacks.get(dest.name) if dest.name else None
        if not fallback:
            continue
        try:
            if fallback not in named and "://" not in fallback:
                raise DestinationError(tr("unknown destination name {name} (named destinations: {known})",
                                          name=echo(fallback), known=", ".join(sorted(named)) or tr("none saved")))
            found[dest.name] = parse_destination(named.get(fallback, fallback),
                                                 name=fallback if fallback in named else "")
        except DestinationError as exc:
            raise DestinationError(tr("{problem} (the fallback of {name}, in WxNotify.fallbacks)", problem=str(exc),
                                      name=dest.name)) from None
    return found


def _distinct(dests: list[Destination]) -> tuple[Destination, ...]:
    """Each destination once: the same service and values written twice (or in two equivalent URL forms, or under
    two names) would send the phone the same message twice."""
    if len(dests) < 2:  # the usual case: nothing to compare
        return tuple(dests)
    seen: set[str] = set()
    kept = []
    for dest in dests:
        same = sends_to(dest)
        if same not in seen:
            seen.add(same)
            kept.append(dest)
    return tuple(kept)


def sends_to(dest: Destination) -> str:
    """What ``dest`` sends to, as one comparable text: the requests a message to it makes, with its recipients
    in one order. Two spellings of one destination (recipients in another order, a default option spelled out)
    give the same text."""
    from .message import Notification

    fallback = f"{dest.provider.name}|{dest.provider.to_url(dest.values)}"
    if dest.provider.catch_all:  # apprise: building would import it; its URL is its identity
        return fallback
    values = {k: sorted(set(v)) if isinstance(v, list) else v for k, v in dest.values.items()}
    try:
        requests = dest.provider.build(Notification(title="-"), replace(dest, values=values))
    except Exception:  # a destination that cannot build is compared by its URL
        return fallback
    made = sorted(json.dumps([r.method, r.url, r.json, r.data, r.headers], sort_keys=True, default=str)
                  for r in requests)
    return f"{dest.provider.name}|" + "\n".join(made)


__all__ = ["NoDestinationError", "Route", "SettingsFile", "WxNotify", "config_dir", "resolve",
           "settings_path", "state_dir", "warn_once"]
