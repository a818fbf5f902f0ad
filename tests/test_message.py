"""Pure rendering: limits in characters and bytes, UTF-8, tracebacks, progress bars, durations."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wxnotify_magic.capture import Tail, collapse_carriage_returns
from wxnotify_magic.durations import human_duration, parse_duration
from wxnotify_magic.message import (
    STATUS_ICONS,
    TITLE_MIN,
    Notification,
    cut_traceback,
    exception_line,
    headline,
    measure,
    render,
    strip_ansi,
    verdict,
)
from wxnotify_magic.providers import PROVIDERS, parse_destination

URLS = {
    "wxpusher": "wxpusher://AT_test_token/UID_test_a",
    "wxpusher-spt": "wxpusher://SPT_test_a",
    "pushplus": "pushplus://test0123456789abcdef0123456789ab",
    "serverchan": "schan://SCTtest123",
    "wecombot": "wecombot://test-key",
}
CONTENT_FIELD = {"wxpusher": ("content", "chars"), "wxpusher-spt": ("content", "chars"),
                 "pushplus": ("content", "chars"), "serverchan": ("desp", "bytes")}

texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=3000)
exception_lines = st.from_regex(r"[A-Z][a-zA-Z]{2,20}Error: [a-z0-9 ]{0,60}", fullmatch=True)


def traceback_of(frames: int, exc_line: str) -> str:
    body = "".join(f'  File "train.py", line {i}, in step_{i}\n    x = f(x)  # 模型 {i}\n' for i in range(frames))
    return f"Traceback (most recent call last):\n{body}{exc_line}"


notifications = st.builds(
    Notification,
    status=st.sampled_from(["success", "failed", "interrupted", "running", "message"]),
    title=st.text(max_size=300),
    text=texts,
    output=texts,
    value=texts,
    traceback=st.builds(traceback_of, st.integers(0, 300), exception_lines),
    host=st.text(max_size=50),
    notebook=st.text(max_size=80),
    started=st.floats(1e9, 2e9),
    ended=st.floats(2e9, 2.1e9),
    lang=st.sampled_from(["", "zh", "en"]),
)


def provider_contents(n: Notification) -> dict[str, str]:
    out = {}
    for name, url in URLS.items():
        dest = parse_destination(url)
        (req, *_) = PROVIDERS[name].build(n, dest)
        body = req.json
        if name == "wecombot":
            out[name] = body[body["msgtype"]]["content"]
        else:
            out[name] = body[CONTENT_FIELD[name][0]]
    return out


@settings(max_examples=150, deadline=None)
@given(notifications)
def test_provider_content_never_exceeds_its_limit_and_is_valid_utf8(n):
    for name, content in provider_contents(n).items():
        if name == "wecombot":
            limit = 2048 if len(content.encode()) <= 2048 else 4096
            assert measure(content, "bytes") <= limit
        else:
            _, unit = CONTENT_FIELD[name]
            assert measure(content, unit) <= PROVIDERS[name].limit
        assert content.encode("utf-8").decode("utf-8") == content


@settings(max_examples=150, deadline=None)
@given(notifications)
def test_titles_fit_each_title_field(n):
    for name, url in URLS.items():
        dest = parse_destination(url)
        (req, *_) = PROVIDERS[name].build(n, dest)
        title = (req.json or {}).get("summary") or (req.json or {}).get("title") or ""
        assert len(title) <= {"serverchan": 32, "pushplus": 100}.get(name, 100)


@settings(max_examples=300, deadline=None)
@given(notifications, st.integers(24, 140), st.sampled_from(["chars", "bytes"]))
def test_the_card_fits_by_shortening_the_title_first_and_never_the_verdict(n, limit, unit):
    card = headline(n, limit, unit)  # type: ignore[arg-type]
    assert measure(card, unit) <= limit  # type: ignore[arg-type]
    icon, word = STATUS_ICONS[n.status], verdict(n) if n.status != "message" else ""
    assert card.startswith(icon) and word in card  # the verdict is never cut
    parts = card.split(" · ")
    exc = exception_line(n)
    if exc and len(parts) == 3 and parts[2] != exc:  # the exception line is cut: the title was cut first
        shown_title = parts[0][len(icon) + 1:-len(word) - 1]
        assert len(shown_title) <= TITLE_MIN
    if n.duration is not None and n.status != "message" and len(parts) == 1:
        assert not exc or exc not in card  # the duration goes only after the exception line


def test_a_failure_card_reads_verdict_title_duration_exception():
    n = Notification(status="failed", title="训练 resnet50", started=0.0, ended=7390.0, lang="zh",
                     traceback="Traceback (most recent call last):\n  ...\n"
                               "torch.OutOfMemoryError: CUDA out of memory")
    assert headline(n) == "❌ 训练 resnet50 失败 · 2 小时 3 分钟 · OutOfMemoryError: CUDA out of memory"
    assert headline(n, 42) == "❌ 训练 resn… 失败 · 2 小时 3 分钟 · OutOfMemoryEr…"  # the title gives way first
    assert headline(n, 36) == "❌ 训练 resnet50 失败 · 2 小时 3 分钟"  # no room for the exception line even then
    long_title = Notification(**{**n.to_dict(), "title": "训练 resnet50 在 ImageNet 上的第二次尝试",
                                 "traceback": "KeyError: 3"})
    assert headline(long_title, 49) == "❌ 训练 resnet50 在 Ima… 失败 · 2 小时 3 分钟 · KeyError: 3"


def test_the_body_leads_with_the_exception_and_never_repeats_the_title():
    n = Notification(status="failed", title="TITLE-MARK", started=0.0, ended=65.0, host="gpu-01", lang="en",
                     output="epoch 9 loss nan", traceback="Traceback (most recent call last):\nValueError: nan loss")
    for fmt in ("text", "markdown", "html"):
        body = render(n, fmt, with_title=False)  # type: ignore[arg-type]
        assert "TITLE-MARK" not in body and "failed" not in body
        assert body.index("ValueError: nan loss") < body.index("epoch 9") < body.index("Traceback (most recent") \
            < body.index("Host")  # exception line, last output, traceback, then the facts
        assert "1m 05s" not in body and "Duration" not in body  # the card has the duration
    first_line, rest = render(n, "text").split("\n", 1)  # no title field (WeCom): the first line is the card
    assert first_line == "❌ TITLE-MARK failed · 1m 05s · ValueError: nan loss"
    assert "TITLE-MARK" not in rest and rest.count("ValueError: nan loss") == 1  # only in the traceback


@settings(max_examples=200, deadline=None)
@given(notifications.filter(lambda n: n.status == "failed"), st.sampled_from(["text", "markdown", "html"]),
       st.sampled_from(["chars", "bytes"]), st.integers(600, 50000))
def test_rendering_fits_any_limit_and_keeps_the_exception_line(n, fmt, unit, limit):
    out = render(n, fmt, limit, unit)  # type: ignore[arg-type]
    assert measure(out, unit) <= limit  # type: ignore[arg-type]
    exc_line = n.traceback.rsplit("\n", 1)[-1]
    shown = exc_line if fmt != "html" else exc_line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert shown in out


@given(st.text(), st.integers(0, 400))
def test_cut_traceback_keeps_last_line(exc, limit):
    tb = traceback_of(50, "ValueError: " + exc.replace("\n", " ")[:40])
    cut = cut_traceback(tb, max(limit, 200))
    assert cut.endswith(tb.rsplit("\n", 1)[-1])


def test_ansi_codes_are_stripped():
    assert strip_ansi("\x1b[31mValueError\x1b[0m: x") == "ValueError: x"
    n = Notification(status="failed", traceback="\x1b[0;31mTraceback\x1b[0m\nValueError: x")
    assert "\x1b" not in render(n)


def test_html_is_escaped_only_in_html():
    n = Notification(status="message", title="<t>", text="a < b & <script>")
    assert "&lt;script&gt;" in render(n, "html") and "<script>" not in render(n, "html")
    assert "<script>" in render(n, "markdown")


@pytest.mark.parametrize("raw,final", [
    ("10%\r50%\r100%\n", "100%\n"),
    ("a\r\nb", "a\nb"),
    ("loss 1\rloss 2\rloss 3", "loss 3"),
    ("plain", "plain"),
])
def test_carriage_returns_collapse(raw, final):
    assert collapse_carriage_returns(raw) == final


def test_tail_memory_is_bounded_whatever_is_written():
    tail = Tail(lines=5, max_chars=1000)
    for i in range(200_000):
        tail.write(f"line {i}\n")
    assert tail.size <= 2_000 + 20
    assert tail.text() == "\n".join(f"line {i}" for i in range(199_995, 200_000))


def test_tail_keeps_earlier_lines_through_a_long_progress_bar():
    tail = Tail(lines=3, max_chars=300)
    tail.write("loading data\n")
    for i in range(10_000):
        tail.write(f"\r{i / 100:.0f}%|{'#' * 20}|")
    tail.write("\nfinished\n")
    assert tail.text() == f"loading data\n100%|{'#' * 20}|\nfinished"


@pytest.mark.parametrize("text,seconds", [("90", 90), ("90s", 90), ("5m", 300), ("1h30m", 5400), ("1.5h", 5400),
                                          ("2d", 172800), ("500ms", 0.5), (60, 60)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "5x", "-5", "1h30", "5m3"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_human_durations():
    assert [human_duration(s) for s in (0.42, 12.3, 245, 5005, 200000)] == \
        ["0.42 s", "12.3 s", "4m 05s", "1h 23m 25s", "2d 7h 33m"]


def test_summary_line_fits_serverchan_title_by_shortening_the_title():
    n = Notification(status="success", title="训练" * 40, started=0.0, ended=3725.0, lang="en")
    from wxnotify_magic.message import render_title

    card = render_title(n, 32)
    assert len(card) == 32 and card.startswith("✅ 训练训练") and card.endswith("… finished · 1h 02m")


def test_output_capture_patches_write_and_restores_it():
    import io
    import sys

    from wxnotify_magic.capture import OutputCapture

    class Stream(io.StringIO):
        pass

    out, err = Stream(), Stream()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        capture = OutputCapture(Tail(lines=5))
        capture.start()
        print("to stdout")
        print("to stderr", file=sys.stderr)
        assert sys.stdout is out  # the stream object stays the same (ipykernel checks its type)
        capture.stop()
        print("after")
    finally:
        sys.stdout, sys.stderr = saved
    assert out.getvalue() == "to stdout\nafter\n" and err.getvalue() == "to stderr\n"
    assert capture.tail.text() == "to stdout\nto stderr" and "write" not in vars(out)


def test_merging_a_digest_again_keeps_every_cell_and_the_first_failure() -> None:
    from wxnotify_magic.message import digest

    def cell(n: int, status: str = "success", **kw: str) -> Notification:
        return Notification(status=status, title=f"cell {n}", started=100.0 + n, ended=101.0 + n,
                            execution_count=n, **kw)

    first = digest([cell(1), cell(2, "failed", traceback="ValueError: bad 2"), cell(3, output="out 3")])
    again = digest([first, cell(4), cell(5, "failed", traceback="KeyError: 5")])  # a failed send merged again
    for n in range(1, 6):
        assert f"[{n}] cell {n}" in again.text
    assert again.text.startswith("5 cells ran for 5.0 s in all\n")  # a sum of durations, labelled as one
    assert again.traceback == "ValueError: bad 2" and again.output == "out 3" and again.status == "failed"
    assert headline(again) == "❌ cell 2 failed · 2 of 5 · ValueError: bad 2"  # the first failure, of how many
    assert headline(digest([cell(1), cell(2)])) == "✅ 2 cells finished"


def test_text_that_cannot_be_encoded_is_replaced() -> None:
    note = Notification(title="run \udcff", output="bad\udcfe.txt", extra={"k": ["x\udc80"]}).cleaned()
    assert note.title == "run \ufffd" and note.output == "bad\ufffd.txt" and note.extra == {"k": ["x\ufffd"]}
    note.to_dict()["output"].encode("utf-8")  # encodable now


def test_the_card_of_an_exception_group_names_the_group() -> None:
    text = ('  + Exception Group Traceback (most recent call last):\n  |   File "<stdin>", line 3, in <module>\n'
            "  | ExceptionGroup: eg (2 sub-exceptions)\n  +-+---------------- 1 ----------------\n"
            "    | ValueError: v\n    +---------------- 2 ----------------\n    | TypeError: t\n"
            "    +------------------------------------\n")  # Python 3.11's traceback.format_exception
    card = headline(Notification(status="failed", title="eg", traceback=text, started=1.0, ended=2.0))
    assert card.endswith("ExceptionGroup: eg (2 sub-exceptions)"), card


def test_a_cut_traceback_says_so_in_the_notes_language() -> None:
    frames = "".join(f'  File "x.py", line {i}, in f{i}\n    step({i})\n' for i in range(200))
    text = "Traceback (most recent call last):\n" + frames + "ValueError: deep"
    assert "（省略了外层调用帧）" in cut_traceback(text, 600, lang="zh")
    assert "(outer frames cut)" in cut_traceback(text, 600) and cut_traceback(text, 600).endswith("ValueError: deep")
