"""The one session object every front calls: settings, validated options, destinations, sending, status.

The fronts (the magics, the Python API, the command line, the settings panel) only parse their own syntax and
present results; everything in between is here, once. ``current()`` is the session of the extension loaded in
this IPython, else one over the settings file and the environment.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .durations import human_duration, parse_duration
from .i18n import N_, language, tr
from .message import Notification
from .paths import settings_path, state_placement
from .receipts import Receipt, Ticket, wait_for
from .redact import Redacted, redact, redact_url
from .redact import problem as problem_text
from .settings import (
    MAX_WAIT,
    ON_CHOICES,
    NoDestinationError,
    Route,
    SettingsFile,
    WxNotify,
    count_problem,
    resolve,
    seconds_problem,
    source_word,
)
from .status import Status, status_word
from .watch import Watch, WatchOptions, host_name

if TYPE_CHECKING:
    from .delivery import Sender
    from .ranks import FailureClaim

TEST_TEXT = N_("If you can read this on your phone, wxnotify works. 🎉")


class OptionError(ValueError):
    """An option's value is wrong; the message names it in one line, without echoing a secret."""


class OptionTypeError(OptionError, TypeError):
    """An option's value is of the wrong type (the Python API's ``tail="x"``, ``to=5``); named, never echoed."""


def in_kernel() -> bool:
    """True inside a Jupyter kernel (a process its manager may kill soon after asking it to shut down)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and "ipykernel" in sys.modules else None
    return getattr(shell, "kernel", None) is not None


def targets(to: str | Sequence[str] | None) -> list[str]:
    """``to`` as a list of destination URLs or names; raises OptionTypeError for anything else."""
    if to is None or isinstance(to, str):
        return [to] if to else []
    if isinstance(to, (bytes, Mapping)) or not isinstance(to, Iterable) or not all(isinstance(t, str) for t in to):
        raise OptionTypeError(tr("to must be a destination URL or name, or a list of them"))
    return list(to)


def wait_seconds(wait: float | None) -> float | None:
    """A receipt wait given in the Python API, checked like ``WxNotify.wait``; raises OptionError."""
    if wait is None:
        return None
    if isinstance(wait, bool) or not isinstance(wait, (int, float)):
        raise OptionTypeError(tr("wait must be a number of seconds"))
    problem = seconds_problem(wait, "wait", MAX_WAIT)
    if problem:
        raise OptionError(problem)
    return float(wait)


class Session:
    """Settings plus everything a front needs to watch a job or send a message."""

    def __init__(self, settings: WxNotify | None = None) -> None:
        self.settings = settings if settings is not None else WxNotify()
        self.generation = 0  # bumped by every change of a setting (the magics reuse a parse until then)
        self.pause_sending: Callable[[], float] | None = None  # the front's "busy until" (monotonic), if any
        self.settings.observe(self._changed)

    def _changed(self, _: Any) -> None:
        self.generation += 1

    # -- options and destinations --------------------------------------------------------------------------

    def options(self, *, title: str | None = None, after: str | float | None = None, on: str | None = None,
                to: Sequence[str] = (), tail: int | None = None, every: str | float | None = None,
                no_output: bool = False, quiet: bool | None = None, auto: bool = False,
                figure: bool | None = None, start: bool = False,
                stall: str | float | None = None) -> WatchOptions:
        """Options for one job: the given values over the settings, checked; raises OptionError."""
        s = self.settings
        if on not in (None, "always", "success", "failure"):
            raise OptionError(tr("on must be always, success or failure"))
        try:
            if after is not None:
                after_s = parse_duration(after)
            elif auto and s.source("after") == "default":
                after_s = 60.0  # auto mode's own default: a minute, unless the user set WxNotify.after
            else:
                after_s = float(s.after)
            every_s = parse_duration(every) if every is not None else None
            stall_s = parse_duration(stall) if stall is not None else float(s.stall)  # no output for this long: alarm
        except ValueError as exc:
            raise OptionError(str(exc)) from None
        if every_s is not None and every_s <= 0:
            raise OptionError(tr("--every must be a positive duration"))
        if stall is not None and stall_s <= 0:
            raise OptionError(tr("--stall must be a positive duration"))
        tail = s.tail if tail is None else tail
        if isinstance(tail, bool) or not isinstance(tail, int):
            raise OptionTypeError(tr("tail must be a whole number of lines"))
        problem = count_problem(tail, "--tail", 0)
        if problem:
            raise OptionError(problem)
        return WatchOptions(title=title or "", after=after_s, on=on or s.on, to=list(to), tail=tail, every=every_s,
                            no_output=no_output, quiet=s.quiet if quiet is None else quiet,
                            figure=s.figure if figure is None else figure, start=start, stall=stall_s or None)

    def route(self, to: Sequence[str] = ()) -> Route:
        """Names or URLs (default: the settings' ``to``) -> Route; raises DestinationError / NoDestinationError."""
        return resolve(list(to), self.settings)

    # -- sending -------------------------------------------------------------------------------------------

    @property
    def quotas(self) -> dict[str, int]:
        return dict(self.settings.quotas)

    def submit(self, note: Notification, route: Route, kind: str = "final") -> Ticket:
        """Hand ``note`` to the outbox for every destination of ``route``."""
        sender = self.sender()
        sender.pause = self.pause_sending
        ticket = sender.submit(note, route.destinations, kind, route.fallbacks, self.quotas, wait=self.settings.wait)
        if self.settings.watchdog and in_kernel():  # a kernel may be killed 2.5 s after its shutdown request
            from . import watchdog

            watchdog.hand_over(str(sender.outbox.path.parent), os.environ.get("WXNOTIFY_API_BASE", ""))
        return ticket

    def sender(self) -> Sender:
        """The process's sender, counting limits in the ledger the settings name (``WXNOTIFY_LEDGER`` first)."""
        from .delivery import get_sender
        from .redis_ledger import shared

        sender = get_sender()
        url = os.environ.get("WXNOTIFY_LEDGER", "").strip() or self.settings.ledger
        sender.outbox.ledger = shared(sender.outbox.ledger, url)
        return sender

    def submitter(self, route: Route) -> Callable[[Notification, str], Ticket]:
        return lambda note, kind: self.submit(note, route, kind)

    def message(self, text: str, title: str = "", notebook: str = "") -> Notification:
        """An ad-hoc message (``%wxsend``, ``send()``, ``wxnotify send``)."""
        return Notification(status="message", title=title or "wxnotify", text=text, started=time.time(),
                            host=host_name(), notebook=notebook, lang=language())

    def send(self, text: str, title: str = "", to: Sequence[str] = (), notebook: str = "") -> Ticket:
        return self.submit(self.message(text, title, notebook), self.route(to))

    def send_test(self, to: Sequence[str] = (), route: Route | None = None, origin: str = "") -> Ticket:
        """Send the test message to ``route`` (default: ``to`` or the default destinations)."""
        text = tr(TEST_TEXT) + (f" ({origin})" if origin else "")
        return self.submit(self.message(text, tr("wxnotify test")), route or self.route(to))

    def wait(self, ticket: Ticket, timeout: float | None = None, reraise: bool = False) -> Receipt:
        """The ticket's receipt after up to ``timeout`` seconds (default ``WxNotify.wait``); see ``wait_for``."""
        return wait_for(ticket, self.settings.wait if timeout is None else timeout, reraise)

    def watch(self, options: WatchOptions, route: Route, context: dict[str, Any] | None = None,
              capture: bool = True, tail: Any = None,
              submit: Callable[[Notification, str], Ticket | None] | None = None, images: Any = None) -> Watch:
        """A Watch (not started) that sends through this session."""
        watch = Watch(options, submit or self.submitter(route), context, capture, tail, images)
        if self.settings.watchdog:  # where the watchdog sends if the process dies while the job runs
            from .watchdog import route_record

            watch.route = Redacted(route_record(route.destinations, route.fallbacks, self.quotas))  # repr: redacted
        return watch

    def job(self, options: WatchOptions, title: str, *, all_ranks: bool = False, capture: bool = True) -> Watch:
        """A Watch for a script's job (``notify()``, ``wxnotify run``); raises ValueError for bad destinations.

        On a rank other than 0 only failures are sent, and no progress messages, unless ``all_ranks``. When a
        distributed job fails, one rank per host reports it, saying how many ranks there failed.
        """
        from . import ranks  # a cluster's concern: loaded by the first job

        route = self.route(options.to)
        rank = ranks.secondary_rank()
        quiet_rank = rank is not None and not all_ranks
        distributed = ranks.distributed() and not all_ranks
        job_title = options.title or title

        def submit(note: Notification, kind: str) -> Ticket | None:
            if quiet_rank and note.status != "failed":
                return None
            if distributed and note.status == "failed" and kind == "final":
                ledger = self.sender().outbox.ledger  # a shared one: one message for the whole job
                claim = ranks.claim_failure(job_title, board=ledger if getattr(ledger, "url", "") else None)
                if claim is None:  # another rank on this host (or, with a shared ledger, any host) reports it
                    print(tr("wxnotify: this rank's failure is counted in the message another rank of the job sends")
                          if getattr(ledger, "url", "") else
                          tr("wxnotify: this rank's failure is counted in the message another rank on this host "
                             "sends"), file=sys.stderr)
                    return None
                note = replace(note, text=ranks_failed(claim))
            return self.submit(note, route, kind)

        options = replace(options, title=ranks.with_rank(options.title or title, rank),
                          every=None if quiet_rank else options.every)
        return self.watch(options, route, {"host": host_name()}, capture, submit=submit)

    # -- the outbox ----------------------------------------------------------------------------------------

    def retry(self, wait: float | None = None) -> tuple[int, int, int]:
        """Queue failed messages again and send what is due; (requeued, pending, failed) after ``wait``. Raises
        ``outbox.OutboxBusy`` when another process keeps the outbox locked for all of ``wait``."""
        from .delivery import get_sender

        sender = get_sender()
        wait = self.settings.wait if wait is None else wait
        count = sender.outbox.requeue_failed(wait=wait)
        sender.flush(wait)
        return count, sender.outbox.unsettled(), sender.outbox.count(Status.FAILED)

    def history_lines(self, n: int) -> list[str]:
        from .delivery import get_sender

        lines = []
        for item in get_sender().outbox.items(limit=n):
            note = Notification.from_dict(item.notification)
            when = time.strftime("%m-%d %H:%M", time.localtime(item.created))
            summary = redact(note.summary)  # the label and the reason were redacted when stored
            head = f"#{item.id:<3} {when} {_fit(status_word(item.status), 9)} {_fit(item.dest_label, 28)} "
            lines.append(head + _fit(summary, HISTORY_WIDTH - _width(head), pad=False))
            if item.reason:  # on a line of its own, under the summary: a row stays within a normal width
                lines.append(" " * 6 + _fit(f"— {item.reason}", HISTORY_WIDTH - 6, pad=False))
        return lines or [tr("wxnotify: no notifications yet")]

    # -- text for the fronts -------------------------------------------------------------------------------

    def status_lines(self, retry_hint: str = "%wxnotify retry") -> list[str]:
        """Destinations (redacted), today's counts by what each service counts, the outbox."""
        from . import policy

        s, lines = self.settings, []
        try:
            route = self.route()
        except (ValueError, NoDestinationError) as exc:
            route = Route(())
            lines.append(tr("destinations: {problem}", problem=problem_text(exc)))
        outbox = self.sender().outbox
        now = time.time()
        for dest in route.destinations:
            name = f"{dest.name}: " if dest.name else ""
            fallback = route.fallbacks.get(dest.name)
            fb = tr(" (fallback: {dest})", dest=fallback.redacted) if fallback else ""
            lines.append(f"→ {name}{dest.redacted} [{dest.service}]{fb}")
            held, why = outbox.lane_hold(dest.provider.lane(dest))
            if held - now >= policy.COOLDOWN:  # the service said this token is limited: say until when
                lines.append("    " + tr("cool-down until {time}: {why}", time=policy.clock_time(held, now), why=why))
            keys = dest.limit_keys()
            calls = outbox.calls_since(policy.since(keys, now))
            for key in keys:
                if key.limit.daily:
                    used = policy.used_today(calls[key.key], now, key.limit.zone)
                    lines.append("    " + tr("{label}: {used} of {quota} {today}", label=key.label, used=used,
                                             quota=policy.quota_of(key, self.quotas),
                                             today=policy.day_word(key.limit.zone)))
                elif key.limit.seconds >= 60 and not key.limit.same_content:  # a robot's per-minute limit
                    used = sum(1 for t, _ in calls[key.key] if t > now - key.limit.seconds)
                    lines.append("    " + tr("{label}: {used} of {count} {window}", label=key.label,
                                             used=used, count=key.limit.count, window=_window(key.limit.seconds)))
        lines.append(tr("default destinations from: {source}; settings file: {path}",
                        source=source_word(s.source("to")), path=settings_path()))
        lines.append(tr("notify after {after}, {on}; tail {tail} lines; wait {wait:g} s",
                        after=human_duration(float(s.after)), on=tr(ON_CHOICES.get(s.on, s.on)), tail=s.tail,
                        wait=s.wait))
        lines.append(tr("limits counted in: {where}", where=outbox.ledger.where()))
        if (placed := state_placement()).moved:
            lines.append(placed.why())
        pending, failed = outbox.unsettled(), outbox.count(Status.FAILED)
        hint = tr("  ({command} sends them again)", command=retry_hint) if failed else ""
        lines.append(tr("outbox: {pending} pending, {failed} failed", pending=pending, failed=failed) + hint)
        for item in outbox.items(Status.FAILED, limit=3):
            lines.append(f"  #{item.id} {item.dest_label}: {item.reason}")
        return lines

    def settings_lines(self) -> list[str]:
        s = self.settings
        lines = [tr("wxnotify settings (secrets redacted):")]
        for name in ("to", "after", "tail", "on", "wait", "lang"):
            value = [redact_url(v) for v in s.default_to()] if name == "to" else getattr(s, name)
            lines.append(f"  {name} = {value!r}  [{source_word(s.source(name))}]")
        for name, url in s.destinations.items():
            lines.append(f"  destinations[{name!r}] = {redact_url(url)}")
        lines.append(tr("settings file: {path}", path=settings_path()))
        lines.append(tr("add a destination without putting its token in a notebook: `wxnotify config add NAME` in a "
                        "terminal, or %wxnotify config in Jupyter"))
        return lines

    # -- the settings file ---------------------------------------------------------------------------------

    @property
    def file(self) -> SettingsFile:
        return SettingsFile()

    def reload(self) -> None:
        """Apply the settings file to this session again (after the panel or the CLI wrote it)."""
        self.settings.load_file()


def ranks_failed(claim: FailureClaim) -> str:
    """``3 of 4 ranks on gpu-node-7 failed (ranks 0, 1, 3)``."""
    failed = ", ".join(claim.failed)
    if not claim.host:  # counted on every host (a shared ledger)
        return tr("{count} of {size} ranks failed (ranks {failed})", count=claim.count,
                  size=claim.local_size or "?", failed=failed)
    if claim.local_size:
        return tr("{count} of {size} ranks on {host} failed (ranks {failed})", count=claim.count,
                  size=claim.local_size, host=claim.host, failed=failed)
    return tr("{count} rank(s) on {host} failed (ranks {failed})", count=claim.count, host=claim.host, failed=failed)


# ------------------------------------------------------------------------------------------- the current one

_by_shell: dict[int, Session] = {}


def attach(shell: Any, session: Session) -> None:
    _by_shell[id(shell)] = session


def detach(shell: Any) -> Session | None:
    return _by_shell.pop(id(shell), None)


def attached(shell: Any) -> Session | None:
    return _by_shell.get(id(shell))


def current() -> Session:
    """The session of the extension loaded in the running IPython, else a new one over the settings file and env
    (and IPython config, when called inside IPython without the extension loaded)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return Session()
    if id(shell) in _by_shell:
        return _by_shell[id(shell)]
    settings = next((c for c in getattr(shell, "configurables", []) if isinstance(c, WxNotify)), None)
    if settings is not None and settings.first_use is not None:  # the extension is loaded; built by this first use
        return settings.first_use()
    return Session(settings or WxNotify(parent=shell))


__all__ = ["OptionError", "OptionTypeError", "Session", "attach", "attached", "current", "detach"]


def _window(seconds: float) -> str:
    """A limit's window as the status line says it: "in the last minute", "... hour", else a duration."""
    words = {60.0: N_("in the last minute"), 3600.0: N_("in the last hour")}
    return tr(words[seconds]) if seconds in words else tr("in the last {duration}", duration=human_duration(seconds))


HISTORY_WIDTH = 100  # columns of a %wxnotify history row: a notebook's or a terminal's normal width


def _width(text: str) -> int:
    """Columns ``text`` takes in a monospace font (Chinese characters take two, a word joiner none)."""
    import unicodedata

    return sum(0 if unicodedata.category(c) == "Cf" else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in text)


def _fit(text: str, width: int, pad: bool = True) -> str:
    """``text`` cut to ``width`` columns with ``…`` (and padded to them with ``pad``)."""
    if _width(text) > width:
        while _width(text) > width - 1:
            text = text[:-1]
        text += "…"
    return text + " " * (width - _width(text)) if pad else text
