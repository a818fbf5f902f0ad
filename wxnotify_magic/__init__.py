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
WORDS = ("wxnotify", "wxsend", "WxNotify")  # a cell naming one of these builds the machinery before it runs


class Front:
    """What ``%load_ext`` registers: the settings, and light stand-ins for the two magics, the cell transformer
    and ``pre_run_cell``. The machinery (session, hooks, magics) is built by the first cell or call that needs
    it: a ``%%wxnotify`` cell, ``%wxnotify`` or ``%wxsend``, any cell naming wxnotify (the Python API, ``%config
    WxNotify``), or ``WxNotify.auto``. Until then no cell is watched and nothing is sent, so nothing is missed."""

    def __init__(self, shell: Any, settings: Any) -> None:
        self.shell = shell
        self.settings = settings
        self.built: tuple[Any, Any] | None = None  # (hooks, magics)
        self.transformer = with_side_effects(self.transform)
        settings.first_use = lambda: self.build()[1].session  # session.current() in this shell

    def register(self) -> None:
        shell = self.shell
        shell.configurables.append(self.settings)
        shell.register_magic_function(self.wxnotify, "line_cell", "wxnotify")
        shell.register_magic_function(self.wxsend, "line", "wxsend")
        shell.input_transformers_cleanup.append(self.transformer)
        shell.events.register("pre_run_cell", self.pre_run_cell)

    def build(self) -> tuple[Any, Any]:
        """The hooks and magics, built and registered in place of the stand-ins (once)."""
        if self.built is not None:
            return self.built
        from . import session
        from .hooks import CellHooks
        from .magics import WxNotifyMagics

        shell = self.shell
        sess = session.Session(self.settings)
        magics = WxNotifyMagics(shell, sess)
        hooks = CellHooks(shell, sess, magics.cell_options)
        magics.hooks = hooks
        self.built = hooks, magics
        shell.register_magics(magics)  # replaces the stand-in magics
        with contextlib.suppress(ValueError):
            shell.events.unregister("pre_run_cell", self.pre_run_cell)
        hooks.register()  # its run-cell events; the transformer stays ours, handing each cell to the hooks
        session.attach(shell, sess)
        return self.built

    def unregister(self) -> None:
        shell = self.shell
        with contextlib.suppress(ValueError):
            shell.events.unregister("pre_run_cell", self.pre_run_cell)
        if self.transformer in shell.input_transformers_cleanup:
            shell.input_transformers_cleanup.remove(self.transformer)
        magics: Any = self
        if self.built is not None:
            from . import session

            hooks, magics = self.built
            hooks.unregister()
            session.detach(shell)
            shell.magics_manager.registry.pop(type(magics).__name__, None)
        for kind in ("line", "cell"):
            table = shell.magics_manager.magics[kind]
            for name in ("wxnotify", "wxsend"):
                if getattr(table.get(name), "__self__", None) is magics:
                    del table[name]
        if self.settings in shell.configurables:
            shell.configurables.remove(self.settings)
        self.settings.first_use = None

    # -- the stand-ins ------------------------------------------------------------------------------------------

    def wxnotify(self, line: str, cell: str | None = None) -> Any:
        """Push a WeChat notification when this cell ends (``%wxnotify help`` lists the options and commands)."""
        __tracebackhide__ = True
        return self.build()[1].wxnotify(line, cell)

    def wxsend(self, line: str) -> Any:
        """Send a message now: ``%wxsend [-t TITLE] [--to DEST] text``."""
        __tracebackhide__ = True
        return self.build()[1].wxsend(line)

    def transform(self, lines: list[str]) -> list[str]:
        """The cleanup transformer, for good: the hooks rewrite a ``%%wxnotify`` cell (built by the first)."""
        if self.built is None and not (lines and lines[0].startswith("%%wxnotify")):
            return lines
        return self.build()[0].rewrite_cell(lines)

    def pre_run_cell(self, info: Any) -> None:
        raw = getattr(info, "raw_cell", "") or ""
        if self.built is None and any(word in raw for word in WORDS):
            self.build()[0].pre_run_cell(info)  # registered now, for the cells after this one


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
    resume = threading.Timer(AFTER_LOAD, _after_load)  # a moment later: %load_ext returns at once
    resume.name, resume.daemon = "wxnotify-resume", True
    resume.start()
    if front.settings.auto:
        _auto_from_settings(front.build()[1])


def unload_ipython_extension(ip: Any) -> None:
    """Remove everything ``load_ipython_extension`` added, and stop the sender thread."""
    front = _fronts.pop(id(ip), None)
    if front is None:
        return
    front.unregister()
    delivery = sys.modules.get("wxnotify_magic.delivery")
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


@atexit.register
def _flush_at_exit() -> None:
    import sys

    for front in list(_fronts.values()):
        hooks = front.built[0] if front.built is not None else None
        if hooks is not None and hooks.auto is not None:  # a Run All digest still waiting for the run to go idle
            hooks.auto.flush()
    delivery = sys.modules.get("wxnotify_magic.delivery")
    watchdog = sys.modules.get("wxnotify_magic.watchdog")
    # A kernel's manager kills it 2.5 s after asking it to shut down: with a watchdog to take over, send only what
    # is due now and leave the retries to it (it delivers them once this process has ended)
    # (a module still being imported by the loading thread has armed nothing yet)
    client = getattr(watchdog, "client", None)
    handed = client is not None and client().takes_over
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
