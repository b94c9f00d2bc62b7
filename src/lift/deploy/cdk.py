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
from .cfn import http_resources, source_resources, source_statements, websocket_resources
from .plan import (
    AUTHORIZER_FUNCTION,
    FUNCTION,
    Plan,
    build_plan,
)
from .sam import outputs, parameters, shared_resources

__all__ = ["LiftApp"]

_RETAIN = {
    "Retain": cdk.CfnDeletionPolicy.RETAIN,
    "Delete": cdk.CfnDeletionPolicy.DELETE,
}


def _ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


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
        resources.update(websocket_resources(plan))
        resources.update(source_resources(plan))
        resources.update(http_resources(plan))
        if plan.statements() or source_statements(plan):
            resources[f"{FUNCTION}Policy"] = {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyName": f"{FUNCTION}Policy",
                    "Roles": [_ref(f"{FUNCTION}Role")],
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": plan.statements() + source_statements(plan),
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
