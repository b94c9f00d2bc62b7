"""API Gateway Lambda authorizers: the event's facts, the decision, the answer's shape.

A handler registered with ``@app.authorizer()`` receives a :class:`~lift.Context` whose
request is the authorizer's event (headers, query, path, ``ctx.request.authorizer``) and
returns :func:`allow` or :func:`deny`. Raising ``LiftError(401)`` (``unauthorized()``)
answers ``Unauthorized``, which API Gateway turns into a 401.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AuthorizerEvent",
    "AuthorizerResult",
    "Unauthorized",
    "allow",
    "authorizer_response",
    "deny",
    "wrap_handler",
]

ContextValue = str | int | float | bool


class Unauthorized(Exception):
    """Raised to API Gateway, whose answer to the error message ``Unauthorized`` is 401."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


@dataclass(frozen=True)
class AuthorizerEvent:
    """What kind of authorizer event this is.

    ``type`` is ``TOKEN`` or ``REQUEST``; ``api`` is ``rest``, ``http`` or ``websocket``;
    ``payload_version`` is ``1.0`` or ``2.0`` (HTTP APIs only have 2.0); ``arn`` is the
    ``methodArn`` (``routeArn`` for payload 2.0); ``token`` the ``authorizationToken``
    of a TOKEN authorizer (and of an HTTP API payload 1.0); ``identity_source`` the
    values API Gateway checked before invoking.
    """

    type: str
    api: str
    payload_version: str
    arn: str
    token: str | None = None
    identity_source: tuple[str, ...] = ()

    def arn_for(self, method: str = "*", path: str = "*") -> str:
        """The ARN of ``method`` and ``path`` on this API and stage.

        ``event.arn_for()`` covers every route of the stage, so a cached decision holds
        for the whole API rather than the one method that was called first.
        """
        head, _, rest = self.arn.partition("/")
        stage = rest.split("/", 1)[0] if rest else "*"
        if self.api == "websocket":
            return f"{head}/{stage}/{path}"
        return f"{head}/{stage}/{method}/{path.lstrip('/') if path != '*' else '*'}"


@dataclass(frozen=True)
class AuthorizerResult:
    """An authorizer's decision; build it with :func:`allow` or :func:`deny`."""

    allowed: bool
    principal_id: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    resources: tuple[str, ...] = ()
    usage_identifier_key: str | None = None


def _checked_context(context: Mapping[str, Any] | None) -> dict[str, ContextValue]:
    result: dict[str, ContextValue] = {}
    for name, value in (context or {}).items():
        if not isinstance(name, str) or not isinstance(value, (str, int, float, bool)):
            raise TypeError(
                "Authorizer context values must be str, int, float or bool "
                f"(API Gateway refuses objects and lists); got {type(value).__name__} "
                f"for {name!r}"
            )
        result[name] = value
    return result


def allow(
    principal_id: str,
    *,
    context: Mapping[str, ContextValue] | None = None,
    resources: Sequence[str] = (),
    usage_identifier_key: str | None = None,
) -> AuthorizerResult:
    """Allow the call; ``context`` reaches the integration as ``requestContext.authorizer``.

    ``resources`` are the ARNs the policy allows (default: the event's own ARN; use
    ``ctx.request.authorizer.arn_for()`` for the whole stage when decisions are cached).
    """
    if not isinstance(principal_id, str) or not principal_id:
        raise ValueError("principal_id must be a non-empty string")
    if isinstance(resources, str):
        resources = (resources,)
    return AuthorizerResult(
        True, principal_id, _checked_context(context), tuple(resources), usage_identifier_key
    )


def deny(
    principal_id: str = "anonymous", *, context: Mapping[str, ContextValue] | None = None
) -> AuthorizerResult:
    """Deny the call (API Gateway answers 403)."""
    if not isinstance(principal_id, str) or not principal_id:
        raise ValueError("principal_id must be a non-empty string")
    return AuthorizerResult(False, principal_id, _checked_context(context))


def authorizer_response(
    result: AuthorizerResult, event: AuthorizerEvent, *, simple: bool = False
) -> dict[str, Any]:
    """The answer API Gateway expects for ``result``.

    HTTP API payload 2.0 with simple responses: ``{"isAuthorized", "context"}``. Every
    other authorizer: ``principalId``, an IAM ``policyDocument`` and ``context``.
    """
    if not isinstance(result, AuthorizerResult):
        raise TypeError(
            "An authorizer handler must return allow(...) or deny(...), "
            f"not {type(result).__name__}"
        )
    if simple and event.payload_version == "2.0":
        return {"isAuthorized": result.allowed, "context": dict(result.context)}
    resources = list(result.resources) if result.allowed and result.resources else [event.arn]
    answer: dict[str, Any] = {
        "principalId": result.principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow" if result.allowed else "Deny",
                    "Resource": resources,
                }
            ],
        },
    }
    if result.context:
        answer["context"] = dict(result.context)
    if result.usage_identifier_key is not None:
        answer["usageIdentifierKey"] = result.usage_identifier_key
    return answer


def wrap_handler(handler: Callable[[Any], Any], *, simple: bool = False) -> Callable[[Any], Any]:
    """``handler`` answering in API Gateway's authorizer shape (used by ``@app.authorizer``).

    ``allow``/``deny`` become the policy (or simple response); a ``LiftError`` with status
    401 raises :class:`Unauthorized`; any other ``LiftError`` is a deny. Other exceptions
    propagate: API Gateway answers 500 and lets nothing through.
    """
    from .dispatch import is_async
    from .errors import LiftError

    def answer(ctx: Any, call: Callable[[], Any]) -> dict[str, Any]:
        event: AuthorizerEvent = ctx.request.authorizer
        try:
            result = call()
        except LiftError as exc:
            if exc.status_code == 401:
                raise Unauthorized() from None
            result = deny()
        return authorizer_response(result, event, simple=simple)

    if is_async(handler):  # awaited like any async def handler, then answered the same way

        @functools.wraps(handler)
        async def async_authorizer(ctx: Any) -> dict[str, Any]:
            try:
                result = await handler(ctx)
            except LiftError as exc:
                return answer(ctx, functools.partial(_raise, exc))
            return answer(ctx, lambda: result)

        return async_authorizer

    @functools.wraps(handler)
    def authorizer(ctx: Any) -> dict[str, Any]:
        return answer(ctx, lambda: handler(ctx))

    return authorizer


def _raise(exc: BaseException) -> Any:
    raise exc
