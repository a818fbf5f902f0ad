"""The Python API: ``notify()`` as decorator and context manager in real scripts, and ``send()``."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import WX_URL, assert_no_secret, settled

from wxnotify_magic.api import notify, send
from wxnotify_magic.ranks import RANK_VARIABLES
from wxnotify_magic.settings import NoDestinationError


def script(tmp_path: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as a script named job.py, with the test's environment (inbox, home) plus ``env``."""
    path = tmp_path / "job.py"
    path.write_text("from wxnotify_magic.api import notify, send\n" + textwrap.dedent(code), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env}, cwd=tmp_path)
    assert_no_secret(proc.stdout, proc.stderr)
    return proc


def summaries(inbox: Any) -> list[str]:
    return [m["title"] for m in inbox.messages]


# -- notify() in a script -------------------------------------------------------------------------------


def test_decorator_sends_output_tail_duration_and_value(home: Path, inbox: Any, tmp_path: Path) -> None:
    proc = script(tmp_path, """
        @notify(tail=2)
        def train(epochs):
            for i in range(1, epochs + 1):
                print(f"epoch {i} loss {1 / i:.2f}")
            return {"best": 0.33}

        assert train(3) == {"best": 0.33}
        print("after the job")
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("epoch 1 loss 1.00\nepoch 2 loss 0.50\nepoch 3 loss 0.33\n")  # still shown
    assert "wxnotify: sent via WxPusher" in proc.stdout
    [message] = inbox.messages
    assert message["accepted"] and message["title"].startswith("✅ train finished · ")
    content = message["content"]
    assert "**Time**" in content and "**Duration**" not in content  # the card has the duration
    assert "epoch 3 loss 0.33" in content and "epoch 1" not in content  # tail 2
    assert "{'best': 0.33}" in content and "after the job" not in content


def test_context_manager_failure_propagates_with_the_exception_line(home: Path, inbox: Any,
                                                                    tmp_path: Path) -> None:
    proc = script(tmp_path, """
        with notify("crunch numbers"):
            print("loading shard 7")
            raise ValueError("bad row 1234")
        print("not reached")
    """)
    assert proc.returncode == 1
    assert "not reached" not in proc.stdout and "loading shard 7" in proc.stdout
    assert proc.stderr.rstrip().endswith("ValueError: bad row 1234")  # the usual traceback, once, at the end
    assert proc.stderr.count("Traceback") == 1 and "wxnotify_magic" not in proc.stderr
    [message] = inbox.messages
    assert message["title"].startswith("❌ crunch numbers failed · ")
    content = message["content"]
    assert "ValueError: bad row 1234" in content and "job.py" in content and "loading shard 7" in content
    assert "wxnotify_magic" not in content  # no frames of this package


def test_decorated_exception_reaches_the_caller_and_the_message(home: Path, inbox: Any, tmp_path: Path) -> None:
    proc = script(tmp_path, """
        @notify
        def step():
            return 1 / 0

        try:
            step()
        except ZeroDivisionError as exc:
            print("caught", type(exc).__name__)
    """)
    assert proc.returncode == 0 and "caught ZeroDivisionError" in proc.stdout
    [message] = inbox.messages
    assert message["title"].startswith("❌ step failed")
    assert "ZeroDivisionError: division by zero" in message["content"] and "1 / 0" in message["content"]


def test_after_suppresses_short_jobs_but_not_failures(home: Path, inbox: Any, tmp_path: Path) -> None:
    proc = script(tmp_path, """
        with notify("short", after="1h"):
            print("quick")
        try:
            with notify("short failure", after="1h"):
                raise KeyError("k")
        except KeyError:
            pass
    """)
    assert proc.returncode == 0, proc.stderr
    assert [s.split(" · ")[0] for s in summaries(inbox)] == ["❌ short failure failed"]


@pytest.mark.parametrize("rank_env", [{"RANK": "1", "LOCAL_WORLD_SIZE": "1"},
                                      {"LOCAL_RANK": "3", "RANK": "", "LOCAL_WORLD_SIZE": "1"},
                                      {"SLURM_PROCID": "2", "SLURM_NTASKS_PER_NODE": "1"},
                                      {"OMPI_COMM_WORLD_RANK": "5", "OMPI_COMM_WORLD_LOCAL_SIZE": "1"},
                                      {"PMI_RANK": "6", "MPI_LOCALNRANKS": "1"},
                                      {"PMIX_RANK": "7", "LOCAL_WORLD_SIZE": "1"}])
def test_other_ranks_send_failures_only(home: Path, inbox: Any, tmp_path: Path, rank_env: dict[str, str]) -> None:
    proc = script(tmp_path, """
        @notify
        def fit():
            print("rank done")

        fit()
        print(send("from every rank?").status)
        with notify("everyone", all_ranks=True):
            pass
        with notify("sharded step"):
            raise RuntimeError("NCCL timeout")
    """, **rank_env)
    assert proc.returncode == 1 and "RuntimeError: NCCL timeout" in proc.stderr
    assert "skipped" in proc.stdout
    rank = next(v for k, v in rank_env.items() if k in RANK_VARIABLES and v)
    got = summaries(inbox)
    assert len(got) == 2 and got[0].startswith(f"✅ everyone [rank {rank}] finished")
    assert got[1].startswith(f"❌ sharded step [rank {rank}] failed")


def test_one_failure_message_per_host_per_job_saying_how_many_ranks_failed(home: Path, inbox: Any,
                                                                           tmp_path: Path) -> None:
    path = tmp_path / "ddp.py"
    path.write_text(textwrap.dedent("""
        from wxnotify_magic.api import notify
        with notify("ddp step"):
            raise RuntimeError("NCCL timeout")
    """), encoding="utf-8")

    def launch(job: str, ranks: range) -> list[int]:
        procs = [subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env={**os.environ, "RANK": str(r), "LOCAL_RANK": str(r), "WORLD_SIZE": "3",
                                       "LOCAL_WORLD_SIZE": "3", "SLURM_JOB_ID": job}) for r in ranks]
        return [p.wait(60) for p in procs]

    assert launch("4242", range(3)) == [1, 1, 1]  # every rank fails, and every process has exited (and flushed)
    [message] = inbox.messages
    assert message["title"].startswith("❌ ddp step") and "failed" in message["title"]
    assert "3 of 3 ranks on" in message["content"] and "(ranks 0, 1, 2)" in message["content"]
    assert launch("4243", range(1, 2)) == [1]  # another job: its own message (after waiting for the others)
    assert len(inbox.messages) == 2 and "1 of 3 ranks on" in inbox.messages[1]["content"]


def test_start_sends_a_started_message_too(home: Path, inbox: Any, tmp_path: Path) -> None:
    proc = script(tmp_path, """
        with notify("warmup", start=True):
            print("step 1")
        with notify("quiet rank", start=True, all_ranks=False):
            pass
    """)
    assert proc.returncode == 0, proc.stderr
    got = summaries(inbox)
    assert got[0] == "🚀 warmup started" and got[1].startswith("✅ warmup finished")
    assert "**Time**" not in inbox.messages[0]["content"] and len(got) == 4


def test_rank_zero_sends_everything(home: Path, inbox: Any, tmp_path: Path) -> None:
    proc = script(tmp_path, """
        with notify("main rank"):
            pass
        print(send("hello").status)
    """, RANK="0", LOCAL_RANK="0")
    assert proc.returncode == 0 and "delivered" in proc.stdout
    assert len(summaries(inbox)) == 2 and summaries(inbox)[0].startswith("✅ main rank finished")


def test_a_message_retried_after_a_503_goes_out_before_the_script_exits(home: Path, inbox: Any,
                                                                         tmp_path: Path) -> None:
    """The exit flush waits for a retry due within its bound (5 s), not only for what is due now."""
    inbox.add_fault("status", service="wxpusher", status=503, count=2)
    proc = script(tmp_path, """
        with notify("training job"):
            print("training...")
        print("script end")
    """)
    assert proc.returncode == 0, proc.stderr
    assert "still queued" not in proc.stderr
    assert [m["accepted"] for m in inbox.messages] == [False, False, True]
    assert inbox.messages[2]["title"].startswith("✅ training job finished")
    inbox.add_fault("status", service="wxpusher", status=503)
    retried = script(tmp_path, """
        r = send("after one 503", wait=0.2)
        print(r.status)
    """)
    assert retried.stdout.split() == ["pending"] and retried.stderr == ""
    assert [m["accepted"] for m in inbox.messages[3:]] == [False, True]


def test_what_is_still_pending_at_exit_gets_one_line(home: Path, inbox: Any, tmp_path: Path) -> None:
    """A message still queued when the script exits is said so, once, on stderr."""
    proc = script(tmp_path, """
        r = send("nobody home", wait=0.2)
        print(r.status)
    """, WXNOTIFY_API_BASE="http://127.0.0.1:9")  # nothing listens there: retried until the bound, then kept
    assert proc.returncode == 0 and proc.stdout.split() == ["pending"]
    assert proc.stderr.splitlines() == ["wxnotify: 1 message(s) still queued in the outbox; they go out the next "
                                        "time wxnotify runs (or with wxnotify retry)"]
    zh = script(tmp_path, """
        send("nobody home", wait=0.2)
    """, WXNOTIFY_API_BASE="http://127.0.0.1:9", LANG="zh_CN.UTF-8")
    assert zh.stderr.splitlines() == ["wxnotify：还有 1 条消息留在发件箱中，下次运行 wxnotify 时发出（或用 "
                                      "wxnotify retry 发送）"]


# -- notify() in process --------------------------------------------------------------------------------


def test_delivery_failure_never_breaks_the_job(home: Path, inbox: Any, capsys: pytest.CaptureFixture[str]) -> None:
    inbox.add_fault("code", service="wxpusher", code=1002)

    @notify(wait=5)
    def job() -> int:
        print("working")
        return 7

    assert job() == 7
    captured = capsys.readouterr()
    assert "working" in captured.out and "wxnotify: failed (wxpusher://AT_…" in captured.err
    assert_no_secret(captured.out, captured.err)


def test_unreachable_service_costs_at_most_the_wait(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WXNOTIFY_API_BASE", "http://127.0.0.1:9")  # nothing listens on the discard port
    started = time.monotonic()
    with notify("offline", wait=0.3):
        pass
    assert time.monotonic() - started < 2.0
    assert "still sending in the background" in capsys.readouterr().out


def test_async_function_and_quiet(home: Path, inbox: Any, capsys: pytest.CaptureFixture[str]) -> None:
    @notify("async job", quiet=True)
    async def fetch() -> str:
        await asyncio.sleep(0.01)
        print("fetched")
        return "payload"

    assert asyncio.run(fetch()) == "payload"
    assert "wxnotify:" not in capsys.readouterr().out
    [message] = inbox.wait_for(1)
    assert message["title"].startswith("✅ async job finished") and "'payload'" in message["content"]


def test_bad_options_raise_before_the_job_runs(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ran = []
    with pytest.raises(ValueError, match="not a duration"):
        notify(after="soon")
    with pytest.raises(ValueError, match="on must be"):
        notify(on="never")
    with pytest.raises(ValueError), notify(to="wxpusher://AT_test_token_0123456789abcdef/not-a-uid"):
        ran.append(1)
    monkeypatch.delenv("WXNOTIFY_TO")
    with pytest.raises(NoDestinationError), notify():
        ran.append(2)
    assert ran == []


# -- send() ---------------------------------------------------------------------------------------------


def test_send_returns_a_delivered_receipt(home: Path, inbox: Any) -> None:
    receipt = send("model saved to /tmp/m.pt", title="checkpoint")
    assert receipt.ok and receipt.status == "delivered" and receipt.reason == ""
    assert receipt.line.startswith("wxnotify: sent via WxPusher")
    assert str(receipt) == receipt.line and [r.status for r in receipt.results] == ["delivered"]
    [message] = inbox.messages
    assert message["title"] == "💬 checkpoint" and "model saved to /tmp/m.pt" in message["content"]
    assert_no_secret(repr(receipt))


def test_send_reports_the_services_refusal(home: Path, inbox: Any) -> None:
    inbox.add_fault("code", service="wxpusher", code=1002)
    receipt = send("x", wait=5)
    assert not receipt.ok and receipt.status == "failed"
    assert "code 1002" in receipt.reason and "failed (wxpusher://AT_…" in receipt.line
    assert_no_secret(repr(receipt), receipt.line)


def test_send_does_not_wait_longer_than_asked(home: Path, inbox: Any) -> None:
    inbox.add_fault("delay", service="wxpusher", seconds=2.0)
    started = time.monotonic()
    receipt = send("slow", wait=0.2)
    assert receipt.status == "pending" and not receipt.ok and "still sending" in receipt.line  # not the answer
    assert time.monotonic() - started < 1.5  # well before the 2 s answer, with room for a busy machine
    assert inbox.wait_for(1)[0]["accepted"]  # it still goes out in the background


def test_send_to_named_and_explicit_destinations(home: Path, inbox: Any) -> None:
    receipt = send("two ways", to=[WX_URL, WX_URL.replace("0001", "0002")], wait=5)
    assert receipt.ok and len(receipt.results) == 2
    assert len(inbox.wait_for(2)) == 2


def test_send_raises_for_bad_or_missing_destination(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError) as bad:
        send("x", to="wxpusher://AT_test_token_0123456789abcdef/not-a-uid")
    with pytest.raises(ValueError, match="unknown destination name 'team'"):
        send("x", to="team")
    monkeypatch.delenv("WXNOTIFY_TO")
    with pytest.raises(NoDestinationError):
        send("x")
    assert_no_secret(str(bad.value))


# -- forks, exits, and the receipt race ----------------------------------------------------------


@pytest.mark.parametrize("form", ["with", "decorator"])
def test_a_forked_child_never_sends(home: Path, inbox: Any, tmp_path: Path, form: str) -> None:
    job = textwrap.dedent("""
        import os, sys
        def work():
            print("parent working", flush=True)
            pid = os.fork()
            if pid == 0:
                print("child working", flush=True)
                sys.exit(0)  # the child leaves the block (and runs the exit handlers) like any script
            os.waitpid(pid, 0)
    """)
    body = ("with notify('forking job'):\n    work()\n" if form == "with"
            else "@notify('forking job')\ndef run():\n    work()\nrun()\n")
    proc = script(tmp_path, job + body)
    assert proc.returncode == 0, proc.stderr
    assert "child working" in proc.stdout
    titles = summaries(inbox)
    assert len(titles) == 1 and titles[0].startswith("✅ forking job finished"), titles


@pytest.mark.parametrize("code,status,shown", [("0", "finished", ""), ("", "finished", ""),
                                               ("None", "finished", ""), ("3", "failed", "SystemExit: 3"),
                                               ("'bad config'", "failed", "SystemExit: bad config")])
def test_sys_exit_inside_notify(home: Path, inbox: Any, tmp_path: Path, code: str, status: str, shown: str) -> None:
    proc = script(tmp_path, f"""
        import sys
        with notify("exiting job"):
            sys.exit({code})
    """)
    [message] = inbox.messages
    assert message["title"].startswith(f"{'✅' if status == 'finished' else '❌'} exiting job {status}"), message
    if shown:
        assert shown in message["content"]
    assert proc.returncode == (0 if status == "finished" else (3 if code == "3" else 1))


def test_three_hundred_sends_all_get_their_receipt(home: Path, inbox: Any, tmp_path: Path) -> None:
    proc = script(tmp_path, """
        from collections import Counter
        statuses = Counter()
        for i in range(300):  # each with its own token: nothing waits on pacing or a quota
            receipt = send(f"n{i}", to=f"wxpusher://AT_test_race_{i}/UID_test_race", wait=30)
            statuses[receipt.status] += 1
        print(dict(statuses))
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "{'delivered': 300}"
    assert len(inbox.wait_for(300, timeout=30)) == 300


# -- Ctrl-C during the receipt wait, generators, argument checks, quotas --------------------------------------


INTERRUPT_SOON = """
        import os, signal, threading, time
        def press_ctrl_c(after=1.0):
            threading.Timer(after, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
"""


def test_ctrl_c_while_waiting_for_the_receipt_stops_the_loop(home: Path, inbox: Any, tmp_path: Path) -> None:
    inbox.add_fault("delay", service="wxpusher", seconds=3.0)  # the service answers in 3 s; the wait is 30 s
    proc = script(tmp_path, INTERRUPT_SOON + """
        t0 = time.monotonic()
        try:
            for i in range(3):
                with notify(f"job{i}", wait=30):
                    press_ctrl_c()  # lands in the receipt wait after the block
                print(f"after job{i}", flush=True)
            print("loop completed")
        except KeyboardInterrupt:
            print(f"interrupted at {time.monotonic() - t0:.1f}", flush=True)
    """)
    assert proc.returncode == 0, proc.stderr
    assert "after job0" not in proc.stdout and "loop completed" not in proc.stdout
    assert float(proc.stdout.split("interrupted at ")[1]) < 2.9  # before the service answered
    [line] = [x for x in proc.stderr.splitlines() if x.startswith("wxnotify:")]
    assert "interrupted" in line and "queued" in line
    assert [m["title"].split(" · ")[0] for m in inbox.wait_for(1, timeout=15)] == ["✅ job0 finished"]


def test_ctrl_c_while_send_waits_raises(home: Path, inbox: Any, tmp_path: Path) -> None:
    inbox.add_fault("delay", service="wxpusher", seconds=3.0)
    proc = script(tmp_path, INTERRUPT_SOON + """
        press_ctrl_c()
        try:
            print("returned", send("x", wait=30).status)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
    """)
    assert proc.returncode == 0 and "interrupted" in proc.stdout and "returned" not in proc.stdout, proc
    assert "queued" in proc.stderr
    assert inbox.wait_for(1, timeout=15)[0]["accepted"]  # it still goes out (at exit)


def test_a_decorated_generator_is_watched_over_its_iteration(home: Path, inbox: Any, tmp_path: Path) -> None:
    proc = script(tmp_path, """
        import time

        @notify(title="gen", wait=10)
        def numbers(n):
            for i in range(n):
                print("made", i)
                yield i
            time.sleep(0.3)
            return "done"

        @notify(title="broken gen", wait=10)
        def broken():
            yield 1
            raise RuntimeError("gen died")

        g = numbers(2)
        print("created")
        assert list(g) == [0, 1]
        try:
            for x in broken():
                print("got", x)
        except RuntimeError as exc:
            print("caught", exc)
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.index("created") < proc.stdout.index("wxnotify: sent")  # nothing before iterating
    assert "caught gen died" in proc.stdout
    first, second = inbox.wait_for(2)
    assert first["title"].startswith("✅ gen finished · 0.3") and "made 1" in first["content"]
    assert second["title"].startswith("❌ broken gen failed") and "RuntimeError: gen died" in second["content"]


def test_a_generator_closed_early_and_an_async_generator(home: Path, inbox: Any) -> None:
    @notify("early stop", quiet=True)
    def forever() -> Any:
        i = 0
        while True:
            yield i
            i += 1

    for i in forever():
        if i == 3:
            break
    seen: list[int] = []

    @notify("async gen", quiet=True)
    async def ticks() -> Any:
        for i in range(3):
            await asyncio.sleep(0.01)
            print("tick", i)
            yield i

    async def consume() -> None:
        async for i in ticks():
            seen.append(i)

    asyncio.run(consume())
    assert seen == [0, 1, 2]
    early, agen = settled(inbox)
    assert early["title"].startswith("✅ early stop finished") and agen["title"].startswith("✅ async gen finished")
    assert "tick 2" in agen["content"]  # the job spanned the iteration


def test_an_async_generator_failure_is_sent(home: Path, inbox: Any) -> None:
    @notify("async broken", quiet=True, wait=10)
    async def ticks() -> Any:
        yield 1
        raise OSError("disk gone")

    async def consume() -> list[int]:
        return [i async for i in ticks()]

    with pytest.raises(OSError, match="disk gone"):
        asyncio.run(consume())
    [message] = settled(inbox)
    assert message["title"].startswith("❌ async broken failed") and "OSError: disk gone" in message["content"]


@pytest.mark.parametrize(("call", "kind", "words"), [
    (lambda: notify("x", tail="x"), TypeError, "tail"),
    (lambda: notify("x", tail=2.5), TypeError, "tail"),
    (lambda: notify("x", tail=-3), ValueError, "tail"),
    (lambda: notify("x", to=5), TypeError, "to"),
    (lambda: notify("x", to=[WX_URL, 5]), TypeError, "to"),
    (lambda: notify("x", wait=-1), ValueError, "wait"),
    (lambda: notify("x", wait="soon"), TypeError, "wait"),
    (lambda: notify("x", wait=float("nan")), ValueError, "wait"),
    (lambda: notify(5), TypeError, "title"),
    (lambda: send("x", wait=-1), ValueError, "wait"),
    (lambda: send("x", to=5), TypeError, "to"),
    (lambda: send("x", title=7), TypeError, "title"),
])
def test_bad_arguments_raise_one_clear_line_naming_the_argument(home: Path, inbox: Any, call: Any, kind: type,
                                                                words: str) -> None:
    with pytest.raises(kind) as raised:
        call()
    text = str(raised.value)
    assert re.match(rf"(--)?{words} must be ", text) and "\n" not in text
    assert "not supported" not in text and "iterable" not in text
    assert_no_secret(text)
    assert inbox.messages == []


def test_quotas_refuse_unknown_providers_and_negative_counts(ip: Any, home: Path, inbox: Any,
                                                             capsys: pytest.CaptureFixture[str],
                                                             caplog: pytest.LogCaptureFixture) -> None:
    from traitlets import TraitError

    from wxnotify_magic.settings import WxNotify

    with pytest.raises(TraitError, match=r"unknown provider 'wxpuser' \(known: pushplus, serverchan, wxpusher\)"):
        WxNotify(quotas={"wxpuser": 10})
    with pytest.raises(TraitError, match=r"wxpusher must be 0 or more"):
        WxNotify(quotas={"wxpusher": -1})
    assert WxNotify(quotas={" WxPusher ": 3}).quotas == {"wxpusher": 3}  # the provider's name, any case
    ip.run_line_magic("config", 'WxNotify.quotas = {"wxpusherr": 3}')  # IPython logs the error in one line
    assert "unknown provider 'wxpusherr'" in caplog.text and "Traceback" not in caplog.text
    assert_no_secret(caplog.text)
    ip.run_line_magic("config", 'WxNotify.quotas = {"wxpusher": 1}')
    ip.run_line_magic("wxnotify", "")
    assert "0 of 1 today" in capsys.readouterr().out


def test_a_bad_quota_in_the_settings_file_is_named_once(home: Path, inbox: Any, tmp_path: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.json").write_text('{"quotas": {"serverchann": 5, "wxpusher": 2}}', encoding="utf-8")
    proc = script(tmp_path, """
        print(send("quota check", wait=10).status)
    """)
    assert proc.returncode == 0 and "delivered" in proc.stdout, proc.stderr
    assert proc.stderr.count("unknown provider 'serverchann' (known: pushplus, serverchan, wxpusher)") == 1


def test_a_generator_left_unfinished_at_exit_is_reported_and_does_not_hang(home: Path, inbox: Any,
                                                                         tmp_path: Path) -> None:
    proc = script(tmp_path, """
        @notify(title="abandoned")
        def numbers():
            yield 1
            yield 2

        it = numbers()
        print(next(it), "then the script ends")
    """)
    assert proc.returncode == 0 and "then the script ends" in proc.stdout, proc.stderr
    [message] = inbox.wait_for(1)
    assert message["title"].startswith("✅ abandoned finished")


def test_jobs_in_threads_each_report_only_their_own_output(home: Path, inbox: Any, tmp_path: Path) -> None:
    proc = script(tmp_path, """
        import threading, time

        def job(name, lines, pause):  # each to its own token: no pacing merges them into one digest
            with notify(name, to=f"wxpusher://AT_test_{name}_0123456789abcdef/UID_test_user_0001", wait=30):
                for i in range(lines):
                    print(f"{name} line {i}")
                    time.sleep(pause)

        print("main before")
        threads = [threading.Thread(target=job, args=(f"job-{k}", 6, 0.05 + 0.02 * k)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with notify("main job", wait=30):
            worker = threading.Thread(target=lambda: print("from a helper thread of the main job"))
            worker.start()
            worker.join()
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("wxnotify: sent") == 4 and len(inbox.messages) == 4  # the receipts still show
    for m in inbox.messages:
        name = m["title"].split(" finished")[0].removeprefix("✅ ")
        output = m["content"].split("**Last output**", 1)[-1]
        if name.startswith("job-"):
            assert f"{name} line 5" in output, (name, output)
            others = {f"job-{k}" for k in range(3)} - {name}
            assert not [o for o in others if o in output], (name, output)  # only its own thread's output
        else:
            assert "from a helper thread of the main job" in output  # a job's helper threads are its own
        assert "wxnotify:" not in output and "sent to" not in output, (name, output)  # no receipt lines
