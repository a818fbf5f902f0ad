"""The ``wxnotify`` command: send, test, status, retry, inbox, and ``run -- CMD ...``.

Exit codes of send and test, for scripts: 0 only when the message was delivered (or, with ``--no-wait``, queued);
1 when it failed, or was not delivered within the wait (it stays queued in the outbox); 2 for a usage error or a
bad / missing destination. ``run`` returns the command's own exit code: 128+N when it died from signal N
(130 after Ctrl-C), 127 when the executable is missing and 126 when it cannot be executed.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from . import __version__, delivery, resources
from .durations import parse_duration
from .i18n import tr, tr_help, tr_usage
from .providers import DestinationError
from .ranks import secondary_rank, with_rank
from .receipts import Ticket, report, skipped, summarize
from .redact import redact, redact_url, shorten
from .session import OptionError, current
from .settings import NoDestinationError
from .watch import Watch

FLUSH_TIMEOUT = 5.0
NAME = re.compile(r"[\w.-]{1,24}")


class Usage(Exception):
    """A usage problem found after parsing: one line on stderr, exit 2."""


class Parser(argparse.ArgumentParser):
    """argparse, with its complaints (which quote what was typed) redacted and capped to one line."""

    def error(self, message: str) -> Any:
        sys.stderr.write(tr_help(self.format_usage()))
        problem = tr_usage(shorten(message, 200, strict=True))  # redacted first, then in the user's language
        self.exit(2, tr("{prog}: error: {problem}", prog=self.prog, problem=problem) + "\n")

    def format_help(self) -> str:
        return tr_help(super().format_help())


def duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def wait_seconds(text: str) -> float:
    """``--wait S``: checked as the API's and the settings' wait are (a number from 0 to MAX_WAIT seconds)."""
    from .settings import MAX_WAIT, seconds_problem

    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    problem = seconds_problem(value, "--wait", MAX_WAIT)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


def parser() -> argparse.ArgumentParser:
    top = Parser(prog="wxnotify", description=tr("Push WeChat notifications (WxPusher, PushPlus, "
                                                    "ServerChan, WeCom bots) from the command line."))
    top.add_argument("--version", action="version", version=f"wxnotify {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def dest_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--to", action="append", default=[], metavar="DEST",
                       help=tr("destination URL or saved name (repeatable; default: WxNotify.to / $WXNOTIFY_TO)"))
        p.add_argument("--wait", type=wait_seconds, default=None, metavar="S",
                       help=tr("seconds to wait for delivery (default: WxNotify.wait, at least {seconds:g})",
                               seconds=FLUSH_TIMEOUT))
        if p.prog.endswith((" send", " test")):
            p.add_argument("--no-wait", action="store_true",
                           help=tr("exit 0 once the message is queued (it is still sent before exit, bounded)"))

    send = sub.add_parser("send", help=tr("send a message now"),
                          description=tr("Send TEXT now (or -b BODY; with neither, the body is read from stdin)."))
    send.add_argument("text", metavar="TEXT", nargs="?", default=None,
                      help=tr("the message ('-' or nothing reads it from stdin)"))
    send.add_argument("-b", "--body", default=None, help=tr("the message (the same as TEXT)"))
    send.add_argument("-t", "--title", default=None, help=tr("title of the message"))
    dest_options(send)
    send.add_argument("--all-ranks", action="store_true", help=tr("send even when this process is not rank 0"))

    test = sub.add_parser("test", help=tr("send a test message"), description=tr("Send a test message."))
    dest_options(test)
    sub.add_parser("status", help=tr("destinations, today's counts, pending and failed messages"),
                   description=tr("Show destinations (redacted), today's counts and the outbox."))
    retry = sub.add_parser("retry", help=tr("send failed and pending messages again"),
                           description=tr("Queue failed messages again and send what is pending."))
    retry.add_argument("--wait", type=wait_seconds, default=FLUSH_TIMEOUT, metavar="S",
                       help=tr("seconds to wait for them (default {seconds:g})", seconds=FLUSH_TIMEOUT))
    config = sub.add_parser("config", help=tr("add, list or remove saved destinations (tokens stay out of notebooks)"),
                            description=tr("Save destinations in the settings file; `add` asks for the URL without "
                                           "echoing it, so the token stays out of notebooks and shell history."))
    config.add_argument("action", choices=["add", "list", "remove"])
    config.add_argument("name", nargs="?", default="", metavar="NAME", help=tr("the destination's name (--to NAME)"))
    config.add_argument("--no-default", action="store_true", help=tr("add it without making it the default"))
    sub.add_parser("inbox", add_help=False, help=tr("run the local emulator of the push services "
                                                        "(wxnotify inbox --help)"))

    run = sub.add_parser("run", help=tr("run a command and notify when it ends"),
                         usage="wxnotify run [options] -- CMD [ARGS ...]",
                         description=tr("Run CMD with its output streamed through unchanged, then send its status, "
                                        "duration and the tail of its output. Returns CMD's exit code."))
    run.add_argument("-t", "--title", default=None, help=tr("title (default: the command line)"))
    run.add_argument("--after", type=duration, default=None, metavar="D",
                     help=tr("notify a success only if it ran at least this long (90, 5m, 1h30m)"))
    run.add_argument("--on", choices=["always", "success", "failure"], default=None, help=tr("when to notify"))
    run.add_argument("--tail", type=int, default=None, metavar="N", help=tr("lines of output to include"))
    run.add_argument("--every", type=duration, default=None, metavar="D", help=tr("also send progress pings"))
    run.add_argument("--stall", type=duration, default=None, metavar="D",
                     help=tr("send one message when the command prints nothing for this long"))
    run.add_argument("--no-output", action="store_true", help=tr("leave the output out of the message"))
    run.add_argument("--quiet", action="store_true", help=tr("print no delivery status line unless it failed"))
    run.add_argument("--all-ranks", action="store_true", help=tr("send success from every rank, not rank 0 only"))
    run.add_argument("--start", action="store_true", help=tr("also send a message when the command starts"))
    dest_options(run)
    run.add_argument("cmd", nargs=argparse.REMAINDER, metavar="CMD", help=tr("the command and its arguments"))
    return top


def main(argv: list[str] | None = None) -> int:
    """Run the ``wxnotify`` command line; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    _language_from_settings()
    if argv[:1] == ["inbox"]:
        from .inbox import main as inbox_main

        return inbox_main(argv[1:])
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (DestinationError, NoDestinationError, Usage) as exc:
        print(f"wxnotify {args.command}: {shorten(str(exc), 300, strict=True)}", file=sys.stderr)
        return 2
    except OSError as exc:  # the settings file or its folder cannot be written (read-only, full, a file)
        print(tr("wxnotify {command}: cannot write {path}: {why}", command=args.command,
                 path=exc.filename or "", why=exc.strerror or type(exc).__name__), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"wxnotify {args.command}: {tr('interrupted')}", file=sys.stderr)
        return 130


def _language_from_settings() -> None:
    """Speak the language saved in the settings file (the panel's choice) from the first line on."""
    from .i18n import LANGUAGES, set_language
    from .settings import SettingsFile

    lang = SettingsFile().read().get("lang")
    if lang in LANGUAGES:
        set_language(lang)


# ---------------------------------------------------------------------------------------------- commands


def finish(ticket: Ticket, args: argparse.Namespace) -> int:
    """Wait for delivery, flush (bounded) and print the status line: 0 delivered (or queued with --no-wait),
    1 failed or not delivered within the wait (it stays queued)."""
    session = current()
    if getattr(args, "no_wait", False):
        print(tr("wxnotify: queued in the outbox; sending it before exit (not waiting for the answer)"))
        finish_delivery()
        return 0
    wait = args.wait if args.wait is not None else max(session.settings.wait, FLUSH_TIMEOUT)
    session.wait(ticket, wait)
    pending = delivery.flush_and_stop(FLUSH_TIMEOUT)  # what is due gets a bounded chance before exit
    result = summarize(ticket.current(), time.monotonic() - ticket.started)
    if result.status != "pending":
        report(result)
        pending_note(pending)
        return 0 if result.status == "delivered" else 1
    why = "; ".join(dict.fromkeys(r.reason for r in result.results if r.reason))
    print(tr("wxnotify: not delivered within the wait{why}; it stays queued in the outbox ({command} sends it)",
             why=f" ({why})" if why else "", command=retry_command()), file=sys.stderr)
    return 1


def retry_command() -> str:
    """How to retry from where this runs: ``wxnotify retry``, or ``python -m wxnotify_magic retry``."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "wxnotify retry" if name == "wxnotify" else "python -m wxnotify_magic retry"


def finish_delivery(timeout: float = FLUSH_TIMEOUT) -> None:
    """Give what is due a bounded chance to go out, then stop the sender; the outbox keeps the rest."""
    pending_note(delivery.flush_and_stop(timeout))


def pending_note(pending: int) -> None:
    if pending:
        print(tr("wxnotify: {n} message(s) still pending, kept in the outbox ({command} sends them)",
                 n=pending, command=retry_command()), file=sys.stderr)


def body_of(args: argparse.Namespace) -> str:
    """TEXT, or -b BODY, or stdin when neither is given (and stdin is not a terminal), as apprise does."""
    if args.text is not None and args.body is not None:
        raise Usage(tr("give the message once: TEXT or -b BODY"))
    text = args.body if args.body is not None else args.text
    if text is None or text == "-":
        if text is None and sys.stdin is not None and sys.stdin.isatty():
            raise Usage(tr("nothing to send: give TEXT, -b BODY, or pipe the message in"))
        text = sys.stdin.read() if sys.stdin is not None else ""
    if not text.strip():
        raise Usage(tr("nothing to send: give TEXT, -b BODY, or pipe the message in"))
    return text


def cmd_send(args: argparse.Namespace) -> int:
    text = body_of(args)
    session = current()
    route = session.route(args.to)
    rank = secondary_rank()
    if rank is not None and not args.all_ranks:
        print(skipped(tr("wxnotify: not sent from rank {rank} (--all-ranks sends anyway)", rank=rank)).line)
        return 0
    return finish(session.submit(session.message(text, with_rank(args.title or "wxnotify", rank)), route), args)


def cmd_test(args: argparse.Namespace) -> int:
    return finish(current().send_test(args.to), args)


def cmd_status(args: argparse.Namespace) -> int:
    print("\n".join(current().status_lines(retry_hint=retry_command())))
    delivery.reset_sender()
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    from .outbox import OutboxBusy

    try:
        count, pending, failed = current().retry(args.wait)
    except OutboxBusy:
        print(tr("wxnotify: the outbox is locked by another process; nothing queued again (try again later)"),
              file=sys.stderr)
        return 1
    finally:
        delivery.reset_sender()
    print(tr("wxnotify: {count} failed message(s) queued again; {pending} pending, {failed} failed now",
             count=count, pending=pending, failed=failed), file=sys.stderr if failed else sys.stdout)
    return 1 if failed else 0


def cmd_config(args: argparse.Namespace) -> int:
    """``config add NAME`` (asks for the URL without echo), ``config list``, ``config remove NAME``."""
    session = current()
    if args.action == "list":
        print("\n".join(session.settings_lines()))
        return 0
    if not args.name:
        raise Usage(tr("config {action} needs a NAME", action=args.action))
    if not NAME.fullmatch(args.name):
        raise Usage(tr("NAME is a short name of letters, digits, _ . or - (the URL is asked for next, hidden)"))
    if args.action == "remove":
        if not session.file.remove_destination(args.name):
            raise Usage(tr("no destination named {name} is saved in {path}", name=args.name, path=session.file.path))
        print(tr("wxnotify: removed {name} from {path}", name=args.name, path=session.file.path))
        return 0
    try:
        if sys.stdin.isatty():
            import getpass

            url = getpass.getpass(tr("destination URL for {name} (input hidden): ", name=args.name)).strip()
        else:  # piped in (echo URL | wxnotify config add NAME): nothing is shown, so nothing to hide
            url = sys.stdin.readline().strip()
    except EOFError:
        url = ""
    if not url:
        raise Usage(tr("no URL given"))
    path = session.file.save_destination(args.name, url, default=not args.no_default)
    print(tr("wxnotify: saved {name} = {url} in {path}", name=args.name, url=redact_url(url), path=path))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        raise Usage(tr("no command given (usage: wxnotify run [options] -- CMD [ARGS ...])"))
    session = current()
    try:
        options = session.options(title=args.title, after=args.after, on=args.on, to=args.to, tail=args.tail,
                                  every=args.every, no_output=args.no_output, quiet=args.quiet or None,
                                  start=args.start, stall=args.stall)
    except OptionError as exc:
        raise Usage(str(exc)) from None
    title = args.title or cut(" ".join(shlex.join(cmd).split()), 80)
    watch = session.job(options, title, all_ranks=args.all_ranks, capture=False)  # we feed its tail ourselves
    wait = session.settings.wait if args.wait is None else args.wait

    def done(error: BaseException | None, tb: str | None) -> None:
        try:
            ticket = watch.finish(error, None, tb)
            if ticket is not None:
                report(session.wait(ticket, wait), options.quiet, sys.stderr)  # our stdout is the command's
        except Exception as exc:
            print(tr("wxnotify: notification not sent ({problem})", problem=redact(str(exc), strict=True)),
                  file=sys.stderr)
        finish_delivery()

    return Runner(cmd, watch).run(done)


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Runner:
    """Runs one command: streams its output through into the watch's tail, forwards signals.

    When wxnotify's stdout and stderr are the same file, the command gets one pipe for both (their order kept).
    """

    def __init__(self, cmd: list[str], watch: Watch) -> None:
        self.cmd = cmd
        self.watch = watch
        self.lock = threading.Lock()
        self.interrupted = False
        self.reader_gone = False  # our output's reader closed the pipe (``| head``)
        self.open_line: int | None = None  # the stream whose last line in the tail is unfinished
        self.proc: subprocess.Popen[bytes] | None = None
        self.baseline: dict[str, Any] = {}

    def run(self, done: Callable[[BaseException | None, str | None], None]) -> int:
        """Run the command to its end, call ``done(error, traceback_text)`` and return the exit code."""
        open_std_fds()  # a closed stdout or stderr becomes /dev/null (what cannot be shown is dropped)
        self.watch.start()
        self.baseline = resources.oom_baseline()  # to tell an out-of-memory kill afterwards
        env = {**os.environ, "PYTHONUNBUFFERED": os.environ.get("PYTHONUNBUFFERED", "1")}
        merged = same_file(1, 2)
        with self.forwarding():  # before Popen: an early Ctrl-C must not kill us and leave the command running
            try:
                self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, env=env,
                                             stderr=subprocess.STDOUT if merged else subprocess.PIPE,
                                             preexec_fn=ended_with_us())
            except OSError as exc:
                code = 127 if isinstance(exc, FileNotFoundError) else 126
                why = tr("command not found") if code == 127 else tr("cannot run command ({problem})",
                                                                      problem=exc.strerror or exc)
            else:
                if self.watch.monitor is not None:  # the command's memory, not ours
                    self.watch.monitor.follow(self.proc.pid)
                if self.interrupted:  # Ctrl-C came before the command existed
                    self.proc.send_signal(signal.SIGINT)
                readers = [self.pump(self.proc.stdout, 1)]
                if not merged:
                    readers.append(self.pump(self.proc.stderr, 2))
                returncode = self.reap(self.proc)
        if self.proc is None:
            print(f"wxnotify run: {why}: {shorten(self.cmd[0], 80, strict=True)}", file=sys.stderr, flush=True)
            done(RuntimeError(why), f"{why}: {self.cmd[0]}")
            return code
        for reader in readers:
            reader.join(timeout=2.0)  # a grandchild may keep the pipe open: do not wait for it forever
        done(*self.outcome(returncode))
        return 128 - returncode if returncode < 0 else returncode

    def reap(self, proc: subprocess.Popen[bytes]) -> int:
        """Wait for the command; its own resource usage (not that of other children) to the monitor."""
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except (ChildProcessError, AttributeError):  # reaped elsewhere, or no wait4 here
            return proc.wait()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if self.watch.monitor is not None:
            self.watch.monitor.child_ended(usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024)
        return proc.returncode

    def outcome(self, returncode: int) -> tuple[BaseException | None, str | None]:
        if self.interrupted or returncode == -signal.SIGINT:
            return KeyboardInterrupt(), None
        if returncode == 0 or self.ended_by_its_reader(returncode):
            return None, None
        why = tr("{command} exited with code {code}", command=self.cmd[0], code=returncode)
        if returncode < 0:  # name the signal, and out of memory when the evidence says so
            peak = self.watch.monitor.peak_memory if self.watch.monitor is not None else None
            usage = {"rss_peak": peak, "as_limit": resources.address_space_limit()}
            cause = resources.death_cause(resources.evidence(self.baseline, returncode, usage)).text
            why = tr("{command} {cause}", command=self.cmd[0], cause=cause)
            print(f"wxnotify run: {why}", file=sys.stderr, flush=True)
        return subprocess.CalledProcessError(returncode, self.cmd), why

    def ended_by_its_reader(self, returncode: int) -> bool:
        """The command died of SIGPIPE (or a shell in between exited 128+SIGPIPE) after the reader of its output
        closed the pipe, as ``yes | head -1`` ends: the reader had what it wanted, so this is no failure."""
        sigpipe = getattr(signal, "SIGPIPE", None)
        return self.reader_gone and sigpipe is not None and returncode in (-sigpipe, 128 + sigpipe)

    def to_tail(self, text: str, fd: int) -> None:
        """Into the tail, never splicing a line of one stream into an unfinished line of the other (``print``
        writes a line's end apart from its text, and a traceback on stderr may come in between)."""
        if not text:
            return
        if self.open_line not in (None, fd):
            text = "\n" + text
        self.open_line = None if text.endswith(("\n", "\r")) else fd
        self.watch.tail.write(text)

    def pump(self, pipe: IO[bytes] | None, fd: int) -> threading.Thread:
        """Copy ``pipe`` to our ``fd`` byte for byte as it arrives, and its text into the tail.

        When ``fd`` is a broken pipe (``| head``), the pipe is closed: the command gets SIGPIPE (or EPIPE), as it
        would without us. Any other write error drops the output and keeps draining, so the command never blocks.
        """

        def copy() -> None:
            assert pipe is not None
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            show = True
            while chunk := os.read(pipe.fileno(), 65536):
                if show:
                    try:
                        write_all(fd, chunk)
                    except BrokenPipeError:
                        self.reader_gone = True
                        break
                    except OSError:
                        show = False  # e.g. a full disk: drop what cannot be shown, keep it for the tail
                with self.lock:
                    self.to_tail(decoder.decode(chunk), fd)
            pipe.close()

        thread = threading.Thread(target=copy, name="wxnotify-pump", daemon=True)
        thread.start()
        return thread

    @contextlib.contextmanager
    def forwarding(self) -> Any:
        """While the command runs, pass SIGINT and SIGTERM on to it (SIGINT marks the job interrupted)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        terminal_sends_sigint = same_foreground_group()

        def on_signal(signum: int, frame: Any) -> None:
            if signum == signal.SIGINT:
                self.interrupted = True
                if terminal_sends_sigint:
                    return  # Ctrl-C in the terminal already reached the command: do not send it twice
            if self.proc is not None and self.proc.poll() is None:
                with contextlib.suppress(OSError):
                    self.proc.send_signal(signum)

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def ended_with_us() -> Callable[[], None] | None:
    """For ``Popen``: the command gets SIGTERM if ``wxnotify run`` itself is killed (even by SIGKILL), so it never
    runs on unwatched (its death is then reported by the watchdog). Linux only; elsewhere None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def in_child() -> None:
        prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # we were killed before that call: no signal will come
            os.kill(os.getpid(), signal.SIGTERM)

    return in_child


def open_std_fds() -> None:
    """Put /dev/null on a closed fd 0, 1 or 2, so that no pipe of ours lands there and writes to it drop."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            opened = os.open(os.devnull, os.O_RDWR)
            if opened != fd:  # a lower one was taken meanwhile: should not happen, but never leak it
                os.dup2(opened, fd)
                os.close(opened)
    if sys.stdout is None:  # Python found the fd closed at startup; print(file=None) would go to stdout
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    if sys.stderr is None:
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115


def same_file(a: int, b: int) -> bool:
    """True when fds ``a`` and ``b`` are the same file (``> log 2>&1``, one terminal, one pipe)."""
    try:
        one, two = os.fstat(a), os.fstat(b)
    except OSError:
        return False
    return (one.st_dev, one.st_ino) == (two.st_dev, two.st_ino)


def same_foreground_group() -> bool:
    """True when we are in the foreground of our terminal, so that Ctrl-C reaches our child too."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return False
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(fd)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "send": cmd_send, "test": cmd_test, "status": cmd_status, "retry": cmd_retry, "run": cmd_run,
    "config": cmd_config}

if __name__ == "__main__":
    raise SystemExit(main())
