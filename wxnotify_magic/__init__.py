"""wxnotify-magic: push a WeChat notification when a long Jupyter/IPython cell ends.

``%load_ext wxnotify_magic`` then put ``%%wxnotify`` on a cell. Loading stays light (a few milliseconds): it
registers the settings and light stand-ins (``Front``); the session, the hooks and the magics are built by the
first use, and requests, ipywidgets and sqlite3 are imported only when a message is sent or the panel is shown.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import sys
import threading
from typing import Any

__version__ = "0.2.0"

AFTER_LOAD = 0.2  # seconds after loading that the outbox is resumed and the watchdog's records are read
RESUME_WAIT = 10.0  # seconds an unload waits for a resume under way
WORDS = ("wxnotify", "wxsend", "WxNotify")  # a cell naming one of these builds the machinery before it runs


class Front:
    """What ``%load_ext`` registers, for as long as the extension is loaded: the settings, the two magics (light
    stand-ins at first), the cell transformer, ``pre_run_cell``/``post_run_cell`` and the exit-request observer,
    each in the place the load gave it. The machinery (session, hooks, magics) is built by the first cell or call
    that needs it: a ``%%wxnotify`` cell, ``%wxnotify`` or ``%wxsend``, any cell naming wxnotify (the Python API,
    ``%config WxNotify``), ``session.current()``, or ``WxNotify.auto``; until then nothing is watched or sent."""

    def __init__(self, shell: Any, settings: Any) -> None:
        self.shell = shell
        self.settings = settings
        self.hooks: Any = None
        self.magics: Any = None
        self.running: list[Any] = []  # the cells running now, outermost first, until the hooks keep them
        self.transformer = with_side_effects(self.transform)
        self._building = threading.RLock()  # one build, whichever thread (the API in a thread pool) asks first
        self.resume = threading.Timer(AFTER_LOAD, _after_load)  # a moment later: %load_ext returns at once
        self.resume.name, self.resume.daemon = "wxnotify-resume", True
        self.unloaded = False
        settings.first_use = self.session  # session.current() in this shell

    def register(self) -> None:
        shell = self.shell
        shell.configurables.append(self.settings)
        shell.register_magic_function(self.wxnotify, "line_cell", "wxnotify")
        shell.register_magic_function(self.wxsend, "line", "wxsend")
        shell.input_transformers_cleanup.append(self.transformer)
        shell.events.register("pre_run_cell", self.pre_run_cell)
        shell.events.register("post_run_cell", self.post_run_cell)
        with contextlib.suppress(Exception):  # a restart or shutdown requested while a cell runs: the likely cause
            shell.observe(self.exit_requested, names="exit_now")

    def session(self) -> Any:
        """The session of this shell's extension, built now if need be; one of its own once it was unloaded (a
        thread's ``session.current()`` racing ``%unload_ext``)."""
        with self._building:
            if self.unloaded:
                from .session import Session

                return Session(self.settings)
            return self.build().session

    def build(self) -> Any:
        """The magics (with ``.hooks`` and ``.session``), built once and registered in place of the stand-ins."""
        if self.magics is not None:
            return self.magics
        with self._building:
            if self.magics is None:
                assert not self.unloaded, "an unloaded extension is never built"
                from . import session
                from .hooks import CellHooks
                from .magics import WxNotifyMagics

                sess = session.Session(self.settings)
                magics = WxNotifyMagics(self.shell, sess)
                hooks = magics.hooks = CellHooks(self.shell, sess, magics.cell_options)
                hooks.adopt(_still_running(self.running, self.shell))
                self.shell.register_magics(magics)  # in place of the stand-ins
                session.attach(self.shell, sess)
                self.hooks, self.magics = hooks, magics
        return self.magics

    def unregister(self) -> None:
        """Remove everything, once a build under way (another thread's first use) and the outbox resume are done;
        unloaded before the resume, the outbox is left to the next load."""
        self.resume.cancel()
        if self.resume.is_alive() and self.resume is not threading.current_thread():
            self.resume.join(RESUME_WAIT)  # a resume under way starts the sender: unloading then stops it
        with self._building:
            self.unloaded = True
            self._unregister()

    def _unregister(self) -> None:
        shell = self.shell
        for event, handler in (("pre_run_cell", self.pre_run_cell), ("post_run_cell", self.post_run_cell)):
            with contextlib.suppress(ValueError):
                shell.events.unregister(event, handler)
        if self.transformer in shell.input_transformers_cleanup:
            shell.input_transformers_cleanup.remove(self.transformer)
        with contextlib.suppress(Exception):
            shell.unobserve(self.exit_requested, names="exit_now")
        user_magics = shell.magics_manager.user_magics  # the stand-ins are kept as its attributes too
        for name in ("wxnotify", "wxsend"):
            if getattr(getattr(user_magics, name, None), "__self__", None) is self:
                delattr(user_magics, name)
        magics: Any = self
        if self.magics is not None:
            from . import session

            magics = self.magics
            self.hooks.close()
            session.detach(shell)
            shell.magics_manager.registry.pop(type(magics).__name__, None)
        for kind in ("line", "cell"):
            table = shell.magics_manager.magics[kind]
            for name in ("wxnotify", "wxsend"):
                if getattr(table.get(name), "__self__", None) is magics:
                    del table[name]
        for owned in (self.settings, magics):  # IPython lists every Magics instance among the configurables too
            if owned in shell.configurables:
                shell.configurables.remove(owned)
        self.settings.first_use = None

    # -- what IPython calls ---------------------------------------------------------------------------------

    def wxnotify(self, line: str, cell: str | None = None) -> Any:
        """Push a WeChat notification when this cell ends (``%wxnotify help`` lists the options and commands)."""
        __tracebackhide__ = True
        return self.build().wxnotify(line, cell)

    def wxsend(self, line: str) -> Any:
        """Send a message now: ``%wxsend [-t TITLE] [--to DEST] text``."""
        __tracebackhide__ = True
        return self.build().wxsend(line)

    def transform(self, lines: list[str]) -> list[str]:
        """The cleanup transformer: the hooks rewrite a ``%%wxnotify`` cell (the first one builds them)."""
        if self.hooks is None and not (lines and lines[0].startswith("%%wxnotify")):
            return lines
        return self.build().hooks.rewrite_cell(lines)

    def pre_run_cell(self, info: Any) -> None:
        if self.hooks is None:
            if not any(word in (getattr(info, "raw_cell", "") or "") for word in WORDS):
                self.running = [*_still_running(self.running, self.shell), info]
                return
            self.build()
        self.hooks.pre_run_cell(info)

    def post_run_cell(self, result: Any) -> None:
        if self.hooks is not None:
            self.hooks.post_run_cell(result)
        elif self.running:
            self.running.pop()

    def exit_requested(self, change: Any) -> None:
        """Tell the watchdog, which a watched job loaded (a job that ran none has nothing armed)."""
        if change.get("new") and "wxnotify_magic.watchdog" in sys.modules:
            from . import watchdog

            watchdog.exit_requested(self.shell)


def _still_running(running: list[Any], shell: Any) -> list[Any]:
    """``running`` without the cells that ended without ``post_run_cell`` (``await shell.run_cell_async(...)``
    called directly): IPython files a cell's result as ``last_execution_result``, so that cell and every cell
    after it on the list have ended."""
    last = getattr(getattr(shell, "last_execution_result", None), "info", None)
    return next((running[:i] for i, info in enumerate(running) if info is last), running)


def with_side_effects(transform: Any) -> Any:
    """The cell transformer as IPython registers it, marked ``has_side_effects``: IPython's completeness check
    (a terminal's Enter, a kernel's ``is_complete_request``) then leaves it out and sees ``%%wxnotify`` as the
    cell magic it is, so a terminal waits for the body and the blank line that ends it."""
    @functools.wraps(transform)
    def transformer(lines: list[str]) -> list[str]:
        return transform(lines)

    transformer.has_side_effects = True  # type: ignore[attr-defined]
    return transformer


def _help(name: str) -> str:
    from .magics import WxNotifyMagics, full_help, render_help

    return full_help() if name == "wxnotify" else render_help(WxNotifyMagics.wxsend)


# What ``%%wxnotify?`` and ``%wxsend?`` show before the first use: IPython asks an object's getdoc() first
Front.wxnotify.getdoc = lambda: _help("wxnotify")  # type: ignore[attr-defined]
Front.wxsend.getdoc = lambda: _help("wxsend")  # type: ignore[attr-defined]


_fronts: dict[int, Front] = {}


def load_ipython_extension(ip: Any) -> None:
    """Register the settings, the magics, the cell transformer and the run-cell events on ``ip``."""
    from .settings import WxNotify

    if id(ip) in _fronts:
        return
    front = _fronts[id(ip)] = Front(ip, WxNotify(parent=ip))
    front.register()
    front.resume.start()
    if front.settings.auto:
        _auto_from_settings(front.build())


def unload_ipython_extension(ip: Any) -> None:
    """Remove everything ``load_ipython_extension`` added, and stop the sender thread."""
    front = _fronts.pop(id(ip), None)
    if front is None:
        return
    front.unregister()
    delivery = _imported("delivery")
    if delivery is not None:
        delivery.flush_and_stop(timeout=2.0)


def _auto_from_settings(magics: Any) -> None:
    """``WxNotify.auto = True``: switch auto mode on at load, or say in one line why it cannot be."""
    from IPython.core.error import UsageError

    from .i18n import tr

    try:
        print(magics.enable_auto(None, [], magics.session.settings.batch, None))
    except UsageError as exc:
        print(tr("wxnotify: auto mode not started: {problem}", problem=exc))


def _after_load() -> None:
    """In a thread, so that loading stays light: retry what an earlier session left in the outbox, and report
    the jobs whose watchdog died with its kernel."""
    from . import watchdog

    _resume_pending()
    watchdog.recover_left_jobs()


def _resume_pending() -> None:
    """Retry what an earlier session left in the outbox, in the background."""
    from .paths import state_dir

    if (state_dir() / "outbox.sqlite3").exists():
        from . import delivery

        try:
            sender = delivery.get_sender()
            if sender.outbox.next_due() is not None:
                sender.start()
        except Exception as exc:  # a broken outbox must not stop the extension from loading
            import sys

            from .i18n import tr

            print(tr("wxnotify: pending messages not resumed ({kind})", kind=type(exc).__name__), file=sys.stderr)


def panel(settings: Any = None) -> None:
    """Show the settings panel (``%wxnotify config``); in a terminal, print the settings instead."""
    from .session import Session, current
    from .settings_panel import show

    show(current() if settings is None else Session(settings))


def _imported(name: str) -> Any:
    """This package's module ``name`` if something imported it, once its import is complete (the resume thread
    may be importing it right now), else None."""
    if f"{__name__}.{name}" not in sys.modules:
        return None
    import importlib

    return importlib.import_module(f"{__name__}.{name}")  # waits for an import under way in another thread


@atexit.register
def _flush_at_exit() -> None:
    for front in list(_fronts.values()):
        hooks = front.hooks
        if hooks is not None and hooks.auto is not None:  # a Run All digest still waiting for the run to go idle
            hooks.auto.flush()
    delivery = _imported("delivery")
    watchdog = _imported("watchdog")
    # A kernel's manager kills it 2.5 s after asking it to shut down: with a watchdog to take over, send only what
    # is due now and leave the retries to it (it delivers them once this process has ended)
    handed = watchdog is not None and watchdog.client().takes_over
    if delivery is not None and (pending := delivery.flush_and_stop(timeout=1.0 if handed else 5.0, own=True)):
        from .i18n import tr

        if handed:
            print(tr("wxnotify: {n} message(s) still queued; the watchdog delivers them once the kernel has ended",
                     n=pending), file=sys.stderr, flush=True)
        else:
            print(tr("wxnotify: {n} message(s) still queued in the outbox; they go out the next time wxnotify runs "
                     "(or with wxnotify retry)", n=pending), file=sys.stderr, flush=True)


def __getattr__(name: str) -> Any:
    """``send`` and ``notify`` are imported on first use, keeping ``%load_ext`` light."""
    if name in ("send", "notify"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'wxnotify_magic' has no attribute {name!r}")


__all__ = ["load_ipython_extension", "notify", "panel", "send", "unload_ipython_extension"]
