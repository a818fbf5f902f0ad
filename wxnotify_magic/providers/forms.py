"""How a provider declares the URL forms it accepts beyond its fields: query options, and the cutting of a URL.

apprise's general arguments (``overflow``, ``retry``, ``rto`` ...) are declared once here, so that URLs apprise
prints paste as they are; a value that would ask for something wxnotify does not do is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit


@dataclass(frozen=True)
class Option:
    """A setting given in the URL's query (``?format=markdown``, ``?channel=mail``): neither a recipient nor a secret.

    ``choices`` are the accepted values (case-insensitive; ``aliases`` maps other spellings to them), else any value
    matching ``pattern``. An ``inert`` option is accepted so that URLs written by apprise paste as they are, but
    changes nothing: wxnotify's own delivery does what it asks (``retry``, ``rto``) or already behaves so
    (``verify=yes``); a value that would ask for something else is refused like an unknown parameter.
    """

    name: str
    query: tuple[str, ...]
    choices: tuple[str, ...] = ()
    pattern: str = r".+"
    aliases: tuple[tuple[str, str], ...] = ()
    many: bool = False  # a comma-separated list of choices (``channel=wechat,mail``)
    inert: bool = False
    secret: bool = False  # never shown in a redacted label (a callback URL may carry its own token)

    def read(self, value: str) -> str | None:
        """The normalised value, or None when ``value`` is not accepted."""
        items = [v.strip() for v in value.split(",") if v.strip()] if self.many else [value.strip()]
        if not items:
            return None
        aliases = dict(self.aliases)
        out = []
        for item in items:
            item = aliases.get(item.lower(), item)
            if self.choices:
                match = next((c for c in self.choices if c.lower() == item.lower()), None)
                if match is None:
                    return None
                item = match
            elif not re.fullmatch(self.pattern, item, flags=re.IGNORECASE):
                return None
            out.append(item)
        return ",".join(dict.fromkeys(out))


_YES = ("yes", "true", "1", "on", "y", "enable", "enabled")
_NO = ("no", "false", "0", "off", "n", "disable", "disabled")
_NUMBER = r"\d{1,6}(?:\.\d{1,6})?"

APPRISE_OPTIONS = (  # apprise's global URL arguments (apprise writes some of them into every URL it prints)
    Option("overflow", ("overflow",), ("upstream", "truncate"), inert=True),  # wxnotify cuts to each limit itself
    Option("emojis", ("emojis",), _NO, inert=True),
    Option("store", ("store",), _YES + _NO, inert=True),
    Option("retry", ("retry",), pattern=r"\d{1,3}", inert=True),  # the outbox retries (backoff, 6 attempts)
    Option("wait", ("wait",), pattern=_NUMBER, inert=True),
    Option("optional", ("optional",), _NO, inert=True),
    Option("verify", ("verify",), _YES, inert=True),  # TLS certificates are always checked
    Option("redirect", ("redirect",), _NO, inert=True),  # redirects are never followed
    Option("rto", ("rto",), pattern=_NUMBER, inert=True),  # the transport's own timeouts apply
    Option("cto", ("cto",), pattern=_NUMBER, inert=True),
)


def format_option(*choices: str) -> Option:
    """``?format=``: the formats this service can show (``""`` = the provider's own choice)."""
    return Option("format", ("format",), choices)


@dataclass(frozen=True)
class UrlParts:
    """A destination URL cut into what the parser reads: ``scheme://user@host/path?query``."""

    scheme: str
    user: str
    host: str
    path: list[str]  # unquoted segments after the host
    query: list[tuple[str, str]]  # (lower-cased name, value)


def split_url(url: str) -> UrlParts:
    """Cut ``url`` into its parts (ValueError when malformed). ``#`` is a plain character, as in apprise
    (``pushplus://T/#topic``)."""
    parts = urlsplit(url.strip().replace("#", "%23"))  # raises ValueError when malformed
    user, _, host = parts.netloc.rpartition("@")
    path = [unquote(p) for p in parts.path.split("/") if p]
    query = [(k.lower(), v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return UrlParts(parts.scheme.lower(), unquote(user), unquote(host), path, query)
