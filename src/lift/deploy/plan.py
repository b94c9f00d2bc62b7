"""The deployment plan: what to create for an :class:`~lift.apigw.ApiDefinition`.

One plan, two renderings: :mod:`lift.deploy.sam` writes it as an AWS SAM template and
:mod:`lift.deploy.cdk` as CDK constructs. The plan decides everything both need (route
keys, the triggers and the resources they read from, the functions' environment and
permissions, names, outputs), so the renderings cannot disagree. I/O-free.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Any

from ..apigw.definition import (
    CONNECTIONS_TABLE_ENV,
    FANOUT_QUEUE_ENV,
    LIFECYCLE_ROUTES,
    ApiDefinition,
)
from .triggers import Source, Unwired, arn, wire

__all__ = [
    "API",
    "AUTHORIZER_FUNCTION",
    "DEFAULT_MEMORY",
    "DEFAULT_RUNTIME",
    "DEFAULT_TIMEOUT",
    "FANOUT_DLQ",
    "FANOUT_QUEUE",
    "FUNCTION",
    "HTTP_API",
    "MANAGEMENT_ENDPOINT_ENV",
    "MANAGEMENT_QUOTA",
    "STAGE_PARAMETER",
    "TABLE",
    "Plan",
    "Source",
    "Unwired",
    "build_plan",
    "fanout_queue_name",
    "lambda_handler",
    "route_keys",
]

DEFAULT_RUNTIME = "python3.12"
DEFAULT_MEMORY = 512
DEFAULT_TIMEOUT = 29
"""Seconds; API Gateway stops waiting for a WebSocket integration after 29."""
MANAGEMENT_QUOTA = 10_000.0
"""``@connections`` calls per second the fan-out workers share (API Gateway's account
throttle, 10,000 requests per second by default)."""
MANAGEMENT_ENDPOINT_ENV = "LIFT_WS_MANAGEMENT_ENDPOINT"

API = "WebSocketApi"
HTTP_API = "HttpApi"
FUNCTION = "AppFunction"
AUTHORIZER_FUNCTION = "AuthorizerFunction"
TABLE = "ConnectionsTable"
FANOUT_QUEUE = "FanoutQueue"
FANOUT_DLQ = "FanoutDeadLetterQueue"
STAGE_PARAMETER = "StageName"

_IMPLICIT_ORDER = ("$connect", "$disconnect", "$default")
_SQS_NAME = re.compile(r"[A-Za-z0-9_-]{1,75}(\.fifo)?")
_STAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_RUNTIME = re.compile(r"python3\.\d+")
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IDENTITY_SOURCE = re.compile(
    r"route\.request\.(header|querystring)\.[A-Za-z0-9._-]+"
    r"|stageVariables\.[A-Za-z0-9._-]+|context\.[A-Za-z0-9._-]+"
)


def _sub(text: str) -> dict[str, Any]:
    return {"Fn::Sub": text}


def _ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


@dataclass
class Plan:
    """Everything a rendering needs; see :func:`build_plan`."""

    definition: ApiDefinition
    target: str
    handler: str
    runtime: str
    memory: int
    timeout: int
    stage: str
    routes: list[str]
    route_responses: list[str]
    authorizer_handler: str | None
    identity_sources: list[str]
    table_name: Any
    sources: list[Source]
    unwired: list[Unwired]
    http: str
    throttle_rate: float
    throttle_burst: int
    fanout_concurrency: int | None
    parameters: dict[str, Any] = field(default_factory=dict)
    queue_env: dict[str, str] = field(default_factory=dict)

    @property
    def websocket(self) -> bool:
        """Whether the app has a WebSocket API (it has routes)."""
        return bool(self.routes)

    @property
    def table(self) -> bool:
        return self.table_name is not None

    @property
    def fanout_created(self) -> bool:
        fanout = self.definition.fanout
        return fanout is not None and fanout.queue_url is None

    def management_endpoint(self) -> dict[str, Any]:
        """The ``@connections`` endpoint of the stage (``https://``)."""
        return _sub(
            f"https://${{{API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}"
            f"/${{{STAGE_PARAMETER}}}"
        )

    def websocket_url(self) -> dict[str, Any]:
        return _sub(
            f"wss://${{{API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}"
            f"/${{{STAGE_PARAMETER}}}"
        )

    def environment(self) -> dict[str, Any]:
        """Every function's environment: names from the template, never the shell."""
        env: dict[str, Any] = {}
        if self.websocket:
            env[MANAGEMENT_ENDPOINT_ENV] = self.management_endpoint()
        if self.table:
            env[CONNECTIONS_TABLE_ENV] = _ref(TABLE)
        fanout = self.definition.fanout
        if fanout is not None:
            env[FANOUT_QUEUE_ENV] = fanout.queue_url or _ref(FANOUT_QUEUE)
        queues = {s.name: s for s in self.sources if s.kind == "sqs"}
        for variable, queue in self.queue_env.items():
            source = queues[queue]
            env[variable] = _ref(source.logical_id) if source.create else _queue_url(queue)
        return env

    def fanout_queue_arn(self) -> Any:
        fanout = self.definition.fanout
        if fanout is None:
            return None
        if fanout.queue_url is None:
            return {"Fn::GetAtt": [FANOUT_QUEUE, "Arn"]}
        return arn("sqs", fanout_queue_name(fanout.queue_url))

    def statements(self) -> list[dict[str, Any]]:
        """The app function's IAM statements (event-source reads are the renderers')."""
        connections = [
            _sub(
                "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
                f"${{{API}}}/${{{STAGE_PARAMETER}}}/{method}/@connections/*"
            )
            for method in ("POST", "GET", "DELETE")
        ]
        statements: list[dict[str, Any]] = []
        if self.websocket:
            statements.append(
                {
                    "Effect": "Allow",
                    "Action": ["execute-api:ManageConnections"],
                    "Resource": connections,
                }
            )
        if self.table:
            statements.append(
                {
                    "Effect": "Allow",
                    "Action": [
                        "dynamodb:GetItem",
                        "dynamodb:PutItem",
                        "dynamodb:UpdateItem",
                        "dynamodb:DeleteItem",
                        "dynamodb:BatchWriteItem",
                        "dynamodb:ConditionCheckItem",
                        "dynamodb:Query",
                        "dynamodb:Scan",
                    ],
                    "Resource": [
                        {"Fn::GetAtt": [TABLE, "Arn"]},
                        _sub(f"${{{TABLE}.Arn}}/index/*"),
                    ],
                }
            )
        # The app may send to its own queues (a WebSocket route enqueueing for its worker).
        queues = [source.arn for source in self.sources if source.kind == "sqs"]
        fanout_arn = self.fanout_queue_arn()
        if fanout_arn is not None:
            queues.insert(0, fanout_arn)
        if queues:
            statements.append(
                {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": queues}
            )
        return statements


def fanout_queue_name(url: str) -> str:
    """The queue name of an SQS queue URL; :class:`ValueError` for anything else."""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    if not url.startswith("https://") or not _SQS_NAME.fullmatch(name):
        raise ValueError(f"The fan-out queue_url is not an SQS queue URL: {url!r}")
    return name


def lambda_handler(target: str) -> str:
    """The Lambda ``Handler`` of ``module:app`` (``module.app``; ``app`` when omitted)."""
    module, _, attribute = target.partition(":")
    attribute = attribute or "app"
    if not _MODULE.fullmatch(module) or not _IDENTIFIER.fullmatch(attribute):
        raise ValueError(f"Expected MODULE:APP, got {target!r}")
    return f"{module}.{attribute}"


def route_keys(app: Any, *, lifecycle: bool = False) -> list[str]:
    """The API's route keys (:attr:`ApiDefinition.routes`), predefined keys first.

    ``lifecycle`` adds ``$connect`` and ``$disconnect`` (for an authorizer given on
    the command line).
    """
    return _with_lifecycle(ApiDefinition.from_app(app).routes, lifecycle)


def build_plan(
    app: Any,
    target: str,
    *,
    table_name: str | None = None,
    stage: str = "prod",
    authorizer: bool | None = None,
    authorizer_handler: str | None = None,
    identity_source: list[str] | None = None,
    route_responses: bool | None = None,
    memory: int = DEFAULT_MEMORY,
    timeout: int = DEFAULT_TIMEOUT,
    runtime: str = DEFAULT_RUNTIME,
    http: str = "http",
    existing: tuple[str, ...] | list[str] = (),
    throttle_rate: float = 1000.0,
    throttle_burst: int = 500,
    management_quota: float = MANAGEMENT_QUOTA,
    queue_env: dict[str, str] | None = None,
) -> Plan:
    """The plan for ``app`` imported from ``target`` (``module:app``).

    ``http``: HTTP routes behind an ``http`` API (API Gateway HTTP API) or a ``rest``
    API. ``existing``: ``kind:name`` of queues, topics, streams and buckets that exist
    already (referenced, not created). ``queue_env`` maps environment variables to the
    URL of the app's queues (``{"JOBS_URL": "jobs"}``). Other options as
    :func:`lift.deploy.build_template`.
    :class:`ValueError` for a bad argument.
    """
    _check_arguments(stage, table_name, memory, timeout, runtime)
    if http not in ("http", "rest"):
        raise ValueError("The HTTP API type is 'http' (HTTP API) or 'rest' (REST API)")
    if not (throttle_rate > 0 and 0 < throttle_burst <= 5000):
        raise ValueError("Throttling needs a positive rate and a burst of 1 to 5000")
    handler = lambda_handler(target)
    definition = ApiDefinition.from_app(app, route_responses=route_responses)
    if authorizer is None:
        authorizer = authorizer_handler is not None or definition.authorizer is not None
    auth_handler = _authorizer_handler(target, authorizer_handler) if authorizer else None
    routes = _with_lifecycle(definition.routes, auth_handler is not None)
    sources: list[Source] = []
    unwired: list[Unwired] = []
    parameters: dict[str, Any] = {}
    existing_set = {item.strip() for item in existing}
    for item in existing_set:
        kind, _, name = item.partition(":")
        if kind not in ("sqs", "sns", "kinesis", "s3") or not name:
            raise ValueError(f"Expected KIND:NAME (sqs, sns, kinesis or s3), got {item!r}")
    ids: set[str] = set()
    for trigger in definition.triggers:
        wired = wire(trigger, http, existing_set, parameters, ids)
        if isinstance(wired, Unwired):
            unwired.append(wired)
        else:
            sources.append(wired)
    default_sources = definition.authorizer.identity_sources if definition.authorizer else ()
    sources_given = list(identity_source if identity_source is not None else default_sources)
    for source in sources_given:
        if not _IDENTITY_SOURCE.fullmatch(source):
            raise ValueError(f"Not a WebSocket identity source: {source!r}")
    fanout = definition.fanout
    if fanout is not None and fanout.queue_url is not None:
        fanout_queue_name(fanout.queue_url)
    queue_env = dict(queue_env or {})
    wired_queues = {source.name for source in sources if source.kind == "sqs"}
    for variable, queue in queue_env.items():
        if not _IDENTIFIER.fullmatch(variable) or variable.startswith("AWS_"):
            raise ValueError(f"Not an environment variable name for a queue URL: {variable!r}")
        if queue not in wired_queues:
            raise ValueError(f"{variable}: {queue!r} is not a queue the app handles (@app.sqs)")
    return Plan(
        definition=definition,
        target=target,
        handler=handler,
        runtime=runtime,
        memory=memory,
        timeout=timeout,
        stage=stage,
        routes=routes,
        route_responses=[key for key in routes if definition.returns_response(key)],
        authorizer_handler=auth_handler,
        identity_sources=sources_given if auth_handler else [],
        table_name=_table_name(definition, table_name),
        sources=sources,
        unwired=unwired,
        http=http,
        throttle_rate=float(throttle_rate),
        throttle_burst=int(throttle_burst),
        fanout_concurrency=(
            fanout.maximum_concurrency(management_quota) if fanout is not None else None
        ),
        parameters=parameters,
        queue_env=queue_env,
    )


def _with_lifecycle(routes: tuple[str, ...], lifecycle: bool) -> list[str]:
    keys = set(routes) | (set(LIFECYCLE_ROUTES) if lifecycle else set())
    ordered = [key for key in _IMPLICIT_ORDER if key in keys]
    return ordered + [key for key in routes if key not in _IMPLICIT_ORDER]


def _queue_url(name: str) -> dict[str, Any]:
    return _sub(f"https://sqs.${{AWS::Region}}.${{AWS::URLSuffix}}/${{AWS::AccountId}}/{name}")


def _check_arguments(
    stage: str, table_name: str | None, memory: int, timeout: int, runtime: str
) -> None:
    if not _STAGE_NAME.fullmatch(stage):
        raise ValueError("The stage name must be 1-128 letters, digits, '-' or '_'")
    if table_name is not None and not _TABLE_NAME.fullmatch(table_name):
        raise ValueError("The table name must be 3-255 letters, digits, '_', '-' or '.'")
    if not 128 <= memory <= 10240:
        raise ValueError("The memory size must be between 128 and 10240 MB")
    if not 1 <= timeout <= 900:
        raise ValueError("The timeout must be between 1 and 900 seconds")
    if not _RUNTIME.fullmatch(runtime):
        raise ValueError("The runtime must be a Python runtime such as python3.12")


def _authorizer_handler(target: str, explicit: str | None) -> str:
    """The authorizer function's ``Handler``; checks it exists in an imported module."""
    if explicit is None:
        module, attribute = target.partition(":")[0], "authorizer"
    elif ":" in explicit:
        module, _, attribute = explicit.partition(":")
    else:
        module, _, attribute = explicit.rpartition(".")
    if not _MODULE.fullmatch(module) or not _IDENTIFIER.fullmatch(attribute):
        raise ValueError(f"Expected MODULE:FUNCTION for the authorizer, got {explicit!r}")
    loaded = sys.modules.get(module)
    if loaded is not None and not callable(getattr(loaded, attribute, None)):
        raise ValueError(
            f"{module}.{attribute} is not defined: expose "
            f"`{attribute} = lift.websocket.authorizer(config)` in {module}, "
            "name another handler (--authorizer-handler), or leave the authorizer out "
            "(--no-authorizer)"
        )
    return f"{module}.{attribute}"


def _table_name(definition: ApiDefinition, explicit: str | None) -> Any:
    """The table's name (a string or ``Fn::Sub``), or ``None`` when no table is needed."""
    table = definition.connections_table
    if table is None:
        return None
    if explicit is not None:
        return explicit
    if table.name is not None and _TABLE_NAME.fullmatch(table.name):
        return table.name
    return _sub("${AWS::StackName}-connections")
