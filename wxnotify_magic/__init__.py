"""wxnotify-magic: push a WeChat notification when a long Jupyter/IPython cell ends.

``%load_ext wxnotify_magic`` then put ``%%wxnotify`` on a cell. Loading stays light: requests, ipywidgets and
sqlite3 are imported only when a message is sent or the panel is shown.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

__version__ = "0.2.0"

_hooks: dict[int, Any] = {}


def load_ipython_extension(ip: Any) -> None:
    """Register the magics, the cell transformer and the run-cell events on ``ip``."""
    from . import session
    from .hooks import CellHooks
    from .magics import WxNotifyMagics
    from .settings import WxNotify

    if id(ip) in _hooks:
        return
    settings = WxNotify(parent=ip)
    sess = session.Session(settings)
    magics = WxNotifyMagics(ip, sess)
    hooks = CellHooks(ip, sess, magics.cell_options)
    magics.hooks = hooks
    ip.register_magics(magics)
    ip.configurables.append(settings)
    hooks.register()
    session.attach(ip, sess)
    _hooks[id(ip)] = (hooks, magics)
    threading.Thread(target=_after_load, name="wxnotify-resume", daemon=True).start()
    if settings.auto:
        _auto_from_settings(magics)


def unload_ipython_extension(ip: Any) -> None:
    """Remove everything ``load_ipython_extension`` added, and stop the sender thread."""
    from . import delivery, session

    entry = _hooks.pop(id(ip), None)
    if entry is None:
        return
    hooks, magics = entry
    hooks.unregister()
    session.detach(ip)
    if magics.session.settings in ip.configurables:
        ip.configurables.remove(magics.session.settings)
    for kind in ("line", "cell"):
        table = ip.magics_manager.magics[kind]
        for name in ("wxnotify", "wxsend"):
            if getattr(table.get(name), "__self__", None) is magics:
                del table[name]
    ip.magics_manager.registry.pop(type(magics).__name__, None)
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

    for hooks, _ in list(_hooks.values()):
        if hooks.auto is not None:  # a Run All digest still waiting for the run to go idle
            hooks.auto.flush()
    delivery = sys.modules.get("wxnotify_magic.delivery")
    watchdog = sys.modules.get("wxnotify_magic.watchdog")
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
