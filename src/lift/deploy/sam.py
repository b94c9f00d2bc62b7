"""The AWS SAM rendering of a :class:`~lift.deploy.plan.Plan`.

The WebSocket API is an ``AWS::Serverless::WebSocketApi`` (routes, the ``$connect``
authorizer and its permission, the stage with its throttling); what that resource
cannot express stays raw ``AWS::ApiGatewayV2``: route responses, and routes whose key
is not alphanumeric. Every other trigger is an event of the app's
``AWS::Serverless::Function``.
"""

from __future__ import annotations

import re
from typing import Any

from ..apigw.definition import CONNECTIONS_TABLE_ENV
from ..websocket.stores.dynamodb import TTL_ATTRIBUTE, table_definition
from .intrinsics import arn_of, ref, sub
from .plan import (
    API,
    AUTHORIZER_FUNCTION,
    FANOUT_DLQ,
    FANOUT_QUEUE,
    FUNCTION,
    HTTP_API,
    STAGE_PARAMETER,
    TABLE,
    Plan,
    Source,
)

__all__ = [
    "WS_INTEGRATION",
    "outputs",
    "parameters",
    "render_sam",
    "rest_definition",
    "sam_route_ids",
    "shared_resources",
]

WS_INTEGRATION = "WebSocketRawIntegration"
_SAM_KEY = re.compile(r"[A-Za-z0-9]{1,180}")
_PREDEFINED = {"$connect": "Connect", "$disconnect": "Disconnect", "$default": "Default"}


def sam_route_ids(plan: Plan) -> dict[str, tuple[str, bool]]:
    """Each route's logical id after the SAM transform, and whether
    ``AWS::Serverless::WebSocketApi`` carries it (else it is a raw route).

    SAM takes ``$connect``, ``$disconnect``, ``$default`` and alphanumeric keys, named
    ``<Api><Key.capitalize()>Route``; keys it cannot name (other characters, too long,
    or two keys one name such as ``chat`` and ``Chat``) stay raw.
    """
    from .triggers import logical_id

    ids: dict[str, tuple[str, bool]] = {}
    taken: set[str] = set()
    for key in plan.routes:
        if key in _PREDEFINED:
            name = f"{API}{_PREDEFINED[key]}Route"
        elif _SAM_KEY.fullmatch(key):
            name = f"{API}{key.capitalize()}Route"
        else:
            continue
        if name not in taken:
            taken.add(name)
            ids[key] = (name, True)
    for key in plan.routes:
        if key not in ids:
            ids[key] = (logical_id("WebSocketRoute", key, taken), False)
    return ids


def render_sam(plan: Plan) -> dict[str, Any]:
    """The SAM template (a dict) of ``plan``."""
    resources: dict[str, Any] = {}
    function_arn = arn_of(FUNCTION)
    sam_routes: dict[str, Any] = {}
    route_ids = sam_route_ids(plan)
    raw = [key for key in plan.routes if not route_ids[key][1]]
    for key in plan.routes:
        if not route_ids[key][1]:
            continue
        spec: dict[str, Any] = {
            "FunctionArn": function_arn,
            "IntegrationTimeout": min(plan.timeout, 29) * 1000,
        }
        if key in plan.route_responses:
            spec["RouteResponseSelectionExpression"] = "$default"
        sam_routes[key] = spec
    api: dict[str, Any] = {
        "Name": sub("${AWS::StackName}"),
        "RouteSelectionExpression": plan.definition.route_selection,
        "StageName": ref(STAGE_PARAMETER),
        "DefaultRouteSettings": {
            "ThrottlingRateLimit": plan.throttle_rate,
            "ThrottlingBurstLimit": plan.throttle_burst,
        },
        "Routes": sam_routes,
    }
    if plan.authorizer_handler is not None:
        auth: dict[str, Any] = {
            "AuthType": "CUSTOM",
            "AuthArn": arn_of(AUTHORIZER_FUNCTION),
            "Name": sub("${AWS::StackName}-connect"),
        }
        if plan.identity_sources:
            auth["IdentitySource"] = list(plan.identity_sources)
        api["Auth"] = auth
    if plan.websocket:
        resources[API] = {"Type": "AWS::Serverless::WebSocketApi", "Properties": api}
    if raw:
        resources[WS_INTEGRATION] = {
            "Type": "AWS::ApiGatewayV2::Integration",
            "Properties": {
                "ApiId": ref(API),
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": sub(
                    "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/"
                    f"functions/${{{FUNCTION}.Arn}}/invocations"
                ),
                "TimeoutInMillis": min(plan.timeout, 29) * 1000,
            },
        }
        resources[f"{WS_INTEGRATION}Permission"] = _permission(
            FUNCTION, f"${{{API}}}/${{{STAGE_PARAMETER}}}/*"
        )
        for key in raw:
            properties: dict[str, Any] = {
                "ApiId": ref(API),
                "RouteKey": key,
                "AuthorizationType": "NONE",
                "Target": {"Fn::Join": ["/", ["integrations", ref(WS_INTEGRATION)]]},
            }
            if key in plan.route_responses:
                properties["RouteResponseSelectionExpression"] = "$default"
            resources[route_ids[key][0]] = {
                "Type": "AWS::ApiGatewayV2::Route",
                "Properties": properties,
            }
    for key in plan.route_responses:
        resources[f"{route_ids[key][0]}Response"] = {
            "Type": "AWS::ApiGatewayV2::RouteResponse",
            "Properties": {
                "ApiId": ref(API),
                "RouteId": ref(route_ids[key][0]),
                "RouteResponseKey": "$default",
            },
        }
    resources.update(shared_resources(plan))
    for source in plan.sources:
        if source.kind == "s3":
            # SAM adds the notification to the bucket, so it must be in this template.
            resources[source.logical_id] = {
                "Type": "AWS::S3::Bucket",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {"BucketName": source.name},
            }
    resources[FUNCTION] = _function(plan)
    if plan.authorizer_handler is not None:
        resources[AUTHORIZER_FUNCTION] = {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Description": "Lift WebSocket REQUEST authorizer for $connect",
                "Runtime": plan.runtime,
                "Handler": plan.authorizer_handler,
                "CodeUri": ".",
                "MemorySize": plan.memory,
                "Timeout": min(plan.timeout, 10),
                "Environment": {"Variables": plan.environment()},
            },
        }
    if any(source.kind == "http" for source in plan.sources):
        if plan.http == "http":
            resources[HTTP_API] = {
                "Type": "AWS::Serverless::HttpApi",
                "Properties": {
                    "StageName": ref(STAGE_PARAMETER),
                    "DefaultRouteSettings": {
                        "ThrottlingRateLimit": plan.throttle_rate,
                        "ThrottlingBurstLimit": plan.throttle_burst,
                    },
                },
            }
        else:
            resources[HTTP_API] = {
                "Type": "AWS::Serverless::Api",
                "Properties": {
                    "StageName": ref(STAGE_PARAMETER),
                    "DefinitionBody": rest_definition(plan),
                    "MethodSettings": [
                        {
                            "HttpMethod": "*",
                            "ResourcePath": "/*",
                            "ThrottlingRateLimit": plan.throttle_rate,
                            "ThrottlingBurstLimit": plan.throttle_burst,
                        }
                    ],
                },
            }
            resources[f"{HTTP_API}Permission"] = _permission(FUNCTION, f"${{{HTTP_API}}}/*/*/*")
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": (
            f"Lift app {plan.target}: WebSocket API ({len(plan.routes)} routes), "
            f"{len(plan.sources)} other triggers"
        ),
        "Parameters": parameters(plan),
        "Resources": resources,
        "Outputs": outputs(plan),
    }


def parameters(plan: Plan) -> dict[str, Any]:
    """The template's parameters: the stage name and referenced stream ARNs."""
    return {
        STAGE_PARAMETER: {
            "Type": "String",
            "Default": plan.stage,
            "AllowedPattern": "[A-Za-z0-9_-]{1,128}",
            "Description": "The API stage name",
        },
        **plan.parameters,
    }


def outputs(plan: Plan) -> dict[str, Any]:
    """The URLs and names a client or an operator needs."""
    result: dict[str, Any] = {}
    if plan.websocket:
        result["WebSocketUrl"] = {
            "Description": "Connect here (wss://)",
            "Value": plan.websocket_url(),
        }
        result["ManagementEndpoint"] = {
            "Description": "The @connections callback URL (LIFT_WS_MANAGEMENT_ENDPOINT)",
            "Value": plan.management_endpoint(),
        }
    result["FunctionName"] = {"Description": "The app's Lambda function", "Value": ref(FUNCTION)}
    if plan.table:
        result["ConnectionsTableName"] = {
            "Description": f"The connections table ({CONNECTIONS_TABLE_ENV})",
            "Value": ref(TABLE),
        }
    if plan.fanout_created:
        result["FanoutQueueUrl"] = {
            "Description": "The fan-out queue (LIFT_FANOUT_QUEUE_URL)",
            "Value": ref(FANOUT_QUEUE),
        }
        result["FanoutDeadLetterQueueUrl"] = {
            "Description": "Fan-out shards that failed every attempt",
            "Value": ref(FANOUT_DLQ),
        }
    for source in plan.sources:
        if source.kind == "sqs" and source.create:
            result[f"{source.logical_id}Url"] = {
                "Description": f"The queue {source.name}",
                "Value": ref(source.logical_id),
            }
    if any(source.kind == "http" for source in plan.sources):
        host = "${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
        result["HttpApiUrl"] = {
            "Description": f"The HTTP routes ({plan.http.upper()} API)",
            "Value": sub(f"https://{host}/${{{STAGE_PARAMETER}}}"),
        }
    return result


def shared_resources(plan: Plan) -> dict[str, Any]:
    """Resources both renderings create as they are: table, queues, topics, streams."""
    resources: dict[str, Any] = {}
    if plan.table:
        resources[TABLE] = {
            "Type": "AWS::DynamoDB::Table",
            # Connection records are short-lived (two hours at most): nothing to retain.
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "TableName": plan.table_name,
                **table_definition(),
                "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
            },
        }
    visibility = max(30, plan.timeout * 6)
    fanout = plan.definition.fanout
    if fanout is not None and plan.fanout_created:
        resources[FANOUT_DLQ] = {
            "Type": "AWS::SQS::Queue",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {"MessageRetentionPeriod": 1209600},
        }
        resources[FANOUT_QUEUE] = {
            "Type": "AWS::SQS::Queue",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                # A broadcast an hour late is no broadcast: older shards are dropped.
                "MessageRetentionPeriod": 3600,
                "VisibilityTimeout": visibility,
                "RedrivePolicy": {
                    "deadLetterTargetArn": arn_of(FANOUT_DLQ),
                    "maxReceiveCount": fanout.max_attempts,
                },
            },
        }
    for source in plan.sources:
        if not source.create:
            continue
        if source.kind == "sqs":
            resources[source.logical_id] = {
                "Type": "AWS::SQS::Queue",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "QueueName": source.name,
                    "VisibilityTimeout": visibility,
                    "MessageRetentionPeriod": 345600,
                },
            }
        elif source.kind == "sns":
            resources[source.logical_id] = {
                "Type": "AWS::SNS::Topic",
                "Properties": {"TopicName": source.name},
            }
        elif source.kind == "kinesis":
            resources[source.logical_id] = {
                "Type": "AWS::Kinesis::Stream",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "Name": source.name,
                    "RetentionPeriodHours": 24,
                    "StreamModeDetails": {"StreamMode": "ON_DEMAND"},
                    "StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
                },
            }
    return resources


def _function(plan: Plan) -> dict[str, Any]:
    events: dict[str, Any] = {}
    statements = plan.statements()
    for source in plan.sources:
        if source.kind == "http" and plan.http == "rest":
            continue  # routes of the REST API's OpenAPI body
        events[source.logical_id + "Event" if source.create else source.logical_id] = _event(
            plan, source
        )
    fanout_arn = plan.fanout_queue_arn()
    if fanout_arn is not None:
        events["FanoutQueueEvent"] = {
            "Type": "SQS",
            "Properties": {
                "Queue": fanout_arn,
                "BatchSize": 10,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "ScalingConfig": {"MaximumConcurrency": plan.fanout_concurrency},
            },
        }
    properties: dict[str, Any] = {
        "Description": "Lift app: every route and trigger",
        "Runtime": plan.runtime,
        "Handler": plan.handler,
        "CodeUri": ".",
        "MemorySize": plan.memory,
        "Timeout": plan.timeout,
        "Environment": {"Variables": plan.environment()},
    }
    if statements:
        properties["Policies"] = [{"Version": "2012-10-17", "Statement": statements}]
    if events:
        properties["Events"] = events
    return {"Type": "AWS::Serverless::Function", "Properties": properties}


def rest_definition(plan: Plan) -> dict[str, Any]:
    """The OpenAPI body of the REST API: every HTTP route a Lambda proxy integration."""
    paths: dict[str, dict[str, Any]] = {}
    uri = sub(
        "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/"
        f"functions/${{{FUNCTION}.Arn}}/invocations"
    )
    for source in plan.sources:
        if source.kind != "http":
            continue
        method = "x-amazon-apigateway-any-method" if source.method == "ANY" else source.method
        paths.setdefault(source.path, {})[method.lower()] = {
            "x-amazon-apigateway-integration": {
                "type": "aws_proxy",
                "httpMethod": "POST",
                "uri": uri,
            },
            "responses": {},
        }
    return {
        "openapi": "3.0.1",
        "info": {"title": sub("${AWS::StackName}-http"), "version": "1.0"},
        "paths": paths,
    }


def _event(plan: Plan, source: Source) -> dict[str, Any]:
    kind = source.kind
    batch = ["ReportBatchItemFailures"]
    if kind == "sqs":
        return {
            "Type": "SQS",
            "Properties": {
                "Queue": source.arn,
                "BatchSize": source.batch_size,
                "FunctionResponseTypes": batch,
            },
        }
    if kind == "sns":
        return {"Type": "SNS", "Properties": {"Topic": source.arn}}
    if kind in ("kinesis", "dynamodb_stream"):
        return {
            "Type": "Kinesis" if kind == "kinesis" else "DynamoDB",
            "Properties": {
                "Stream": source.arn,
                "StartingPosition": "LATEST",
                "BatchSize": source.batch_size,
                "FunctionResponseTypes": batch,
            },
        }
    if kind == "s3":
        return {
            "Type": "S3",
            "Properties": {
                "Bucket": ref(source.logical_id),
                "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
            },
        }
    if kind == "schedule":
        return {
            "Type": "Schedule",
            "Properties": {"Schedule": source.expression, "Name": source.name},
        }
    if kind == "eventbridge":
        return {"Type": "EventBridgeRule", "Properties": {"Pattern": source.event_pattern}}
    # http
    return {
        "Type": "HttpApi",
        "Properties": {"ApiId": ref(HTTP_API), "Path": source.path, "Method": source.method},
    }


def _permission(function: str, source: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": ref(function),
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": sub(
                f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:{source}"
            ),
        },
    }
