"""Fault injection: the kinds of fault, their parameters, and the reply a failing fault gives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from .reply import Reply, json_reply, text_reply
from .services import JSON, SERVICE_NAMES, Service

#: fault kind -> {param: converter}; params given to add_fault are converted (and checked) with these
FAULT_PARAMS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "delay": {"seconds": float},
    "status": {"status": int, "retry_after": int, "body": str},
    "drop": {},
    "malformed": {"body": str},
    "code": {"code": int, "msg": str},
}
_FAULT_DEFAULTS: dict[str, JSON] = {"delay": {"seconds": 1.0}, "status": {"status": 500}}
_MALFORMED = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"


@dataclass
class Fault:
    """A queued fault, consumed by the next `count` matching requests."""

    kind: str
    service: str | None
    count: int
    params: JSON

    def as_dict(self) -> JSON:
        """The fault as the control endpoint lists it."""
        return {"kind": self.kind, "service": self.service, "count": self.count, **self.params}


def make_fault(kind: str, service: str | None = None, count: int = 1, **params: Any) -> Fault:
    """A checked fault with its params converted; ValueError naming the problem otherwise."""
    if kind not in FAULT_PARAMS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_PARAMS)}")
    if service is not None and service not in SERVICE_NAMES:
        raise ValueError(f"unknown service {service!r}; expected one of {', '.join(SERVICE_NAMES)}")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"count must be a positive integer, not {count!r}")
    allowed = FAULT_PARAMS[kind]
    if unknown := sorted(set(params) - set(allowed)):
        raise ValueError(f"fault {kind!r} takes {sorted(allowed) or 'no params'}, not {unknown}")
    try:
        values = {**_FAULT_DEFAULTS.get(kind, {}), **{k: allowed[k](v) for k, v in params.items()}}
    except (TypeError, ValueError) as err:
        raise ValueError(f"bad params for fault {kind!r}: {err}") from None
    return Fault(kind, service, count, values)


def fault_reply(service: Service, fault: Fault) -> tuple[Reply, Any]:
    """The reply of a failing fault (status, drop, malformed, code) and the response it records."""
    params = fault.params
    if fault.kind == "drop":
        return Reply(body=None), None
    if fault.kind == "code":
        code = params.get("code", service.fault_code)
        response = service.error(code, params.get("msg") or service.messages.get(code, "error"))
        return json_reply(response), response
    if fault.kind == "malformed":
        text = params.get("body", _MALFORMED)
        return text_reply(text, 200, "text/html"), text
    status = params["status"]
    text = params.get("body") or f"{status} {_phrase(status)}"
    headers = {"Retry-After": str(params["retry_after"])} if "retry_after" in params else {}
    return text_reply(text, status, "text/plain", headers), text


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
