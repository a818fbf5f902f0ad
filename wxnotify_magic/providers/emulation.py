"""How a provider module declares its service's answers in the local inbox (``INBOX``): the path it serves,
the validation of its fields and limits, its success and business-error bodies, and its rate-limit code.

These are pure functions from a parsed request to the JSON the service answers, written from the service's
documentation independently of the module's ``build``: the inbox checks a request as the service would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True)
class Request:
    """One request to a service path, parsed."""

    method: str
    path: str
    query: dict[str, str]
    body: Any  # a JSON value, a form dict, raw text, or None when empty
    groups: tuple[str | None, ...] = ()  # captures of the service's path pattern

    @property
    def fields(self) -> dict[str, Any]:
        """Query parameters overlaid by a dict body (for services that read both)."""
        return {**self.query, **(self.body if isinstance(self.body, dict) else {})}


class Reject(Exception):
    """A business error: the service answers HTTP 200 with this code and message."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(code, msg)
        self.code, self.msg = code, msg


def text(value: Any) -> str:
    """A field as text: '' for None, JSON for non-strings."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def check_len(value: str, limit: int, code: int, msg: str) -> None:
    """Reject when value is longer than limit characters."""
    if len(value) > limit:
        raise Reject(code, msg)


@dataclass(frozen=True)
class Service:
    """How the inbox emulates one push service."""

    name: str
    path: re.Pattern[str]
    methods: frozenset[str]
    answer: Callable[[Request], JSON]  # the success body; raises Reject
    error: Callable[[int, str], JSON]  # the business error body
    text: Callable[[Request], tuple[str, str]]  # (title, content) as recorded
    format: Callable[[Request], str]  # how the phone shows the content: text, markdown, html, json, image
    fault_code: int  # the business code of a "code" fault: the service's rate-limit answer
    messages: dict[int, str] = field(default_factory=dict)  # known messages of business codes
    image: Callable[[Any], bytes | None] | None = None  # the raw image of an image message's body (to show it)

    def respond(self, req: Request) -> tuple[JSON, bool]:
        """The JSON body the service answers, and whether it accepted the message."""
        try:
            return self.answer(req), True
        except Reject as err:
            return self.error(err.code, err.msg), False


POST, GET_POST = frozenset({"POST"}), frozenset({"GET", "POST"})

__all__ = ["GET_POST", "JSON", "POST", "Reject", "Request", "Service", "check_len", "text"]
