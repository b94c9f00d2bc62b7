"""No token, nor its signature, ever reaches a log, stdout or stderr."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from lift import Context
from lift.middleware import JWTConfig, websocket_auth
from lift.observability import JSONLogger
from lift.testing import events
from lift.websocket import MemoryConnectionStore, authorizer
from tests.auth_support import (
    AUDIENCE,
    ISSUER,
    SECRET,
    flip_payload_char,
    harness,
    public_pem,
    resign_payload,
    rsa_key,
    signature_of,
    token,
    unsigned_token,
)

SOURCES: dict[str, Callable[[str], dict[str, Any]]] = {
    "query-Authorization": lambda t: {"query": {"Authorization": f"Bearer {t}"}},
    "query-token": lambda t: {"query": {"token": t}},
    "header": lambda t: {"headers": {"Authorization": f"Bearer {t}"}},
    "subprotocol": lambda t: {"subprotocols": ["chat.v1", t]},
}


def tokens() -> dict[str, str]:
    """Good and bad tokens, each distinct."""
    good = token(sub="log-user")
    return {
        "good": good,
        "expired": token(exp=int(time.time()) - 60),
        "not-yet-valid": token(nbf=int(time.time()) + 600),
        "tampered": flip_payload_char(token()),
        "forged-claims": resign_payload(token(), sub="root"),
        "wrong-secret": token("another-secret-" + "y" * 40),
        "wrong-issuer": token(iss="https://evil.example/"),
        "alg-none": unsigned_token(),
        "rs256": token(rsa_key(), "RS256"),
    }


def secrets_in(value: str) -> list[str]:
    """The strings that must never appear: the token and its signature."""
    found = [value]
    signature = signature_of(value)
    if len(signature) >= 16:
        found.append(signature)
    return found


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_connects_and_refusals_never_log_tokens(
    source: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    stream = io.StringIO()
    store = MemoryConnectionStore()
    config = JWTConfig(secret=SECRET, algorithms=["HS256"], issuer=ISSUER, audience=AUDIENCE)
    h = harness(websocket_auth(config), store, logger=JSONLogger(level="DEBUG", stream=stream))

    # A $connect handler that fails: its traceback is logged, never a token.
    @h.app.websocket("boom")
    def boom(ctx: Context) -> None:
        raise RuntimeError("handler failure")

    values = tokens()
    statuses: dict[str, int] = {}
    for name, value in values.items():
        event = events.websocket_connect(**SOURCES[source](value))
        statuses[name] = h.app(event, None)["statusCode"]
        cid = event["requestContext"]["connectionId"]
        h.app(events.websocket_message({"action": "boom"}, connection_id=cid), None)
        h.app(events.websocket_message({"text": "x"}), None)  # no identity: refused
        h.app(events.websocket_disconnect(connection_id=cid), None)
    assert statuses["good"] == 200
    assert all(status == 401 for name, status in statuses.items() if name != "good")

    out = capsys.readouterr()
    everything = "\n".join(
        [
            stream.getvalue(),
            out.out,
            out.err,
            caplog.text,
            *(r.getMessage() for r in caplog.records),
        ]
    )
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    refusals = [r for r in records if r["message"] == "WebSocket authentication failed"]
    # Per bad token: the $connect, then both messages (no identity); the good one: 1.
    assert len(refusals) == 3 * (len(values) - 1) + 1
    assert {r["reason"] for r in refusals} == {
        "expired",
        "not_yet_valid",
        "invalid",
        "unauthenticated",
    }
    assert all(r["connection_id"] for r in refusals)
    assert any(r.get("traceback") for r in records), "the failing handler was logged"
    for value in values.values():
        for secret in secrets_in(value):
            assert secret not in everything


def test_authorizer_never_logs_tokens(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    from tests.auth_support import authorizer_event

    hs = authorizer(
        JWTConfig(secret=SECRET, algorithms=["HS256"], issuer=ISSUER, audience=AUDIENCE)
    )
    rs = authorizer(
        JWTConfig(public_key=public_pem(rsa_key()), algorithms=["RS256"], audience=AUDIENCE)
    )
    values = tokens()
    outcomes: dict[str, str] = {}
    for name, value in values.items():
        for source, where in SOURCES.items():
            for handler_name, handler in (("hs", hs), ("rs", rs)):
                try:
                    handler(authorizer_event(**where(value)), None)
                    outcomes[f"{handler_name}:{name}:{source}"] = "allow"
                except Exception as exc:
                    assert str(exc) == "Unauthorized"
                    outcomes[f"{handler_name}:{name}:{source}"] = "deny"
    assert outcomes["hs:good:header"] == "allow"
    assert outcomes["rs:rs256:subprotocol"] == "allow"
    assert outcomes["hs:expired:query-token"] == "deny"
    out = capsys.readouterr()
    everything = "\n".join([out.out, out.err, caplog.text])
    assert "WebSocket authorizer refused a connection" in out.out
    for value in values.values():
        for secret in secrets_in(value):
            assert secret not in everything
