"""What the inbox refuses before reading a request: foreign Host names (DNS rebinding), cross-origin writes,
and bodies it will not read (too large, of unknown length). Pure functions of the request's headers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from email.message import Message

from .reply import Reply, json_reply

#: a 2 MB image as base64 (2.8 MB) in a JSON body fits with room to spare
MAX_BODY = 4 * 1024 * 1024
_WRITES = frozenset({"POST", "PUT", "DELETE", "PATCH"})


def split_host(host: str) -> tuple[str, str] | None:
    """``(name, port)`` of a Host header value (port '' when absent), or None when it is malformed."""
    if host.startswith("["):
        name, sep, rest = host[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None
        port = rest[1:]
    else:
        name, _, port = host.partition(":")
    if not name or (port and not port.isdigit()) or (port == "" and host.endswith(":")):
        return None
    return name.lower(), port


def is_loopback_name(name: str, bound: str = "") -> bool:
    """localhost, a loopback IP literal, or the specific address the inbox is bound to."""
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_loopback or (name == bound and not address.is_unspecified)


def refusal(method: str, headers: Message | Mapping[str, str], bound: str = "",
            max_body: int = MAX_BODY) -> Reply | None:
    """The reply refusing this request before its body is read, or None when it may proceed.

    ``bound`` is the address the server listens on: a specific address is also accepted as a Host name.
    """
    host = headers.get("Host") or ""
    parts = split_host(host)
    if parts is None or not is_loopback_name(parts[0], bound):
        return _refuse(403, "Host not allowed: the inbox answers only to localhost, 127.0.0.1 and [::1]")
    origin = headers.get("Origin")
    if method in _WRITES and origin is not None and origin.lower() != f"http://{host.lower()}":
        return _refuse(403, "cross-origin request refused: Origin is not this inbox")
    if headers.get("Transfer-Encoding"):
        return _refuse(411, "send a Content-Length (chunked bodies are not read)")
    length = headers.get("Content-Length") or "0"
    if not length.isdigit():
        return _refuse(400, "bad Content-Length")
    if int(length) > max_body:
        return _refuse(413, f"request body over {max_body} bytes")
    return None


def _refuse(status: int, error: str) -> Reply:
    reply = json_reply({"error": error}, status)
    reply.close = True
    return reply
