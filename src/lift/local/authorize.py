"""The app's Lambda REQUEST authorizer, run on ``$connect`` as API Gateway runs it.

When an app is deployed with an authorizer (``lift template`` adds one when
``websocket_auth`` checks ``$connect``), API Gateway calls it before ``$connect`` and
hands its context to every event of the connection as ``requestContext.authorizer``.
Running it locally too keeps ``ctx.claims`` and ``ctx.user_id`` the same on a laptop
as on AWS. The rules are those of :mod:`lift.apigw.authorizer`.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from ..apigw.authorizer import (
    FAILED,
    UNAUTHORIZED,
    AuthorizerDecision,
    authorizer_event,
    decide,
    method_arn,
    missing_identity,
)
from .invocation import Invoker, WorkerPool

__all__ = ["ConnectAuthorizer"]

_ACCOUNT_ID = "000000000000"
Handler = Callable[[dict[str, Any], Any], Any]


class ConnectAuthorizer:
    """A REQUEST authorizer ``handler`` (``lift.websocket.authorizer(config)``, or an app
    with ``@app.authorizer`` routes) and the identity sources API Gateway checks first."""

    def __init__(
        self, handler: Handler, *, identity_sources: Sequence[str] = (), name: str = ""
    ) -> None:
        self.handler = handler
        self.identity_sources = tuple(identity_sources)
        self.name = name or getattr(handler, "__qualname__", "authorizer")

    async def decide(
        self,
        connect_event: dict[str, Any],
        pool: WorkerPool,
        *,
        timeout: float,
        report: Callable[[str], None],
    ) -> AuthorizerDecision:
        """Run the authorizer for ``connect_event`` (within ``timeout`` seconds)."""
        if missing_identity(self.identity_sources, connect_event):
            return UNAUTHORIZED
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "local"
        arn = method_arn(connect_event, region=region, account_id=_ACCOUNT_ID)
        event = authorizer_event(connect_event, arn)
        handler = self.handler

        def call(event: dict[str, Any], context: Any) -> tuple[Any, BaseException | None]:
            try:
                return handler(event, context), None
            except Exception as exc:  # noqa: BLE001 - API Gateway turns errors into answers
                if str(exc) != "Unauthorized":
                    report(f"The authorizer raised:\n{traceback.format_exc().rstrip()}")
                return None, exc

        invoker = Invoker(call, pool, timeout=timeout, report=report)
        outcome, _ = await invoker.invoke(event, route="authorizer")
        if not outcome.ok or not isinstance(outcome.result, tuple):
            return FAILED
        answer, error = outcome.result
        return decide(answer, error, arn, round(outcome.elapsed_ms))


def find_authorizer(app: Any, target: str, choice: str = "auto") -> ConnectAuthorizer | None:
    """The authorizer ``lift dev`` runs for the app of ``target`` (``module:app``).

    ``choice`` is ``none``, ``MODULE:FUNCTION``, or ``auto``: the module's
    ``authorizer`` (what ``lift template`` wires) when ``websocket_auth`` checks
    ``$connect``, else the app itself when it has ``@app.authorizer`` routes.
    Raises :class:`SystemExit` with one line when a named authorizer is missing.
    """
    from ..apigw.definition import ApiDefinition

    if choice == "none":
        return None
    declared = ApiDefinition.from_app(app).authorizer
    sources = declared.identity_sources if declared is not None else ()
    if choice != "auto":
        module_name, _, attribute = choice.partition(":")
        try:
            handler = getattr(importlib.import_module(module_name), attribute or "authorizer")
        except (ImportError, AttributeError, ValueError) as exc:
            raise SystemExit(f"error: cannot load the authorizer {choice!r}: {exc}") from exc
        if not callable(handler):
            raise SystemExit(f"error: the authorizer {choice!r} is not callable")
        return ConnectAuthorizer(handler, identity_sources=sources, name=choice)
    module_name = target.partition(":")[0]
    module = sys.modules.get(module_name)
    handler = getattr(module, "authorizer", None)
    if declared is not None and callable(handler):
        return ConnectAuthorizer(
            handler, identity_sources=sources, name=f"{module_name}.authorizer"
        )
    if any(route.kind == "authorizer" for route in app.routes()):
        return ConnectAuthorizer(app, name=f"{target} (@app.authorizer)")
    return None
