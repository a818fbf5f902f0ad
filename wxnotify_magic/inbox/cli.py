"""``wxnotify inbox``: run the inbox in the foreground and print what arrives."""

from __future__ import annotations

import argparse
import io
import signal
import sys
import threading

from .server import Inbox


def main(argv: list[str] | None = None) -> int:
    """Run the inbox in the foreground until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(prog="wxnotify inbox", description="Local emulator of push services.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8787, help="port (default 8787; 0 picks a free one)")
    parser.add_argument("--quiet", action="store_true", help="do not print received messages")
    args = parser.parse_args(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True, errors="replace")
    try:
        inbox = Inbox(args.host, args.port, quiet=args.quiet).start()
    except OSError as err:
        print(f"wxnotify inbox: cannot listen on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 1
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler) if in_main else None
    try:
        print(f"wxnotify inbox listening on {inbox.url}  (export WXNOTIFY_API_BASE={inbox.url})", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        inbox.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0
