"""websocket_auth through lift.App with real-shaped API Gateway events."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from lift import Context, Response
from lift.auth import middleware as auth_module
from lift.auth.jwt import TokenError, TokenValidator
from lift.middleware import JWTConfig, websocket_auth
from lift.testing import events
from lift.websocket import MemoryConnectionStore
from tests.auth_support import (
    AUDIENCE,
    ISSUER,
    SECRET,
    Harness,
    JWKSServer,
    body_of,
    certificate_pem,
    ec_key,
    ed_key,
    flip_payload_char,
    harness,
    hmac_token,
    hs_config,
    jwk,
    private_pem,
    public_pem,
    resign_payload,
    rsa_key,
    token,
    unsigned_token,
)


def rs_config(**overrides: Any) -> JWTConfig:
    options: dict[str, Any] = {
        "public_key": public_pem(rsa_key()),
        "algorithms": ["RS256"],
        "issuer": ISSUER,
        "audience": AUDIENCE,
    }
    options.update(overrides)
    return JWTConfig(**options)


def connect(h: Harness, value: str | None = None, **kwargs: Any) -> tuple[dict[str, Any], str]:
    """Send $connect (token in ``?token=`` unless other sources are given)."""
    if value is not None:
        kwargs.setdefault("query", {"token": value})
    event = events.websocket_connect(**kwargs)
    return h.app(event, None), event["requestContext"]["connectionId"]


def assert_refused(h: Harness, response: dict[str, Any], connection_id: str, message: str) -> None:
    assert response["statusCode"] == 401
    assert body_of(response) == {"error": {"code": "UNAUTHORIZED", "message": message}}
    assert h.calls == []
    assert h.store.count_active() == 0
    assert h.store.get(connection_id) is None


# -- the attack suite ---------------------------------------------------------------
HS_ATTACKS: dict[str, tuple[Callable[[], str | None], str]] = {
    "missing": (lambda: None, "Missing token"),
    "empty": (lambda: "", "Missing token"),
    "garbage": (lambda: "garbage", "Invalid token"),
    "garbage-segments": (lambda: "abc.def.ghi", "Invalid token"),
    "expired": (lambda: token(exp=int(time.time()) - 60), "Token expired"),
    "not-yet-valid": (lambda: token(nbf=int(time.time()) + 600), "Token not yet valid"),
    "wrong-issuer": (lambda: token(iss="https://evil.example.com/"), "Invalid token"),
    "wrong-audience": (lambda: token(aud="another-api"), "Invalid token"),
    "no-audience-claim": (lambda: token(aud=None), "Invalid token"),
    "missing-sub": (lambda: token(sub=None), "Invalid token"),
    "missing-exp": (lambda: token(exp=None), "Invalid token"),
    "numeric-sub": (lambda: token(sub=12345), "Invalid token"),
    "empty-sub": (lambda: token(sub=""), "Invalid token"),
    "tampered-char": (lambda: flip_payload_char(token()), "Invalid token"),
    "tampered-claim": (lambda: resign_payload(token(), sub="admin"), "Invalid token"),
    "forged-expired": (
        lambda: resign_payload(token(), exp=int(time.time()) - 60),
        "Invalid token",
    ),
    "wrong-secret": (lambda: token("another-secret-" + "y" * 40), "Invalid token"),
    "alg-none": (unsigned_token, "Invalid token"),
    "alg-None": (lambda: unsigned_token({"alg": "None", "typ": "JWT"}), "Invalid token"),
    "alg-HS512": (lambda: hmac_token(SECRET.encode(), "HS512"), "Invalid token"),
    "truncated": (lambda: token().rsplit(".", 1)[0], "Invalid token"),
    "huge": (lambda: "a" * 20_000 + ".b.c", "Invalid token"),
}


@pytest.mark.parametrize("case", sorted(HS_ATTACKS))
def test_hs256_attacks_are_refused_and_nothing_is_stored(case: str) -> None:
    make, message = HS_ATTACKS[case]
    h = harness(websocket_auth(hs_config()))
    value = make()
    response, cid = connect(h, value)
    assert_refused(h, response, cid, message)
    if value:
        assert value not in response["body"]


RS_ATTACKS: dict[str, Callable[[], str]] = {
    "hs256-with-public-pem": lambda: hmac_token(public_pem(rsa_key())),
    "hs256-with-public-pem-stripped": lambda: hmac_token(public_pem(rsa_key()).strip()),
    "wrong-key": lambda: token(rsa_key("other"), "RS256"),
    "alg-none": unsigned_token,
    "tampered-char": lambda: flip_payload_char(token(rsa_key(), "RS256")),
    "tampered-claim": lambda: resign_payload(token(rsa_key(), "RS256"), tenant_id="other"),
    "es256-not-allowed": lambda: token(ec_key(), "ES256"),
    "rs512-not-allowed": lambda: token(rsa_key(), "RS512"),
    "expired-wrong-key": lambda: token(rsa_key("other"), "RS256", exp=int(time.time()) - 60),
}


@pytest.mark.parametrize("case", sorted(RS_ATTACKS))
def test_rs256_attacks_are_refused_and_nothing_is_stored(case: str) -> None:
    h = harness(websocket_auth(rs_config()))
    response, cid = connect(h, RS_ATTACKS[case]())
    assert_refused(h, response, cid, "Invalid token")


# -- JWKS, served from a real HTTP server -------------------------------------------
@pytest.fixture
def jwks() -> Iterator[JWKSServer]:
    with JWKSServer([jwk(rsa_key(), "key-1", "RS256"), jwk(ec_key(), "ec-1", "ES256")]) as server:
        yield server


def jwks_config(url: str, **overrides: Any) -> JWTConfig:
    options: dict[str, Any] = {
        "jwks_url": url,
        "algorithms": ["RS256", "ES256"],
        "issuer": ISSUER,
        "audience": AUDIENCE,
    }
    options.update(overrides)
    return JWTConfig(**options)


def test_jwks_good_tokens_are_accepted_and_the_key_set_is_cached(jwks: JWKSServer) -> None:
    h = harness(websocket_auth(jwks_config(jwks.url)))
    assert jwks.hits == 0, "nothing is fetched before the first token"
    for index in range(5):
        response, cid = connect(h, token(rsa_key(), "RS256", kid="key-1", sub=f"u{index}"))
        assert response["statusCode"] == 200
        assert h.store.get(cid) is not None
    response, _ = connect(h, token(ec_key(), "ES256", kid="ec-1"))
    assert response["statusCode"] == 200
    assert jwks.hits == 1
    assert [c["user_id"] for c in h.calls] == ["u0", "u1", "u2", "u3", "u4", "user-1"]
    assert h.store.count_active() == 6


def test_jwks_key_rotation_is_picked_up_after_one_refresh(jwks: JWKSServer) -> None:
    h = harness(websocket_auth(jwks_config(jwks.url, jwks_refresh_interval=0)))
    assert connect(h, token(rsa_key(), "RS256", kid="key-1"))[0]["statusCode"] == 200
    assert jwks.hits == 1
    # The identity provider rotates: key-2 is published and key-1 withdrawn.
    jwks.set_keys([jwk(rsa_key("rotated"), "key-2", "RS256")])
    rotated = token(rsa_key("rotated"), "RS256", kid="key-2", sub="after-rotation")
    response, cid = connect(h, rotated)
    assert response["statusCode"] == 200
    assert jwks.hits == 2, "exactly one refetch for the unknown kid"
    stored = h.store.get(cid)
    assert stored is not None and stored.user_id == "after-rotation"
    for _ in range(3):
        assert connect(h, token(rsa_key("rotated"), "RS256", kid="key-2"))[0]["statusCode"] == 200
    assert jwks.hits == 2, "the refreshed set is cached"
    # key-1 is gone from the cached set (a refresh is allowed, and finds nothing).
    response, cid = connect(h, token(rsa_key(), "RS256", kid="key-1"))
    assert_refused_later(h, response, cid)
    assert jwks.hits == 3


def assert_refused_later(h: Harness, response: dict[str, Any], cid: str) -> None:
    assert response["statusCode"] == 401
    assert body_of(response)["error"]["message"] == "Invalid token"
    assert h.store.get(cid) is None


def test_jwks_unknown_kid_is_refused_and_refetches_are_rate_limited(jwks: JWKSServer) -> None:
    h = harness(websocket_auth(jwks_config(jwks.url)))
    response, cid = connect(h, token(rsa_key("intruder"), "RS256", kid="made-up"))
    assert_refused(h, response, cid, "Invalid token")
    assert jwks.hits == 2, "first fetch, then one forced refresh for the unknown kid"
    for index in range(5):
        response, cid = connect(h, token(rsa_key("intruder"), "RS256", kid=f"made-up-{index}"))
        assert_refused(h, response, cid, "Invalid token")
    assert jwks.hits == 2, "no refetch within jwks_refresh_interval"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: token(rsa_key(), "RS256"), id="no-kid"),
        pytest.param(lambda: unsigned_token({"alg": "none", "kid": "key-1"}), id="alg-none"),
        pytest.param(lambda: hmac_token(public_pem(rsa_key()), kid="key-1"), id="hs256-confusion"),
        pytest.param(lambda: "garbage.token.value", id="garbage"),
    ],
)
def test_jwks_junk_is_refused_without_fetching(jwks: JWKSServer, make: Callable[[], str]) -> None:
    h = harness(websocket_auth(jwks_config(jwks.url)))
    response, cid = connect(h, make())
    assert_refused(h, response, cid, "Invalid token")
    assert jwks.hits == 0


def test_jwks_key_type_must_match_the_algorithm(jwks: JWKSServer) -> None:
    # kid key-1 is an RSA key; a token claiming ES256 with that kid is refused.
    h = harness(websocket_auth(jwks_config(jwks.url)))
    response, cid = connect(h, token(ec_key(), "ES256", kid="key-1"))
    assert_refused(h, response, cid, "Invalid token")


def test_jwks_cache_expires_after_its_ttl(jwks: JWKSServer) -> None:
    h = harness(websocket_auth(jwks_config(jwks.url, jwks_cache_ttl=0.2)))
    assert connect(h, token(rsa_key(), "RS256", kid="key-1"))[0]["statusCode"] == 200
    assert connect(h, token(rsa_key(), "RS256", kid="key-1"))[0]["statusCode"] == 200
    assert jwks.hits == 1
    time.sleep(0.3)
    assert connect(h, token(rsa_key(), "RS256", kid="key-1"))[0]["statusCode"] == 200
    assert jwks.hits == 2


def test_jwks_endpoint_failures_refuse_the_connection(jwks: JWKSServer) -> None:
    jwks.status = 500
    h = harness(websocket_auth(jwks_config(jwks.url)))
    response, cid = connect(h, token(rsa_key(), "RS256", kid="key-1"))
    assert_refused(h, response, cid, "Token could not be verified")
    assert jwks.hits == 1
    record = json.loads(h.logs.getvalue().splitlines()[-1])
    assert record["reason"] == "unavailable"
    assert record["error_type"] == "JWKSError:status"


def test_unreachable_jwks_endpoint_refuses_the_connection() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/jwks.json"
    h = harness(websocket_auth(jwks_config(url, jwks_timeout=2)))
    response, cid = connect(h, token(rsa_key(), "RS256", kid="key-1"))
    assert_refused(h, response, cid, "Token could not be verified")


# -- good paths ------------------------------------------------------------------------
GOOD: dict[str, tuple[Callable[[], JWTConfig], Callable[[], str]]] = {
    "HS256": (hs_config, token),
    "HS512": (
        lambda: hs_config(algorithms=["HS512"], secret="z" * 64),
        lambda: token("z" * 64, "HS512"),
    ),
    "RS256": (rs_config, lambda: token(rsa_key(), "RS256")),
    "PS256": (lambda: rs_config(algorithms=["PS256"]), lambda: token(rsa_key(), "PS256")),
    "RS256-certificate": (
        lambda: rs_config(public_key=certificate_pem(rsa_key()).decode()),
        lambda: token(rsa_key(), "RS256"),
    ),
    "ES256": (
        lambda: rs_config(public_key=public_pem(ec_key()), algorithms=["ES256"]),
        lambda: token(ec_key(), "ES256"),
    ),
    "EdDSA": (
        lambda: rs_config(public_key=public_pem(ed_key()), algorithms=["EdDSA"]),
        lambda: token(ed_key(), "EdDSA"),
    ),
}


@pytest.mark.parametrize("case", sorted(GOOD))
def test_good_tokens_set_the_identity_and_store_the_connection(case: str) -> None:
    make_config, make_token = GOOD[case]
    h = harness(websocket_auth(make_config()))
    response, cid = connect(h, make_token())
    assert response["statusCode"] == 200
    [call] = h.calls
    assert call["user_id"] == "user-1"
    assert call["tenant_id"] == "acme"
    assert call["authenticated"] is True
    assert call["claims"]["roles"] == ["admin", "dev"]
    assert call["claims"]["email"] == "ada@example.com"
    stored = h.store.get(cid)
    assert stored is not None
    assert (stored.user_id, stored.tenant_id) == ("user-1", "acme")
    assert stored.claims["roles"] == ["admin", "dev"]
    assert [c.connection_id for c in h.store.list_by_tenant("acme")] == [cid]


def test_a_token_without_tenant_stores_no_tenant() -> None:
    h = harness(websocket_auth(hs_config()))
    response, cid = connect(h, token(tenant_id=None))
    assert response["statusCode"] == 200
    stored = h.store.get(cid)
    assert stored is not None and stored.user_id == "user-1" and stored.tenant_id is None


def test_custom_tenant_claim() -> None:
    h = harness(websocket_auth(hs_config(tenant_claim="custom:org")))
    response, cid = connect(h, token(**{"custom:org": "org-9"}))
    assert response["statusCode"] == 200
    stored = h.store.get(cid)
    assert stored is not None and stored.tenant_id == "org-9"


def test_leeway_accepts_a_just_expired_token() -> None:
    just_expired = token(exp=int(time.time()) - 5)
    for leeway in (30, timedelta(seconds=30)):
        h = harness(websocket_auth(hs_config(leeway=leeway)))
        assert connect(h, just_expired)[0]["statusCode"] == 200
    h = harness(websocket_auth(hs_config()))
    assert connect(h, just_expired)[0]["statusCode"] == 401


def test_issuer_and_audience_lists() -> None:
    config = hs_config(issuer=["https://a.example/", ISSUER], audience=["x", AUDIENCE])
    h = harness(websocket_auth(config))
    assert connect(h, token())[0]["statusCode"] == 200
    assert connect(h, token(aud=["other", AUDIENCE]))[0]["statusCode"] == 200
    assert connect(h, token(iss="https://b.example/"))[0]["statusCode"] == 401


def test_without_issuer_or_audience_configured_they_are_not_checked() -> None:
    h = harness(websocket_auth(JWTConfig(secret=SECRET, algorithms=["HS256"])))
    assert connect(h, token(aud=None, iss="anyone"))[0]["statusCode"] == 200
    # A token meant for some audience is refused when none is configured.
    assert connect(h, token(aud="someone"))[0]["statusCode"] == 401


# -- token sources ------------------------------------------------------------------
SOURCES: dict[str, Callable[[str], dict[str, Any]]] = {
    "query-Authorization-raw": lambda t: {"query": {"Authorization": t}},
    "query-Authorization-bearer": lambda t: {"query": {"Authorization": f"Bearer {t}"}},
    "query-token": lambda t: {"query": {"token": t}},
    "header-bearer": lambda t: {"headers": {"Authorization": f"Bearer {t}"}},
    "header-bearer-lowercase": lambda t: {"headers": {"authorization": f"bearer {t}"}},
    "header-BEARER": lambda t: {"headers": {"AUTHORIZATION": f"BEARER   {t}"}},
    "header-raw": lambda t: {"headers": {"Authorization": t}},
    "subprotocol": lambda t: {"subprotocols": ["chat.v1", t]},
}


@pytest.mark.parametrize("case", sorted(SOURCES))
def test_every_token_source_is_read(case: str) -> None:
    h = harness(websocket_auth(hs_config()))
    value = token(sub=f"from-{case}")
    response, cid = connect(h, None, **SOURCES[case](value))
    assert response["statusCode"] == 200, response
    assert h.calls[0]["user_id"] == f"from-{case}"
    stored = h.store.get(cid)
    assert stored is not None and stored.user_id == f"from-{case}"
    assert value not in json.dumps(response)


def test_sources_are_tried_in_order_and_the_first_token_found_decides() -> None:
    h = harness(websocket_auth(hs_config()))
    good, bad = token(sub="query-user"), token("another-secret-" + "y" * 40)
    response, _ = connect(
        h, None, query={"Authorization": good}, headers={"Authorization": f"Bearer {bad}"}
    )
    assert response["statusCode"] == 200
    assert h.calls[0]["user_id"] == "query-user"
    # ?Authorization wins over ?token, even when it is the bad one.
    response, cid = connect(h, None, query={"Authorization": bad, "token": good})
    assert response["statusCode"] == 401
    assert h.store.get(cid) is None


def test_configured_token_sources() -> None:
    h = harness(websocket_auth(hs_config(), token_sources=["header:X-Access-Token"]))
    value = token()
    assert connect(h, None, headers={"X-Access-Token": value})[0]["statusCode"] == 200
    # Sources that are not configured are ignored.
    response, _ = connect(h, value)
    assert response["statusCode"] == 401
    assert body_of(response)["error"]["message"] == "Missing token"


def test_a_non_bearer_authorization_scheme_is_not_a_token() -> None:
    h = harness(websocket_auth(hs_config()))
    response, cid = connect(h, None, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_refused(h, response, cid, "Missing token")


def test_unknown_token_source_names_are_refused_at_creation() -> None:
    for sources in (["cookie:session"], ["query"], ["header:"], []):
        with pytest.raises(ValueError, match=r"token source|at least one"):
            websocket_auth(hs_config(), token_sources=sources)


# -- subprotocols ---------------------------------------------------------------------
def subprotocol_header(response: dict[str, Any]) -> str | None:
    headers = response.get("headers") or {}
    return next((v for k, v in headers.items() if k.lower() == "sec-websocket-protocol"), None)


@pytest.mark.parametrize(
    ("offers", "accepted"),
    [
        (["chat.v1", "TOKEN"], "chat.v1"),
        (["access_token", "TOKEN"], "access_token"),
        (["TOKEN", "graphql-ws"], "graphql-ws"),
        (["TOKEN"], None),
    ],
)
def test_subprotocol_token_accepts_another_offer_and_never_echoes_the_token(
    offers: list[str], accepted: str | None
) -> None:
    h = harness(websocket_auth(hs_config()))
    value = token()
    response, cid = connect(h, None, subprotocols=[value if o == "TOKEN" else o for o in offers])
    assert response["statusCode"] == 200
    assert subprotocol_header(response) == accepted
    assert value not in json.dumps(response)
    assert h.store.get(cid) is not None


def test_the_handler_may_choose_the_subprotocol_but_not_the_token() -> None:
    value = token()
    chosen: list[str] = []

    def pick(ctx: Context) -> Any:
        offers = ctx.websocket.requested_subprotocols
        name = chosen[0] if chosen[0] != "TOKEN" else value
        if name in offers:
            ctx.websocket.accept_subprotocol(name)
        return None

    for wanted, expected in (("chat.v2", "chat.v2"), ("TOKEN", "chat.v1")):
        chosen[:] = [wanted]
        h = harness(websocket_auth(hs_config()))
        h.app.websocket_routes.pop("$connect")
        h.app.websocket("$connect", pick)
        response, _ = connect(h, None, subprotocols=["chat.v1", "chat.v2", value])
        assert response["statusCode"] == 200
        assert subprotocol_header(response) == expected
        assert value not in json.dumps(response)


def test_a_response_header_echoing_the_token_is_removed() -> None:
    value = token()
    h = harness(websocket_auth(hs_config()))
    h.app.websocket_routes.pop("$connect")
    h.app.websocket("$connect", lambda ctx: Response(None, 200, {"Sec-WebSocket-Protocol": value}))
    response, _ = connect(h, None, subprotocols=["chat.v1", value])
    assert subprotocol_header(response) == "chat.v1"
    assert value not in json.dumps(response)


# -- statelessness after $connect -----------------------------------------------------
def test_message_in_a_fresh_invocation_gets_the_identity_from_the_store() -> None:
    store = MemoryConnectionStore()
    config = hs_config()
    first = harness(websocket_auth(config), store)
    response, cid = connect(first, token(sub="ada", tenant_id="t-1"))
    assert response["statusCode"] == 200

    # A new container: new App, new middleware, nothing in memory but the shared store.
    second = harness(websocket_auth(config), store)
    response = second.app(events.websocket_message({"text": "hi"}, connection_id=cid), None)
    assert response["statusCode"] == 200
    assert body_of(response) == {"user_id": "ada", "tenant_id": "t-1"}
    [call] = second.calls
    assert call["authenticated"] is True
    assert call["claims"]["roles"] == ["admin", "dev"]
    assert call["claims"]["sub"] == "ada"


def test_message_with_an_authorizer_context_and_no_store_record() -> None:
    h = harness(websocket_auth(hs_config()))
    event = events.websocket_message(
        {"text": "hi"},
        authorizer={"user_id": "u-7", "tenant_id": "t-7", "roles": "admin,dev"},
    )
    response = h.app(event, None)
    assert response["statusCode"] == 200
    assert body_of(response) == {"user_id": "u-7", "tenant_id": "t-7"}
    claims = h.calls[0]["claims"]
    assert claims["roles"] == ["admin", "dev"]
    assert "integrationLatency" not in claims


def test_authorizer_context_with_principal_id_and_json_roles() -> None:
    h = harness(websocket_auth(hs_config()))
    event = events.websocket_message(
        "hello", authorizer={"principalId": "p-1", "roles": '["a","b"]'}
    )
    response = h.app(event, None)
    assert response["statusCode"] == 200
    call = h.calls[0]
    assert (call["user_id"], call["tenant_id"]) == ("p-1", None)
    assert call["claims"]["roles"] == ["a", "b"]


def test_authorizer_context_wins_over_the_store() -> None:
    store = MemoryConnectionStore()
    h = harness(websocket_auth(hs_config()), store)
    _, cid = connect(h, token(sub="stored-user"))
    event = events.websocket_message(
        "x", connection_id=cid, authorizer={"user_id": "authorizer-user"}
    )
    assert body_of(h.app(event, None))["user_id"] == "authorizer-user"


def test_message_without_any_identity_is_refused() -> None:
    h = harness(websocket_auth(hs_config()))
    response = h.app(events.websocket_message({"text": "hi"}), None)
    assert response["statusCode"] == 401
    assert body_of(response) == {"error": {"code": "UNAUTHORIZED", "message": "Not authenticated"}}
    assert h.calls == []


def test_store_lookup_can_be_turned_off() -> None:
    store = MemoryConnectionStore()
    h = harness(websocket_auth(hs_config(), store_lookup=False), store)
    _, cid = connect(h, token())
    response = h.app(events.websocket_message("x", connection_id=cid), None)
    assert response["statusCode"] == 401


def test_disconnect_without_identity_still_reaches_the_handler() -> None:
    h = harness(websocket_auth(hs_config()))
    response = h.app(events.websocket_disconnect(status_code=1001, reason="Going away"), None)
    assert response["statusCode"] == 200
    [call] = h.calls
    assert call["route"] == "$disconnect"
    assert call["authenticated"] is False


def test_disconnect_restores_the_identity_and_cleans_up() -> None:
    store = MemoryConnectionStore()
    _, cid = connect(harness(websocket_auth(hs_config()), store), token(sub="ada"))
    assert store.count_active() == 1
    h = harness(websocket_auth(hs_config()), store)
    response = h.app(events.websocket_disconnect(connection_id=cid), None)
    assert response["statusCode"] == 200
    assert h.calls[0]["user_id"] == "ada"
    assert store.get(cid) is None
    assert store.count_active() == 0


class BrokenStore(MemoryConnectionStore):
    def get(self, connection_id: str) -> Any:
        raise RuntimeError("store down")


def test_disconnect_reaches_the_handler_even_when_the_store_fails() -> None:
    h = harness(websocket_auth(hs_config()), BrokenStore())
    response = h.app(events.websocket_disconnect(), None)
    assert response["statusCode"] == 200
    assert h.routes() == ["$disconnect"]


def test_skip_routes_pass_through_untouched() -> None:
    h = harness(websocket_auth(hs_config(), skip_routes=("ping",)))
    response = h.app(events.websocket_message({"action": "ping"}), None)
    assert response["statusCode"] == 200
    assert response["body"] == "pong"
    assert h.calls[0]["authenticated"] is False
    # A skipped $connect needs no token (and stores an anonymous connection).
    h = harness(websocket_auth(hs_config(), skip_routes="$connect"))
    response, cid = connect(h, None)
    assert response["statusCode"] == 200
    stored = h.store.get(cid)
    assert stored is not None and stored.user_id is None


def test_http_events_pass_through() -> None:
    h = harness(websocket_auth(hs_config()))
    response = h.app(events.http_v2("GET", "/health"), None)
    assert response["statusCode"] == 200
    assert h.calls[0]["authenticated"] is False


# -- hooks, construction ---------------------------------------------------------------
def test_on_error_may_replace_the_refusal() -> None:
    seen: list[str] = []

    def on_error(ctx: Context, reason: str) -> Any:
        seen.append(reason)
        if reason == "expired":
            return Response.json({"error": {"code": "TOKEN_EXPIRED", "message": "Log in"}}, 403)
        return None

    h = harness(websocket_auth(hs_config(), on_error=on_error))
    response, cid = connect(h, token(exp=int(time.time()) - 60))
    assert response["statusCode"] == 403
    assert body_of(response)["error"]["code"] == "TOKEN_EXPIRED"
    assert h.store.get(cid) is None
    response, _ = connect(h, "garbage")
    assert response["statusCode"] == 401
    h.app(events.websocket_message("x"), None)
    assert seen == ["expired", "invalid", "unauthenticated"]


def test_the_validator_is_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[TokenValidator] = []

    class CountingValidator(TokenValidator):
        def __init__(self, config: JWTConfig) -> None:
            super().__init__(config)
            built.append(self)

    monkeypatch.setattr(auth_module, "TokenValidator", CountingValidator)
    middleware = websocket_auth(hs_config())
    assert len(built) == 1
    h = harness(middleware)
    for _ in range(3):
        assert connect(h, token())[0]["statusCode"] == 200
    h.app(events.websocket_message("x", authorizer={"user_id": "u"}), None)
    assert len(built) == 1


CONFIG_ERRORS: dict[str, tuple[Callable[[], Any], str]] = {
    "no-algorithms": (lambda: JWTConfig(secret=SECRET), "algorithms is required"),
    "empty-algorithms": (lambda: JWTConfig(secret=SECRET, algorithms=[]), "algorithms"),
    "none": (lambda: JWTConfig(secret=SECRET, algorithms=["none"]), "none"),
    "NONE-mixed": (lambda: JWTConfig(secret=SECRET, algorithms=["HS256", "NONE"]), "none"),
    "unknown-algorithm": (lambda: JWTConfig(secret=SECRET, algorithms=["HS1"]), "unknown"),
    "two-key-sources": (
        lambda: JWTConfig(secret=SECRET, public_key=public_pem(rsa_key()), algorithms=["RS256"]),
        "exactly one",
    ),
    "no-key-source": (lambda: JWTConfig(algorithms=["RS256"]), "exactly one"),
    "hs-with-public-key": (
        lambda: JWTConfig(public_key=public_pem(rsa_key()), algorithms=["RS256", "HS256"]),
        "HS256 cannot be used",
    ),
    "hs-with-jwks": (
        lambda: JWTConfig(jwks_url="https://idp.example/jwks", algorithms=["HS256"]),
        "HS256 cannot be used",
    ),
    "rs-with-secret": (lambda: JWTConfig(secret=SECRET, algorithms=["RS256"]), "public_key"),
    "short-secret": (lambda: JWTConfig(secret="short", algorithms=["HS256"]), "at least 32"),
    "short-secret-hs512": (
        lambda: JWTConfig(secret="x" * 40, algorithms=["HS512"]),
        "at least 64",
    ),
    "plain-http-jwks": (
        lambda: JWTConfig(jwks_url="http://idp.example/jwks", algorithms=["RS256"]),
        "https",
    ),
    "negative-leeway": (lambda: hs_config(leeway=-1), "leeway"),
    "ec-key-for-rs256": (
        lambda: websocket_auth(rs_config(public_key=public_pem(ec_key()))),
        "cannot verify RS256",
    ),
    "wrong-curve": (
        lambda: websocket_auth(rs_config(public_key=public_pem(ec_key()), algorithms=["ES384"])),
        "cannot verify ES384",
    ),
    "small-rsa-key": (
        lambda: websocket_auth(rs_config(public_key=public_pem(rsa_key("small", 1024)))),
        "cannot verify RS256",
    ),
    "private-key-pem": (
        lambda: websocket_auth(rs_config(public_key=private_pem(rsa_key()))),
        "PEM public key",
    ),
    "not-a-pem": (lambda: websocket_auth(rs_config(public_key="hello")), "PEM public key"),
}


@pytest.mark.parametrize("case", sorted(CONFIG_ERRORS))
def test_bad_configs_fail_at_creation(case: str) -> None:
    build, match = CONFIG_ERRORS[case]
    with pytest.raises(ValueError, match=match):
        build()


def test_config_repr_hides_the_secret() -> None:
    config = hs_config()
    assert SECRET not in repr(config)
    assert SECRET not in repr(websocket_auth(config))
    assert config.algorithms == ("HS256",)


def test_config_is_an_immutable_value() -> None:
    """Keyword-only, compared and hashed by value, and never changed after its checks."""
    config = JWTConfig(secret=SECRET, algorithms=["HS256"], leeway=timedelta(seconds=5))
    same = JWTConfig(secret=SECRET, algorithms=("HS256",), leeway=timedelta(seconds=5))
    assert config == same and hash(config) == hash(same)
    assert config != JWTConfig(secret=SECRET, algorithms=["HS256"])
    assert config != JWTConfig(secret=SECRET + "-other", algorithms=["HS256"], leeway=5)
    assert config.leeway_seconds == 5.0 and config.required_claims == ("sub", "exp")
    assert repr(config).startswith("JWTConfig(algorithms=('HS256',), jwks_url=None")
    with pytest.raises(AttributeError):
        config.secret = "x" * 64  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del config.algorithms  # type: ignore[misc]
    with pytest.raises(TypeError):
        JWTConfig(SECRET, ["HS256"])  # type: ignore[misc]
    assert config.secret == SECRET and {config: 1}[same] == 1


def test_token_sources_are_values() -> None:
    first = auth_module.parse_token_sources(["query:token", "header:X-Token", "subprotocol"])
    again = auth_module.parse_token_sources(("query:token", "header:x-token", "subprotocol"))
    assert first == again and len({*first, *again}) == 3
    assert [source.label for source in first] == ["query:token", "header:x-token", "subprotocol"]
    assert repr(first[1]) == "TokenSource(kind='header', name='x-token')"
    with pytest.raises(AttributeError):
        first[0].name = "other"  # type: ignore[misc]


def test_token_validator_reasons() -> None:
    validator = TokenValidator(hs_config())
    assert validator.validate(token(sub="v"))["sub"] == "v"
    reasons = {}
    for name, value in {
        "none": None,
        "expired": token(exp=int(time.time()) - 60),
        "nbf": token(nbf=int(time.time()) + 600),
        "iat-future": token(iat=int(time.time()) + 600),
        "bad": "x.y.z",
    }.items():
        with pytest.raises(TokenError) as info:
            validator.validate(value)
        reasons[name] = info.value.reason
        assert "Traceback" not in str(info.value)
    assert reasons == {
        "none": "missing",
        "expired": "expired",
        "nbf": "not_yet_valid",
        "iat-future": "not_yet_valid",
        "bad": "invalid",
    }


def test_config_and_token_sources_survive_copy_and_pickle() -> None:
    """Copies are equal values that went through the checks again (as frozen dataclasses)."""
    import copy
    import pickle

    config = JWTConfig(secret=SECRET, algorithms=["HS256"], audience=["a", "b"], leeway=3)
    sources = auth_module.parse_token_sources(["query:token", "subprotocol"])
    for clone in (copy.copy, copy.deepcopy, lambda v: pickle.loads(pickle.dumps(v))):
        assert clone(config) == config and hash(clone(config)) == hash(config)
        assert clone(sources) == sources


@pytest.mark.parametrize("secret", [64, 3.5, ["k"] * 40])
def test_config_refuses_a_secret_that_is_not_text_or_bytes(secret: Any) -> None:
    """``bytes(64)`` is 64 zero bytes: an int must not become a guessable HMAC key."""
    with pytest.raises(ValueError, match="secret must be a string or bytes"):
        JWTConfig(secret=secret, algorithms=["HS256"])


def test_config_keeps_a_bytearray_secret_as_checked() -> None:
    key = bytearray(SECRET.encode())
    config = JWTConfig(secret=key, algorithms=["HS256"])  # type: ignore[arg-type]
    key[:] = b"x"
    assert config.secret == SECRET.encode() and hash(config) == hash(config)
