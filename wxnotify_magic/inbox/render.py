"""A message's content as the phone shows it, as an HTML fragment that is safe to put in the page.

Markdown is rendered (markdown-it-py), HTML is sanitized (nh3: no script, no event handler, no style, links and
images only over http(s), images also as ``data:image/...``), text stays text, JSON is pretty-printed. Long
code blocks, output tails and tracebacks are folded to their end (the exception line, the latest output), with
the rest a tap away. markdown-it-py and nh3 are the optional ``inbox`` extra, imported on first use: without
them every format is shown as escaped text.
"""

from __future__ import annotations

import base64
import html
import json
import re
from functools import cache
from typing import Any

from ..i18n import tr

FOLD_TAIL = 12  # lines of a long block always shown: its end
TEXT_HEAD = 8  # lines at the start of a long text message always shown: the verdict and the facts
_FOLD_SLACK = 4  # fold only when it hides more lines than this
_PRE = re.compile(r"<pre>(?:<code>)?([^<]*)(?:</code>)?</pre>")
_DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif|webp);base64,[a-z0-9+/=\s]*", re.IGNORECASE)
_WECOM_COLORS = frozenset({"info", "comment", "warning"})


def available() -> bool:
    """Whether Markdown and HTML can be rendered (markdown-it-py and nh3 are installed)."""
    try:
        import markdown_it  # noqa: F401
        import nh3  # noqa: F401
    except ImportError:
        return False
    return True


def render(fmt: str, content: str, image: bytes | None = None, lang: str | None = None) -> str:
    """``content`` in format ``fmt`` (text, markdown, html, json, image) as a safe HTML fragment."""
    if fmt == "image":
        return _image(image, lang)
    if fmt == "json":
        return fold(_pretty_json(content), TEXT_HEAD, FOLD_TAIL, lang)
    if fmt in ("markdown", "html") and available():
        markup = _markdown().render(content) if fmt == "markdown" else content
        return _fold_pres(sanitize(markup), lang)
    return fold(content, TEXT_HEAD, FOLD_TAIL, lang, cls="text")


def fold(text: str, head: int, tail: int, lang: str | None = None, cls: str = "") -> str:
    """``text`` as preformatted blocks; when long, the middle (or, with head 0, the start) hidden until tapped."""
    attr = f' class="{cls}"' if cls else ""
    lines = text.rstrip("\n").split("\n")
    hidden = len(lines) - head - tail
    if hidden <= _FOLD_SLACK:
        return f"<pre{attr}>{_esc(text.rstrip(chr(10)))}</pre>"
    label = tr("Show {n} earlier lines", lang=lang, n=hidden) if head == 0 else tr(
        "Show {n} more lines", lang=lang, n=hidden)
    parts = [f"<pre>{_esc(chr(10).join(lines[:head]))}</pre>"] if head else []
    parts.append(f"<details><summary>{_esc(label)}</summary><pre>{_esc(chr(10).join(lines[head:-tail]))}</pre>"
                 "</details>")
    parts.append(f"<pre>{_esc(chr(10).join(lines[-tail:]))}</pre>")
    return f'<div class="fold{" " + cls if cls else ""}">{"".join(parts)}</div>'


def sanitize(markup: str) -> str:
    """HTML with only harmless tags and attributes kept (nh3); script and style contents removed."""
    import nh3

    attributes = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
    attributes["font"] = {"color"}
    attributes["a"] = {"href", "title"}
    attributes["img"] = {"src", "alt", "title", "width", "height"}
    return nh3.clean(markup, tags=set(nh3.ALLOWED_TAGS) | {"font"}, attributes=attributes,
                     attribute_filter=_attribute_filter, url_schemes={"http", "https", "mailto", "data"},
                     strip_comments=True, link_rel="noopener noreferrer")


def _attribute_filter(tag: str, name: str, value: str) -> str | None:
    """Links over http(s) or mailto, images over http(s) or as data:image; WeCom's three font colours."""
    if name in ("href", "src", "cite"):
        url = value.strip()
        lower = url.lower()
        if tag == "img" and name == "src" and _DATA_IMAGE.fullmatch(url):
            return url
        if lower.startswith(("http://", "https://")) or (name == "href" and lower.startswith("mailto:")):
            return url
        return None
    if tag == "font" and name == "color":
        return value if value in _WECOM_COLORS else None
    return value


@cache
def _markdown() -> Any:
    """One markdown-it renderer: CommonMark with tables and strikethrough, raw HTML kept (sanitized
    afterwards), and a newline as a line break, as the services' apps show it."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True, "breaks": True}).enable(["table", "strikethrough"])


def _fold_pres(markup: str, lang: str | None) -> str:
    """Fold every long plain ``<pre>`` block (sanitized markup: no tag inside means plain text) to its end."""
    return _PRE.sub(lambda m: fold(html.unescape(m[1]), 0, FOLD_TAIL, lang), markup)


def _pretty_json(content: str) -> str:
    try:
        return json.dumps(json.loads(content), ensure_ascii=False, indent=2)
    except ValueError:
        return content


def _image(raw: bytes | None, lang: str | None) -> str:
    from .services import image_type

    mime = image_type(raw or b"")
    if raw is None or mime is None:
        return f'<p class="text">{_esc(tr("image", lang=lang))}</p>'
    data = base64.b64encode(raw).decode()
    return f'<img class="picture" alt="{_esc(tr("image", lang=lang))}" src="data:{mime};base64,{data}">'


def _esc(text: str) -> str:
    return html.escape(text, quote=True)
