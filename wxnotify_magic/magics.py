"""The magics: ``%%wxnotify``, ``%wxnotify`` (status and commands) and ``%wxsend``. They parse and delegate.

Every magic and subcommand declares its options with ``magic_arguments``, so ``%wxnotify?`` shows them all.
Running a cell is the hooks' job (``hooks.py``); sending, status and settings are the session's.
"""

from __future__ import annotations

import functools
import os
import re
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import MagicArgumentParser, argument, construct_parser, kwds, real_name
from IPython.core.magic_arguments import magic_arguments as ipython_magic_arguments

from .cellinfo import notebook_name
from .hooks import TWICE, twice, wants_help
from .i18n import N_, tr, tr_help, tr_usage
from .message import cut_end
from .receipts import report
from .redact import redact, shorten, unlinked
from .session import OptionError, Session
from .settings import MAX_WAIT, NoDestinationError, Route, count_problem
from .watch import WatchOptions

USAGE_LIMIT = 200  # characters of an error line; what the user typed is redacted first, then cut
SEND_OPTION = re.compile(r"""^\s*(-t|--title|--to)(?:\s+|=)("[^"]*"|'[^']*'|\S+)""")


def _usage(who: str, exc: BaseException) -> UsageError:
    """A one-line UsageError naming the problem, with secrets and bare keys hidden."""
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    problem = cut_end(tr_usage(redact(text, strict=True)), USAGE_LIMIT)  # redacted first, then translated and cut
    return UsageError(tr("{who}: {problem}", who=who, problem=problem))


class magic_arguments(ipython_magic_arguments):
    """IPython's ``magic_arguments``, with the parser built on first use (``_parser``), not at import: building
    the ten parsers was most of what ``%load_ext`` cost."""

    def __call__(self, func: Any) -> Any:
        if not getattr(func, "has_arguments", False):
            func.has_arguments, func.decorators = True, []
        if self.name is not None:
            func.argcmd_name = self.name
        return func


def _parser(func: Any) -> MagicArgumentParser:
    """The parser of a magic or subcommand, built from its decorators the first time it is needed."""
    func = getattr(func, "__func__", func)  # a bound method's function
    if "parser" not in func.__dict__:
        func.parser = construct_parser(func)
    return func.parser


def _parse(func: Any, line: str, who: str) -> Any:
    try:
        return _parser(func).parse_argstring(line)
    except (UsageError, ValueError) as exc:  # argparse's complaint, or an unterminated quote
        raise _usage(who, exc) from None


@functools.lru_cache(maxsize=64)
def _cell_args(line: str) -> Any:
    """``%%wxnotify`` options parsed (a Run All repeats the same line; argparse is the cost of a cell)."""
    return _parse(WxNotifyMagics.wxnotify, line, "%%wxnotify")


def _unquote(text: str) -> str:
    """IPython keeps the quotes of quoted magic arguments: ``-t 'my run'`` -> ``my run``."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


@magics_class
class WxNotifyMagics(Magics):
    """``%%wxnotify``, ``%wxnotify`` and ``%wxsend``; ``hooks`` is the extension's CellHooks."""

    def __init__(self, shell: Any, session: Session) -> None:
        super().__init__(shell)
        self.session = session
        self.hooks: Any = None
        self._parsed: tuple[tuple[str, int, str], tuple[WatchOptions, Route]] | None = None

    # -- %%wxnotify -----------------------------------------------------------------------------------------

    @magic_arguments()
    @kwds(description=N_("Push a WeChat notification when this cell ends.\n\nLine form: "
                         "``%wxnotify [status|config|test|retry|history|auto|wait|help]``, see below."))
    @argument("-t", "--title", default=None, help=N_("Title of the message (default: the cell's first comment)."))
    @argument("--after", default=None, help=N_("Notify only if the cell ran at least this long (90, 5m, 1h30m)."))
    @argument("--on", choices=["always", "success", "failure"], default=None, help=N_("When to notify."))
    @argument("--to", action="append", default=None, metavar="DEST",
              help=N_("Destination URL or saved name (repeatable); default WxNotify.to."))
    @argument("--tail", type=int, default=None, help=N_("Lines of output to include (default 20)."))
    @argument("--every", default=None, help=N_("Also send a progress message at this interval (e.g. 30m)."))
    @argument("--stall", default=None,
              help=N_("Send one message when the cell prints nothing for this long (e.g. 30m)."))
    @argument("--no-output", action="store_true", help=N_("Leave output and values out of the message."))
    @argument("--quiet", action="store_true", help=N_("Print no delivery status line."))
    @argument("--figure", action="store_true", help=N_("Also send the last image the cell displayed."))
    @line_cell_magic
    def wxnotify(self, line: str, cell: str | None = None) -> Any:
        __tracebackhide__ = True  # a traceback shows the user's code, never ours (as IPython's magics do)
        if cell is None:
            return self._command(line)
        if wants_help(line):
            return self.cmd_help("")  # like %%wxnotify?: the body does not run
        if twice(["%%wxnotify", cell]):
            raise UsageError(tr(TWICE))
        options, route = self.cell_options(line)  # raises UsageError before the body runs
        return self.hooks.run_body(options, route, cell)

    def cell_options(self, line: str) -> tuple[WatchOptions, Route]:
        """Parse and check ``%%wxnotify`` options; raise UsageError with a one-line reason.

        The result is reused while the line, the settings and ``WXNOTIFY_TO`` stay the same (a Run All of many
        cells with the same options parses them once)."""
        key = (line, self.session.generation, os.environ.get("WXNOTIFY_TO", ""))
        if self._parsed is not None and self._parsed[0] == key:
            return self._parsed[1]
        parsed = self._cell_options(line)
        self._parsed = (key, parsed)
        return parsed

    def _cell_options(self, line: str) -> tuple[WatchOptions, Route]:
        args = _cell_args(line)
        try:
            options = self.session.options(title=_unquote(args.title or ""), after=args.after, on=args.on,
                                           to=[_unquote(t) for t in args.to or []], tail=args.tail, every=args.every,
                                           no_output=args.no_output, quiet=args.quiet or None,
                                           figure=args.figure or None, stall=args.stall)
        except OptionError as exc:
            raise _usage("%%wxnotify", exc) from None
        return options, self._route(options.to, "%%wxnotify")

    def _route(self, to: list[str], who: str) -> Route:
        try:
            return self.session.route(to)
        except (ValueError, NoDestinationError) as exc:  # DestinationError: one line, no secret
            raise _usage(who, exc) from None

    # -- %wxnotify subcommands --------------------------------------------------------------------------------

    def _command(self, line: str) -> Any:
        __tracebackhide__ = True
        word, _, rest = line.strip().partition(" ")
        handler = COMMANDS.get(word or "status") or ("cmd_help" if word in ("-h", "--help") else None)
        if handler is None:
            raise UsageError(tr("%wxnotify: unknown command {word}; try %wxnotify? for the commands",
                                word=shorten(word, 30, strict=True)))
        return getattr(self, handler)(rest)

    @magic_arguments(name="wxnotify status")
    @kwds(description=N_("Show destinations (redacted), today's counts against each limit, pending and failed "
                         "messages."))
    def cmd_status(self, line: str) -> None:
        _parse(self.cmd_status, line, "%wxnotify status")
        print(unlinked("\n".join(self.session.status_lines())))  # shown as text, not as links

    @magic_arguments(name="wxnotify test")
    @kwds(description=N_("Send a test message."))
    @argument("--to", action="append", default=[], metavar="DEST", help=N_("Destination (default: WxNotify.to)."))
    def cmd_test(self, line: str) -> None:
        args = _parse(self.cmd_test, line, "%wxnotify test")
        route = self._route([_unquote(t) for t in args.to], "%wxnotify test")
        self.hooks.report(self.session.send_test(route=route), WatchOptions())

    @magic_arguments(name="wxnotify retry")
    @kwds(description=N_("Send failed and pending messages again now."))
    def cmd_retry(self, line: str) -> None:
        _parse(self.cmd_retry, line, "%wxnotify retry")
        count, pending, failed = self.session.retry()
        print(tr("wxnotify: {count} failed message(s) queued again; {pending} pending, {failed} failed now",
                 count=count, pending=pending, failed=failed))

    @magic_arguments(name="wxnotify history")
    @kwds(description=N_("List the latest messages and what became of them."))
    @argument("n", nargs="?", type=int, default=10, help=N_("How many of the latest messages (default 10)."))
    def cmd_history(self, line: str) -> None:
        args = _parse(self.cmd_history, line, "%wxnotify history")
        problem = count_problem(args.n, "N", 1)
        if problem:
            raise UsageError(tr("%wxnotify history: {problem}", problem=problem))
        print(unlinked("\n".join(self.session.history_lines(args.n))))

    @magic_arguments(name="wxnotify config")
    @kwds(description=N_("Show the settings panel (in a terminal: print the settings)."))
    def cmd_config(self, line: str) -> Any:
        _parse(self.cmd_config, line, "%wxnotify config")
        from .settings_panel import show

        return show(self.session)

    @magic_arguments(name="wxnotify wait")
    @kwds(description=N_("Wait until every notification sent from here has settled, and say how it went. In a "
                         "notebook, end with it to keep the final receipts (the cells themselves never wait for "
                         "delivery)."))
    @argument("seconds", nargs="?", default="60", help=N_("Wait at most this long (default 60 s; 90, 5m, 1h)."))
    def cmd_wait(self, line: str) -> None:
        args = _parse(self.cmd_wait, line, "%wxnotify wait")
        from .durations import parse_duration

        try:
            seconds = min(parse_duration(args.seconds), MAX_WAIT)
        except ValueError as exc:
            raise _usage("%wxnotify wait", exc) from None
        try:
            items = self.hooks.receipts.wait(seconds)
        except KeyboardInterrupt:  # Ctrl-C stops the wait (as it stops a cell's receipt wait): one line, no traceback
            items = [*self.hooks.receipts.wait(0), tr("wxnotify: stopped waiting (Ctrl-C); what is still sending goes "
                                                      "on in the background")]
        for item in items:
            if isinstance(item, str):
                print(item)
            else:
                report(item)

    @magic_arguments(name="wxnotify help")
    @kwds(description=N_("Show this help (also ``%%wxnotify -h`` and ``%wxnotify --help``)."))
    def cmd_help(self, line: str) -> None:
        print(full_help())

    @magic_arguments(name="wxnotify auto")
    @kwds(description=N_("Notify for every long or failed cell (or one digest per Run All)."))
    @argument("switch", choices=["on", "off"], help=N_("Turn auto mode on or off."))
    @argument("--after", default=None, help=N_("Notify cells running at least this long (default 1m)."))
    @argument("--to", action="append", default=[], metavar="DEST", help=N_("Destination (default: WxNotify.to)."))
    @argument("--batch", action="store_true", help=N_("One digest per Run All instead of one message per cell."))
    @argument("--settle", default=None, help=N_("Idle time that ends a Run All (default 2s)."))
    def cmd_auto(self, line: str) -> None:
        args = _parse(self.cmd_auto, line, "%wxnotify auto")
        if args.switch == "off":
            print(tr("wxnotify: auto mode off") if self.hooks.disable_auto() else tr("wxnotify: auto mode was not on"))
            return
        print(self.enable_auto(args.after, [_unquote(t) for t in args.to], args.batch, args.settle))

    def enable_auto(self, after: str | None, to: list[str], batch: bool, settle: str | None) -> str:
        """Turn auto mode on (UsageError for bad values); return the one-line summary."""
        s = self.session.settings
        try:
            options = self.session.options(after=after, to=to, auto=True)
            from .durations import human_duration, parse_duration

            settle_s = parse_duration(settle) if settle is not None else s.settle
        except (OptionError, ValueError) as exc:
            raise _usage("%wxnotify auto", exc) from None
        route = self._route(to, "%wxnotify auto")
        batch = batch or s.batch
        self.hooks.enable_auto(options, route, batch, settle_s)
        mode = (tr("one digest per run (idle after {seconds:g} s)", seconds=settle_s) if batch
                else tr("one message per cell"))
        return tr("wxnotify: auto mode on: cells running {after} or longer, and every failure; {mode}",
                  after=human_duration(options.after), mode=mode)

    # -- %wxsend --------------------------------------------------------------------------------------------

    @magic_arguments()
    @kwds(description=N_("Send a message now: ``%wxsend [-t TITLE] [--to DEST ...] text``."))
    @argument("-t", "--title", default=None, help=N_("Title of the message."))
    @argument("--to", action="append", default=[], metavar="DEST", help=N_("Destination (repeatable)."))
    @argument("text", nargs="*", help=N_("The message; {expr} and $var expand as in any line magic."))
    @line_magic
    def wxsend(self, line: str) -> None:
        options, rest = "", line
        while m := SEND_OPTION.match(rest):  # options first; the text after them is taken as it is
            options, rest = options + " " + m.group(0).strip(), rest[m.end():]
        args = _parse(self.wxsend, options, "%wxsend")
        text = rest.strip()
        first = text.split(maxsplit=1)[0] if text else ""
        if first == "--":  # the end of the options: what follows is the text, even if it starts with -
            text = text[2:].strip()
        elif first in ("-t", "--title", "--to"):
            raise UsageError(tr("%wxsend: option {option} needs a value", option=first))
        elif first.startswith("-") and first != "-":
            raise UsageError(tr("%wxsend: unknown option {option} (options: -t TITLE, --to DEST)",
                                option=shorten(first, 30, strict=True)))
        if not text:
            raise UsageError(tr("%wxsend: nothing to send (usage: %wxsend [-t TITLE] [--to DEST] text)"))
        route = self._route([_unquote(t) for t in args.to], "%wxsend")
        note = self.session.message(text, _unquote(args.title or ""), notebook_name(self.shell))
        self.hooks.report(self.session.submit(note, route), WatchOptions())


COMMANDS = {name: f"cmd_{name}" for name in ("status", "test", "retry", "history", "config", "auto", "wait", "help")}


def render_help(func: Any) -> str:
    """The help of one magic or subcommand in the current language: its parser built again from its decorators with
    the texts translated (argparse's headings too), so it follows ``WxNotify.lang`` as it is now."""
    options = dict(getattr(func, "argcmd_kwds", {}))
    options["description"] = tr(options.get("description") or "")
    parser = MagicArgumentParser(real_name(func), **options)
    for deco in func.decorators[::-1]:
        if isinstance(deco, argument):
            extra = {"help": tr(deco.kwds["help"])} if deco.kwds.get("help") else {}
            parser.add_argument(*deco.args, **{**deco.kwds, **extra})
    return tr_help(parser.format_help()).strip()


def full_help() -> str:
    """``%wxnotify help``, ``%%wxnotify -h`` and ``%%wxnotify?``: the cell magic's options, then every command."""
    return "\n\n".join(render_help(getattr(WxNotifyMagics, name)) for name in ("wxnotify", *COMMANDS.values()))


# What ``%%wxnotify?`` and ``%wxsend?`` show: IPython asks an object's getdoc() before its __doc__ (built at import)
setattr(WxNotifyMagics.wxnotify, "getdoc", full_help)  # noqa: B010 (mypy: a function has no such attribute)
setattr(WxNotifyMagics.wxsend, "getdoc", lambda: render_help(WxNotifyMagics.wxsend))  # noqa: B010
for _magic, _names in ((WxNotifyMagics.wxnotify, ("wxnotify", *COMMANDS.values())),
                       (WxNotifyMagics.wxsend, ("wxsend",))):
    _magic.__doc__ = "\n\n".join(  # what %magic lists, in English (what %wxnotify? shows is full_help())
        getattr(WxNotifyMagics, name).argcmd_kwds["description"] for name in _names)
