"""The whole app deployed: the SAM template (after the AWS SAM translator) and the CDK
construct's synth output, for every example and an app with every trigger kind.

Both pass cfn-lint with zero findings, carry every handler's trigger, give every
function the management endpoint, and agree on route keys, triggers and environment.
All CDK stacks are synthesized in one ``cdk.App`` (one jsii process) per module.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lift import App
from lift.deploy import build_template, render_template
from lift.websocket import WebSocketOptions
from tests.cli_support import lift
from tests.deploy_apps import EVERY_TRIGGER_OPTIONS, every_trigger_app
from tests.deploy_support import cfn_lint, lint_summary, translate
from tests.paths import REPO

MANAGEMENT = {
    "Fn::Sub": "https://${WebSocketApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}"
}


@dataclass
class Case:
    target: str
    options: dict[str, Any]


def example_targets() -> list[str]:
    """``examples.<name>.<module>:app`` for every ``app.py`` and ``*_app.py``."""
    return sorted(
        f"examples.{path.parent.name}.{path.stem}:app" for path in REPO.glob("examples/*/*app.py")
    )


def example_options(target: str) -> dict[str, Any]:
    module = importlib.import_module(target.partition(":")[0])
    options: dict[str, Any] = {}
    if not callable(getattr(module, "authorizer", None)):
        options["authorizer"] = False
    if target == "examples.progress.app:app":
        options["queue_env"] = {"PROGRESS_QUEUE_URL": "progress-jobs"}
    return options


def cases() -> dict[str, Case]:
    found = {target: Case(target, {}) for target in example_targets()}
    found["every-trigger"] = Case("tests.deploy_apps:app", dict(EVERY_TRIGGER_OPTIONS))
    found["every-trigger-rest"] = Case(
        "tests.deploy_apps:app", {**EVERY_TRIGGER_OPTIONS, "http": "rest"}
    )
    return found


CASES = cases()


def app_of(case: Case) -> Any:
    module = importlib.import_module(case.target.partition(":")[0])
    return module.app


def options_of(case: Case) -> dict[str, Any]:
    if case.target.startswith("examples."):
        return {**example_options(case.target), **case.options}
    return case.options


# -- rendering both ways, once --------------------------------------------------------
@dataclass
class Rendered:
    sam: dict[str, dict[str, Any]]
    cdk: dict[str, dict[str, Any]]
    lint: dict[str, list[str]]
    synth_seconds: float


def file_name(kind: str, name: str) -> str:
    return f"{kind}-{re.sub(r'[^A-Za-z0-9]+', '-', name)}.json"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rendered]:
    folder = tmp_path_factory.mktemp("deploy")
    code = folder / "code"
    code.mkdir()
    (code / "handler.py").write_text("# the app's code\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        # The machine's Node works; its end-of-life notice is not a finding.
        mp.setenv("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
        import aws_cdk as cdk
        from aws_cdk import aws_lambda

        from lift.deploy.cdk import LiftApp

        mp.syspath_prepend(str(REPO))
        sam = {
            name: translate(build_template(app_of(case), case.target, **options_of(case)))
            for name, case in CASES.items()
        }
        start = time.perf_counter()
        # No tree, stack traces or analytics: the templates are the same, the synth faster.
        cdk_app = cdk.App(
            outdir=str(folder / "cdk.out"),
            analytics_reporting=False,
            stack_traces=False,
            tree_metadata=False,
        )
        synthesizer = cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=False)
        stacks = {}
        for index, (name, case) in enumerate(CASES.items()):
            stack = cdk.Stack(cdk_app, f"Stack{index}", synthesizer=synthesizer)
            LiftApp(
                stack,
                "App",
                app=app_of(case),
                target=case.target,
                code=aws_lambda.Code.from_asset(str(code)),
                **options_of(case),
            )
            stacks[name] = stack.stack_name
        assembly = cdk_app.synth()
        synthesized = {
            name: assembly.get_stack_by_name(stack).template for name, stack in stacks.items()
        }
        seconds = time.perf_counter() - start
    paths = []
    for kind, templates in (("sam", sam), ("cdk", synthesized)):
        for name, template in templates.items():
            path = folder / file_name(kind, name)
            path.write_text(json.dumps(template, ensure_ascii=False), encoding="utf-8")
            paths.append(path)
    findings = cfn_lint(paths)
    lint = {name: lint_summary(found) for name, found in findings.items()}
    print(f"CDK synth of {len(stacks)} stacks: {seconds:.1f} s", file=sys.stderr)
    yield Rendered(sam, synthesized, lint, seconds)


# -- reading a CloudFormation template --------------------------------------------------
def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == kind
    }


def name_of(template: dict[str, Any], arn: Any) -> str:
    """The queue, topic or stream an ARN expression names."""
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        properties = template["Resources"][arn["Fn::GetAtt"][0]]["Properties"]
        return str(properties.get("QueueName") or properties.get("Name"))
    if isinstance(arn, dict) and "Ref" in arn:
        target = arn["Ref"]
        if target in template.get("Parameters", {}):
            return f"parameter:{target}"
        return str(template["Resources"][target]["Properties"]["TopicName"])
    text = arn["Fn::Sub"] if isinstance(arn, dict) else arn
    return str(text).rsplit(":", 1)[-1].removeprefix("stream/")


def http_routes(template: dict[str, Any]) -> set[str]:
    api = template["Resources"].get("HttpApi")
    if api is None:
        return set()
    routes = set()
    for path, methods in api["Properties"].get("Body", {}).get("paths", {}).items():
        for method in methods:
            verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            routes.add(f"{verb} {path}")
    for route in resources(template, "AWS::ApiGatewayV2::Route").values():
        if route["ApiId"] == {"Ref": "HttpApi"}:
            routes.add(route["RouteKey"])
    return routes


def triggers(template: dict[str, Any]) -> set[tuple[Any, ...]]:
    """Every way the template invokes the app function, named independently of ids."""
    found: set[tuple[Any, ...]] = set()
    for route in resources(template, "AWS::ApiGatewayV2::Route").values():
        if route["ApiId"] == {"Ref": "WebSocketApi"}:
            found.add(("websocket", route["RouteKey"]))
    found.update(("http", route) for route in http_routes(template))
    for mapping in resources(template, "AWS::Lambda::EventSourceMapping").values():
        scaling = mapping.get("ScalingConfig", {}).get("MaximumConcurrency")
        source = name_of(template, mapping["EventSourceArn"])
        if (
            isinstance(mapping["EventSourceArn"], dict)
            and mapping["EventSourceArn"].get("Fn::GetAtt", [""])[0] == "FanoutQueue"
        ):
            source = "fanout"
        found.add(("mapping", source, mapping.get("StartingPosition"), scaling))
    for subscription in resources(template, "AWS::SNS::Subscription").values():
        found.add(("sns", name_of(template, subscription["TopicArn"])))
    for rule in resources(template, "AWS::Events::Rule").values():
        if "ScheduleExpression" in rule:
            found.add(("schedule", rule["Name"], rule["ScheduleExpression"]))
        else:
            found.add(("eventbridge", json.dumps(rule["EventPattern"], sort_keys=True)))
    for bucket in resources(template, "AWS::S3::Bucket").values():
        for notification in bucket["NotificationConfiguration"]["LambdaConfigurations"]:
            found.add(("s3", bucket["BucketName"], notification["Event"]))
    return found


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def environments(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: function["Environment"]["Variables"]
        for name, function in resources(template, "AWS::Lambda::Function").items()
    }


def expected_triggers(app: App) -> set[tuple[str, str]]:
    """What each registered handler needs: ``(kind, pattern)``; Lift's own fan-out
    delivery route needs the fan-out queue."""
    expected = {("websocket", key) for key in app.websocket_routes}
    for route in app.routes():
        if getattr(route.handler, "__module__", "").startswith("lift.websocket.fanout"):
            expected.add(("fanout", route.path))
        elif route.kind != "websocket":
            expected.add((route.kind, route.path))
    return expected


def covered(found: set[tuple[Any, ...]], kind: str, pattern: str) -> bool:
    if kind == "websocket":
        return ("websocket", pattern) in found
    if kind == "fanout":
        return any(t[0] == "mapping" and t[1] == "fanout" and t[3] for t in found)
    if kind == "http":
        path = pattern.replace(":", "")
        return any(t[0] == "http" and t[1].endswith(" " + path) for t in found)
    if kind in ("sqs", "kinesis"):
        return any(t[0] == "mapping" and t[1] == pattern for t in found)
    if kind == "dynamodb_stream":
        return any(t[0] == "mapping" and t[1].startswith("parameter:") for t in found)
    if kind == "eventbridge":
        word = pattern.split(" ", maxsplit=1)[0]
        return any(t[0] == "eventbridge" and word in t[1] for t in found)
    return any(t[0] == kind and t[1] == pattern for t in found)


# -- the acceptance ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["sam", "cdk"])
@pytest.mark.parametrize("name", list(CASES))
def test_cfn_lint_finds_nothing(rendered: Rendered, name: str, kind: str) -> None:
    findings = rendered.lint[file_name(kind, name)]
    assert findings == [], "\n".join(findings)


@pytest.mark.parametrize("kind", ["sam", "cdk"])
@pytest.mark.parametrize("name", list(CASES))
def test_every_handler_has_its_trigger(rendered: Rendered, name: str, kind: str) -> None:
    template = (rendered.sam if kind == "sam" else rendered.cdk)[name]
    found = triggers(template)
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(REPO))
        app = app_of(CASES[name])
    missing = [
        (kind_, pattern)
        for kind_, pattern in expected_triggers(app)
        if not covered(found, kind_, pattern)
    ]
    assert missing == []


@pytest.mark.parametrize("kind", ["sam", "cdk"])
@pytest.mark.parametrize("name", list(CASES))
def test_every_function_has_the_management_endpoint(
    rendered: Rendered, name: str, kind: str
) -> None:
    template = (rendered.sam if kind == "sam" else rendered.cdk)[name]
    variables = environments(template)
    assert "AppFunction" in variables
    for env in variables.values():
        assert env["LIFT_WS_MANAGEMENT_ENDPOINT"] == MANAGEMENT


@pytest.mark.parametrize("name", list(CASES))
def test_sam_and_cdk_render_the_same_app(rendered: Rendered, name: str) -> None:
    sam, synthesized = rendered.sam[name], rendered.cdk[name]
    assert triggers(sam) == triggers(synthesized)
    assert environments(sam) == environments(synthesized)
    assert {
        name: function["Handler"]
        for name, function in resources(sam, "AWS::Lambda::Function").items()
    } == {
        name: function["Handler"]
        for name, function in resources(synthesized, "AWS::Lambda::Function").items()
    }
    assert sam["Parameters"]["StageName"] == synthesized["Parameters"]["StageName"]
    assert set(sam["Outputs"]) == set(synthesized["Outputs"])


def test_the_every_trigger_app_wires_every_kind(rendered: Rendered) -> None:
    found = triggers(rendered.sam["every-trigger"])
    assert {
        ("websocket", "$connect"),
        ("websocket", "send-message"),
        ("http", "GET /items/{id}"),
        ("http", "ANY /files/{path+}"),
        ("mapping", "orders", None, None),
        ("mapping", "legacy-orders", None, None),
        ("mapping", "clicks", "LATEST", None),
        ("mapping", "parameter:TableStreamUsersArn", "LATEST", None),
        ("sns", "alerts"),
        ("schedule", "nightly", "cron(0 3 * * ? *)"),
        ("schedule", "heartbeat", "rate(5 minutes)"),
        ("s3", "lift-uploads-example", "s3:ObjectCreated:*"),
        (
            "eventbridge",
            json.dumps(
                {"$or": [{"source": ["orders.service"]}, {"detail-type": ["orders.service"]}]},
                sort_keys=True,
            ),
        ),
        (
            "eventbridge",
            json.dumps(
                {
                    "$or": [
                        {"source": [{"wildcard": "Order *"}]},
                        {"detail-type": [{"wildcard": "Order *"}]},
                    ]
                },
                sort_keys=True,
            ),
        ),
    } <= found
    rest = triggers(rendered.sam["every-trigger-rest"])
    assert {t for t in rest if t[0] == "http"} == {t for t in found if t[0] == "http"}
    variables = environments(rendered.sam["every-trigger"])["AppFunction"]
    assert variables["ORDERS_URL"] == {"Ref": "QueueOrders"}


def test_the_cdk_synth_takes_seconds(rendered: Rendered) -> None:
    """CI has two cores: one jsii process synthesizes every stack."""
    assert rendered.synth_seconds < 120


def test_a_dashboard_example_is_included_when_present() -> None:
    dashboard = REPO / "examples" / "dashboard"
    targets = example_targets()
    assert any(t.startswith("examples.dashboard.") for t in targets) == (
        dashboard.is_dir() and any(dashboard.glob("*app.py"))
    )
    assert {"examples.chat.app:app", "examples.progress.app:app"} <= set(targets)


# -- names from the template, never the shell ---------------------------------------------
def test_a_table_named_in_the_shell_is_not_hard_coded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFT_CONNECTIONS_TABLE", "my-laptop-table")
    app = App(websocket=WebSocketOptions(auto_connections=True))
    app.websocket("chat", lambda ctx: None)
    template = build_template(app, "m:app")
    text = json.dumps(template)
    assert "my-laptop-table" not in text
    table = template["Resources"]["ConnectionsTable"]["Properties"]
    assert table["TableName"] == {"Fn::Sub": "${AWS::StackName}-connections"}
    variables = template["Resources"]["AppFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["LIFT_CONNECTIONS_TABLE"] == {"Ref": "ConnectionsTable"}


def test_the_command_ignores_the_shells_table(tmp_path: Path) -> None:
    (tmp_path / "tracked.py").write_text(
        "from lift import App\n"
        "from lift.websocket import WebSocketOptions\n"
        "app = App(websocket=WebSocketOptions(auto_connections=True))\n"
        "app.websocket('chat', lambda ctx: None)\n",
        encoding="utf-8",
    )
    env = {"LIFT_CONNECTIONS_TABLE": "shell-table", "PATH": "/usr/bin:/bin"}
    env["PYTHONPATH"] = str(REPO / "src")
    result = lift(tmp_path, "template", "tracked:app", env=env)
    assert result.returncode == 0, result.stderr
    assert "shell-table" not in result.stdout


# -- the fan-out queue ------------------------------------------------------------------
def fanout_options(**settings: Any) -> Any:
    """``FanoutOptions`` when Lift has it, else an object with its fields."""
    from lift import websocket

    factory = getattr(websocket, "FanoutOptions", None)
    if factory is not None:
        return factory(**settings)
    defaults = {"queue_url": None, "shard_size": 100, "rate_per_second": 500.0, "max_attempts": 5}
    return types.SimpleNamespace(**{**defaults, **settings})


def fanout_app(**settings: Any) -> App:
    """An app broadcasting through a fan-out queue; with Lift's ``FanoutOptions`` the app
    registers its own delivery route for the queue, as deployed."""
    fanout = fanout_options(**settings)
    try:
        options = WebSocketOptions(auto_connections=True, fanout=fanout)  # type: ignore[call-arg]
        app = App(websocket=options)
    except TypeError:  # a Lift without fan-out options: the definition reads the attribute
        options = WebSocketOptions(auto_connections=True)
        app = App(websocket=options)
        options.fanout = fanout  # type: ignore[attr-defined]
    app.websocket("chat", lambda ctx: None)
    return app


def test_the_fanout_delivery_route_is_the_fanout_queue_not_another_queue() -> None:
    app = fanout_app()
    template = build_template(app, "m:app")
    queues = resources_of_type(template, "AWS::SQS::Queue")
    assert set(queues) == {"FanoutQueue", "FanoutDeadLetterQueue"}
    events = template["Resources"]["AppFunction"]["Properties"]["Events"]
    assert list(events) == ["FanoutQueueEvent"]
    from lift.deploy import unwired_triggers

    assert unwired_triggers(app, "m:app") == []


def test_the_fanout_queue_has_a_dead_letter_queue_and_sized_workers() -> None:
    template = build_template(fanout_app(rate_per_second=250.0, max_attempts=3), "m:app")
    resources_ = template["Resources"]
    queue = resources_["FanoutQueue"]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["FanoutDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 3,
    }
    assert resources_["FanoutDeadLetterQueue"]["Type"] == "AWS::SQS::Queue"
    function = resources_["AppFunction"]["Properties"]
    event = function["Events"]["FanoutQueueEvent"]["Properties"]
    # 10,000 @connections calls per second shared by workers sending 250 each.
    assert event["ScalingConfig"] == {"MaximumConcurrency": 40}
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert function["Environment"]["Variables"]["LIFT_FANOUT_QUEUE_URL"] == {"Ref": "FanoutQueue"}
    statements = function["Policies"][0]["Statement"]
    assert {
        "Effect": "Allow",
        "Action": ["sqs:SendMessage"],
        "Resource": [{"Fn::GetAtt": ["FanoutQueue", "Arn"]}],
    } in statements
    assert set(template["Outputs"]) >= {"FanoutQueueUrl", "FanoutDeadLetterQueueUrl"}
    fast = build_template(fanout_app(rate_per_second=9000.0), "m:app")
    scaling = fast["Resources"]["AppFunction"]["Properties"]["Events"]["FanoutQueueEvent"]
    assert scaling["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 2}


def test_a_fanout_queue_configured_in_code_is_referenced() -> None:
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/shared-fanout"
    template = build_template(fanout_app(queue_url=url), "m:app")
    assert "FanoutQueue" not in template["Resources"]
    function = template["Resources"]["AppFunction"]["Properties"]
    assert function["Environment"]["Variables"]["LIFT_FANOUT_QUEUE_URL"] == url
    queue = function["Events"]["FanoutQueueEvent"]["Properties"]["Queue"]
    assert queue["Fn::Sub"].endswith(":shared-fanout")


@pytest.mark.parametrize(
    "url", ["https://sqs.eu-west-1.amazonaws.com/1/${AWS::AccountId}", "file:///etc/q", "x"]
)
def test_a_fanout_queue_url_must_be_an_sqs_url(url: str) -> None:
    with pytest.raises(ValueError, match="not an SQS queue URL"):
        build_template(fanout_app(queue_url=url), "m:app")


def test_a_fanout_queue_named_in_the_shell_is_not_hard_coded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/laptop-fanout"
    monkeypatch.setenv("LIFT_FANOUT_QUEUE_URL", url)
    template = build_template(fanout_app(queue_url=url), "m:app")
    assert "laptop-fanout" not in json.dumps(template)
    assert "FanoutQueue" in template["Resources"]


def test_the_fanout_template_transforms_and_lints(tmp_path: Path) -> None:
    template = translate(build_template(fanout_app(), "m:app"))
    mapping = next(iter(resources(template, "AWS::Lambda::EventSourceMapping").values()))
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 20}
    path = tmp_path / "fanout.json"
    path.write_text(json.dumps(template), encoding="utf-8")
    assert lint_summary(cfn_lint([path])["fanout.json"]) == []


# -- formats, schedules and the unwired ----------------------------------------------------
def test_yaml_is_the_same_template() -> None:
    import yaml

    app = every_trigger_app()
    as_json = json.loads(render_template(app, "m:app"))
    as_yaml = yaml.safe_load(render_template(app, "m:app", output_format="yaml"))
    assert as_yaml == as_json
    with pytest.raises(ValueError, match="json or yaml"):
        render_template(app, "m:app", output_format="toml")


def test_the_command_prints_yaml(tmp_path: Path) -> None:
    import yaml

    (tmp_path / "jobs.py").write_text(
        "from lift import App\n"
        "app = App()\n"
        "@app.schedule('nightly', expression='rate(1 day)')\n"
        "def nightly(ctx):\n"
        "    return None\n",
        encoding="utf-8",
    )
    result = lift(tmp_path, "template", "jobs:app", "--format", "yaml", "--strict")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    template = yaml.safe_load(result.stdout)
    event = template["Resources"]["AppFunction"]["Properties"]["Events"]["ScheduleNightly"]
    assert event == {
        "Type": "Schedule",
        "Properties": {"Schedule": "rate(1 day)", "Name": "nightly"},
    }
    # No WebSocket routes: no API, and no endpoint to point at.
    assert "WebSocketApi" not in template["Resources"]


@pytest.mark.parametrize(
    "expression", ["every 5 minutes", "rate(5 minutes", "cron()", "rate(1 day)\n", ""]
)
def test_a_schedule_expression_is_rate_or_cron(expression: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        App().schedule("nightly", expression=expression)


def test_a_trigger_that_cannot_be_wired_is_reported_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "globs.py").write_text(
        "from lift import App\n"
        "app = App()\n"
        "app.websocket('chat', lambda ctx: None)\n"
        "app.sns('alerts-*')(lambda ctx: None)\n"
        "app.eventbridge('a?c')(lambda ctx: None)\n",
        encoding="utf-8",
    )
    result = lift(tmp_path, "template", "globs:app", "--strict")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "warning: not wired: eventbridge a?c: EventBridge wildcards know '*' only, not '?' or '['",
        "warning: not wired: sns alerts-*: 'alerts-*' is a pattern, not one topic name to wire",
    ]
    assert json.loads(result.stdout)["Resources"]["WebSocketApi"]


def test_queue_env_names_only_the_apps_queues() -> None:
    app = every_trigger_app()
    with pytest.raises(ValueError, match="not a queue the app handles"):
        build_template(app, "m:app", queue_env={"JOBS": "elsewhere"})
    with pytest.raises(ValueError, match="environment variable"):
        build_template(app, "m:app", queue_env={"AWS_REGION": "orders"})
    template = build_template(app, "m:app", **EVERY_TRIGGER_OPTIONS)
    variables = template["Resources"]["AppFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["ORDERS_URL"] == {"Ref": "QueueOrders"}
    referenced = build_template(
        app, "m:app", existing=["sqs:legacy-orders"], queue_env={"OLD": "legacy-orders"}
    )
    old = referenced["Resources"]["AppFunction"]["Properties"]["Environment"]["Variables"]["OLD"]
    assert old == {
        "Fn::Sub": "https://sqs.${AWS::Region}.${AWS::URLSuffix}/${AWS::AccountId}/legacy-orders"
    }
