"""``wxnotify inbox``: run the inbox in the foreground and print what arrives."""

from __future__ import annotations

import argparse
import io
import signal
import sys
import threading

from ..i18n import LANGUAGES, tr, tr_help
from .server import Inbox


class _Parser(argparse.ArgumentParser):
    """argparse with its help's own lines (headings, ``-h, --help``) in the language."""

    def format_help(self) -> str:
        return tr_help(super().format_help())

    def format_usage(self) -> str:
        return tr_help(super().format_usage())


def main(argv: list[str] | None = None) -> int:
    """Run the inbox in the foreground until Ctrl-C or SIGTERM."""
    parser = _Parser(prog="wxnotify inbox", description=tr("Local emulator of push services."))
    parser.add_argument("--host", default="127.0.0.1", help=tr("address to bind (default 127.0.0.1)"))
    parser.add_argument("--port", type=int, default=8787, help=tr("port (default 8787; 0 picks a free one)"))
    parser.add_argument("--quiet", action="store_true", help=tr("do not print received messages"))
    parser.add_argument("--lang", choices=LANGUAGES, default="auto",
                        help=tr("language of the page and of printed lines (default auto: from the locale)"))
    parser.add_argument("--store", metavar="FILE", default=None,
                        help=tr("keep the messages in FILE across runs (default: in memory only)"))
    args = parser.parse_args(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True, errors="replace")
    try:
        inbox = Inbox(args.host, args.port, quiet=args.quiet, lang=args.lang, store=args.store).start()
    except OSError as err:
        print(tr("wxnotify inbox: cannot listen on {host}:{port}: {error}", lang=args.lang, host=args.host,
                 port=args.port, error=err), file=sys.stderr)
        return 1
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler) if in_main else None
    try:
        print(tr("wxnotify inbox listening on {url}  (export WXNOTIFY_API_BASE={url})", lang=args.lang,
                 url=inbox.url), flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        # a second Ctrl-C, or make passing the signal on to its group, must not break the stop into a traceback
        interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None
        if in_main:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        inbox.stop()
        if interrupt is not None:
            signal.signal(signal.SIGINT, interrupt)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0
