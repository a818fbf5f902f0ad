"""Through apprise, the same rules as for the built-in services: no redirect followed (the token is not forwarded,
the receipt does not say sent), and no log record of apprise or urllib3 shows a token."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from rawhttp import RawServer

pytest.importorskip("apprise")

GOTIFY_KEY = "AgotifyKey0123456"
KEYS = {"bark": "BarkDeviceKeyQWERTY1234", "pushdeer": "PDU1234TpushdeerKeyABCDE", "ntfy": "ntfytopicSecret99"}


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirect_is_not_followed_and_the_token_not_forwarded(home, status):
    import wxnotify_magic as wx

    with RawServer(lambda h: h.answer(200, {"id": 1})) as elsewhere:
        target = f"http://127.0.0.1:{elsewhere.httpd.server_address[1]}/message"
        with RawServer(lambda h: h.answer(status, b"", {"Location": target})) as service:
            url = f"gotify://127.0.0.1:{service.httpd.server_address[1]}/{GOTIFY_KEY}"
            receipt = wx.send("hi", to=url, wait=10)
            assert len(service.requests) == 1
        assert elsewhere.requests == [], "the redirect was followed: the key went to another origin"
    assert receipt.status == "failed" and "redirect" in receipt.reason and "sent" not in receipt.line
    assert GOTIFY_KEY not in receipt.line


def records_of(caplog: Any) -> str:
    return "\n".join(f"{r.name}: {r.getMessage()}" for r in caplog.records)


@pytest.mark.parametrize("scheme", sorted(KEYS))
def test_debug_records_of_apprise_and_urllib3_show_no_key(home, caplog, scheme):
    import wxnotify_magic as wx

    caplog.set_level(logging.DEBUG)
    with RawServer(lambda h: h.answer(200, {"code": 200, "message": "success"})) as service:
        url = f"{scheme}://127.0.0.1:{service.httpd.server_address[1]}/{KEYS[scheme]}"
        assert wx.send("hi", to=url, wait=10).ok
    logged = records_of(caplog)
    assert "apprise" in logged and "urllib3" in logged  # they did log the send
    assert KEYS[scheme] not in logged, logged


def test_apprise_warning_about_a_bad_url_shows_no_token(home, caplog):
    from wxnotify_magic.providers import DestinationError, parse_destination

    caplog.set_level(logging.WARNING)
    with pytest.raises(DestinationError):
        parse_destination("lark://Secret_Lark_Token_Value!!")
    assert "Secret_Lark_Token" not in records_of(caplog)
