"""wxnotify-magic: push a WeChat notification when a long Jupyter/IPython cell ends.

``%load_ext wxnotify_magic`` then put ``%%wxnotify`` on a cell. Loading stays light: requests and
ipywidgets are imported only when a message is sent or the panel is shown.
"""

from __future__ import annotations

import atexit
from typing import Any

__version__ = "0.1.0"

_loaded: dict[int, Any] = {}


def load_ipython_extension(ip: Any) -> None:
    """Register the magics, the cell transformer and the run-cell events on ``ip``."""
    from .magics import WxNotifyMagics
    from .settings import WxNotify

    if id(ip) in _loaded:
        return
    settings = WxNotify(parent=ip)
    magics = WxNotifyMagics(ip, settings)
    ip.register_magics(magics)
    ip.configurables.append(settings)
    ip.input_transformers_cleanup.append(magics.rewrite_cell)
    ip.events.register("pre_run_cell", magics.pre_run_cell)
    ip.events.register("post_run_cell", magics.post_run_cell)
    _loaded[id(ip)] = magics
    _resume_pending(magics)
    if settings.auto:
        _auto_from_settings(magics)


def unload_ipython_extension(ip: Any) -> None:
    """Remove everything ``load_ipython_extension`` added, and stop the sender thread."""
    from . import delivery

    magics = _loaded.pop(id(ip), None)
    if magics is None:
        return
    ip.events.unregister("pre_run_cell", magics.pre_run_cell)
    ip.events.unregister("post_run_cell", magics.post_run_cell)
    if magics.rewrite_cell in ip.input_transformers_cleanup:
        ip.input_transformers_cleanup.remove(magics.rewrite_cell)
    if magics.settings in ip.configurables:
        ip.configurables.remove(magics.settings)
    for kind in ("line", "cell"):
        table = ip.magics_manager.magics[kind]
        for name in ("wxnotify", "wxsend"):
            if getattr(table.get(name), "__self__", None) is magics:
                del table[name]
    ip.magics_manager.registry.pop(type(magics).__name__, None)
    if magics._watch is not None:
        magics._watch.stop_capture()
    magics.disable_auto()
    delivery.flush_and_stop(timeout=2.0)


def _auto_from_settings(magics: Any) -> None:
    """``WxNotify.auto = True``: switch auto mode on at load, or say in one line why it cannot be."""
    from IPython.core.error import UsageError

    try:
        print(magics.enable_auto(None, [], magics.settings.batch, None))
    except UsageError as exc:
        print(f"wxnotify: auto mode not started: {exc}")


def _resume_pending(magics: Any) -> None:
    """Retry what an earlier session left in the outbox, in the background."""
    from .settings import state_dir

    if (state_dir() / "outbox.sqlite3").exists():
        from . import delivery

        sender = delivery.get_sender(magics._quotas)
        if sender.outbox.next_due() is not None:
            sender.start()


def panel(settings: Any = None) -> None:
    """Show the settings panel (``%wxnotify config``); in a terminal, print the settings instead."""
    from .settings_panel import show

    show(settings)


@atexit.register
def _flush_at_exit() -> None:
    import sys

    for magics in list(_loaded.values()):
        if magics.auto is not None:  # a Run All digest still waiting for the run to go idle
            magics.auto.flush()
    delivery = sys.modules.get("wxnotify_magic.delivery")
    if delivery is not None:
        delivery.flush_and_stop(timeout=5.0)


def __getattr__(name: str) -> Any:
    """``send`` and ``notify`` are imported on first use, keeping ``%load_ext`` light."""
    if name in ("send", "notify"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'wxnotify_magic' has no attribute {name!r}")


__all__ = ["load_ipython_extension", "notify", "panel", "send", "unload_ipython_extension"]
