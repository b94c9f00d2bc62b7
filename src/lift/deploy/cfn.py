"""Plain CloudFormation for what SAM expresses with its own resource types.

:mod:`lift.deploy.cdk` writes these resources around its functions: the WebSocket API's
routes, integration, authorizer and stage; event source mappings, rules,
subscriptions and bucket notifications with their permissions; the HTTP or REST API.
I/O-free.
"""

from __future__ import annotations

from typing import Any

from .intrinsics import arn_of, ref, sub
from .plan import API, AUTHORIZER_FUNCTION, FUNCTION, HTTP_API, STAGE_PARAMETER, Plan, Source
from .sam import rest_definition, sam_route_ids

__all__ = ["http_resources", "source_resources", "source_statements", "websocket_resources"]


def _stage(api: str, routes: list[str], plan: Plan) -> dict[str, Any]:
    """The auto-deployed stage of ``api``, deployed after its ``routes``, throttled as
    the plan says."""
    return {
        "Type": "AWS::ApiGatewayV2::Stage",
        "DependsOn": routes,
        "Properties": {
            "ApiId": ref(api),
            "StageName": ref(STAGE_PARAMETER),
            "AutoDeploy": True,
            "DefaultRouteSettings": {
                "ThrottlingRateLimit": plan.throttle_rate,
                "ThrottlingBurstLimit": plan.throttle_burst,
            },
        },
    }


def _permission(principal: str, source_arn: Any, function: str = FUNCTION) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": arn_of(function),
            "Principal": principal,
            "SourceArn": source_arn,
        },
    }


def _execute_api(path: str) -> dict[str, Any]:
    return sub(f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:{path}")


def websocket_resources(plan: Plan) -> dict[str, Any]:
    if not plan.websocket:
        return {}
    resources: dict[str, Any] = {
        API: {
            "Type": "AWS::ApiGatewayV2::Api",
            "Properties": {
                "Name": sub("${AWS::StackName}"),
                "ProtocolType": "WEBSOCKET",
                "RouteSelectionExpression": plan.definition.route_selection,
            },
        },
        f"{API}Integration": {
            "Type": "AWS::ApiGatewayV2::Integration",
            "Properties": {
                "ApiId": ref(API),
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": sub(
                    "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/"
                    f"2015-03-31/functions/${{{FUNCTION}.Arn}}/invocations"
                ),
                "TimeoutInMillis": min(plan.timeout, 29) * 1000,
            },
        },
        f"{API}Permission": _permission(
            "apigateway.amazonaws.com", _execute_api(f"${{{API}}}/${{{STAGE_PARAMETER}}}/*")
        ),
    }
    route_ids = {key: ids[0] for key, ids in sam_route_ids(plan).items()}
    for key in plan.routes:
        properties: dict[str, Any] = {
            "ApiId": ref(API),
            "RouteKey": key,
            "AuthorizationType": "NONE",
            "Target": {"Fn::Join": ["/", ["integrations", ref(f"{API}Integration")]]},
        }
        if key == "$connect" and plan.authorizer_handler is not None:
            properties["AuthorizationType"] = "CUSTOM"
            properties["AuthorizerId"] = ref(f"{API}ConnectAuthorizer")
        if key in plan.route_responses:
            properties["RouteResponseSelectionExpression"] = "$default"
            resources[f"{route_ids[key]}Response"] = {
                "Type": "AWS::ApiGatewayV2::RouteResponse",
                "Properties": {
                    "ApiId": ref(API),
                    "RouteId": ref(route_ids[key]),
                    "RouteResponseKey": "$default",
                },
            }
        resources[route_ids[key]] = {
            "Type": "AWS::ApiGatewayV2::Route",
            "Properties": properties,
        }
    if plan.authorizer_handler is not None:
        authorizer: dict[str, Any] = {
            "ApiId": ref(API),
            "Name": sub("${AWS::StackName}-connect"),
            "AuthorizerType": "REQUEST",
            "AuthorizerUri": sub(
                "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/"
                f"functions/${{{AUTHORIZER_FUNCTION}.Arn}}/invocations"
            ),
        }
        if plan.identity_sources:
            authorizer["IdentitySource"] = list(plan.identity_sources)
        resources[f"{API}ConnectAuthorizer"] = {
            "Type": "AWS::ApiGatewayV2::Authorizer",
            "Properties": authorizer,
        }
        resources[f"{API}AuthorizerPermission"] = _permission(
            "apigateway.amazonaws.com",
            _execute_api(f"${{{API}}}/authorizers/${{{API}ConnectAuthorizer}}"),
            AUTHORIZER_FUNCTION,
        )
    # Deployed with its routes, and again whenever they change.
    resources[f"{API}Stage"] = _stage(API, [route_ids[key] for key in plan.routes], plan)
    return resources


def source_statements(plan: Plan) -> list[dict[str, Any]]:
    """What the event source mappings need of the function's role."""
    statements: list[dict[str, Any]] = []
    queues = [source.arn for source in plan.sources if source.kind == "sqs"]
    fanout = plan.fanout_queue_arn()
    if fanout is not None:
        queues.append(fanout)
    if queues:
        statements.append(
            {
                "Effect": "Allow",
                "Action": [
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:ChangeMessageVisibility",
                ],
                "Resource": queues,
            }
        )
    streams = [s.arn for s in plan.sources if s.kind in ("kinesis", "dynamodb_stream")]
    if streams:
        statements.append(
            {
                "Effect": "Allow",
                "Action": [
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:GetRecords",
                    "kinesis:GetShardIterator",
                    "kinesis:ListShards",
                    "kinesis:ListStreams",
                    "kinesis:SubscribeToShard",
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams",
                ],
                "Resource": streams,
            }
        )
    return statements


def source_resources(plan: Plan) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    policy = [f"{FUNCTION}Policy"]
    fanout = plan.fanout_queue_arn()
    if fanout is not None:
        resources["FanoutQueueMapping"] = {
            "Type": "AWS::Lambda::EventSourceMapping",
            "DependsOn": policy,
            "Properties": {
                "FunctionName": ref(FUNCTION),
                "EventSourceArn": fanout,
                "BatchSize": 10,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "ScalingConfig": {"MaximumConcurrency": plan.fanout_concurrency},
            },
        }
    for source in plan.sources:
        if source.kind != "http":  # routes of the HTTP API
            resources.update(_wiring(source, policy))
    return resources


def http_resources(plan: Plan) -> dict[str, Any]:
    sources = [source for source in plan.sources if source.kind == "http"]
    if not sources:
        return {}
    permission = _permission("apigateway.amazonaws.com", _execute_api(f"${{{HTTP_API}}}/*"))
    if plan.http == "rest":
        return {
            HTTP_API: {
                "Type": "AWS::ApiGateway::RestApi",
                "Properties": {
                    "Name": sub("${AWS::StackName}-http"),
                    "Body": rest_definition(plan),
                },
            },
            f"{HTTP_API}Deployment": {
                "Type": "AWS::ApiGateway::Deployment",
                "Properties": {"RestApiId": ref(HTTP_API)},
            },
            f"{HTTP_API}Stage": {
                "Type": "AWS::ApiGateway::Stage",
                "Properties": {
                    "RestApiId": ref(HTTP_API),
                    "DeploymentId": ref(f"{HTTP_API}Deployment"),
                    "StageName": ref(STAGE_PARAMETER),
                    "MethodSettings": [
                        {
                            "HttpMethod": "*",
                            "ResourcePath": "/*",
                            "ThrottlingRateLimit": plan.throttle_rate,
                            "ThrottlingBurstLimit": plan.throttle_burst,
                        }
                    ],
                },
            },
            f"{HTTP_API}Permission": permission,
        }
    resources: dict[str, Any] = {
        HTTP_API: {
            "Type": "AWS::ApiGatewayV2::Api",
            "Properties": {"Name": sub("${AWS::StackName}-http"), "ProtocolType": "HTTP"},
        },
        f"{HTTP_API}Integration": {
            "Type": "AWS::ApiGatewayV2::Integration",
            "Properties": {
                "ApiId": ref(HTTP_API),
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": arn_of(FUNCTION),
                "PayloadFormatVersion": "2.0",
            },
        },
        f"{HTTP_API}Permission": permission,
    }
    for source in sources:
        resources[source.logical_id] = {
            "Type": "AWS::ApiGatewayV2::Route",
            "Properties": {
                "ApiId": ref(HTTP_API),
                "RouteKey": f"{source.method} {source.path}",
                "Target": {"Fn::Join": ["/", ["integrations", ref(f"{HTTP_API}Integration")]]},
            },
        }
    resources[f"{HTTP_API}Stage"] = _stage(HTTP_API, [s.logical_id for s in sources], plan)
    return resources


def _wiring(source: Source, policy: list[str]) -> dict[str, Any]:
    """The resources wiring one non-HTTP trigger to the app function."""
    lid = source.logical_id
    kind = source.kind
    if kind in ("sqs", "kinesis", "dynamodb_stream"):
        properties: dict[str, Any] = {
            "FunctionName": ref(FUNCTION),
            "EventSourceArn": source.arn,
            "BatchSize": source.batch_size,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        }
        if kind != "sqs":
            properties["StartingPosition"] = "LATEST"
        return {
            f"{lid}Mapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "DependsOn": policy,
                "Properties": properties,
            }
        }
    if kind == "sns":
        return {
            f"{lid}Subscription": {
                "Type": "AWS::SNS::Subscription",
                "Properties": {
                    "Protocol": "lambda",
                    "Endpoint": arn_of(FUNCTION),
                    "TopicArn": source.arn,
                },
            },
            f"{lid}Permission": _permission("sns.amazonaws.com", source.arn),
        }
    if kind in ("schedule", "eventbridge"):
        rule: dict[str, Any] = {
            "State": "ENABLED",
            "Targets": [{"Arn": arn_of(FUNCTION), "Id": "LiftApp"}],
        }
        if kind == "schedule":
            rule["Name"] = source.name
            rule["ScheduleExpression"] = source.expression
        else:
            rule["EventPattern"] = source.event_pattern
        return {
            f"{lid}Rule": {"Type": "AWS::Events::Rule", "Properties": rule},
            f"{lid}Permission": _permission("events.amazonaws.com", arn_of(f"{lid}Rule")),
        }
    if kind == "s3":
        return {
            lid: {
                "Type": "AWS::S3::Bucket",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                # S3 checks it may invoke the function when the notification is set.
                "DependsOn": [f"{lid}Permission"],
                "Properties": {
                    "BucketName": source.name,
                    "NotificationConfiguration": {
                        "LambdaConfigurations": [
                            {"Event": event, "Function": arn_of(FUNCTION)}
                            for event in ("s3:ObjectCreated:*", "s3:ObjectRemoved:*")
                        ]
                    },
                },
            },
            f"{lid}Permission": {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": arn_of(FUNCTION),
                    "Principal": "s3.amazonaws.com",
                    "SourceAccount": ref("AWS::AccountId"),
                    "SourceArn": sub(f"arn:${{AWS::Partition}}:s3:::{source.name}"),
                },
            },
        }
    raise ValueError(f"No CDK rendering for a {kind} trigger")  # pragma: no cover
