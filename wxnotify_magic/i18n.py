"""The language table: every user-facing string goes through ``tr()`` (English text is the key).

``WxNotify.lang`` is ``auto`` (Chinese when the locale is Chinese, else English), ``zh`` or ``en``. Strings that
are declared in one place and shown elsewhere (provider hints, labels) are marked with ``N_()``, which returns
them unchanged; ``tr()`` translates them where they are shown. Tracebacks and output are never translated.
A test collects every literal passed to ``tr()`` or ``N_()`` and fails when one has no Chinese entry.

The table is ``lang_zh.py`` plus the entries each provider module declares about its own service (its labels,
hints, error meanings), added when the providers are registered (``add_entries``): the table does not grow
with the number of services.
"""

from __future__ import annotations

import locale
import os
import re
from functools import cache

from .patterns import compiled

LANGUAGES = ("auto", "zh", "en")
_chosen = "auto"
_ADDED: dict[str, dict[str, str]] = {"zh": {}}  # entries declared next to what they translate (the providers)


def N_(text: str) -> str:
    """Mark ``text`` for translation where it is declared; ``tr()`` translates it where it is shown."""
    return text


def detect() -> str:
    """``zh`` when the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``, else the system's) is Chinese, else ``en``."""
    env = os.environ
    return _detect(env.get("LC_ALL", ""), env.get("LC_MESSAGES", ""), env.get("LANG", ""))


@cache
def _detect(*values: str) -> str:
    for value in values:
        if value.strip():
            return "zh" if value.strip().lower().startswith("zh") else "en"
    try:
        code = locale.getlocale()[0] or ""
    except ValueError:
        code = ""
    return "zh" if code.lower().startswith(("zh", "chinese")) else "en"


def set_language(lang: str) -> None:
    """Choose ``auto``, ``zh`` or ``en`` for this process (the settings call this)."""
    global _chosen
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    _chosen = lang


def language(lang: str | None = None) -> str:
    """The effective language, ``zh`` or ``en``, for ``lang`` (default: the chosen one)."""
    lang = lang or _chosen
    return detect() if lang == "auto" else lang


def tr(msgid: str, /, lang: str | None = None, **values: object) -> str:
    """``msgid`` in the current (or given) language, with ``{name}`` fields filled from ``values``."""
    text = msgid
    if language(lang) == "zh":
        from .lang_zh import ZH

        text = ZH.get(msgid) or _ADDED["zh"].get(msgid) or msgid
    return text.format(**values) if values else text


def add_entries(lang: str, entries: dict[str, str]) -> None:
    """Add a module's own entries (a provider's labels and error meanings) to the table of ``lang``."""
    _ADDED.setdefault(lang, {}).update(entries)


def table(lang: str = "zh") -> dict[str, str]:
    """The whole table of ``lang``: ``lang_zh.py`` and every added entry (import the providers first)."""
    from .lang_zh import ZH

    return {**ZH, **_ADDED.get(lang, {})}


# argparse's and shlex's complaints about an option line (their English templates, as Python 3.10-3.14 and
# IPython's arg_split word them) -> ours in the table. What the user typed stays as it is (it has been redacted).
_ARGUMENT = r"argument (?P<name>\S+): (?P<problem>.+)"
_COMPLAINTS = (
    (r"unrecognized arguments: (?P<args>.*)", N_("unrecognized arguments: {args}")),
    (r"invalid choice: (?P<value>.*?) \(choose from (?P<choices>.*)\)",
     N_("invalid choice: {value} (choose from {choices})")),
    (r"invalid int value: (?P<value>.*)", N_("invalid int value: {value}")),
    (r"invalid float value: (?P<value>.*)", N_("invalid float value: {value}")),
    (r"invalid (?P<type>\S+) value: (?P<value>.*)", N_("invalid {type} value: {value}")),
    (r"expected one argument", N_("expected one argument")),
    (r"expected at most one argument", N_("expected at most one argument")),
    (r"expected at least one argument", N_("expected at least one argument")),
    (r"expected (?P<n>\d+) arguments?", N_("expected {n} argument(s)")),
    (r"the following arguments are required: (?P<names>.*)", N_("the following arguments are required: {names}")),
    (r"one of the arguments (?P<names>.*) is required", N_("one of the arguments {names} is required")),
    (r"not allowed with argument (?P<name>.*)", N_("not allowed with argument {name}")),
    (r"ignored explicit argument (?P<value>.*)", N_("ignored explicit argument {value}")),
    (r"ambiguous option: (?P<option>\S+) could match (?P<matches>.*)",
     N_("ambiguous option: {option} could match {matches}")),
    (r"No closing quotation", N_("No closing quotation")),
    (r"No escaped character", N_("No escaped character")),
)


@cache
def _complaint_patterns() -> tuple[re.Pattern[str], tuple[tuple[re.Pattern[str], str], ...]]:
    """Compiled on the first complaint, not at ``%load_ext``."""
    return re.compile(_ARGUMENT, re.S), tuple((re.compile(p, re.S), msgid) for p, msgid in _COMPLAINTS)


def tr_usage(message: str, lang: str | None = None) -> str:
    """An argparse or shlex complaint (``argument --on: invalid choice: 'x' (choose from ...)``) in the current
    (or given) language; a message it does not know is returned as it is."""
    if language(lang) != "zh":
        return message
    argument, complaints = _complaint_patterns()
    m = argument.fullmatch(message)
    if m:
        return tr("argument {name}: {problem}", lang, name=m["name"], problem=tr_usage(m["problem"], lang))
    for pattern, msgid in complaints:
        if m := pattern.fullmatch(message):
            return tr(msgid, lang, **m.groupdict())
    return message


_HEADING = r"(?m)^(usage|options|optional arguments|positional arguments):"
_HEADINGS = {"usage": N_("usage:"), "options": N_("options:"), "optional arguments": N_("options:"),
             "positional arguments": N_("positional arguments:")}


_HELP_LINE = "show this help message and exit"


def tr_help(text: str, lang: str | None = None) -> str:
    """argparse's help with its headings (``usage:``, ``options:``, ``positional arguments:``) and its own
    ``-h, --help`` line in the language."""
    if language(lang) != "zh":
        return text
    text = compiled(_HEADING).sub(lambda m: tr(_HEADINGS[m[1]], lang), text)
    return text.replace(_HELP_LINE, tr("show this help message and exit", lang))
