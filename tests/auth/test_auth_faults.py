"""Auth under faults: on_error on $connect, subprotocol offers, and a JWKS that misbehaves."""

from __future__ import annotations

import ipaddress
import json
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from lift import Context, LiftError, Response
from lift.auth.jwks import JWKSCache
from lift.auth.tokens import looks_like_jwt
from lift.middleware import JWTConfig, websocket_auth
from lift.testing import WebSocketRefused, WebSocketTestClient, events
from lift.websocket import authorizer
from tests.auth_support import (
    AUDIENCE,
    ISSUER,
    Harness,
    authorizer_event,
    b64url,
    body_of,
    harness,
    hs_config,
    jwk,
    private_pem,
    rsa_key,
    segment,
    token,
)
from tests.jwks_faults import (
    Behaviour,
    FaultyJWKSServer,
    drip,
    drip_body,
    endless,
    gzip_bomb,
    hang,
    keys_document,
    reset_mid_body,
    response,
    send,
    slow,
)

UNAVAILABLE = {"error": {"code": "UNAUTHORIZED", "message": "Token could not be verified"}}


def connect(h: Harness, value: str | None, **kwargs: Any) -> tuple[dict[str, Any], str]:
    if value is not None:
        kwargs.setdefault("query", {"token": value})
    event = events.websocket_connect(**kwargs)
    return h.app(event, None), event["requestContext"]["connectionId"]


def assert_nothing_stored(h: Harness, connection_id: str) -> None:
    assert h.calls == [], "the $connect handler never runs"
    assert h.store.get(connection_id) is None
    assert h.store.count_active() == 0


# -- on_error never turns a refused $connect into an accepted one ----------------------
def _write_200(ctx: Context) -> None:
    ctx.status(200).json({"welcome": True})


def _raise_2xx(ctx: Context) -> None:
    raise LiftError(200, "OK", "Welcome anyway")


def _raise_429(ctx: Context) -> None:
    raise LiftError(429, "SLOW_DOWN", "Too many attempts")


ON_ERROR: dict[str, tuple[Callable[[Context], Any], int]] = {
    "dict": (lambda ctx: {"error": "please log in"}, 401),
    "list": (lambda ctx: ["nope"], 401),
    "str": (lambda ctx: "please log in", 401),
    "bytes": (lambda ctx: b"please log in", 401),
    "number": (lambda ctx: 0, 401),
    "response-200": (lambda ctx: Response.json({"ok": True}), 401),
    "response-204": (lambda ctx: Response(None, 204), 401),
    "response-302": (lambda ctx: Response(None, 302, {"Location": "/login"}), 401),
    "written-200": (_write_200, 401),
    "raises-2xx": (_raise_2xx, 401),
    "raises-429": (_raise_429, 429),
    "response-403": (lambda ctx: Response.json({"error": "forbidden"}, 403), 403),
    "none": (lambda ctx: None, 401),
}


@pytest.mark.parametrize("case", sorted(ON_ERROR))
def test_on_error_never_accepts_a_refused_connect(case: str) -> None:
    hook, status = ON_ERROR[case]
    reasons: list[str] = []

    def on_error(ctx: Context, reason: str) -> Any:
        reasons.append(reason)
        return hook(ctx)

    h = harness(websocket_auth(hs_config(), on_error=on_error))
    answer, cid = connect(h, "garbage")
    assert answer["statusCode"] == status
    assert reasons == ["invalid"]
    assert_nothing_stored(h, cid)

    # The same through the test client: the handshake is refused.
    with WebSocketTestClient(h.app) as client, pytest.raises(WebSocketRefused) as refused:
        client.connect(query={"token": "garbage"})
    assert refused.value.status_code == status
    assert h.store.count_active() == 0


def test_on_error_result_is_the_refusal_body() -> None:
    h = harness(websocket_auth(hs_config(), on_error=lambda ctx, reason: {"reason": reason}))
    answer, cid = connect(h, None)
    assert answer["statusCode"] == 401
    assert body_of(answer) == {"reason": "missing"}
    assert_nothing_stored(h, cid)


def test_an_async_on_error_cannot_accept_a_connect() -> None:
    async def on_error(ctx: Context, reason: str) -> Any:
        return {"ok": True}

    h = harness(websocket_auth(hs_config(), on_error=on_error))
    answer, cid = connect(h, "garbage")
    assert answer["statusCode"] == 401
    assert body_of(answer)["error"]["code"] == "UNAUTHORIZED"
    assert_nothing_stored(h, cid)


def test_on_error_still_answers_later_messages() -> None:
    h = harness(websocket_auth(hs_config(), on_error=lambda ctx, reason: {"reason": reason}))
    answer = h.app(events.websocket_message("hello"), None)
    assert answer["statusCode"] == 200
    assert body_of(answer) == {"reason": "unauthenticated"}
    assert h.calls == []


# -- subprotocol offers: only a JWT is a token -----------------------------------------
@pytest.mark.parametrize(
    ("offered", "accepted"),
    [
        ("wamp.2.json, TOKEN", "wamp.2.json"),
        ("TOKEN, wamp.2.json", "wamp.2.json"),
        ("TOKEN,wamp.2.json", "wamp.2.json"),
        ("v1.chat.example.com, TOKEN", "v1.chat.example.com"),
        ("a.b.c, TOKEN", "a.b.c"),
        ("TOKEN", None),
    ],
)
def test_dotted_subprotocols_are_negotiated_next_to_the_token(
    offered: str, accepted: str | None
) -> None:
    value = token()
    h = harness(websocket_auth(hs_config()))
    header = offered.replace("TOKEN", value)
    with WebSocketTestClient(h.app) as client:
        ws = client.connect(headers={"Sec-WebSocket-Protocol": header})
        assert ws.accepted_subprotocol == accepted
        assert h.calls[0]["user_id"] == "user-1"
        assert h.store.get(ws.connection_id) is not None
        assert value not in json.dumps(ws.connect_response)


def test_a_dotted_subprotocol_alone_is_no_token() -> None:
    h = harness(websocket_auth(hs_config(), token_sources="subprotocol"))
    with WebSocketTestClient(h.app) as client, pytest.raises(WebSocketRefused) as refused:
        client.connect(headers={"Sec-WebSocket-Protocol": "wamp.2.json"})
    assert refused.value.status_code == 401
    assert refused.value.json()["error"]["message"] == "Missing token"


@pytest.mark.parametrize("offered", ["wamp.2.json, TOKEN", "TOKEN, wamp.2.json"])
def test_the_authorizer_finds_the_token_next_to_a_dotted_subprotocol(offered: str) -> None:
    value = token()
    handler = authorizer(hs_config())
    event = authorizer_event(headers={"Sec-WebSocket-Protocol": offered.replace("TOKEN", value)})
    policy = handler(event, None)
    assert policy["principalId"] == "user-1"
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"


NOT_JWTS = {
    "dotted-name": "wamp.2.json",
    "three-words": "a.b.c",
    "array-header": f"{b64url(b'[1]')}.e30.sig",
    "no-alg": f"{segment({'typ': 'JWT'})}.e30.sig",
    "numeric-alg": f"{segment({'alg': 256})}.e30.sig",
    "not-json": f"{b64url(b'alg: HS256')}.e30.sig",
    "nested": f"{b64url(b'[' * 3000)}.e30.sig",
    "two-segments": f"{segment({'alg': 'HS256'})}.e30",
}


@pytest.mark.parametrize("case", sorted(NOT_JWTS))
def test_only_strings_that_parse_as_jwts_are_tokens(case: str) -> None:
    assert not looks_like_jwt(NOT_JWTS[case])
    assert looks_like_jwt(token())
    assert looks_like_jwt(f"{segment({'alg': 'none'})}.e30.")


# -- hostile token headers -------------------------------------------------------------
def nested_header_token() -> str:
    return f"{b64url(b'[' * 5000)}.e30.c2ln"


def test_a_deeply_nested_token_header_is_an_invalid_token() -> None:
    value = nested_header_token()
    h = harness(websocket_auth(hs_config()))
    answer, cid = connect(h, value)
    assert answer["statusCode"] == 401
    assert body_of(answer)["error"]["message"] == "Invalid token"
    assert_nothing_stored(h, cid)
    with pytest.raises(Exception) as refused:
        authorizer(hs_config())(authorizer_event(query={"token": value}), None)
    assert type(refused.value) is Exception and refused.value.args == ("Unauthorized",)


# -- a JWKS endpoint under faults ------------------------------------------------------
def good_keys() -> list[dict[str, Any]]:
    return [jwk(rsa_key(), "key-1", "RS256")]


def rs_token() -> str:
    return token(rsa_key(), "RS256", kid="key-1")


def jwks_config(url: str, **overrides: Any) -> JWTConfig:
    options: dict[str, Any] = {
        "jwks_url": url,
        "algorithms": ["RS256"],
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "jwks_timeout": 1.0,
    }
    options.update(overrides)
    return JWTConfig(**options)


FAULTS: dict[str, Callable[[], Behaviour]] = {
    "nested-array": lambda: send(response(b"[" * 200_000)),
    "nested-keys": lambda: send(response(b'{"keys": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")),
    "nested-key-member": lambda: send(
        response(b'{"keys": [{"kid": "key-1", "kty": ' + b'{"a":' * 50_000 + b"}")
    ),
    "reset-mid-body": lambda: reset_mid_body(keys_document(good_keys())),
    "closed-at-once": lambda: send(b""),
    "garbage": lambda: send(b"\x00\xff\xfe garbage \r\n\r\n\x01\x02"),
    "not-http": lambda: send(b"SSH-2.0-OpenSSH_9.6\r\n"),
    "bad-status-line": lambda: send(b"HTTP/1.1 abc OK\r\n\r\n"),
    "huge-header": lambda: send(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n"),
    "html": lambda: send(response(b"<html><body>Sign in</body></html>", **_type("text/html"))),
    "png": lambda: send(response(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, **_type("image/png"))),
    "not-a-key-set": lambda: send(response(b'{"keys": "key-1"}')),
    "json-null": lambda: send(response(b"null")),
    "empty-key-set": lambda: send(response(b'{"keys": []}')),
    "unusable-keys": lambda: send(
        response(
            json.dumps(
                {"keys": [{"kty": "RSA", "kid": "key-1", "n": "!!", "e": "AQAB"}, 1, None]}
            ).encode()
        )
    ),
    "invalid-utf8": lambda: send(response(b'{"keys": ["\xff\xfe"]}')),
    "over-the-size-cap": lambda: send(response(keys_document(good_keys(), padding=300 * 1024))),
    "endless-with-length": lambda: endless(chunked=False),
    "endless-chunked": lambda: endless(chunked=True),
    "gzip": lambda: gzip_bomb(good_keys()),
    "status-503": lambda: send(response(b"{}", "503 Service Unavailable")),
    "redirect": lambda: send(response(b"", "302 Found", Location="http://127.0.0.1:9/jwks")),
    "hang": lambda: hang,
    "drip": lambda: drip(response(keys_document(good_keys()))),
    "drip-body": lambda: drip_body(keys_document(good_keys())),
}
DEADLINE = 1.0
SLACK = 0.6


def _type(content_type: str) -> dict[str, str]:
    return {"Content-Type": content_type}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_key_fetch_failure_refuses_connect_with_401(fault: str) -> None:
    value = rs_token()
    with FaultyJWKSServer(FAULTS[fault]()) as server:
        h = harness(websocket_auth(jwks_config(server.url)))
        started = time.monotonic()
        answer, cid = connect(h, value)
        elapsed = time.monotonic() - started
        assert server.hits == 1
    assert answer["statusCode"] == 401
    assert body_of(answer) == UNAVAILABLE
    assert_nothing_stored(h, cid)
    assert elapsed < DEADLINE + SLACK, f"$connect took {elapsed:.2f}s"
    logs = h.logs.getvalue()
    assert value not in logs
    record = json.loads(logs.splitlines()[-1])
    assert record["reason"] == "unavailable"
    assert record["error_type"].startswith("JWKSError:")


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_key_fetch_failure_is_unauthorized_in_the_authorizer(fault: str) -> None:
    with FaultyJWKSServer(FAULTS[fault]()) as server:
        handler = authorizer(jwks_config(server.url))
        event = authorizer_event(query={"token": rs_token()})
        started = time.monotonic()
        with pytest.raises(Exception) as refused:
            handler(event, None)
        elapsed = time.monotonic() - started
    assert type(refused.value) is Exception
    assert refused.value.args == ("Unauthorized",)
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
    assert elapsed < DEADLINE + SLACK, f"the authorizer took {elapsed:.2f}s"


def test_a_key_set_under_the_size_cap_is_accepted() -> None:
    body = keys_document(good_keys(), padding=200 * 1024)
    with FaultyJWKSServer(send(response(body))) as server:
        h = harness(websocket_auth(jwks_config(server.url)))
        answer, cid = connect(h, rs_token())
    assert answer["statusCode"] == 200
    assert h.store.get(cid) is not None


def test_a_slow_but_timely_key_set_is_accepted() -> None:
    with FaultyJWKSServer(slow(response(keys_document(good_keys())), 0.4)) as server:
        h = harness(websocket_auth(jwks_config(server.url)))
        answer, _ = connect(h, rs_token())
    assert answer["statusCode"] == 200


# -- one fetch at a time; failures remembered briefly ----------------------------------
def connect_concurrently(h: Harness, count: int) -> list[int]:
    value = rs_token()
    barrier = threading.Barrier(count)

    def one(_: int) -> int:
        barrier.wait(timeout=10)
        return int(connect(h, value)[0]["statusCode"])

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_twenty_concurrent_connects_on_a_cold_cache_fetch_once() -> None:
    with FaultyJWKSServer(slow(response(keys_document(good_keys())), 0.3)) as server:
        h = harness(websocket_auth(jwks_config(server.url)))
        statuses = connect_concurrently(h, 20)
        assert server.hits == 1
    assert statuses == [200] * 20
    assert h.store.count_active() == 20


def test_twenty_concurrent_connects_during_an_outage_fetch_once() -> None:
    with FaultyJWKSServer(slow(response(b"{}", "503 Service Unavailable"), 0.3)) as server:
        h = harness(websocket_auth(jwks_config(server.url)))
        statuses = connect_concurrently(h, 20)
        assert server.hits == 1
    assert statuses == [401] * 20
    assert h.store.count_active() == 0


def test_an_outage_is_fetched_once_per_failure_window() -> None:
    outage = send(response(b"{}", "503 Service Unavailable"))
    with FaultyJWKSServer(outage) as server:
        h = harness(websocket_auth(jwks_config(server.url, jwks_failure_ttl=0.5)))
        for _ in range(20):
            answer, _ = connect(h, rs_token())
            assert body_of(answer) == UNAVAILABLE
        assert server.hits == 1, "failures are remembered within jwks_failure_ttl"
        server.behaviour = send(response(keys_document(good_keys())))
        answer, _ = connect(h, rs_token())
        assert answer["statusCode"] == 401, "still inside the failure window"
        assert server.hits == 1
        time.sleep(0.6)
        answer, cid = connect(h, rs_token())
        assert answer["statusCode"] == 200, "the endpoint is back after the window"
        assert server.hits == 2
        assert h.store.get(cid) is not None


def test_a_failed_refresh_keeps_the_cached_keys() -> None:
    with FaultyJWKSServer(send(response(keys_document(good_keys())))) as server:
        h = harness(websocket_auth(jwks_config(server.url, jwks_refresh_interval=0)))
        assert connect(h, rs_token())[0]["statusCode"] == 200
        server.behaviour = send(response(b"{}", "503 Service Unavailable"))
        unknown = token(rsa_key("other"), "RS256", kid="key-2")
        assert connect(h, unknown)[0]["statusCode"] == 401
        assert server.hits == 2, "one refresh for the unknown kid"
        assert connect(h, rs_token())[0]["statusCode"] == 200, "known keys still work"
        assert server.hits == 2


def test_jwks_failure_ttl_is_checked() -> None:
    with pytest.raises(ValueError, match="jwks_failure_ttl"):
        JWTConfig(jwks_url="https://idp.example/jwks", algorithms=["RS256"], jwks_failure_ttl=-1)


def test_a_fetch_that_blows_up_still_settles_its_flight() -> None:
    calls: list[str] = []

    def fetch(url: str, timeout: float, max_bytes: int, user_agent: str) -> bytes:
        calls.append(url)
        raise KeyboardInterrupt

    cache = JWKSCache(
        "https://idp.example/jwks",
        ttl=60,
        timeout=1,
        failure_ttl=0,
        user_agent="test",
        jwt=pyjwt,
        fetch=fetch,
    )
    for _ in range(2):
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            cache.keys()
        assert time.monotonic() - started < 0.5, "no caller waits on a finished fetch"
    assert len(calls) == 2


def test_a_key_set_behind_an_untrusted_certificate_is_refused(tmp_path: Path) -> None:
    key = rsa_key("tls")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(private_pem(key))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")

    with FaultyJWKSServer(send(response(keys_document(good_keys()))), tls=context) as server:
        url = server.url.replace("http://", "https://")
        h = harness(websocket_auth(jwks_config(url)))
        answer, cid = connect(h, rs_token())
    assert answer["statusCode"] == 401
    assert body_of(answer) == UNAVAILABLE
    assert_nothing_stored(h, cid)
    assert json.loads(h.logs.getvalue().splitlines()[-1])["error_type"] == "JWKSError:connection"
