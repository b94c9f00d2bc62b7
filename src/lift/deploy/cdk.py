"""``LiftApp``: the CDK construct deploying a Lift app (extra ``cdk``: aws-cdk-lib).

It renders the same :class:`~lift.deploy.plan.Plan` as ``lift template``, so the
routes, triggers, permissions and environment are those of the SAM template, written
as plain CloudFormation resources (event source mappings, rules, subscriptions,
permissions) around ``aws_lambda.Function``\\ s running ``code``::

    from aws_cdk import App, Stack, aws_lambda
    from lift.deploy.cdk import LiftApp

    app = App()
    stack = Stack(app, "Chat")
    LiftApp(stack, "Chat", app="chat.app:app", code=aws_lambda.Code.from_asset("src"))
    app.synth()

The resources keep the logical ids of the SAM template (``AppFunction``,
``WebSocketApi``, ``ConnectionsTable``...), so one ``LiftApp`` goes in a stack.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam, aws_lambda
from constructs import Construct

from ..loading import load_app
from .plan import (
    API,
    AUTHORIZER_FUNCTION,
    FUNCTION,
    HTTP_API,
    STAGE_PARAMETER,
    Plan,
    Source,
    build_plan,
)
from .sam import outputs, parameters, rest_definition, shared_resources

__all__ = ["LiftApp"]

_RETAIN = {
    "Retain": cdk.CfnDeletionPolicy.RETAIN,
    "Delete": cdk.CfnDeletionPolicy.DELETE,
}


def _ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


def _sub(text: str) -> dict[str, Any]:
    return {"Fn::Sub": text}


def _arn_of(name: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [name, "Arn"]}


def _permission(principal: str, source_arn: Any, function: str = FUNCTION) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": _arn_of(function),
            "Principal": principal,
            "SourceArn": source_arn,
        },
    }


def _execute_api(path: str) -> dict[str, Any]:
    return _sub(f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:{path}")


class LiftApp(Construct):
    """The Lift app ``app`` (``module:app``, or an app object with ``target``) as CDK
    resources; ``code`` is the functions' ``aws_lambda.Code``.

    Keyword options are those of :func:`lift.deploy.build_template` (``stage``,
    ``table_name``, ``http``, ``existing``, ``memory``...). ``plan`` is what was
    rendered; ``function`` the app's ``aws_lambda.Function``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        app: Any,
        code: aws_lambda.Code,
        target: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(scope, construct_id)
        if isinstance(app, str):
            target = target or app
            app = load_app(app)
        if target is None:
            raise ValueError("Give app='module:app', or the app object and target='module:app'")
        self.plan: Plan = build_plan(app, target, **options)
        plan = self.plan
        for name, spec in parameters(plan).items():
            parameter = cdk.CfnParameter(
                self,
                name,
                type=spec["Type"],
                default=spec.get("Default"),
                allowed_pattern=spec.get("AllowedPattern"),
                description=spec.get("Description"),
            )
            parameter.override_logical_id(name)
        self.function = self._function(FUNCTION, plan.handler, plan.timeout, code)
        if plan.authorizer_handler is not None:
            self._function(
                AUTHORIZER_FUNCTION, plan.authorizer_handler, min(plan.timeout, 10), code
            )
        resources = shared_resources(plan)
        resources.update(self._websocket(plan))
        resources.update(self._sources(plan))
        resources.update(self._http(plan))
        if plan.statements() or self._source_statements(plan):
            resources[f"{FUNCTION}Policy"] = {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyName": f"{FUNCTION}Policy",
                    "Roles": [_ref(f"{FUNCTION}Role")],
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": plan.statements() + self._source_statements(plan),
                    },
                },
            }
        self.resources: dict[str, cdk.CfnResource] = {}
        for logical_id, spec in resources.items():
            self._add(logical_id, spec)
        for name, spec in outputs(plan).items():
            output = cdk.CfnOutput(
                self,
                f"{name}Output",
                value=cdk.Token.as_string(spec["Value"]),
                description=spec["Description"],
            )
            output.override_logical_id(name)

    # -- building ------------------------------------------------------------------
    def _add(self, logical_id: str, spec: dict[str, Any]) -> None:
        resource = cdk.CfnResource(
            self, logical_id, type=spec["Type"], properties=spec.get("Properties")
        )
        resource.override_logical_id(logical_id)
        if "DeletionPolicy" in spec:
            resource.cfn_options.deletion_policy = _RETAIN[spec["DeletionPolicy"]]
        if "UpdateReplacePolicy" in spec:
            resource.cfn_options.update_replace_policy = _RETAIN[spec["UpdateReplacePolicy"]]
        if spec.get("DependsOn"):
            resource.add_override("DependsOn", list(spec["DependsOn"]))
        self.resources[logical_id] = resource

    def _function(
        self, logical_id: str, handler: str, timeout: int, code: aws_lambda.Code
    ) -> aws_lambda.Function:
        plan = self.plan
        environment = {
            name: cdk.Token.as_string(value) for name, value in plan.environment().items()
        }
        role = aws_iam.Role(
            self,
            f"{logical_id}Role",
            assumed_by=aws_iam.ServicePrincipal("lambda.amazonaws.com"),
            managed_policies=[
                aws_iam.ManagedPolicy.from_managed_policy_arn(
                    self,
                    f"{logical_id}BasicExecution",
                    cdk.Fn.sub(
                        "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                        "AWSLambdaBasicExecutionRole"
                    ),
                )
            ],
        )
        role_resource = role.node.default_child
        if isinstance(role_resource, cdk.CfnResource):
            role_resource.override_logical_id(f"{logical_id}Role")
        function = aws_lambda.Function(
            self,
            logical_id,
            role=role,
            code=code,
            handler=handler,
            runtime=aws_lambda.Runtime(plan.runtime, aws_lambda.RuntimeFamily.PYTHON),
            memory_size=plan.memory,
            timeout=cdk.Duration.seconds(timeout),
            environment=environment,
        )
        default = function.node.default_child
        if isinstance(default, cdk.CfnResource):
            default.override_logical_id(logical_id)
            # ``Role`` is a GetAtt of the role already.
            default.add_deletion_override("DependsOn")
        return function

    def _websocket(self, plan: Plan) -> dict[str, Any]:
        if not plan.websocket:
            return {}
        from .sam import sam_route_ids

        resources: dict[str, Any] = {
            API: {
                "Type": "AWS::ApiGatewayV2::Api",
                "Properties": {
                    "Name": _sub("${AWS::StackName}"),
                    "ProtocolType": "WEBSOCKET",
                    "RouteSelectionExpression": plan.definition.route_selection,
                },
            },
            f"{API}Integration": {
                "Type": "AWS::ApiGatewayV2::Integration",
                "Properties": {
                    "ApiId": _ref(API),
                    "IntegrationType": "AWS_PROXY",
                    "IntegrationUri": _sub(
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
                "ApiId": _ref(API),
                "RouteKey": key,
                "AuthorizationType": "NONE",
                "Target": {"Fn::Join": ["/", ["integrations", _ref(f"{API}Integration")]]},
            }
            if key == "$connect" and plan.authorizer_handler is not None:
                properties["AuthorizationType"] = "CUSTOM"
                properties["AuthorizerId"] = _ref(f"{API}ConnectAuthorizer")
            if key in plan.route_responses:
                properties["RouteResponseSelectionExpression"] = "$default"
                resources[f"{route_ids[key]}Response"] = {
                    "Type": "AWS::ApiGatewayV2::RouteResponse",
                    "Properties": {
                        "ApiId": _ref(API),
                        "RouteId": _ref(route_ids[key]),
                        "RouteResponseKey": "$default",
                    },
                }
            resources[route_ids[key]] = {
                "Type": "AWS::ApiGatewayV2::Route",
                "Properties": properties,
            }
        if plan.authorizer_handler is not None:
            authorizer: dict[str, Any] = {
                "ApiId": _ref(API),
                "Name": _sub("${AWS::StackName}-connect"),
                "AuthorizerType": "REQUEST",
                "AuthorizerUri": _sub(
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
        resources[f"{API}Stage"] = {
            "Type": "AWS::ApiGatewayV2::Stage",
            # Deployed with its routes, and again whenever they change.
            "DependsOn": [route_ids[key] for key in plan.routes],
            "Properties": {
                "ApiId": _ref(API),
                "StageName": _ref(STAGE_PARAMETER),
                "AutoDeploy": True,
                "DefaultRouteSettings": {
                    "ThrottlingRateLimit": plan.throttle_rate,
                    "ThrottlingBurstLimit": plan.throttle_burst,
                },
            },
        }
        return resources

    def _source_statements(self, plan: Plan) -> list[dict[str, Any]]:
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

    def _sources(self, plan: Plan) -> dict[str, Any]:
        resources: dict[str, Any] = {}
        policy = [f"{FUNCTION}Policy"]
        fanout = plan.fanout_queue_arn()
        if fanout is not None:
            resources["FanoutQueueMapping"] = {
                "Type": "AWS::Lambda::EventSourceMapping",
                "DependsOn": policy,
                "Properties": {
                    "FunctionName": _ref(FUNCTION),
                    "EventSourceArn": fanout,
                    "BatchSize": 10,
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                    "ScalingConfig": {"MaximumConcurrency": plan.fanout_concurrency},
                },
            }
        for source in plan.sources:
            if source.kind != "http":  # routes of the HTTP API
                resources.update(_source_resources(plan, source, policy))
        return resources

    def _http(self, plan: Plan) -> dict[str, Any]:
        sources = [source for source in plan.sources if source.kind == "http"]
        if not sources:
            return {}
        permission = _permission("apigateway.amazonaws.com", _execute_api(f"${{{HTTP_API}}}/*"))
        if plan.http == "rest":
            return {
                HTTP_API: {
                    "Type": "AWS::ApiGateway::RestApi",
                    "Properties": {
                        "Name": _sub("${AWS::StackName}-http"),
                        "Body": rest_definition(plan),
                    },
                },
                f"{HTTP_API}Deployment": {
                    "Type": "AWS::ApiGateway::Deployment",
                    "Properties": {"RestApiId": _ref(HTTP_API)},
                },
                f"{HTTP_API}Stage": {
                    "Type": "AWS::ApiGateway::Stage",
                    "Properties": {
                        "RestApiId": _ref(HTTP_API),
                        "DeploymentId": _ref(f"{HTTP_API}Deployment"),
                        "StageName": _ref(STAGE_PARAMETER),
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
                "Properties": {"Name": _sub("${AWS::StackName}-http"), "ProtocolType": "HTTP"},
            },
            f"{HTTP_API}Integration": {
                "Type": "AWS::ApiGatewayV2::Integration",
                "Properties": {
                    "ApiId": _ref(HTTP_API),
                    "IntegrationType": "AWS_PROXY",
                    "IntegrationUri": _arn_of(FUNCTION),
                    "PayloadFormatVersion": "2.0",
                },
            },
            f"{HTTP_API}Permission": permission,
        }
        for source in sources:
            resources[source.logical_id] = {
                "Type": "AWS::ApiGatewayV2::Route",
                "Properties": {
                    "ApiId": _ref(HTTP_API),
                    "RouteKey": f"{source.method} {source.path}",
                    "Target": {"Fn::Join": ["/", ["integrations", _ref(f"{HTTP_API}Integration")]]},
                },
            }
        resources[f"{HTTP_API}Stage"] = {
            "Type": "AWS::ApiGatewayV2::Stage",
            "DependsOn": [source.logical_id for source in sources],
            "Properties": {
                "ApiId": _ref(HTTP_API),
                "StageName": _ref(STAGE_PARAMETER),
                "AutoDeploy": True,
                "DefaultRouteSettings": {
                    "ThrottlingRateLimit": plan.throttle_rate,
                    "ThrottlingBurstLimit": plan.throttle_burst,
                },
            },
        }
        return resources


def _source_resources(plan: Plan, source: Source, policy: list[str]) -> dict[str, Any]:
    """The resources wiring one non-HTTP trigger to the app function."""
    lid = source.logical_id
    kind = source.kind
    if kind in ("sqs", "kinesis", "dynamodb_stream"):
        properties: dict[str, Any] = {
            "FunctionName": _ref(FUNCTION),
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
                    "Endpoint": _arn_of(FUNCTION),
                    "TopicArn": source.arn,
                },
            },
            f"{lid}Permission": _permission("sns.amazonaws.com", source.arn),
        }
    if kind in ("schedule", "eventbridge"):
        rule: dict[str, Any] = {
            "State": "ENABLED",
            "Targets": [{"Arn": _arn_of(FUNCTION), "Id": "LiftApp"}],
        }
        if kind == "schedule":
            rule["Name"] = source.name
            rule["ScheduleExpression"] = source.expression
        else:
            rule["EventPattern"] = source.event_pattern
        return {
            f"{lid}Rule": {"Type": "AWS::Events::Rule", "Properties": rule},
            f"{lid}Permission": _permission("events.amazonaws.com", _arn_of(f"{lid}Rule")),
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
                            {"Event": event, "Function": _arn_of(FUNCTION)}
                            for event in ("s3:ObjectCreated:*", "s3:ObjectRemoved:*")
                        ]
                    },
                },
            },
            f"{lid}Permission": {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": _arn_of(FUNCTION),
                    "Principal": "s3.amazonaws.com",
                    "SourceAccount": _ref("AWS::AccountId"),
                    "SourceArn": _sub(f"arn:${{AWS::Partition}}:s3:::{source.name}"),
                },
            },
        }
    raise ValueError(f"No CDK rendering for a {kind} trigger")  # pragma: no cover
