"""``lift template``: deploy an app with AWS SAM (or CDK, :mod:`lift.deploy.cdk`).

The template renders the app's :class:`~lift.apigw.ApiDefinition` (the description the
test client and the local gateway emulate) through one :class:`~lift.deploy.plan.Plan`:
the WebSocket API with its routes, route responses and ``$connect`` authorizer; HTTP
routes behind an HTTP or REST API; SQS, SNS, Kinesis, DynamoDB Streams, S3, schedule
and EventBridge triggers; the connections table; the fan-out queue with its
dead-letter queue; the ``@connections`` permission scoped to the stage and the
management endpoint in every function's environment. A trigger it cannot wire is
listed by :func:`unwired_triggers` with the reason.
"""

from __future__ import annotations

import json
from typing import Any

from ..apigw.definition import CONNECTIONS_TABLE_ENV
from .plan import (
    DEFAULT_MEMORY,
    DEFAULT_RUNTIME,
    DEFAULT_TIMEOUT,
    MANAGEMENT_ENDPOINT_ENV,
    Plan,
    build_plan,
    lambda_handler,
    route_keys,
)
from .sam import render_sam

__all__ = [
    "CONNECTIONS_TABLE_ENV",
    "DEFAULT_MEMORY",
    "DEFAULT_RUNTIME",
    "DEFAULT_TIMEOUT",
    "MANAGEMENT_ENDPOINT_ENV",
    "Plan",
    "build_plan",
    "build_template",
    "dump",
    "lambda_handler",
    "render_template",
    "route_keys",
    "unwired_triggers",
]


def build_template(app: Any, target: str, **options: Any) -> dict[str, Any]:
    """An AWS SAM template (a dict) deploying ``app``, imported from ``target`` (``module:app``).

    ``stage`` is the default of the ``StageName`` parameter. ``table_name`` names the
    connections table (default: a ``DynamoDBConnectionStore`` configured in code, else
    ``<stack>-connections``; never a name read from the shell's environment); the table
    is added when the app tracks connections or uses a DynamoDB store, and its name is
    passed in ``LIFT_CONNECTIONS_TABLE``.

    ``authorizer`` (``None``: when ``websocket_auth`` checks ``$connect`` or
    ``authorizer_handler`` is given) adds a Lambda REQUEST authorizer on ``$connect``.
    Its handler is ``authorizer_handler`` (``module.function`` or ``module:function``),
    by default ``<module>.authorizer``: expose ``authorizer =
    lift.websocket.authorizer(config)`` in the app's module. ``identity_source`` lists
    the authorizer's identity sources; by default the single token source of
    ``websocket_auth`` when it has one, else none.

    Message routes get a ``$default`` route response, so a handler's result reaches the
    sender, unless the app says ``WebSocketOptions(route_responses=False)`` (for apps
    that answer only through ``@connections``); ``route_responses`` may restate that
    setting, and is refused when it disagrees. ``http`` puts HTTP routes behind an
    ``"http"`` (HTTP API) or ``"rest"`` (REST API) API. ``existing`` lists ``kind:name``
    queues, topics, streams and buckets to reference instead of create; ``queue_env``
    maps environment variables to the URL of queues the app handles. ``throttle_rate``
    and ``throttle_burst`` are the stages' throttling; ``memory``, ``timeout``,
    ``runtime`` the functions'.

    :class:`ValueError` for a bad argument.
    """
    return render_sam(build_plan(app, target, **options))


def dump(template: dict[str, Any], output_format: str = "json") -> str:
    """``template`` as JSON or YAML text."""
    if output_format == "json":
        return json.dumps(template, indent=2, ensure_ascii=False)
    if output_format != "yaml":
        raise ValueError("The format is json or yaml")
    try:
        import yaml
    except ImportError as exc:
        raise ValueError("YAML output needs PyYAML (pip install pyyaml)") from exc
    # Keys keep their order; strings that read as other YAML types stay quoted.
    text: str = yaml.safe_dump(template, sort_keys=False, allow_unicode=True)
    return text


def render_template(app: Any, target: str, *, output_format: str = "json", **options: Any) -> str:
    """The SAM template of :func:`build_template` (same options) as JSON or YAML text."""
    return dump(build_template(app, target, **options), output_format)


def unwired_triggers(app: Any, target: str = "app:app", **options: Any) -> list[str]:
    """The app's triggers the template cannot wire, each with the reason."""
    plan: Plan = build_plan(app, target, **options)
    return [item.describe() for item in plan.unwired]
