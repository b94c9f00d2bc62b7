"""A Lambda REQUEST authorizer for the ``$connect`` route of a WebSocket API.

``handler = authorizer(JWTConfig(...))`` validates the token of the upgrade request and
answers API Gateway with an Allow policy, or raises ``Exception("Unauthorized")``, which
API Gateway turns into a 401.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .jwt import JWTConfig, TokenError, TokenValidator, claim_roles
from .middleware import DEFAULT_TOKEN_SOURCES, find_token, parse_token_sources

if TYPE_CHECKING:
    from ..observability import Logger

__all__ = ["AuthorizerHandler", "authorizer", "stage_arn"]

AuthorizerHandler = Callable[[dict[str, Any], Any], dict[str, Any]]
"""``handler(event, lambda_context) -> policy``."""

_RESOURCES = ("method", "stage")


def stage_arn(method_arn: str) -> str:
    """``arn:...:apiId/stage/*`` for a methodArn ``arn:...:apiId/stage/route``."""
    parts = method_arn.split("/", 2)
    if len(parts) < 3 or not method_arn.startswith("arn:") or not all(parts):
        raise ValueError("Not an execute-api methodArn")
    return f"{parts[0]}/{parts[1]}/*"


def _context_value(value: Any) -> str | int | float | bool | None:
    if isinstance(value, (str, bool, int, float)):
        return value
    return None


def authorizer(
    config: JWTConfig,
    *,
    token_sources: str | Iterable[str] = DEFAULT_TOKEN_SOURCES,
    resource: str = "method",
    context_claims: Sequence[str] = (),
    logger: Logger | None = None,
) -> AuthorizerHandler:
    """A Lambda REQUEST authorizer handler for ``$connect``, validating with ``config``.

    A valid token gives ``principalId`` = ``sub``, an Allow on ``execute-api:Invoke``
    for the exact ``methodArn`` (``resource="stage"``: every route of the stage), and a
    context of ``user_id``, ``tenant_id`` (``""`` when none) and ``roles``
    (comma-separated), plus any scalar claims named in ``context_claims``. A missing or
    bad token raises ``Exception("Unauthorized")``. Tokens are looked for as in
    ``websocket_auth``; the validator is built here, once, and tokens are never logged.
    """
    if resource not in _RESOURCES:
        raise ValueError("resource must be 'method' or 'stage'")
    validator = TokenValidator(config)
    sources = parse_token_sources(token_sources)
    extra_claims = tuple(context_claims)

    def refuse(reason: str, error_type: str, event: Any) -> Exception:
        from ..observability import default_logger

        rc = event.get("requestContext") if isinstance(event, dict) else None
        connection_id = rc.get("connectionId") if isinstance(rc, dict) else None
        fields: dict[str, Any] = {"reason": reason, "connection_id": connection_id}
        if error_type:
            fields["error_type"] = error_type
        (logger or default_logger()).warning("WebSocket authorizer refused a connection", **fields)
        return Exception("Unauthorized")

    def handler(event: dict[str, Any], lambda_context: Any = None) -> dict[str, Any]:
        from ..errors import LiftError
        from ..events._common import headers_of, queries_of
        from ..request import TriggerType

        try:
            method_arn = event["methodArn"]
            if not isinstance(method_arn, str):
                raise TypeError("methodArn")
            target = method_arn if resource == "method" else stage_arn(method_arn)
            headers = headers_of(event, TriggerType.WEBSOCKET)
            query, _ = queries_of(event, TriggerType.WEBSOCKET)
        except (KeyError, TypeError, ValueError, LiftError) as exc:
            raise refuse("invalid", f"MalformedEvent:{type(exc).__name__}", event) from None
        token, _ = find_token(sources, query, headers)
        try:
            claims = validator.validate(token)
        except TokenError as exc:
            raise refuse(exc.reason, exc.error_type, event) from None
        user_id = claims.get("sub")
        if not isinstance(user_id, str) or not user_id:
            raise refuse("invalid", "MissingSubject", event) from None
        tenant = _context_value(claims.get(config.tenant_claim))
        context: dict[str, Any] = {
            "user_id": user_id,
            "tenant_id": "" if tenant is None or isinstance(tenant, bool) else str(tenant),
            "roles": ",".join(claim_roles(claims, config.roles_claim)),
        }
        for name in extra_claims:
            value = _context_value(claims.get(name))
            if value is not None and name not in context:
                context[name] = value
        return {
            "principalId": user_id,
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": target}
                ],
            },
            "context": context,
        }

    return handler
