"""lift.websocket.authorizer(): a Lambda REQUEST authorizer for $connect."""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lift.auth.jwt import TokenValidator
from lift.auth.request_authorizer import stage_arn
from lift.middleware import JWTConfig, websocket_auth
from lift.observability import JSONLogger
from lift.testing import events
from lift.websocket import authorizer
from tests.auth_support import (
    ACCOUNT,
    AUDIENCE,
    ISSUER,
    JWKSServer,
    authorizer_event,
    body_of,
    ec_key,
    flip_payload_char,
    harness,
    hmac_token,
    hs_config,
    jwk,
    public_pem,
    rsa_key,
    token,
    unsigned_token,
)


@pytest.fixture
def logs() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def handler(logs: io.StringIO) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    return authorizer(hs_config(), logger=JSONLogger(stream=logs))


def test_allow_policy_for_the_exact_method_arn(
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
) -> None:
    event = authorizer_event(query={"token": token()}, stage="prod")
    policy = handler(event, None)
    api_id = event["requestContext"]["apiId"]
    assert event["methodArn"] == f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{api_id}/prod/$connect"
    assert policy == {
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": event["methodArn"],
                }
            ],
        },
        "context": {"user_id": "user-1", "tenant_id": "acme", "roles": "admin,dev"},
    }
    # API Gateway accepts only strings, numbers and booleans as context values.
    assert all(isinstance(v, (str, int, float, bool)) for v in policy["context"].values())


def test_stage_wildcard_resource() -> None:
    handler = authorizer(hs_config(), resource="stage")
    event = authorizer_event(headers={"Authorization": f"Bearer {token()}"}, stage="dev")
    policy = handler(event, None)
    [statement] = policy["policyDocument"]["Statement"]
    assert statement["Resource"] == event["methodArn"].rsplit("/", 1)[0] + "/*"
    assert statement["Resource"].endswith(":abc123/dev/*")


def test_stage_arn() -> None:
    arn = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/prod/$connect"
    assert stage_arn(arn) == "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/prod/*"
    for bad in ("", "arn:aws:execute-api:eu-west-1:1:a1b2c3", "nope/prod/$connect"):
        with pytest.raises(ValueError):
            stage_arn(bad)


def test_no_tenant_gives_an_empty_string_and_roles_may_be_a_string() -> None:
    handler = authorizer(hs_config(roles_claim="scope"))
    event = authorizer_event(query={"token": token(tenant_id=None, scope="read write")})
    assert handler(event, None)["context"] == {
        "user_id": "user-1",
        "tenant_id": "",
        "roles": "read,write",
    }


def test_context_claims_are_copied_when_scalar() -> None:
    handler = authorizer(hs_config(), context_claims=["email", "roles", "missing", "nested"])
    value = token(nested={"a": 1})
    context = handler(authorizer_event(query={"token": value}), None)["context"]
    assert context["email"] == "ada@example.com"
    assert context["roles"] == "admin,dev"
    assert "missing" not in context and "nested" not in context


@pytest.mark.parametrize(
    "where",
    [
        lambda t: {"query": {"Authorization": t}},
        lambda t: {"query": {"token": t}},
        lambda t: {"headers": {"Authorization": f"Bearer {t}"}},
        lambda t: {"headers": {"authorization": t}},
        lambda t: {"subprotocols": ["chat.v1", t]},
    ],
    ids=["query-Authorization", "query-token", "header-bearer", "header-raw", "subprotocol"],
)
def test_token_sources(
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
    where: Callable[[str], dict[str, Any]],
) -> None:
    policy = handler(authorizer_event(**where(token(sub="source-user"))), None)
    assert policy["principalId"] == "source-user"


BAD_TOKENS: dict[str, Callable[[], str | None]] = {
    "missing": lambda: None,
    "garbage": lambda: "garbage",
    "expired": lambda: token(exp=int(time.time()) - 60),
    "not-yet-valid": lambda: token(nbf=int(time.time()) + 600),
    "wrong-issuer": lambda: token(iss="https://evil.example/"),
    "wrong-audience": lambda: token(aud="other"),
    "missing-sub": lambda: token(sub=None),
    "tampered": lambda: flip_payload_char(token()),
    "wrong-secret": lambda: token("another-secret-" + "y" * 40),
    "alg-none": unsigned_token,
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_bad_tokens_raise_unauthorized(
    handler: Callable[[dict[str, Any], Any], dict[str, Any]], logs: io.StringIO, case: str
) -> None:
    value = BAD_TOKENS[case]()
    event = authorizer_event(query={"token": value} if value else None)
    with pytest.raises(Exception) as info:
        handler(event, None)
    assert type(info.value) is Exception
    assert info.value.args == ("Unauthorized",)
    assert info.value.__cause__ is None
    record = json.loads(logs.getvalue().splitlines()[-1])
    assert record["connection_id"] == event["requestContext"]["connectionId"]
    assert record["reason"] in {"missing", "invalid", "expired", "not_yet_valid"}
    if value:
        assert value not in logs.getvalue()


def test_rs256_refuses_hs256_signed_with_the_public_key() -> None:
    handler = authorizer(
        JWTConfig(public_key=public_pem(rsa_key()), algorithms=["RS256"], audience=AUDIENCE)
    )
    assert handler(authorizer_event(query={"token": token(rsa_key(), "RS256")}), None)
    forged = hmac_token(public_pem(rsa_key()))
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        handler(authorizer_event(query={"token": forged}), None)


def test_malformed_events_are_unauthorized(
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
) -> None:
    good = authorizer_event(query={"token": token()})
    for broken in (
        {k: v for k, v in good.items() if k != "methodArn"},
        {**good, "methodArn": 42},
        {**good, "headers": "not-a-dict"},
    ):
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            handler(broken, None)
    stage_handler = authorizer(hs_config(), resource="stage")
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        stage_handler({**good, "methodArn": "not-an-arn"}, None)


def test_the_validator_is_built_once_and_bad_configs_fail_early(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = sys.modules["lift.auth.request_authorizer"]
    built: list[object] = []

    class Counting(TokenValidator):
        def __init__(self, cfg: JWTConfig) -> None:
            super().__init__(cfg)
            built.append(self)

    monkeypatch.setattr(module, "TokenValidator", Counting)
    handler = authorizer(hs_config())
    for _ in range(3):
        handler(authorizer_event(query={"token": token()}), None)
    assert len(built) == 1
    with pytest.raises(ValueError, match="resource"):
        authorizer(hs_config(), resource="api")
    with pytest.raises(ValueError, match="cannot verify"):
        authorizer(JWTConfig(public_key=public_pem(ec_key()), algorithms=["RS256"]))


@pytest.fixture
def jwks() -> Iterator[JWKSServer]:
    with JWKSServer([jwk(rsa_key(), "key-1", "RS256")]) as server:
        yield server


def test_jwks_authorizer(jwks: JWKSServer) -> None:
    handler = authorizer(
        JWTConfig(jwks_url=jwks.url, algorithms=["RS256"], issuer=ISSUER, audience=AUDIENCE)
    )
    for _ in range(3):
        policy = handler(
            authorizer_event(query={"token": token(rsa_key(), "RS256", kid="key-1")}), None
        )
        assert policy["principalId"] == "user-1"
    assert jwks.hits == 1
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        value = token(rsa_key("x"), "RS256", kid="nope")
        handler(authorizer_event(query={"token": value}), None)


def test_authorizer_context_carries_the_identity_to_later_messages() -> None:
    """End to end: the policy's context, as API Gateway attaches it to later events."""
    handler = authorizer(hs_config())
    policy = handler(authorizer_event(query={"token": token(sub="ada", tenant_id="t-1")}), None)
    h = harness(websocket_auth(hs_config()))
    attached = {"principalId": policy["principalId"], **policy["context"]}
    response = h.app(events.websocket_message({"text": "hi"}, authorizer=attached), None)
    assert response["statusCode"] == 200
    assert body_of(response) == {"user_id": "ada", "tenant_id": "t-1"}
    assert h.calls[0]["claims"]["roles"] == ["admin", "dev"]
    # $disconnect gets the same context and the identity too.
    response = h.app(events.websocket_disconnect(authorizer=attached), None)
    assert response["statusCode"] == 200
    assert h.calls[-1]["user_id"] == "ada"
