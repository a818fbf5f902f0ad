"""``%wxnotify`` line commands: status, test, retry, history, config, auto."""

from __future__ import annotations

import time
from typing import Any

from IPython.core.error import UsageError

from . import delivery
from .durations import human_duration, parse_duration
from .message import Notification
from .providers import PROVIDERS, DestinationError, redact_url
from .settings import NoDestinationError, resolve_destinations, settings_path
from .watch import WatchOptions, host_name

USAGE = "usage: %wxnotify [status|test|retry|history [N]|config|auto on|off [--after D] [--to DEST]]"


def run(magics: Any, line: str) -> Any:
    words = line.split()
    command = words[0] if words else "status"
    handler = COMMANDS.get(command)
    if handler is None:
        raise UsageError(f"%wxnotify: unknown command {command!r}; {USAGE}")
    return handler(magics, words[1:])


def status(magics: Any, _: list[str]) -> None:
    """Destinations (redacted), today's count per destination against its quota, pending and failed items."""
    print(status_text(magics.settings))


def status_text(settings: Any) -> str:
    lines = []
    try:
        dests, fallbacks = resolve_destinations([], settings)
    except (DestinationError, NoDestinationError) as exc:
        dests, fallbacks = [], {}
        lines.append(f"destinations: {exc}")
    sender = delivery.get_sender()
    today = delivery.day_start(time.time())
    for dest in dests:
        provider = PROVIDERS[dest.provider]
        used = len(sender.outbox.calls_since(dest.key, today))
        quota = delivery.daily_quota(provider, dict(settings.quotas))
        name = f"{dest.name}: " if dest.name else ""
        fb = f" (fallback: {fallbacks[dest.name].redacted})" if dest.name in fallbacks else ""
        lines.append(f"→ {name}{dest.redacted} [{provider.label}] today {used}"
                     f"{f' of {quota}' if quota else ''} sent{fb}")
    source = settings.source("to")
    lines.append(f"default destinations from: {source}; settings file: {settings_path()}")
    lines.append(f"notify after {human_duration(float(settings.after))} on {settings.on}; tail {settings.tail} lines;"
                 f" wait {settings.wait:g} s")
    pending, failed = sender.outbox.count("pending"), sender.outbox.count("failed")
    lines.append(f"outbox: {pending} pending, {failed} failed"
                 + ("  (%wxnotify retry to send them again)" if failed else ""))
    for item in sender.outbox.items("failed", limit=3):
        lines.append(f"  failed #{item.id} {item.dest_label}: {item.reason}")
    return "\n".join(lines)


def test(magics: Any, words: list[str]) -> None:
    """Send a test message to the default (or given) destinations."""
    to = words[1:] if words[:1] == ["--to"] else []
    dests, fallbacks = magics._destinations(to, "%wxnotify test")
    note = Notification(status="message", title="wxnotify test",
                        text="If you can read this on your phone, wxnotify works. 🎉",
                        started=time.time(), host=host_name())
    magics._report(delivery.get_sender(magics._quotas).submit(note, dests, "final", fallbacks), WatchOptions())


def retry(magics: Any, _: list[str]) -> None:
    sender = delivery.get_sender(magics._quotas)
    count = sender.outbox.requeue_failed()
    sender.kick()
    sender.flush(magics.settings.wait)
    print(f"wxnotify: {count} failed item(s) queued again; "
          f"{sender.outbox.count('pending')} pending, {sender.outbox.count('failed')} failed now")


def history(magics: Any, words: list[str]) -> None:
    try:
        n = int(words[0]) if words else 10
    except ValueError:
        raise UsageError(f"%wxnotify history: N must be a number, not {words[0]!r}") from None
    items = delivery.get_sender().outbox.items(limit=n)
    if not items:
        print("wxnotify: no notifications yet")
    for item in items:
        note = Notification.from_dict(item.notification)
        when = time.strftime("%m-%d %H:%M:%S", time.localtime(item.created))
        reason = f" — {item.reason}" if item.reason else ""
        print(f"#{item.id} {when} {item.status:<9} {item.dest_label}  {note.summary}{reason}")


def config(magics: Any, _: list[str]) -> Any:
    try:
        from .settings_panel import show
    except ImportError:
        print(settings_text(magics.settings))
        return None
    return show(magics.settings)


def settings_text(settings: Any) -> str:
    lines = ["wxnotify settings (secrets redacted):"]
    for name in ("to", "after", "tail", "on", "wait"):
        value = getattr(settings, name)
        if name == "to":
            value = [redact_url(v) for v in settings.default_to()]
        lines.append(f"  {name} = {value!r}  [{settings.source(name)}]")
    for name, url in settings.destinations.items():
        lines.append(f"  destinations[{name!r}] = {redact_url(url)}")
    lines.append(f"settings file: {settings_path()}")
    lines.append("change with %config WxNotify.to = ['wxpusher://AT_.../UID_...'], or export WXNOTIFY_TO")
    return "\n".join(lines)


def auto(magics: Any, words: list[str]) -> None:
    """``auto on [--after D] [--to DEST]... [--batch] [--settle S]`` or ``auto off``."""
    from IPython.core.magic_arguments import MagicArgumentParser

    parser = MagicArgumentParser(prog="%wxnotify auto", add_help=False)
    parser.add_argument("switch", choices=["on", "off"])
    parser.add_argument("--after", default=None)
    parser.add_argument("--to", action="append", default=[])
    parser.add_argument("--batch", action="store_true")
    parser.add_argument("--settle", default=None)
    args = parser.parse_argstring(" ".join(words))
    if args.switch == "off":
        was_on = magics.auto is not None
        magics.disable_auto()
        print("wxnotify: auto mode off" if was_on else "wxnotify: auto mode was not on")
        return
    try:
        after = parse_duration(args.after) if args.after is not None else None
        settle = parse_duration(args.settle) if args.settle is not None else None
    except ValueError as exc:
        raise UsageError(f"%wxnotify auto: {exc}") from None
    print(magics.enable_auto(after, args.to, args.batch or magics.settings.batch, settle))


COMMANDS = {"status": status, "test": test, "retry": retry, "history": history, "config": config, "auto": auto}
