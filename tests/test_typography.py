"""The Chinese of the whole language table reads as a native speaker writes it: full-width punctuation beside
Chinese, no space between Chinese words, one space between Chinese and Latin letters or numbers (``5 分钟``), and
one word per concept, as docs/glossary.md lists them."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from wxnotify_magic.lang_zh import ZH

GLOSSARY = Path(__file__).resolve().parents[1] / "docs" / "glossary.md"

CJK = "\u3400-\u4dbf\u4e00-\u9fff"
FULL = "，。：；（）、！？“”《》"  # full-width punctuation: no space beside it
NUMBERS = {"n", "count", "seconds", "quota", "used", "total", "failed", "part", "size", "percent", "id", "code",
           "tail", "wait", "maximum", "index", "pending", "rank", "port", "status", "cell", "cells", "remaining"}
DURATIONS = {"duration", "after", "elapsed", "silence", "running", "work", "every", "age"}
BRANDS = ("Server酱",)  # written as its makers write it, without a space
# code inside Chinese text keeps its own punctuation: `...`, %magics and --options, URLs, key=value, paths
CODE = re.compile(r"``[^`]*``|`[^`]*`|%%?\w+\??|--?\w[\w-]*(?: [A-Z]+)?|\w+://\S*|\S*[=_./\\]\S*|'[^']*'|\{'.*?'\}")


def _filled(text: str) -> str:
    """``text`` with its fields filled as they will be: a number, a Chinese duration, or a neutral mark (a name that
    may be Chinese or Latin: no spacing rule can hold for it)."""
    out = []
    for literal, name, _, _ in string.Formatter().parse(text):
        out.append(literal)
        if name is None:
            continue
        out.append("9" if name in NUMBERS else "9 秒" if name in DURATIONS else "◇")
    return "".join(out)


def _prose(text: str) -> str:
    """The Chinese prose of ``text``: code replaced by a Latin mark, brands by a neutral one."""
    text = _filled(text)
    for brand in BRANDS:
        text = text.replace(brand, "◇")
    return CODE.sub("X", text)


def problems(text: str) -> list[str]:
    """The typography faults of one Chinese entry."""
    if not re.search(f"[{CJK}]", text):
        return []
    prose, found = _prose(text), []
    if m := re.search(rf"[{CJK}{FULL}] *[,;:()!?]|[,;:()!?] *[{CJK}{FULL}]", prose):
        found.append(f"ASCII punctuation beside Chinese: {m[0]!r}")
    if m := re.search(rf"[{CJK}{FULL}] +[{CJK}{FULL}]", prose):
        found.append(f"space between Chinese words or beside full-width punctuation: {m[0]!r}")
    if m := re.search(rf"[{CJK}][A-Za-z0-9]|[A-Za-z0-9][{CJK}]", prose):
        found.append(f"no space between Chinese and a Latin word or number: {m[0]!r}")
    if m := re.search(r"[ \t]{2,}|[「」]", prose.strip()):
        found.append(f"double space or corner quotes: {m[0]!r}")
    return found


def glossary() -> list[tuple[str, str, list[str]]]:
    """(English terms, the Chinese word, words not to use) from the table in docs/glossary.md."""
    text = GLOSSARY.read_text(encoding="utf-8")
    rows = text.split("<!-- glossary:start -->")[1].split("<!-- glossary:end -->")[0].strip().splitlines()[2:]
    out = []
    for row in rows:
        english, chinese, avoid, _ = (cell.strip() for cell in row.strip().strip("|").split("|"))
        out.append((english, chinese, [w.strip() for w in avoid.split(",") if w.strip()]))
    return out


TOKEN_WORD = re.compile(r"(?<![A-Za-z_?&])[Tt]oken(?![A-Za-z_=])")


def _uses(text: str, word: str) -> bool:
    if word.lower() == "token":
        return bool(TOKEN_WORD.search(_filled(text)))
    return word in text


@pytest.mark.parametrize("english", sorted(ZH))
def test_each_entry_follows_the_typography(english: str) -> None:
    assert not problems(ZH[english]), f"{english!r} -> {ZH[english]!r}: {problems(ZH[english])}"


def test_the_checks_catch_what_they_are_for() -> None:
    """The checker itself: each fault it is meant to catch is caught, and what is right passes."""
    assert problems("已通过 WxPusher, 企业微信群机器人 发送到微信")  # ASCII comma, space between Chinese words
    assert problems("5分0秒") and problems("{n}秒") and problems("运行了 {elapsed} 后崩溃")
    assert problems("失败 (code 3)") and problems("目标: 无") and problems("「训练」")
    assert not problems("已发送（WxPusher、企业微信群机器人）· 发送用时 {seconds:.1f} 秒")
    assert not problems("用 %wxnotify? 查看命令；或 `wxnotify config add 名称`")
    assert not problems("Server酱³ 的 SendKey")
    assert not problems("运行 {elapsed}后崩溃") and not problems("缺少{label}")


def test_the_glossary_is_read() -> None:
    terms = {english: (chinese, avoid) for english, chinese, avoid in glossary()}
    assert terms["destination"] == ("推送目标", ["目的地", "目标地址"]) and "token" in terms
    assert len(terms) >= 20


@pytest.mark.parametrize(("english", "chinese", "avoid"), glossary())
def test_one_word_per_concept(english: str, chinese: str, avoid: list[str]) -> None:
    """The word a concept has in the glossary is the only one the table uses for it."""
    used = [f"{key!r} -> {value!r}" for key, value in ZH.items() for word in avoid if _uses(value, word)]
    assert not used, f"{english} is {chinese}, not {avoid}:\n" + "\n".join(used)


# where the English names one of these concepts, the Chinese says the glossary's word for it
SAID = {r"\bdestinations?\b(?! URL)|\bfallback\b": ("推送目标", "备用目标"), r"(?<![?_/])\btoken\b(?!=)": ("令牌",),
        r"\boutbox\b": ("发件箱",), r"\breceipt\b": ("回执",), r"\bquota\b(?!\})": ("额度",),
        r"\bsettings file\b": ("设置文件",)}


def test_where_the_english_names_a_concept_the_chinese_uses_its_word() -> None:
    missing = [f"{key!r} -> {value!r}" for key, value in ZH.items() for pattern, words in SAID.items()
               if re.search(pattern, re.sub(r"\{[^}]*\}", "", key), re.I) and not any(w in value for w in words)]
    assert not missing, "\n".join(missing)
