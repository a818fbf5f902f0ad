"""The IPython side of the cell contract: the cleanup transformer and the pre/post_run_cell events.

A ``%%wxnotify ARGS`` cell runs as a plain cell: the transformer turns its first line into the comment
``# %%wxnotify ARGS`` (same line count), ``pre_run_cell`` starts the watch and ``post_run_cell`` finishes it.
``Out[n]``, ``_``, names, top-level ``await``, tracebacks and Run All stopping on failure are therefore
exactly IPython's own. Auto mode uses the same two events. One record holds the cell being watched.

Stacked with another cell magic, the cell still runs as that magic alone would: ``%%wxnotify`` above it is
dropped so the other magic heads the cell; ``%%wxnotify`` below it is dropped from the body that magic runs,
and the running cell is watched from there. A watched cell that another cell runs (``%%capture`` above
``%%wxnotify`` runs its body as a cell of its own) ends inside the outer one: its receipt and warnings wait for
the outermost cell to end, so what the outer magic captures is the cell's own output only. Cells run without
run-cell events (``%run x.ipy``, ``ipython x.ipy``) keep their ``%%wxnotify`` line, so the magic itself runs
and watches the body.
Receipts go through ``ReceiptView``: in a kernel a cell never waits for delivery.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .auto import AutoMode
from .capture import HistoryTail, LastImage
from .cellinfo import cell_count, default_title, notebook_name, outcome, printed_error, traceback_text
from .i18n import N_, tr
from .receipt_view import ReceiptView
from .redact import redact
from .session import Session
from .settings import Route
from .watch import Watch, WatchOptions

CELL_LINE = re.compile(r"^%%wxnotify(?:[ \t]+(?P<args>.*?))?[ \t]*$")
OURS = ("wxnotify", "wxsend", "WxNotify")  # cells worth checking for a token written in them
HELP = re.compile(r"(?:^|\s)(?:-h|--help)(?:\s|$)")
HELP_CALL = "get_ipython().run_line_magic('wxnotify', 'help')\n"
TWICE = N_("%%wxnotify: this cell starts with two %%wxnotify lines; keep one (its options can be combined)")


def twice(lines: list[str]) -> bool:
    """A cell headed by two ``%%wxnotify`` lines: the registered magic refuses it before anything runs."""
    return len(lines) > 1 and lines[0].startswith("%%wxnotify") and lines[1].startswith("%%wxnotify")

ParseCell = Callable[[str], "tuple[WatchOptions, Route]"]


@dataclass
class WatchedCell:
    """The cell being watched: its run info (to match post_run_cell), its watch, and whether auto mode owns it."""

    info: Any
    watch: Watch
    auto: bool
    raw: str = ""
    earlier_error: Any = field(default=None, repr=False)  # sys.last_value when the watch began


def cell_args(first_line: str) -> str | None:
    """The ARGS of a ``%%wxnotify ARGS`` first line, or None when it is not one."""
    m = CELL_LINE.match(first_line.rstrip("\r\n"))
    return (m.group("args") or "") if m else None


def wants_help(args: str) -> bool:
    return bool(HELP.search(args))


def transforming_for() -> str:
    """Who is transforming a ``%%wxnotify`` cell: ``top`` (the shell, about to run it with run-cell events),
    ``magic`` (another cell magic, for its body, inside such a run), ``silent`` (a run without events:
    ``%run x.ipy``, ``ipython x.ipy``), or ``other``. Read from the calling frames.

    The one place that reads IPython's and ipykernel's private frames, and why it stays: a transformer is
    called before any event says which run it belongs to (``pre_run_cell`` comes after the transform, and a
    silent run sends none), and IPython offers no public way to ask. Completeness checks no longer get here:
    the transformer is registered ``has_side_effects`` (IPython's public flag), so they skip it. Names relied
    on: ``run_cell_magic``; ``_run_cell``/``run_cell``/``do_execute`` with a ``silent`` argument. If they
    change, the answer is ``other``: the cell is rewritten as at the top, and the registered magic still
    watches what the rewrite does not."""
    frame = sys._getframe(2)
    in_magic = False
    while frame is not None:
        code = frame.f_code
        if code.co_name == "run_cell_magic":
            in_magic = True
        elif code.co_name in ("_run_cell", "run_cell", "do_execute") and "silent" in code.co_varnames:
            if frame.f_locals.get("silent"):
                return "silent"
            return "magic" if in_magic else "top"
        frame = frame.f_back  # type: ignore[assignment]
    return "magic" if in_magic else "other"


class CellHooks:
    """What a cell's events do, called by the extension's ``Front``; ``parse`` checks a ``%%wxnotify`` line."""

    def __init__(self, shell: Any, session: Session, parse: ParseCell) -> None:
        self.shell = shell
        self.session = session
        self.parse = parse
        self.cell: WatchedCell | None = None
        self.auto: AutoMode | None = None
        self.receipts = ReceiptView(shell)
        if self.receipts.kernel:  # in a kernel sending waits for a quiet moment, so a Run All goes out merged
            session.pause_sending = self.receipts.quiet_until
        self._checked: tuple[str, tuple[WatchOptions, Route]] | None = None  # the transformer's parse
        self._token_warned = False
        self._token_checked = ""  # the last cell text checked for a token
        self._running: list[Any] = []  # run infos of the cells running now (with run-cell events), outermost first
        self._rewritten: tuple[list[str], Any, list[str]] | None = None  # this cell's rewrite, until it starts
        self._held: list[Callable[[], None]] = []  # what cells run inside another show when the outermost ends

    def adopt(self, running: list[Any]) -> None:
        """The cells already running when these hooks were built (the first use came from inside them): the
        cells run inside them are theirs, and show their receipts when the outermost ends."""
        self._running = list(running)
        if running:
            self.receipts.cell_started()

    def close(self) -> None:
        """The extension is unloaded: stop watching, show what was held, stop auto mode, let the watchdog go."""
        if self.cell is not None:
            self.cell.watch.stop_capture()
            self.cell = None
        self._show_held()
        self.disable_auto()
        self.receipts.close()
        if "wxnotify_magic.watchdog" in sys.modules:  # nothing armed any more; the watchdog exits at end-of-file
            from . import watchdog

            watchdog.close()

    # -- the plain-cell path -----------------------------------------------------------------------------

    def rewrite_cell(self, lines: list[str]) -> list[str]:
        """Cleanup transformer: ``%%wxnotify ARGS`` -> ``# %%wxnotify ARGS`` when ARGS are valid (see above)."""
        if not lines or not lines[0].startswith("%%wxnotify"):
            return lines
        args = cell_args(lines[0])
        if args is None or twice(lines):
            return lines
        caller = transforming_for()
        if caller == "silent":
            return lines  # no run-cell events will come: the registered magic runs and watches the body
        if caller == "top" and self._rewritten is not None and self._rewritten[0] == lines:
            self._checked = self._rewritten[1]  # ipykernel transforms a cell twice before it runs
            return list(self._rewritten[2])
        expanded = self.expand(args)
        if wants_help(expanded):
            return [HELP_CALL]  # the help, as %%wxnotify? shows it; the body does not run
        try:
            parsed = self.parse(expanded)
        except Exception:
            return lines  # the registered magic raises the UsageError and the body never runs
        if caller == "magic":
            if not self._watch_running_cell(parsed):
                return lines
        else:
            self._checked = (args, parsed)  # pre_run_cell reuses it: parse once per cell
        body = lines[1:]
        rewritten = body if body and body[0].startswith("%%") else ["# " + lines[0], *body]  # another cell
        if caller == "top":  # magic below heads the cell and runs as if alone
            self._rewritten = (list(lines), self._checked, list(rewritten))
        return rewritten

    def expand(self, args: str) -> str:
        """``{expr}`` and ``$var`` in the options, expanded in the user's namespace as IPython does for every
        magic's line (left as written when they cannot be)."""
        if "{" not in args and "$" not in args:
            return args
        try:
            from IPython.utils.text import DollarFormatter

            return str(DollarFormatter().vformat(args, args=[], kwargs=dict(self.shell.user_ns)))
        except Exception:
            return args

    def pre_run_cell(self, info: Any) -> None:
        self.receipts.open()  # here, on the thread that runs cells: a kernel keeps display hooks per thread
        self._rewritten = None
        self._end_unfinished()
        self._running.append(info)
        outermost = len(self._running) == 1
        if outermost:
            self.receipts.cell_started()
        try:
            if self.cell is not None:  # a watched cell is running: the cells it runs are part of it
                return
            raw = (getattr(info, "raw_cell", "") or "").lstrip("\n")
            self._warn_literal_token(raw, not outermost)
            if self.auto is not None and outermost:
                self.auto.cell_started()
            options, route, auto = self._options_for(raw, outermost)
            if options is None or route is None:
                return
            self._watch(info, raw, options, route, auto)
        except Exception as exc:  # never break the user's cell
            self.cell = None
            self._warn(tr("wxnotify: could not watch this cell ({problem})", problem=_problem(exc)), not outermost)

    def _end_unfinished(self) -> None:
        """Finish the cells that ended without ``post_run_cell`` (``await shell.run_cell_async(...)`` called
        directly, as some front ends and tools do): IPython files each cell's result as ``last_execution_result``
        when it ends, so a cell still on our list whose result that is has ended, with every cell it ran."""
        last = getattr(self.shell, "last_execution_result", None)
        info = getattr(last, "info", None)
        ended = next((i for i, running in enumerate(self._running) if running is info), None)
        if ended is None:
            return
        finished, self._running = self._running[ended:], self._running[:ended]
        cell = self.cell
        if cell is not None and any(cell.info is f for f in finished):
            self.cell = None
            self._finish(cell, last)
        if not self._running:
            self._show_held()
            self.receipts.cell_ended()

    def _ended(self, info: Any) -> Callable[[], bool]:
        """Whether the cell of ``info`` has ended (for the monitor, which stops sampling a cell that ended
        without ``post_run_cell``; its notification goes when the next cell starts)."""
        return lambda: getattr(getattr(self.shell, "last_execution_result", None), "info", None) is info

    def _warn_literal_token(self, raw: str, nested: bool) -> None:
        """Say once that a token typed into a cell is saved with the notebook and in IPython's history."""
        if self._token_warned or raw == self._token_checked or not any(word in raw for word in OURS):
            return
        self._token_checked = raw  # a Run All repeats the same cell text: its answer is the same
        from .redact import carries_secret

        if carries_secret(raw):
            self._token_warned = True
            self._warn(tr("wxnotify: warning: a token is written in this cell, so it is saved in the notebook and in "
                          "IPython's history. Keep it out: save it once with %wxnotify config (panel) or `wxnotify "
                          "config add NAME` in a terminal and use --to NAME, or export WXNOTIFY_TO."), nested)

    def _options_for(self, raw: str, outermost: bool) -> tuple[WatchOptions | None, Route | None, bool]:
        """The options of a ``%%wxnotify`` cell, or auto mode's for any other cell, or (None, None, False)."""
        if raw.startswith("%%wxnotify"):
            args = cell_args(raw.split("\n", 1)[0])
            if args is None or twice(raw.split("\n", 2)):
                return None, None, False
            checked, self._checked = self._checked, None
            if checked is not None and checked[0] == args:
                return (*checked[1], False)
            try:
                return (*self.parse(self.expand(args)), False)
            except Exception:
                return None, None, False  # the registered magic reports it
        if self.auto is not None and outermost:
            return self.auto.options, self.auto.route, True
        return None, None, False

    def _watch(self, info: Any, raw: str, options: WatchOptions, route: Route, auto: bool) -> None:
        # a cell run by another cell (%%capture runs its body so) has the number of the outermost one
        count = cell_count(self.shell, self._running[0] if self._running else info)
        watch = self._new_watch(options, route, raw, count, plain_cell=True)
        watch.ended = self._ended(info)
        self.cell = WatchedCell(info, watch, auto, raw, getattr(sys, "last_value", None))
        watch.start()

    def _watch_running_cell(self, parsed: tuple[WatchOptions, Route]) -> bool:
        """``%%wxnotify`` below another cell magic: watch the running cell it belongs to (once)."""
        if not self._running:
            return False
        if self.cell is not None and not self.cell.auto:
            return True  # watched already: one notification per cell
        if self.cell is not None:
            self.cell.watch.stop_capture()  # the cell's own options replace auto mode's
            self.cell = None
        info = self._running[-1]
        self._watch(info, (getattr(info, "raw_cell", "") or "").lstrip("\n"), *parsed, False)
        return True

    def post_run_cell(self, result: Any) -> None:
        info = self._running.pop() if self._running else None
        try:
            cell = self.cell
            if cell is not None and info is not None and cell.info is info:
                self.cell = None  # first: whatever happens below, the next cell is watched afresh
                self._finish(cell, result)
        finally:
            if not self._running:
                self._show_held()
                self.receipts.cell_ended()

    def _finish(self, cell: WatchedCell, result: Any) -> None:
        watch = cell.watch
        try:
            error, status, value = outcome(self.shell, result, cell.info, cell.earlier_error)
            own = getattr(result, "info", None) is cell.info and not self._running  # the outermost cell's result
            count = getattr(result, "execution_count", None) if own else None
            if count is not None:
                watch.context["execution_count"] = count
                notebook = watch.context.get("notebook", "")
                watch.title_of = lambda: default_title(cell.raw, count, notebook)  # built only to be sent
            tb = traceback_text(self.shell, error) if error is not None else None
            printed = printed_error(error)
            if cell.auto and self.auto is not None:
                self.auto.cell_finished(watch, error, value, tb, status, printed)
                return
            ticket = watch.finish(error, value, tb, status=status, printed_error=printed)
            self._outside(lambda: self.report(ticket, watch.options, count, status == "failed", cell=True,
                                      skipped=watch.skipped),
                          bool(self._running))
            if self.auto is not None:
                self.auto.rearm()
        except Exception as exc:
            watch.stop_capture()
            self._warn(tr("wxnotify: notification not sent ({problem})", problem=_problem(exc)), bool(self._running))

    # -- the direct path: run_cell_magic -------------------------------------------------------------------

    def run_body(self, options: WatchOptions, route: Route, cell: str) -> Any:
        """Run ``cell`` in the user namespace as ``%%time`` does, watched; return its last value."""
        __tracebackhide__ = True
        watch = self._new_watch(options, route, cell, self.shell.execution_count).start()
        try:
            value = self._execute(cell)
        except BaseException as error:
            watch.stop_capture()
            self.report(watch.finish(error, None, traceback_text(self.shell, error)), options, skipped=watch.skipped)
            raise
        watch.stop_capture()
        self.report(watch.finish(None, value), options, skipped=watch.skipped)
        return value

    def _execute(self, cell: str) -> Any:
        __tracebackhide__ = True
        shell = self.shell
        tree = shell.compile.ast_parse(shell.transform_cell(cell))
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        ns = shell.user_ns
        name = _cell_name(shell, cell)
        exec(shell.compile(tree, name, "exec"), ns)
        if last is not None:
            return eval(shell.compile(ast.Expression(last.value), name, "eval"), ns)
        return None

    # -- auto mode ------------------------------------------------------------------------------------------

    def enable_auto(self, options: WatchOptions, route: Route, batch: bool, settle: float) -> None:
        self.disable_auto()
        self.auto = AutoMode(options, route, batch, settle, self.session.submitter(route),
                             lambda ticket: self.report(ticket, options, cell=True))

    def disable_auto(self) -> bool:
        auto, self.auto = self.auto, None
        if auto is not None:
            self.report(auto.stop(), auto.options)
        return auto is not None

    # -- shared ----------------------------------------------------------------------------------------------

    def _new_watch(self, options: WatchOptions, route: Route, raw_cell: str, count: int | None,
                   plain_cell: bool = False) -> Watch:
        notebook = notebook_name(self.shell)
        # IPython 9 tees output into its history already: read that copy instead of teeing again
        tail = HistoryTail.of(self.shell, max(options.tail, 1)) if plain_cell else None
        context = {"notebook": notebook, "execution_count": count}
        images = LastImage(self.shell) if options.figure else None
        watch = self.session.watch(options, route, context, tail=tail, images=images)
        watch.title_of = lambda: default_title(raw_cell, count, notebook)  # built only when a message is
        return watch

    def _outside(self, show: Callable[[], None], nested: bool) -> None:
        """Show now, or when the outermost cell ends if this one runs inside another (``nested``): an outer
        ``%%capture`` (``io.capture_output``, an Output widget) then holds only the cell's own output."""
        if nested:
            self._held.append(show)
        else:
            show()

    def _warn(self, text: str, nested: bool) -> None:
        self._outside(lambda: _warn(text), nested)

    def _show_held(self) -> None:
        held, self._held = self._held, []
        for show in held:
            try:
                show()
            except Exception as exc:  # one receipt that cannot be shown does not hide the others
                _warn(tr("wxnotify: could not show the receipt ({problem})", problem=_problem(exc)))

    def report(self, ticket: Any, options: WatchOptions, count: int | None = None, failed: bool = False,
               cell: bool = False, skipped: str = "") -> None:
        """Show the receipt: updated in place in a kernel; in a terminal a cell's (``cell``) before the next
        prompt once it has settled, a command's after waiting at most ``WxNotify.wait``. A marked cell that sends
        nothing says why in one line (``skipped``), unless quiet."""
        if ticket is None and skipped and not options.quiet:
            print(skipped)
        if ticket is not None:
            self.receipts.show(ticket, options.quiet, self.session.settings.wait, count, failed, later=cell)


def _cell_name(shell: Any, cell: str) -> str:
    """The file name the body runs under: IPython's own for a cell (its tracebacks show ``Cell In[n]`` with the
    source), so a failing body looks as it would without ``%%wxnotify``."""
    try:
        return str(shell.compile.cache(cell, shell.execution_count))
    except Exception:
        return "<wxnotify cell>"


def _problem(exc: BaseException) -> str:
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:  # an exception whose __str__ raises
        text = type(exc).__name__
    return redact(text, strict=True)[:200]


def _warn(text: str) -> None:
    print(text, file=sys.stderr)
