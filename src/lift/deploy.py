"""``lift template``: an AWS SAM template (JSON) for an app's WebSocket API.

The template renders :class:`lift.apigw.ApiDefinition` (the description the test client
and the local gateway emulate): one API Gateway route per deployed route key (so
``$connect`` whenever the app could refuse a connection), all integrated with one Lambda
function; route responses; the DynamoDB connections table when connections are stored;
the ``@connections`` and table permissions; and a Lambda REQUEST authorizer on
``$connect`` when ``websocket_auth`` is used. JSON is valid YAML and CloudFormation
reads it as is, so no YAML library is needed.

Only WebSocket routes are wired; the app's other triggers
(:attr:`ApiDefinition.triggers`) are listed by :func:`unwired_triggers` for the user to
add as ``Events`` of the function.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from typing import Any

from .apigw.definition import LIFECYCLE_ROUTES, ApiDefinition
from .app import App
from .websocket.stores import CONNECTIONS_TABLE_ENV
from .websocket.stores.dynamodb import (
    TTL_ATTRIBUTE,
    table_definition,
)

__all__ = [
    "CONNECTIONS_TABLE_ENV",
    "DEFAULT_MEMORY",
    "DEFAULT_RUNTIME",
    "DEFAULT_TIMEOUT",
    "build_template",
    "lambda_handler",
    "render_template",
    "route_keys",
    "unwired_triggers",
]

DEFAULT_RUNTIME = "python3.12"
DEFAULT_MEMORY = 512
DEFAULT_TIMEOUT = 29
"""Seconds; API Gateway stops waiting for a WebSocket integration after 29."""

API = "WebSocketApi"
FUNCTION = "WebSocketFunction"
INTEGRATION = "WebSocketIntegration"
PERMISSION = "WebSocketPermission"
STAGE = "Stage"
STAGE_PARAMETER = "StageName"
TABLE = "ConnectionsTable"
AUTHORIZER = "ConnectAuthorizer"
AUTHORIZER_FUNCTION = "AuthorizerFunction"
AUTHORIZER_PERMISSION = "AuthorizerPermission"

_IMPLICIT_ORDER = ("$connect", "$disconnect", "$default")
_STAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_RUNTIME = re.compile(r"python3\.\d+")
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IDENTITY_SOURCE = re.compile(
    r"route\.request\.(header|querystring)\.[A-Za-z0-9._-]+"
    r"|stageVariables\.[A-Za-z0-9._-]+|context\.[A-Za-z0-9._-]+"
)


def render_template(app: App, target: str, **options: Any) -> str:
    """The SAM template of :func:`build_template` (same options) as JSON text.

    JSON is valid YAML, so ``sam`` and CloudFormation take it as is.
    """
    return json.dumps(build_template(app, target, **options), indent=2, ensure_ascii=False)


def build_template(
    app: App,
    target: str,
    *,
    table_name: str | None = None,
    stage: str = "prod",
    authorizer: bool | None = None,
    authorizer_handler: str | None = None,
    identity_source: list[str] | None = None,
    route_responses: bool = True,
    memory: int = DEFAULT_MEMORY,
    timeout: int = DEFAULT_TIMEOUT,
    runtime: str = DEFAULT_RUNTIME,
) -> dict[str, Any]:
    """An AWS SAM template (a dict) deploying ``app``, imported from ``target`` (``module:app``).

    ``stage`` is the default of the ``StageName`` parameter. ``table_name`` names the
    connections table (default: the configured ``DynamoDBConnectionStore``'s, else
    ``<stack>-connections``); the table is added when the app tracks connections or
    uses a DynamoDB store, and its name is passed in ``LIFT_CONNECTIONS_TABLE``.

    ``authorizer`` (``None``: when ``websocket_auth`` checks ``$connect`` or
    ``authorizer_handler`` is given) adds a Lambda REQUEST authorizer on ``$connect``.
    Its handler is ``authorizer_handler`` (``module.function`` or ``module:function``),
    by default ``<module>.authorizer``: expose ``authorizer =
    lift.websocket.authorizer(config)`` in the app's module. ``identity_source`` lists
    the authorizer's identity sources; by default the single token source of
    ``websocket_auth`` when it has one, else none, so the authorizer runs on every
    ``$connect`` (API Gateway refuses a connection missing any listed source before the
    authorizer runs, which would break the other token sources).

    ``route_responses`` gives every message route a ``$default`` route response, so a
    handler's result (``return {...}``, error bodies included) reaches the sender; turn
    it off for apps that answer only through ``@connections``.

    :class:`ValueError` for an app without WebSocket routes or a bad argument.
    """
    _check_arguments(stage, table_name, memory, timeout, runtime)
    handler = lambda_handler(target)
    definition = ApiDefinition.from_app(app, route_responses=route_responses)
    if authorizer is None:
        authorizer = authorizer_handler is not None or definition.authorizer is not None
    auth_handler = _authorizer_handler(target, authorizer_handler) if authorizer else None
    keys = _with_lifecycle(definition.routes, auth_handler is not None)
    if not keys:
        raise ValueError("The app has no WebSocket routes to deploy")
    table = _table_name(definition, table_name)

    resources: dict[str, Any] = {
        API: _api(definition.route_selection),
        INTEGRATION: _integration(),
    }
    if auth_handler is not None:
        default_sources = definition.authorizer.identity_sources if definition.authorizer else ()
        sources = list(identity_source if identity_source is not None else default_sources)
        for source in sources:
            if not _IDENTITY_SOURCE.fullmatch(source):
                raise ValueError(f"Not a WebSocket identity source: {source!r}")
        resources[AUTHORIZER] = _authorizer(sources)
    route_ids = _route_ids(keys)
    for key in keys:
        logical_id = route_ids[key]
        two_way = definition.returns_response(key)
        resources[logical_id] = _route(key, auth_handler is not None, two_way)
        if two_way:
            resources[f"{logical_id}Response"] = {
                "Type": "AWS::ApiGatewayV2::RouteResponse",
                "Properties": {
                    "ApiId": _ref(API),
                    "RouteId": _ref(logical_id),
                    "RouteResponseKey": "$default",
                },
            }
    # A new logical id whenever the routes change, so CloudFormation deploys them again.
    digest = hashlib.sha256(json.dumps(resources, sort_keys=True).encode()).hexdigest()[:10]
    deployment = f"Deployment{digest}"
    resources[deployment] = {
        "Type": "AWS::ApiGatewayV2::Deployment",
        "DependsOn": [route_ids[key] for key in keys],
        "Properties": {"ApiId": _ref(API), "Description": f"Routes: {', '.join(keys)}"},
    }
    resources[STAGE] = {
        "Type": "AWS::ApiGatewayV2::Stage",
        "Properties": {
            "ApiId": _ref(API),
            "StageName": _ref(STAGE_PARAMETER),
            "DeploymentId": _ref(deployment),
        },
    }
    resources[FUNCTION] = _function(handler, runtime, memory, timeout, table is not None)
    resources[PERMISSION] = _permission(FUNCTION, f"${{{API}}}/*")
    if table is not None:
        resources[TABLE] = _table(table)
    if auth_handler is not None:
        resources[AUTHORIZER_FUNCTION] = {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Description": "Lift WebSocket REQUEST authorizer for $connect",
                "Runtime": runtime,
                "Handler": auth_handler,
                "CodeUri": ".",
                "MemorySize": memory,
                "Timeout": min(timeout, 10),
            },
        }
        resources[AUTHORIZER_PERMISSION] = _permission(
            AUTHORIZER_FUNCTION, f"${{{API}}}/authorizers/${{{AUTHORIZER}}}"
        )

    outputs: dict[str, Any] = {
        "WebSocketUrl": {
            "Description": "Connect here (wss://)",
            "Value": _sub(
                f"wss://${{{API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/${{{STAGE}}}"
            ),
        },
        "ManagementEndpoint": {
            "Description": "The @connections Management API endpoint",
            "Value": _sub(
                f"https://${{{API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/${{{STAGE}}}"
            ),
        },
        "FunctionName": {"Description": "The app's Lambda function", "Value": _ref(FUNCTION)},
    }
    if table is not None:
        outputs["ConnectionsTableName"] = {
            "Description": f"The connections table (env {CONNECTIONS_TABLE_ENV})",
            "Value": _ref(TABLE),
        }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": f"Lift app {target}: API Gateway WebSocket API ({len(keys)} routes)",
        "Parameters": {
            STAGE_PARAMETER: {
                "Type": "String",
                "Default": stage,
                "AllowedPattern": "[A-Za-z0-9_-]{1,128}",
                "Description": "The API stage name",
            }
        },
        "Resources": resources,
        "Outputs": outputs,
    }


def lambda_handler(target: str) -> str:
    """The Lambda ``Handler`` of ``module:app`` (``module.app``; ``app`` when omitted)."""
    module, _, attribute = target.partition(":")
    attribute = attribute or "app"
    if not _MODULE.fullmatch(module) or not _IDENTIFIER.fullmatch(attribute):
        raise ValueError(f"Expected MODULE:APP, got {target!r}")
    return f"{module}.{attribute}"


def route_keys(app: App, *, lifecycle: bool = False) -> list[str]:
    """The API's route keys (:attr:`ApiDefinition.routes`), predefined keys first.

    ``lifecycle`` adds ``$connect`` and ``$disconnect`` (for an authorizer given on
    the command line).
    """
    return _with_lifecycle(ApiDefinition.from_app(app).routes, lifecycle)


def unwired_triggers(app: App) -> list[str]:
    """The app's non-WebSocket triggers, described, which the template does not wire."""
    return [
        f"{t.kind} {t.method} {t.pattern}" if t.method != "-" else f"{t.kind} {t.pattern}"
        for t in ApiDefinition.from_app(app).triggers
    ]


def _with_lifecycle(routes: tuple[str, ...], lifecycle: bool) -> list[str]:
    keys = set(routes) | (set(LIFECYCLE_ROUTES) if lifecycle else set())
    ordered = [key for key in _IMPLICIT_ORDER if key in keys]
    return ordered + [key for key in routes if key not in _IMPLICIT_ORDER]


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


def _route_ids(keys: list[str]) -> dict[str, str]:
    """Alphanumeric logical ids (``RouteConnect``, ``RouteSendMessage``...), unique."""
    bases: dict[str, str] = {}
    for key in keys:
        words = re.split(r"[^A-Za-z0-9]+", key)
        bases[key] = "Route" + "".join(word[:1].upper() + word[1:] for word in words)[:200]
    counts: dict[str, int] = {}
    for base in bases.values():
        counts[base] = counts.get(base, 0) + 1
    ids = {}
    for key, base in bases.items():
        suffix = ""
        if counts[base] > 1 or base == "Route":
            suffix = hashlib.sha256(key.encode()).hexdigest()[:8]
        ids[key] = base + suffix
    return ids


def _api(route_selection: str) -> dict[str, Any]:
    return {
        "Type": "AWS::ApiGatewayV2::Api",
        "Properties": {
            "Name": _sub("${AWS::StackName}"),
            "ProtocolType": "WEBSOCKET",
            "RouteSelectionExpression": route_selection,
        },
    }


def _integration() -> dict[str, Any]:
    return {
        "Type": "AWS::ApiGatewayV2::Integration",
        "Properties": {
            "ApiId": _ref(API),
            "IntegrationType": "AWS_PROXY",
            "IntegrationMethod": "POST",
            "IntegrationUri": _invocation_uri(FUNCTION),
        },
    }


def _authorizer(identity_source: list[str]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "ApiId": _ref(API),
        "Name": _sub("${AWS::StackName}-connect"),
        "AuthorizerType": "REQUEST",
        "AuthorizerUri": _invocation_uri(AUTHORIZER_FUNCTION),
    }
    if identity_source:
        properties["IdentitySource"] = identity_source
    return {"Type": "AWS::ApiGatewayV2::Authorizer", "Properties": properties}


def _route(key: str, authorized: bool, two_way: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "ApiId": _ref(API),
        "RouteKey": key,
        "Target": _sub(f"integrations/${{{INTEGRATION}}}"),
    }
    if key == "$connect" and authorized:
        properties["AuthorizationType"] = "CUSTOM"
        properties["AuthorizerId"] = _ref(AUTHORIZER)
    else:
        properties["AuthorizationType"] = "NONE"
    if two_way:
        # The handler's result is sent back to the client, as the test client does.
        properties["RouteResponseSelectionExpression"] = "$default"
    return {"Type": "AWS::ApiGatewayV2::Route", "Properties": properties}


def _function(handler: str, runtime: str, memory: int, timeout: int, table: bool) -> Any:
    # The ARN uses the StageName parameter, not the Stage resource: the stage depends on
    # the routes, which depend on this function, so referencing it would be a cycle.
    connections = [
        _sub(
            "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
            f"${{{API}}}/${{{STAGE_PARAMETER}}}/{method}/@connections/*"
        )
        for method in ("POST", "GET", "DELETE")
    ]
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": ["execute-api:ManageConnections"], "Resource": connections}
    ]
    properties: dict[str, Any] = {
        "Description": "Lift app: every WebSocket route",
        "Runtime": runtime,
        "Handler": handler,
        "CodeUri": ".",
        "MemorySize": memory,
        "Timeout": timeout,
    }
    if table:
        statements.append(
            {
                "Effect": "Allow",
                "Action": [
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:BatchWriteItem",
                    "dynamodb:Query",
                    "dynamodb:Scan",
                ],
                "Resource": [
                    {"Fn::GetAtt": [TABLE, "Arn"]},
                    _sub(f"${{{TABLE}.Arn}}/index/*"),
                ],
            }
        )
        properties["Environment"] = {"Variables": {CONNECTIONS_TABLE_ENV: _ref(TABLE)}}
    properties["Policies"] = [{"Version": "2012-10-17", "Statement": statements}]
    return {"Type": "AWS::Serverless::Function", "Properties": properties}


def _permission(function: str, source: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": _ref(function),
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": _sub(
                f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:{source}"
            ),
        },
    }


def _table(name: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::DynamoDB::Table",
        # Connection records are short-lived (two hours at most): nothing to retain.
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {
            "TableName": name,
            **table_definition(),
            "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
        },
    }


def _invocation_uri(function: str) -> dict[str, Any]:
    return _sub(
        "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
        f"${{{function}.Arn}}/invocations"
    )


def _ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


def _sub(text: str) -> dict[str, Any]:
    return {"Fn::Sub": text}
