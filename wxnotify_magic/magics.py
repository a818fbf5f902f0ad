"""The magics: argument parsing and the ``%%wxnotify`` cell contract, nothing else.

A ``%%wxnotify ARGS`` cell runs as a plain cell: a cleanup input transformer turns its first line into
the comment ``# %%wxnotify ARGS`` (same line count), ``pre_run_cell`` starts the watch and
``post_run_cell`` finishes it. ``Out[n]``, ``_``, names, top-level ``await``, tracebacks and Run All
stopping on failure are therefore exactly IPython's own.
"""

from __future__ import annotations

import ast
import re
import sys
import time
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from .auto import AutoMode
from .capture import HistoryTail
from .durations import human_duration, parse_duration
from .message import Notification
from .settings import WxNotify, resolve_destinations
from .watch import Watch, WatchOptions, format_traceback

CELL_LINE = re.compile(r"^%%wxnotify(?:[ \t]+(?P<args>.*?))?[ \t]*$")
SEND_OPTION = re.compile(r"""^\s*(-t|--title|--to)(?:\s+|=)("[^"]*"|'[^']*'|\S+)""")


@magics_class
class WxNotifyMagics(Magics):
    """``%%wxnotify``, ``%wxnotify`` and ``%wxsend``."""

    def __init__(self, shell: Any, settings: WxNotify) -> None:
        super().__init__(shell)
        self.ip: Any = shell
        self.settings = settings
        self._watch: Watch | None = None
        self._watch_info: Any = None
        self._watch_is_auto = False
        self._checked: tuple[str, Any] | None = None  # the transformer's parse of the current cell
        self.auto: AutoMode | None = None

    # -- the cell magic's options ----------------------------------------------------------------------

    @magic_arguments()
    @argument("-t", "--title", default=None, help="Title of the message (default: the cell's first comment).")
    @argument("--after", default=None, help="Notify only if the cell ran at least this long (90, 5m, 1h30m).")
    @argument("--on", choices=["always", "success", "failure"], default=None, help="When to notify.")
    @argument("--to", action="append", default=None, metavar="DEST",
              help="Destination URL or saved name (repeatable); default WxNotify.to.")
    @argument("--tail", type=int, default=None, help="Lines of output to include (default 20).")
    @argument("--every", default=None, help="Also send a progress ping at this interval (e.g. 30m).")
    @argument("--no-output", action="store_true", help="Leave output and values out of the message.")
    @argument("--quiet", action="store_true", help="Print no delivery status line.")
    @line_cell_magic
    def wxnotify(self, line: str, cell: str | None = None) -> Any:
        """Push a WeChat notification when this cell ends.

        Line form: ``%wxnotify`` (status), ``%wxnotify test``, ``%wxnotify retry``,
        ``%wxnotify history [N]``, ``%wxnotify config``.
        """
        if cell is None:
            return self._control(line)
        options, dests = self.cell_options(line)  # raises UsageError before the body runs
        return self._run_body(options, dests, cell)

    def cell_options(self, line: str) -> tuple[WatchOptions, Any]:
        """Parse and check ``%%wxnotify`` options; raise UsageError with a one-line reason."""
        args = parse_argstring(self.wxnotify, line)
        s = self.settings
        try:
            after = parse_duration(args.after) if args.after is not None else float(s.after)
            every = parse_duration(args.every) if args.every is not None else None
        except ValueError as exc:
            raise UsageError(f"%%wxnotify: {exc}") from None
        if every is not None and every <= 0:
            raise UsageError("%%wxnotify: --every must be positive")
        tail = s.tail if args.tail is None else args.tail
        if tail < 0:
            raise UsageError("%%wxnotify: --tail must be 0 or more")
        options = WatchOptions(title=_unquote(args.title or ""), after=after, on=args.on or s.on,
                               to=[_unquote(t) for t in args.to or []],
                               tail=tail, every=every, no_output=args.no_output, quiet=args.quiet or s.quiet)
        return options, self._destinations(options.to, "%%wxnotify")

    def _destinations(self, to: list[str], who: str) -> Any:
        try:
            return resolve_destinations(to, self.settings)
        except ValueError as exc:  # DestinationError, NoDestinationError: one line, no secret
            raise UsageError(f"{who}: {exc}") from None

    # -- the plain-cell path: transformer + events ---------------------------------------------------------

    def rewrite_cell(self, lines: list[str]) -> list[str]:
        """Cleanup transformer: ``%%wxnotify ARGS`` -> ``# %%wxnotify ARGS`` when ARGS are valid."""
        if not lines or not lines[0].startswith("%%wxnotify"):
            return lines
        args = self._cell_args(lines[0])
        if args is None:
            return lines
        try:
            self._checked = (args, self.cell_options(args))  # pre_run_cell reuses it: parse once per cell
        except Exception:
            return lines  # the registered magic raises the UsageError and the body never runs
        return ["# " + lines[0], *lines[1:]]

    @staticmethod
    def _cell_args(first_line: str) -> str | None:
        m = CELL_LINE.match(first_line.rstrip("\r\n"))
        return (m.group("args") or "") if m else None

    def pre_run_cell(self, info: Any) -> None:
        try:
            raw = (getattr(info, "raw_cell", "") or "").lstrip("\n")
            if self._watch is not None or getattr(info, "silent", False):
                return
            if self.auto is not None:
                self.auto.cell_started()
            options, dests = self._plain_cell_options(raw)
            if options is None:
                return
            self._watch = self._new_watch(options, dests, raw, plain_cell=True)
            self._watch_info, self._watch_is_auto = info, dests is self._auto_dests
            self._watch.start()
        except Exception as exc:  # never break the user's cell
            self._watch = None
            print(f"wxnotify: could not watch this cell ({type(exc).__name__}: {exc})", file=sys.stderr)

    def _plain_cell_options(self, raw: str) -> tuple[WatchOptions | None, Any]:
        """The options for a ``%%wxnotify`` cell, or auto mode's for any other cell, or (None, None)."""
        if raw.startswith("%%wxnotify"):
            args = self._cell_args(raw.split("\n", 1)[0])
            if args is None:
                return None, None
            checked, self._checked = self._checked, None
            if checked is not None and checked[0] == args:
                return checked[1]
            try:
                return self.cell_options(args)
            except UsageError:
                return None, None  # the registered magic reports it
        if self.auto is not None:
            return self.auto.options, self._auto_dests
        return None, None

    def post_run_cell(self, result: Any) -> None:
        watch = self._watch
        if watch is None or getattr(result, "info", None) is not self._watch_info:
            return
        self._watch, self._watch_info = None, None
        try:
            count = getattr(result, "execution_count", None)
            watch.context["execution_count"] = count
            error = result.error_before_exec or result.error_in_exec
            tb = self._traceback(error) if error is not None else None
            if self._watch_is_auto and self.auto is not None:
                self.auto.cell_finished(watch, error, result.result, tb, count)
                return
            self._report(watch.finish(error, result.result, tb), watch.options)
            if self.auto is not None:
                self.auto.rearm(watch.context)
        except Exception as exc:
            watch.stop_capture()
            print(f"wxnotify: notification not sent ({type(exc).__name__}: {exc})", file=sys.stderr)

    # -- auto mode ----------------------------------------------------------------------------------------

    _auto_dests: Any = None

    def enable_auto(self, after: float | None, to: list[str], batch: bool, settle: float | None) -> str:
        """Turn auto mode on (raising UsageError for a bad destination); return a one-line summary."""
        self.disable_auto()
        s = self.settings
        dests = self._destinations(to, "%wxnotify auto")
        if after is None:  # auto mode's own default is a minute, unless the user set WxNotify.after
            after = float(s.after) if s.source("after") != "default" else 60.0
        threshold = after
        options = WatchOptions(after=threshold, on=s.on, to=to, tail=s.tail, quiet=s.quiet)
        self._auto_dests = dests

        def submit(note: Notification, kind: str) -> Any:
            return _sender(self._quotas).submit(note, dests[0], kind, dests[1])

        self.auto = AutoMode(options, batch, s.settle if settle is None else settle, submit,
                             lambda ticket: self._report(ticket, options))
        mode = f"one digest per run (idle after {settle if settle is not None else s.settle:g} s)" if batch \
            else "one message per cell"
        return (f"wxnotify: auto mode on: cells running {human_duration(threshold)} or longer, and every "
                f"failure; {mode}")

    def disable_auto(self) -> None:
        auto, self.auto = self.auto, None
        if auto is not None:
            self._report(auto.stop(), auto.options)

    # -- the direct path: run_cell_magic ------------------------------------------------------------------

    def _run_body(self, options: WatchOptions, dests: Any, cell: str) -> Any:
        __tracebackhide__ = True
        watch = self._new_watch(options, dests, cell).start()
        try:
            value = self._execute(cell)
        except BaseException as error:
            watch.stop_capture()
            self._report(watch.finish(error, None, self._traceback(error)), options)
            raise
        watch.stop_capture()
        self._report(watch.finish(None, value), options)
        return value

    def _execute(self, cell: str) -> Any:
        """Run ``cell`` in the user namespace as %%time does, returning the last expression's value."""
        __tracebackhide__ = True
        shell = self.ip
        tree = shell.compile.ast_parse(shell.transform_cell(cell))
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        ns = shell.user_ns
        exec(shell.compile(tree, "<wxnotify cell>", "exec"), ns)
        if last is not None:
            expr = ast.Expression(last.value)
            return eval(shell.compile(expr, "<wxnotify cell>", "eval"), ns)
        return None

    # -- shared -------------------------------------------------------------------------------------------

    def _new_watch(self, options: WatchOptions, dests: Any, raw_cell: str, plain_cell: bool = False) -> Watch:
        destinations, fallbacks = dests

        def submit(note: Notification, kind: str) -> Any:
            return _sender(self._quotas).submit(note, destinations, kind, fallbacks)

        context = {"title": self._default_title(raw_cell), "notebook": self._notebook(),
                   "execution_count": self.ip.execution_count}
        # IPython 9 tees output into its history already: read that copy instead of teeing again
        tail = HistoryTail.of(self.ip, max(options.tail, 1)) if plain_cell else None
        return Watch(options, submit, context, tail=tail)

    def _quotas(self) -> dict[str, int]:
        return dict(self.settings.quotas)

    def _default_title(self, raw_cell: str) -> str:
        for line in raw_cell.split("\n")[1:]:
            text = line.strip()
            if text.startswith("#") and text.lstrip("#").strip():
                return text.lstrip("#").strip()[:80]
            if text:
                break
        notebook = self._notebook()
        return f"{notebook} [{self.ip.execution_count}]" if notebook else f"Cell [{self.ip.execution_count}]"

    def _notebook(self) -> str:
        import os

        ns = self.ip.user_ns
        for value in (ns.get("__session__"), os.environ.get("JPY_SESSION_NAME"), ns.get("__vsc_ipynb_file__")):
            if isinstance(value, str) and value.strip():
                return os.path.basename(value.strip())
        return ""

    def _traceback(self, error: BaseException) -> str:
        compiler = self.ip.compile

        def rename(filename: str) -> str:
            try:
                label = compiler.format_code_name(filename)
            except Exception:
                label = None
            return f"{label[0]} {label[1]}" if label else filename

        return format_traceback(error, rename=rename)

    def _report(self, ticket: Any, options: WatchOptions) -> None:
        """Wait at most ``WxNotify.wait`` for the receipt, then print one status line."""
        if ticket is not None:
            from . import delivery

            delivery.report(delivery.wait_for(ticket, self.settings.wait), options.quiet)

    # -- %wxsend ------------------------------------------------------------------------------------------

    @line_magic
    def wxsend(self, line: str) -> None:
        """Send a message now: ``%wxsend [-t TITLE] [--to DEST ...] text`` ({expr} and $var expand)."""
        title, to, rest = "", [], line
        while True:
            m = SEND_OPTION.match(rest)
            if not m:
                break
            value = _unquote(m.group(2))
            if m.group(1) == "--to":
                to.append(value)
            else:
                title = value
            rest = rest[m.end():]
        text = rest.strip()
        if not text:
            raise UsageError("%wxsend: nothing to send (usage: %wxsend [-t TITLE] [--to DEST] text)")
        if text.startswith("-") and text.split()[0] not in ("-", "--"):
            raise UsageError(f"%wxsend: unknown option {text.split()[0]} (options: -t TITLE, --to DEST)")
        destinations, fallbacks = self._destinations(to, "%wxsend")
        note = Notification(status="message", title=title or "wxnotify", text=text, started=time.time(),
                            host=_host(), notebook=self._notebook())
        ticket = _sender(self._quotas).submit(note, destinations, "final", fallbacks)
        self._report(ticket, WatchOptions())

    # -- %wxnotify (line): control ------------------------------------------------------------------------

    def _control(self, line: str) -> Any:
        from . import control

        return control.run(self, line)


def _sender(quotas: Any) -> Any:
    """The process-wide sender; delivery (SQLite, providers) is imported on first use, not at %load_ext."""
    from . import delivery

    return delivery.get_sender(quotas)


def _unquote(text: str) -> str:
    """IPython keeps the quotes of quoted magic arguments: ``-t 'my run'`` -> ``my run``."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _host() -> str:
    from .watch import host_name

    return host_name()
