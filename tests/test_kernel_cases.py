"""Issue 8 in a real kernel: every watched cell gives exactly one notification or a visible reason.

One kernel serves the module (as one notebook session would); each test marks its messages with its own title.
"""

from __future__ import annotations

import pytest
from kernel import displays, errors, kernel_with_extension, text, titled, wait_until


@pytest.fixture(scope="module")
def kernel(inbox, tmp_path_factory):  # type: ignore[no-untyped-def]
    with kernel_with_extension(inbox, tmp_path_factory.mktemp("kernel-cases")) as k:
        yield k
        k.run("%wxnotify wait 30")  # nothing of this module lands in a later test


@pytest.fixture(autouse=True)
def settled(kernel):  # type: ignore[no-untyped-def]
    """Each test starts with the outbox settled: back-to-back cells go out merged (by design), and a test's
    message merged into the previous test's would not carry its title."""
    kernel.run("%wxnotify wait 30")


def content(inbox, marker):  # type: ignore[no-untyped-def]
    return titled(inbox, marker)[0]["content"]


# -- 1. an exception whose __str__ raises ---------------------------------------------------------------------


def test_exception_whose_str_raises_is_sent_and_later_cells_still_notify(kernel, inbox):
    cell = kernel.run("%%wxnotify -t item1-odd\nclass E(Exception):\n    def __str__(self):\n"
                      "        raise RuntimeError('no str')\nraise E()")
    assert errors(cell)
    body = content(inbox, "item1-odd")
    assert "failed" in titled(inbox, "item1-odd")[0]["title"] and "raise E()" in body
    kernel.run("%%wxnotify -t item1-later\nprint('still watched')")
    assert "still watched" in content(inbox, "item1-later")


def test_exception_whose_repr_and_str_raise(kernel, inbox):
    kernel.run("%%wxnotify -t item1-repr\nclass F(Exception):\n    def __str__(self):\n        raise ValueError\n"
               "    def __repr__(self):\n        raise ValueError\nraise F()")
    assert "failed" in titled(inbox, "item1-repr")[0]["title"]


# -- 2. text that cannot be encoded ------------------------------------------------------------------------------


def test_lone_surrogate_in_the_output_reaches_the_phone(kernel, inbox):
    cell = kernel.run("%%wxnotify -t item2\nprint('bad\\udcff.txt')\n'v\\udcfe'")
    assert "not sent" not in text(cell)
    body = content(inbox, "item2")
    assert "bad\ufffd.txt" in body and "'v\\udcfe'" in body  # the value as Out[n] shows it


# -- 3. stacked cell magics, both orders -------------------------------------------------------------------------


def test_time_above_wxnotify(kernel, inbox):
    cell = kernel.run("%%time\n%%wxnotify -t item3-time-above\nx3 = 41 + 1\nprint('x3 is', x3)")
    assert not errors(cell) and "Wall time" in text(cell)
    assert "x3 is 42" in content(inbox, "item3-time-above")


def test_wxnotify_above_time(kernel, inbox):
    cell = kernel.run("%%wxnotify -t item3-time-below\n%%time\ny3 = 2\nprint('y3 is', y3)")
    assert not errors(cell), text(cell)
    assert "Wall time" in text(cell) and "y3 is 2" in content(inbox, "item3-time-below")


def test_wxnotify_above_capture(kernel, inbox):
    cell = kernel.run("%%wxnotify -t item3-capture-below\n%%capture out3\nprint('captured text')")
    assert not errors(cell), text(cell)
    assert "captured text" not in text(cell)
    assert kernel.run("out3.stdout").outputs[0].data["text/plain"] == "'captured text\\n'"
    titled(inbox, "item3-capture-below")


def test_capture_above_wxnotify(kernel, inbox):
    cell = kernel.run("%%capture out4\n%%wxnotify -t item3-capture-above\nprint('captured too')")
    assert not errors(cell), text(cell)
    assert "captured too" in kernel.run("out4.stdout").outputs[0].data["text/plain"]
    assert f"[{cell.execution_count}]" in content(inbox, "item3-capture-above")  # the cell's own number


@pytest.mark.parametrize("flags", ["", "--no-stdout", "--no-display"])
def test_capture_above_wxnotify_holds_only_the_cells_output(kernel, inbox, flags):
    """What %%capture alone would capture, and nothing more; the receipt is shown in the cell, outside it."""
    kernel.run(f"%%capture {flags} alone5\nprint('captured text')\nfrom IPython.display import display\n"
               "display('shown')")
    marker = f"item3-capture-receipt{flags}"
    cell = kernel.run(f"%%capture {flags} out5\n%%wxnotify -t {marker}\nprint('captured text')\n"
                      "from IPython.display import display\ndisplay('shown')")
    assert not errors(cell), text(cell)
    same = kernel.run("(out5.stdout, out5.stderr, [o.data for o in out5.outputs]) == "
                      "(alone5.stdout, alone5.stderr, [o.data for o in alone5.outputs])")
    assert same.outputs[0].data["text/plain"] == "True", text(kernel.run("out5.stdout, out5.outputs"))
    titled(inbox, marker)
    assert [d for d in displays(cell) if d.startswith("wxnotify:")], text(cell)  # the user sees the receipt


def test_timeit_in_either_order_sends_one_message(kernel, inbox):
    to = "--to wxpusher://AT_test_token_0123456789abcdef/UID_test_timeit_"  # one each: never merged into one
    for source in (f"%%timeit -n 5 -r 3\n%%wxnotify -t item3-timeit-above {to}1\nz = 1",
                   f"%%wxnotify -t item3-timeit-below {to}2\n%%timeit -n 5 -r 3\nz = 1"):
        cell = kernel.run(source)
        assert not errors(cell) and "per loop" in text(cell), text(cell)
    kernel.run("%wxnotify wait 30")
    assert len(titled(inbox, "item3-timeit-above")) == 1 and len(titled(inbox, "item3-timeit-below")) == 1
    assert len([m for m in inbox.messages if "item3-timeit" in m["title"]]) == 2


def test_writefile_in_either_order(kernel, inbox, tmp_path):
    path = tmp_path / "written.txt"
    cell = kernel.run(f"%%wxnotify -t item3-writefile\n%%writefile {path}\nhello file")
    assert not errors(cell) and path.read_text() == "hello file\n"
    titled(inbox, "item3-writefile")
    ipy = tmp_path / "job.ipy"
    cell = kernel.run(f"%%writefile {ipy}\n%%wxnotify -t item8-written\nprint('from the file')")
    assert not errors(cell) and ipy.read_text().startswith("%%wxnotify -t item8-written")


# -- 4. the status matches the kernel's verdict ------------------------------------------------------------------


def test_failing_repr_of_the_last_value_is_a_failure(kernel, inbox):
    cell = kernel.run("%%wxnotify -t item4\nclass R:\n    def __repr__(self):\n"
                      "        raise ValueError('no repr')\nR()")
    assert errors(cell) == ["ValueError"]  # the kernel marks the cell failed (Run All stops here)
    message = titled(inbox, "item4")[0]
    assert "failed" in message["title"] and "ValueError: no repr" in message["content"]


def test_system_exit_in_a_cell_is_what_the_kernel_says(kernel, inbox):
    cell = kernel.run("%%wxnotify -t item4-exit\nimport sys\nsys.exit(0)")
    assert errors(cell) == ["SystemExit"]
    assert "failed" in titled(inbox, "item4-exit")[0]["title"]


def test_base_exception_subclass(kernel, inbox):
    cell = kernel.run("%%wxnotify -t item4-base\nclass Stop(BaseException):\n    pass\nraise Stop('halt')")
    assert errors(cell) == ["Stop"]
    message = titled(inbox, "item4-base")[0]
    assert "failed" in message["title"] and "Stop: halt" in message["content"]


# -- 5. the default title names the cell In[n] --------------------------------------------------------------------


def test_default_title_and_pings_name_the_right_cell(kernel, inbox):
    cell = kernel.run("%%wxnotify --every 0.2s\n# item5 long cell\nimport time\ntime.sleep(0.9)")
    cell2 = kernel.run("%%wxnotify --to wecombot://test-item5-key\npass")
    n, n2 = cell.execution_count, cell2.execution_count
    messages = titled(inbox, "item5 long cell", 2)
    assert all(m["content"].count(f"[{n}]") >= 1 for m in messages)
    final = wait_until(lambda: [m["content"] for m in inbox.messages if "test-item5-key" in str(m["query"])],
                       30, "the WeCom bot message")[0]
    assert f"Cell [{n2}] finished" in final and f"[{n2 + 1}]" not in final


# -- 6. {expr} and $var in the options ----------------------------------------------------------------------------


def test_expressions_in_options_expand_as_in_any_cell_magic(kernel, inbox):
    kernel.run("lr = 0.1\nrun_name = 'abc'\nlines = 2")
    cell = kernel.run("%%wxnotify -t item6-lr={lr}_$run_name\n'last value'")
    assert "'last value'" in [o.data["text/plain"] for o in cell.outputs if o.output_type == "execute_result"]
    titled(inbox, "item6-lr=0.1_abc")
    cell = kernel.run("%%wxnotify -t item6-tail --tail {lines}\nprint('a')\nprint('b')\nprint('c')\n1/0")
    body = content(inbox, "item6-tail")
    assert "b\nc" in body and "a\nb" not in body
    assert f"Cell In[{cell.execution_count}], line 5" in body or f'"Cell In[{cell.execution_count}]", line 5' in body


# -- 7. syntax errors point at the cell ---------------------------------------------------------------------------


@pytest.mark.parametrize("marker,body,kind", [("item7-syntax", "x = (1,\n", "SyntaxError"),
                                              ("item7-indent", "  y = 1\nz = 2", "IndentationError")])
def test_syntax_errors_point_at_the_cell(kernel, inbox, marker, body, kind):
    cell = kernel.run(f"%%wxnotify -t {marker}\n{body}")
    body_text = content(inbox, marker)
    assert kind in body_text and f"Cell In[{cell.execution_count}]" in body_text
    assert "ipykernel_" not in body_text and ".py" not in body_text.split(kind)[0].split("Traceback")[-1]


# -- 8. %run of an .ipy file runs its cells silently --------------------------------------------------------------


def test_run_of_an_ipy_file_notifies(kernel, inbox, tmp_path):
    script = tmp_path / "train.ipy"
    script.write_text("%%wxnotify -t item8-run\nprint('from train.ipy')\n", encoding="utf-8")
    cell = kernel.run(f"%run {script}")
    assert not errors(cell) and "from train.ipy" in text(cell)
    assert "from train.ipy" in content(inbox, "item8-run")


# -- 10. exception groups --------------------------------------------------------------------------------------------


def test_exception_group_traceback_is_not_repeated_in_the_output(kernel, inbox):
    kernel.run("%%wxnotify -t item10\nprint('before the group')\n"
               "raise ExceptionGroup('grp', [ValueError('a'), TypeError('b')])")
    body = content(inbox, "item10")
    assert body.count("Exception Group Traceback") == 1 and "ValueError: a" in body and "TypeError: b" in body
    assert "interactiveshell.py" not in body and "ipykernel_" not in body
    assert "before the group" in body
    assert "ExceptionGroup: grp (2 sub-exceptions)" in body.split("\n", 1)[0]  # what the phone shows first


# -- 11 and 12. help and a broken option line -----------------------------------------------------------------------


def test_help_is_shown_and_the_body_does_not_run(kernel):
    for source in ("%%wxnotify -h", "%%wxnotify --help\nran11 = True"):
        cell = kernel.run(source)
        assert not errors(cell), text(cell)
        assert "--after" in text(cell) and "--every" in text(cell)
    assert errors(kernel.run("ran11")) == ["NameError"]


def test_unterminated_quote_is_one_usage_line_and_the_body_does_not_run(kernel):
    cell = kernel.run("%%wxnotify -t 'my run\nran12 = True")
    shown = text(cell)
    assert "UsageError" in shown and "No closing quotation" in shown and "Traceback" not in shown
    assert "could not watch" not in shown
    assert errors(kernel.run("ran12")) == ["NameError"]


# -- neighbours: huge values and output, raw bytes, %run -i ---------------------------------------------------------


def test_huge_value_and_output_are_bounded(kernel, inbox):
    cell = kernel.run("%%wxnotify -t nb-huge\nprint('x' * 5_000_000)\nprint('end of output')\nlist(range(3_000_000))")
    assert not errors(cell)
    body = content(inbox, "nb-huge")
    assert "end of output" in body and len(body) < 40000


def test_raw_bytes_written_to_stdout_buffer(kernel, inbox):
    cell = kernel.run("%%wxnotify -t nb-bytes\nimport sys\nprint('text first', flush=True)\n"
                      "getattr(sys.stdout, 'buffer', sys.__stdout__.buffer).write(b'\\xff\\xfe raw\\n')")
    assert "not sent" not in text(cell)
    assert "text first" in content(inbox, "nb-bytes")


def test_run_dash_i_inside_a_watched_cell(kernel, inbox, tmp_path):
    script = tmp_path / "step.py"
    script.write_text("print('step ran with', seed)\nresult_i = seed * 2\n", encoding="utf-8")
    kernel.run("seed = 21")
    cell = kernel.run(f"%%wxnotify -t nb-run-i\n%run -i {script}\nresult_i")
    assert not errors(cell) and "42" in text(cell)
    assert "step ran with 21" in content(inbox, "nb-run-i")

