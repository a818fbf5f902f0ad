"""Figures: ``%%wxnotify --figure`` sends the last image the cell displayed to the services that carry one.

Through a real shell and a real kernel (matplotlib inline), against the local inbox, which checks a WeCom
image message as the service does (base64, md5 of the bytes, at most 2 MB, PNG or JPEG).
"""

from __future__ import annotations

import base64
import hashlib
import io
import random
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import WECOM_KEY, WX_URL
from nbclient import NotebookClient

from wxnotify_magic import figures
from wxnotify_magic.message import Notification
from wxnotify_magic.providers import parse_destination
from wxnotify_magic.providers.wecombot import wecom_image

WECOM = f"wecombot://{WECOM_KEY}"
LIMIT = 2 * 1024 * 1024


def png(width: int = 4, height: int = 3, color: tuple[int, int, int] = (200, 30, 30), noise: bool = False) -> bytes:
    """A valid RGB PNG made without any imaging library (``noise`` makes it incompressible)."""
    rng = random.Random(7)
    rows = b"".join(b"\x00" + (bytes(rng.getrandbits(8) for _ in range(3 * width)) if noise else
                               bytes(color) * width) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 1))
            + chunk(b"IEND", b""))


def figure_cell(images: list[bytes], extra: str = "", options: str = "--figure") -> str:
    shown = "\n".join(f"display(Image(base64.b64decode({base64.b64encode(i).decode()!r})))" for i in images)
    return (f"%%wxnotify {options} -t plot --to {WECOM} --to {WX_URL}\n"
            f"import base64\nfrom IPython.display import Image, display\n{shown}\n{extra}")


def sent_image(message: dict[str, Any]) -> bytes:
    raw = wecom_image(message["body"])
    assert raw is not None
    assert hashlib.md5(raw).hexdigest() == message["body"]["image"]["md5"]
    return raw


# --- fitting ---------------------------------------------------------------------------------------------------


def test_a_small_image_is_sent_as_it_is() -> None:
    small = png()
    assert figures.fit(small, LIMIT) == (small, "")
    assert figures.image_type(small) == "image/png"


def test_a_large_image_is_re_encoded_to_fit() -> None:
    pytest.importorskip("PIL")
    big = png(900, 900, noise=True)
    assert len(big) > LIMIT
    fitted, why = figures.fit(big, LIMIT)
    assert why == "" and 0 < len(fitted) <= LIMIT and figures.image_type(fitted) == "image/jpeg"


def test_without_pillow_a_large_image_is_skipped_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    figures.fit.cache_clear()
    monkeypatch.setitem(sys.modules, "PIL", None)  # as if Pillow were not installed
    big = png(900, 900, noise=True)
    assert figures.fit(big, LIMIT) == (b"", "it is larger than 2 MB and Pillow is not installed to shrink it "
                                            "(pip install Pillow)")
    figures.fit.cache_clear()


def test_something_that_is_not_an_image_is_refused() -> None:
    assert figures.fit(b"GIF89a....", LIMIT) == (b"", "it is not a PNG or JPEG image")


def test_providers_declare_whether_they_carry_images() -> None:
    note = Notification(status="success", title="t", figure=base64.b64encode(png()).decode(), figure_type="image/png")
    carried = {name: parse_destination(url).provider.figure(note)
               for name, url in (("wecombot", WECOM), ("wxpusher", WX_URL))}
    assert carried["wecombot"] == (png(), "")
    assert carried["wxpusher"] == (b"", "figure not sent via WxPusher: it cannot carry an uploaded image")


# --- through a real shell --------------------------------------------------------------------------------------


def test_figure_goes_to_wecom_after_the_text_and_the_receipt_names_the_others(ip: Any, inbox: Any,
                                                                             capsys: pytest.CaptureFixture[str]
                                                                             ) -> None:
    ip.run_line_magic("config", "WxNotify.wait = 30")  # the receipt is read below: a loaded machine must not cut it
    first, last = png(color=(1, 2, 3)), png(6, 5, color=(250, 250, 0))
    result = ip.run_cell(figure_cell([first, last], "print('loss 0.1')"), store_history=True)
    assert result.success
    messages = inbox.wait_for(3)
    wecom = [m for m in messages if m["service"] == "wecombot"]
    assert [m["body"]["msgtype"] for m in wecom] == ["markdown_v2", "image"]  # the text first, then the figure
    assert sent_image(wecom[1]) == last  # the last image the cell displayed
    wx = [m for m in messages if m["service"] == "wxpusher"]
    assert len(wx) == 1 and "loss 0.1" in wx[0]["content"]
    ip.run_line_magic("wxnotify", "wait 30")  # a terminal cell's receipt is printed after the cell
    out = capsys.readouterr().out
    assert "figure not sent via WxPusher: it cannot carry an uploaded image" in out


def test_the_cell_value_counts_as_displayed(ip: Any, inbox: Any) -> None:
    image = png(2, 2)
    cell = (f"%%wxnotify --figure --to {WECOM}\nimport base64\nfrom IPython.display import Image\n"
            f"Image(base64.b64decode({base64.b64encode(image).decode()!r}))")
    assert ip.run_cell(cell, store_history=True).success
    wecom = inbox.wait_for(2)
    assert sent_image(wecom[1]) == image


def test_no_figure_without_the_option(ip: Any, inbox: Any) -> None:
    assert ip.run_cell(figure_cell([png()], options=""), store_history=True).success
    messages = inbox.wait_for(2)
    assert sorted(m["body"].get("msgtype", "") for m in messages) == ["", "markdown"]


def test_the_setting_turns_figures_on_for_every_cell(ip: Any, inbox: Any) -> None:
    ip.run_line_magic("config", "WxNotify.figure = True")
    assert ip.run_cell(figure_cell([png()], options=""), store_history=True).success
    assert [m["body"].get("msgtype") for m in inbox.wait_for(3) if m["service"] == "wecombot"] == ["markdown", "image"]


def test_a_cell_that_shows_no_image_sends_only_text(ip: Any, inbox: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert ip.run_cell(f"%%wxnotify --figure --to {WECOM}\nprint('no plot')", store_history=True).success
    [message] = inbox.wait_for(1)
    assert message["body"]["msgtype"] == "markdown_v2" and "figure" not in capsys.readouterr().out


def test_a_too_large_figure_without_pillow_still_sends_the_text(ip: Any, inbox: Any, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    figures.fit.cache_clear()
    monkeypatch.setitem(sys.modules, "PIL", None)
    ip.run_line_magic("config", "WxNotify.wait = 30")  # the receipt is read below: a loaded machine must not cut it
    assert ip.run_cell(figure_cell([png(900, 900, noise=True)]), store_history=True).success
    messages = inbox.wait_for(2)
    assert sorted(m["body"].get("msgtype", "") for m in messages) == ["", "markdown"]
    ip.run_line_magic("wxnotify", "wait 30")
    assert "figure not sent via WeCom group bot: it is larger than 2 MB and Pillow is not installed" in \
        capsys.readouterr().out
    figures.fit.cache_clear()


# --- in a real kernel, matplotlib inline -----------------------------------------------------------------------


def test_matplotlib_figure_from_a_kernel(home: Path, inbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    cells = ["%load_ext wxnotify_magic\n%matplotlib inline",
             f"%%wxnotify --figure -t 'loss curve' --to {WECOM}\nimport matplotlib.pyplot as plt\n"
             "plt.plot([3, 2, 1.5, 1.2, 1.1])\nplt.title('loss')\nprint('epoch 5 loss 1.1')"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = [o for o in nb.cells[1].outputs if "image/png" in o.get("data", {})]
    assert len(shown) == 1  # the figure is still shown in the notebook, as usual
    text, image = inbox.wait_for(2)
    assert text["body"]["msgtype"] == "markdown_v2" and "epoch 5 loss 1.1" in text["content"]
    assert sent_image(image) == base64.b64decode(shown[0].data["image/png"])  # the very figure the cell showed
    from PIL import Image

    assert Image.open(io.BytesIO(sent_image(image))).size[0] > 100
