"""The IPython side of the cell contract: the cleanup transformer and the pre/post_run_cell events.

A ``%%wxnotify ARGS`` cell runs as a plain cell: the transformer turns its first line into the comment
``# %%wxnotify ARGS`` (same line count), ``pre_run_cell`` starts the watch and ``post_run_cell`` finishes it.
``Out[n]``, ``_``, names, top-level ``await``, tracebacks and Run All stopping on failure are therefore
exactly IPython's own. Auto mode uses the same two events. One record holds the cell being watched.
"""

from __future__ import annotations

import ast
import contextlib
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .auto import AutoMode
from .capture import HistoryTail, LastImage
from .cellinfo import default_title, notebook_name, traceback_text
from .i18n import tr
from .receipts import report, wait_for
from .redact import redact
from .session import Session
from .settings import Route
from .watch import Watch, WatchOptions

CELL_LINE = re.compile(r"^%%wxnotify(?:[ \t]+(?P<args>.*?))?[ \t]*$")
OURS = re.compile(r"wxnotify|wxsend|WxNotify")  # cells worth checking for a token written in them
ParseCell = Callable[[str], "tuple[WatchOptions, Route]"]


@dataclass
class WatchedCell:
    """The cell being watched: its run info (to match post_run_cell), its watch, and whether auto mode owns it."""

    info: Any
    watch: Watch
    auto: bool


def cell_args(first_line: str) -> str | None:
    """The ARGS of a ``%%wxnotify ARGS`` first line, or None when it is not one."""
    m = CELL_LINE.match(first_line.rstrip("\r\n"))
    return (m.group("args") or "") if m else None


class CellHooks:
    """Registered on the shell by ``load_ipython_extension``; ``parse`` checks a ``%%wxnotify`` line."""

    def __init__(self, shell: Any, session: Session, parse: ParseCell) -> None:
        self.shell = shell
        self.session = session
        self.parse = parse
        self.cell: WatchedCell | None = None
        self.auto: AutoMode | None = None
        self._checked: tuple[str, tuple[WatchOptions, Route]] | None = None  # the transformer's parse
        self._token_warned = False

    def register(self) -> None:
        self.shell.input_transformers_cleanup.append(self.rewrite_cell)
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)
        from . import watchdog  # issue 10: a restart or shutdown requested while a cell runs is the likely cause

        watchdog.watch_exit_requests(self.shell)

    def unregister(self) -> None:
        for event, handler in (("pre_run_cell", self.pre_run_cell), ("post_run_cell", self.post_run_cell)):
            with contextlib.suppress(ValueError):
                self.shell.events.unregister(event, handler)
        if self.rewrite_cell in self.shell.input_transformers_cleanup:
            self.shell.input_transformers_cleanup.remove(self.rewrite_cell)
        if self.cell is not None:
            self.cell.watch.stop_capture()
            self.cell = None
        self.disable_auto()
        from . import watchdog  # issue 10: nothing armed any more; the watchdog exits at end-of-file

        watchdog.unwatch_exit_requests(self.shell)
        watchdog.close()

    # -- the plain-cell path -----------------------------------------------------------------------------

    def rewrite_cell(self, lines: list[str]) -> list[str]:
        """Cleanup transformer: ``%%wxnotify ARGS`` -> ``# %%wxnotify ARGS`` when ARGS are valid."""
        if not lines or not lines[0].startswith("%%wxnotify"):
            return lines
        args = cell_args(lines[0])
        if args is None:
            return lines
        try:
            self._checked = (args, self.parse(args))  # pre_run_cell reuses it: parse once per cell
        except Exception:
            return lines  # the registered magic raises the UsageError and the body never runs
        return ["# " + lines[0], *lines[1:]]

    def pre_run_cell(self, info: Any) -> None:
        try:
            raw = (getattr(info, "raw_cell", "") or "").lstrip("\n")
            if self.cell is not None or getattr(info, "silent", False):
                return
            self._warn_literal_token(raw)
            if self.auto is not None:
                self.auto.cell_started()
            options, route, auto = self._options_for(raw)
            if options is None or route is None:
                return
            watch = self._new_watch(options, route, raw, plain_cell=True)
            self.cell = WatchedCell(info, watch, auto)
            watch.start()
        except Exception as exc:  # never break the user's cell
            self.cell = None
            _warn(tr("wxnotify: could not watch this cell ({problem})", problem=_problem(exc)))

    def _warn_literal_token(self, raw: str) -> None:
        """Say once that a token typed into a cell is saved with the notebook and in IPython's history."""
        if self._token_warned or not OURS.search(raw):
            return
        from .redact import carries_secret

        if carries_secret(raw):
            self._token_warned = True
            _warn(tr("wxnotify: warning: a token is written in this cell, so it is saved in the notebook and in "
                     "IPython's history. Keep it out: save it once with %wxnotify config (panel) or `wxnotify "
                     "config add NAME` in a terminal and use --to NAME, or export WXNOTIFY_TO."))

    def _options_for(self, raw: str) -> tuple[WatchOptions | None, Route | None, bool]:
        """The options of a ``%%wxnotify`` cell, or auto mode's for any other cell, or (None, None, False)."""
        if raw.startswith("%%wxnotify"):
            args = cell_args(raw.split("\n", 1)[0])
            if args is None:
                return None, None, False
            checked, self._checked = self._checked, None
            if checked is not None and checked[0] == args:
                return (*checked[1], False)
            try:
                return (*self.parse(args), False)
            except Exception:
                return None, None, False  # the registered magic reports it
        if self.auto is not None:
            return self.auto.options, self.auto.route, True
        return None, None, False

    def post_run_cell(self, result: Any) -> None:
        cell = self.cell
        if cell is None or getattr(result, "info", None) is not cell.info:
            return
        self.cell = None  # first: whatever happens below, the next cell is watched afresh
        watch = cell.watch
        try:
            count = getattr(result, "execution_count", None)
            watch.context["execution_count"] = count
            error = getattr(result, "error_before_exec", None) or getattr(result, "error_in_exec", None)
            tb = traceback_text(self.shell, error) if error is not None else None
            if cell.auto and self.auto is not None:
                self.auto.cell_finished(watch, error, getattr(result, "result", None), tb)
                return
            self.report(watch.finish(error, getattr(result, "result", None), tb), watch.options)
            if self.auto is not None:
                self.auto.rearm()
        except Exception as exc:
            watch.stop_capture()
            _warn(tr("wxnotify: notification not sent ({problem})", problem=_problem(exc)))

    # -- the direct path: run_cell_magic -------------------------------------------------------------------

    def run_body(self, options: WatchOptions, route: Route, cell: str) -> Any:
        """Run ``cell`` in the user namespace as ``%%time`` does, watched; return its last value."""
        __tracebackhide__ = True
        watch = self._new_watch(options, route, cell).start()
        try:
            value = self._execute(cell)
        except BaseException as error:
            watch.stop_capture()
            self.report(watch.finish(error, None, traceback_text(self.shell, error)), options)
            raise
        watch.stop_capture()
        self.report(watch.finish(None, value), options)
        return value

    def _execute(self, cell: str) -> Any:
        __tracebackhide__ = True
        shell = self.shell
        tree = shell.compile.ast_parse(shell.transform_cell(cell))
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        ns = shell.user_ns
        exec(shell.compile(tree, "<wxnotify cell>", "exec"), ns)
        if last is not None:
            return eval(shell.compile(ast.Expression(last.value), "<wxnotify cell>", "eval"), ns)
        return None

    # -- auto mode ------------------------------------------------------------------------------------------

    def enable_auto(self, options: WatchOptions, route: Route, batch: bool, settle: float) -> None:
        self.disable_auto()
        self.auto = AutoMode(options, route, batch, settle, self.session.submitter(route),
                             lambda ticket: self.report(ticket, options))

    def disable_auto(self) -> bool:
        auto, self.auto = self.auto, None
        if auto is not None:
            self.report(auto.stop(), auto.options)
        return auto is not None

    # -- shared ----------------------------------------------------------------------------------------------

    def _new_watch(self, options: WatchOptions, route: Route, raw_cell: str, plain_cell: bool = False) -> Watch:
        notebook = notebook_name(self.shell)
        # IPython 9 tees output into its history already: read that copy instead of teeing again
        tail = HistoryTail.of(self.shell, max(options.tail, 1)) if plain_cell else None
        # the tee files output under the cell's own number (ipykernel moves the shell's count on before the cell)
        count = tail.count if tail is not None else self.shell.execution_count
        context = {"title": default_title(raw_cell, count, notebook), "notebook": notebook,
                   "execution_count": count}
        images = LastImage(self.shell) if options.figure else None
        return self.session.watch(options, route, context, tail=tail, images=images)

    def report(self, ticket: Any, options: WatchOptions) -> None:
        """Wait at most ``WxNotify.wait`` for the receipt, then print one status line."""
        if ticket is not None:
            report(wait_for(ticket, self.session.settings.wait), options.quiet)


def _problem(exc: BaseException) -> str:
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:
        text = type(exc).__name__
    return redact(text, strict=True)[:200]


def _warn(text: str) -> None:
    print(text, file=sys.stderr)
