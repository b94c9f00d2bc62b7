"""What API Gateway does with a Lambda REQUEST authorizer on ``$connect`` (I/O-free).

Before ``$connect`` runs, API Gateway checks the authorizer's identity sources (a
missing one is a 401 without calling the authorizer), calls the authorizer with a
REQUEST event, and reads its answer:

* the error message ``Unauthorized`` → 401 ``{"message": "Unauthorized"}``;
* a policy that does not allow ``execute-api:Invoke`` on the ``$connect`` method ARN
  (an explicit Deny wins) → 403 ``{"message": "Forbidden"}``;
* any other error, or an answer without ``principalId`` and a policy → 500
  ``{"message": "Internal server error"}``;
* an Allow → the connection proceeds, and ``principalId`` with the answer's
  ``context`` (values as strings; an object or array is an error) becomes
  ``requestContext.authorizer`` of ``$connect`` and of every later event of the
  connection (``integrationLatency`` added, in milliseconds).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AuthorizerDecision",
    "authorizer_event",
    "decide",
    "method_arn",
    "missing_identity",
]


@dataclass(frozen=True)
class AuthorizerDecision:
    """The outcome: ``status`` 200 (allowed), 401, 403 or 500; what the client is told;
    the ``requestContext.authorizer`` of the connection's events when allowed."""

    status: int
    message: str = ""
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        """The connection may proceed to ``$connect``."""
        return self.status == 200


UNAUTHORIZED = AuthorizerDecision(401, "Unauthorized")
FORBIDDEN = AuthorizerDecision(403, "Forbidden")
FAILED = AuthorizerDecision(500, "Internal server error")


def method_arn(connect_event: Mapping[str, Any], *, region: str, account_id: str) -> str:
    """``arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/$connect``."""
    rc = connect_event["requestContext"]
    return f"arn:aws:execute-api:{region}:{account_id}:{rc['apiId']}/{rc['stage']}/$connect"


def authorizer_event(connect_event: Mapping[str, Any], arn: str) -> dict[str, Any]:
    """The REQUEST authorizer event for a ``$connect`` event (same headers and query)."""
    event = {k: v for k, v in connect_event.items() if k != "isBase64Encoded"}
    rc = {k: v for k, v in event.get("requestContext", {}).items() if k != "authorizer"}
    return {"type": "REQUEST", "methodArn": arn, **event, "requestContext": rc}


def missing_identity(sources: Iterable[str], connect_event: Mapping[str, Any]) -> bool:
    """Whether an identity source (``route.request.header.X`` or
    ``route.request.querystring.x``) is absent or empty in the request."""
    headers = {str(k).lower(): v for k, v in (connect_event.get("headers") or {}).items()}
    query = connect_event.get("queryStringParameters") or {}
    for source in sources:
        if source.startswith("route.request.header."):
            value = headers.get(source.removeprefix("route.request.header.").lower())
        elif source.startswith("route.request.querystring."):
            value = query.get(source.removeprefix("route.request.querystring."))
        else:
            continue  # stage variables and context values are always there locally
        if not value:
            return True
    return False


def _matches(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def _listed(value: Any) -> Sequence[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return []


def _effects(policy: Any, arn: str) -> set[str] | None:
    """The effects of the statements that cover Invoke on ``arn``; ``None`` if malformed."""
    statements = policy.get("Statement") if isinstance(policy, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return None
    effects = set()
    for statement in statements:
        if not isinstance(statement, dict):
            return None
        actions = _listed(statement.get("Action"))
        resources = _listed(statement.get("Resource"))
        if not any(_matches(a, "execute-api:Invoke") for a in actions):
            continue
        if any(_matches(r, arn) for r in resources):
            effects.add(str(statement.get("Effect")))
    return effects


def _text(value: str | float | bool) -> str:
    """Context values reach the integration as strings (``true``, ``42``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def decide(
    answer: Any, error: BaseException | None, arn: str, latency_ms: int
) -> AuthorizerDecision:
    """What API Gateway does with the authorizer's ``answer`` (or its ``error``)."""
    if error is not None:
        return UNAUTHORIZED if str(error) == "Unauthorized" else FAILED
    if not isinstance(answer, dict) or not isinstance(answer.get("principalId"), str):
        return FAILED
    effects = _effects(answer.get("policyDocument"), arn)
    if effects is None:
        return FAILED
    if "Deny" in effects or "Allow" not in effects:
        return FORBIDDEN
    context = answer.get("context") or {}
    if not isinstance(context, dict):
        return FAILED
    if not all(isinstance(v, (str, int, float, bool)) for v in context.values()):
        return FAILED  # API Gateway takes no objects or arrays in the context
    values: dict[str, Any] = {str(k): _text(v) for k, v in context.items()}
    values["principalId"] = answer["principalId"]
    values["integrationLatency"] = latency_ms
    return AuthorizerDecision(200, context=values)
