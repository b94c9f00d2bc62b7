"""``lift template``: the SAM template built from an app, transformed by the AWS SAM
translator, checked by cfn-lint and by reading it."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lift import App, Context, Handler, LiftError
from lift.deploy import CONNECTIONS_TABLE_ENV, build_template, render_template, route_keys
from lift.middleware import JWTConfig, websocket_auth
from lift.websocket import DynamoDBConnectionStore, WebSocketOptions
from lift.websocket import authorizer as make_authorizer
from tests.cli_support import lift
from tests.deploy_support import CFN_LINT, CFN_LINT_FLAGS, CFN_LINT_STRICT, translate
from tests.paths import REPO

SECRET = "template-tests-secret-" + "x" * 40
MANAGEMENT = {
    "Fn::Sub": "https://${WebSocketApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}"
}
ALNUM = re.compile(r"[A-Za-z0-9]+")


def ok(ctx: Context) -> Any:
    return {"ok": True}


def config() -> JWTConfig:
    return JWTConfig(secret=SECRET, algorithms=["HS256"])


@pytest.fixture
def auth_module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """An imported module ``authmod`` exposing ``authorizer``, as the docs ask."""
    module = types.ModuleType("authmod")
    module.authorizer = make_authorizer(config())  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "authmod", module)
    return module


# -- apps ----------------------------------------------------------------------------
def plain_app() -> App:
    app = App()
    app.websocket("chat", ok)
    app.websocket("send-message", ok)
    return app


def tracked_app() -> App:
    app = App(websocket=WebSocketOptions(auto_connections=True))
    app.websocket("$connect", ok)
    app.websocket("chat", ok)
    return app


def auth_app(**auth: Any) -> App:
    app = App(websocket=WebSocketOptions(auto_connections=True))
    app.use(websocket_auth(config(), **auth))
    app.websocket("chat", ok)
    return app


def legacy_app(*, route_responses: bool = True) -> App:
    app = App() if route_responses else App(websocket=WebSocketOptions(route_responses=False))
    app.handle("CONNECT", "/connect", ok)
    app.handle("DISCONNECT", "/disconnect", ok)
    app.handle("MESSAGE", "/message", ok)
    app.handle("MESSAGE", "/chat", ok)
    app.handle("GET", "/health", ok)
    return app


def default_handler_app() -> App:
    app = App(websocket=WebSocketOptions(default_handler=ok, route_selection="$request.body.type"))
    app.websocket("ping", ok)
    return app


def awkward_keys_app() -> App:
    app = App()
    for key in ("default", "$default", "a-b", "a_b", "🙂", "2fa", "x" * 300):
        app.websocket(key, ok)
    return app


def dynamodb_store_app() -> App:
    store = DynamoDBConnectionStore("orders-connections", region="eu-west-1")
    app = App(websocket=WebSocketOptions(store=store))
    app.websocket("$default", ok)
    return app


def refusing_middleware_app() -> App:
    """The only refusal is a user middleware: no $connect handler, auth or tracking."""

    def members_only(handler: Handler) -> Handler:
        def wrapped(ctx: Context) -> Any:
            if ctx.is_websocket and ctx.websocket.is_connect and ctx.query("member") != "yes":
                raise LiftError(403, "FORBIDDEN", "Members only")
            return handler(ctx)

        return wrapped

    app = App()
    app.use(members_only)
    app.websocket("chat", ok)
    return app


@dataclass
class Case:
    app: Callable[[], App]
    target: str = "handlers:app"
    options: dict[str, Any] = field(default_factory=dict)


CASES: dict[str, Case] = {
    "plain": Case(plain_app),
    "tracked": Case(tracked_app, options={"table_name": "chat-connections", "stage": "dev"}),
    "auth": Case(auth_app, target="authmod:app"),
    "auth-query-token": Case(lambda: auth_app(token_sources="query:token"), "authmod:app"),
    "auth-without-lambda-authorizer": Case(auth_app, options={"authorizer": False}),
    "explicit-authorizer": Case(plain_app, options={"authorizer_handler": "auth.handlers:check"}),
    "legacy": Case(legacy_app, target="legacy_handlers"),
    "default-handler": Case(default_handler_app, options={"memory": 1024, "runtime": "python3.11"}),
    "awkward-keys": Case(awkward_keys_app),
    "dynamodb-store": Case(dynamodb_store_app, target="pkg.sub.module:handler"),
    "one-way": Case(lambda: legacy_app(route_responses=False)),
    "refusing-middleware": Case(refusing_middleware_app),
}


def example_targets() -> list[str]:
    """``examples.<name>.<module>:app`` for every ``app.py`` and ``*_app.py`` of the examples."""
    return sorted(
        f"examples.{path.parent.name}.{path.stem}:app" for path in REPO.glob("examples/*/*app.py")
    )


def example_text(target: str) -> str:
    """The template of an example; without an exposed ``authorizer``, none is added.

    The repository root must be on ``sys.path`` (examples import as ``examples.<name>``).
    """
    module = importlib.import_module(target.partition(":")[0])
    exposed = callable(getattr(module, "authorizer", None))
    return render_template(module.app, target, authorizer=None if exposed else False)


def text_of(name: str) -> str:
    """The SAM template of a case, as the command prints it."""
    case = CASES[name]
    return render_template(case.app(), case.target, **case.options)


def sam_of(name: str) -> dict[str, Any]:
    return json.loads(text_of(name))  # type: ignore[no-any-return]


def template_of(name: str) -> dict[str, Any]:
    """The case's template after the AWS SAM transform: what CloudFormation deploys."""
    return translate(sam_of(name))


def translated(template: dict[str, Any]) -> dict[str, Any]:
    return translate(template)


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def routes_of(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    routes = resources_of(template, "AWS::ApiGatewayV2::Route")
    return {r["Properties"]["RouteKey"]: r for r in routes.values()}


def only(template: dict[str, Any], kind: str) -> dict[str, Any]:
    (resource,) = resources_of(template, kind).values()
    return resource


def function_of(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]["AppFunction"]["Properties"]  # type: ignore[no-any-return]


def statements_of(template: dict[str, Any]) -> list[dict[str, Any]]:
    role = template["Resources"]["AppFunctionRole"]["Properties"]
    return [
        statement
        for policy in role.get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]


# -- cfn-lint --------------------------------------------------------------------------
@dataclass
class LintRun:
    returncode: int
    matches: dict[str, list[dict[str, Any]]]
    output: str
    seconds: float


@pytest.fixture(scope="module")
def linted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LintRun]:
    """Every case and example written to a file and linted in one cfn-lint run."""
    import time

    folder = tmp_path_factory.mktemp("templates")
    with pytest.MonkeyPatch.context() as mp:
        module = types.ModuleType("authmod")
        module.authorizer = make_authorizer(config())  # type: ignore[attr-defined]
        mp.setitem(sys.modules, "authmod", module)
        mp.syspath_prepend(str(REPO))
        rendered = {name: text_of(name) for name in CASES}
        for target in example_targets():
            rendered[target] = example_text(target)
    paths = {}
    for name, text in rendered.items():
        # What CloudFormation runs: the template after the SAM transform.
        path = folder / (re.sub(r"[^A-Za-z0-9]+", "-", name) + ".json")
        path.write_text(
            json.dumps(translate(json.loads(text)), ensure_ascii=False), encoding="utf-8"
        )
        paths[str(path)] = name
    start = time.perf_counter()
    result = subprocess.run(
        [*CFN_LINT, *CFN_LINT_FLAGS, *CFN_LINT_STRICT, "--", *paths],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    seconds = time.perf_counter() - start
    # 0 is clean; 2, 4 and 8 flag errors, warnings and informational findings; 1 is a crash.
    if result.returncode & 1 or (result.returncode and not result.stdout.strip()):
        pytest.fail(f"cfn-lint did not run: {result.stderr[-2000:]}")
    matches: dict[str, list[dict[str, Any]]] = {name: [] for name in paths.values()}
    for match in json.loads(result.stdout or "[]"):
        matches[paths[match["Filename"]]].append(match)
    yield LintRun(result.returncode, matches, result.stdout + result.stderr, seconds)


@pytest.mark.parametrize("name", [*CASES, *example_targets()])
def test_cfn_lint_accepts_the_template(linted: LintRun, name: str) -> None:
    problems = [(m["Rule"]["Id"], m["Message"]) for m in linted.matches[name]]
    assert problems == []


def test_cfn_lint_run_is_clean(linted: LintRun) -> None:
    assert linted.returncode == 0, linted.output
    assert len(linted.matches) >= len(CASES)


def test_cfn_lint_rejects_a_broken_template(tmp_path: Path) -> None:
    """The lint is a real check: a route targeting a missing integration fails it."""
    template = template_of("plain")
    route = next(iter(routes_of(template).values()))
    route["Properties"]["Target"] = {"Fn::Join": ["/", ["integrations", {"Ref": "Missing"}]]}
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(template), encoding="utf-8")
    result = subprocess.run(
        [*CFN_LINT, *CFN_LINT_FLAGS, "--", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "Missing" in result.stdout


# -- the template's content -----------------------------------------------------------
@pytest.mark.parametrize("name", list(CASES))
def test_the_skeleton_is_complete(name: str) -> None:
    sam = sam_of(name)
    assert sam["Transform"] == "AWS::Serverless-2016-10-31"
    assert sam["Resources"]["WebSocketApi"]["Type"] == "AWS::Serverless::WebSocketApi"
    assert sam["Resources"]["AppFunction"]["Properties"]["CodeUri"] == "."
    template = template_of(name)
    resources = template["Resources"]
    assert all(ALNUM.fullmatch(logical_id) for logical_id in resources)
    api = resources["WebSocketApi"]["Properties"]
    assert api["ProtocolType"] == "WEBSOCKET"
    integrations = resources_of(template, "AWS::ApiGatewayV2::Integration")
    for integration in integrations.values():
        assert integration["Properties"]["IntegrationType"] == "AWS_PROXY"
        uri = integration["Properties"]["IntegrationUri"]["Fn::Sub"]
        uri = uri[0] if isinstance(uri, list) else uri
        assert uri.startswith("arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/")
    routes = resources_of(template, "AWS::ApiGatewayV2::Route")
    for route in routes.values():
        (target,) = [part for part in route["Properties"]["Target"]["Fn::Join"][1][1:]]
        assert target["Ref"] in integrations
    stage = resources["WebSocketApiStage"]["Properties"]
    assert stage["AutoDeploy"] is True  # routes added later deploy too
    assert stage["StageName"] == {"Ref": "StageName"}
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": 1000.0,
        "ThrottlingBurstLimit": 500,
    }
    expected_stage = CASES[name].options.get("stage", "prod")
    assert template["Parameters"]["StageName"]["Default"] == expected_stage
    permissions = [
        p["Properties"]
        for p in resources_of(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] in ({"Fn::GetAtt": ["AppFunction", "Arn"]},)
        or p["Properties"]["FunctionName"] == {"Ref": "AppFunction"}
    ]
    assert permissions
    assert all(p["Principal"] == "apigateway.amazonaws.com" for p in permissions)
    assert template["Outputs"]["WebSocketUrl"]["Value"] == {
        "Fn::Sub": "wss://${WebSocketApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}"
    }
    assert template["Outputs"]["ManagementEndpoint"]["Value"] == MANAGEMENT
    for function in resources_of(template, "AWS::Lambda::Function").values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["LIFT_WS_MANAGEMENT_ENDPOINT"] == MANAGEMENT


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("plain", ["chat", "send-message"]),
        ("tracked", ["$connect", "$disconnect", "chat"]),
        ("auth", ["$connect", "$disconnect", "chat"]),
        ("explicit-authorizer", ["$connect", "$disconnect", "chat", "send-message"]),
        ("legacy", ["$connect", "$disconnect", "$default", "chat"]),
        ("default-handler", ["$default", "ping"]),
        ("dynamodb-store", ["$default"]),
    ],
)
def test_every_route_key_becomes_a_route(name: str, keys: list[str]) -> None:
    template = template_of(name)
    routes = routes_of(template)
    assert sorted(routes) == sorted(keys)
    for key in set(CASES[name].app().websocket_routes):
        assert key in routes
    responses = resources_of(template, "AWS::ApiGatewayV2::RouteResponse")
    answered = {
        template["Resources"][r["Properties"]["RouteId"]["Ref"]]["Properties"]["RouteKey"]
        for r in responses.values()
    }
    assert answered == {key for key in keys if key not in ("$connect", "$disconnect")}
    for key in answered:
        assert routes[key]["Properties"]["RouteResponseSelectionExpression"] == "$default"


def test_route_responses_can_be_left_out() -> None:
    template = template_of("one-way")
    assert resources_of(template, "AWS::ApiGatewayV2::RouteResponse") == {}
    routes = routes_of(template)
    assert sorted(routes) == ["$connect", "$default", "$disconnect", "chat"]
    for route in routes.values():
        assert "RouteResponseSelectionExpression" not in route["Properties"]


def test_route_selection_comes_from_the_options() -> None:
    api = only(template_of("default-handler"), "AWS::ApiGatewayV2::Api")["Properties"]
    assert api["RouteSelectionExpression"] == "$request.body.type"
    api = only(template_of("plain"), "AWS::ApiGatewayV2::Api")["Properties"]
    assert api["RouteSelectionExpression"] == "$request.body.action"


def test_awkward_route_keys_get_distinct_alphanumeric_ids() -> None:
    template = template_of("awkward-keys")
    routes = resources_of(template, "AWS::ApiGatewayV2::Route")
    keys = {r["Properties"]["RouteKey"] for r in routes.values()}
    assert keys == set(awkward_keys_app().websocket_routes)
    assert len(routes) == len(keys) == 7
    assert all(ALNUM.fullmatch(logical_id) and len(logical_id) <= 255 for logical_id in routes)
    # SAM carries what it can name; the rest are raw routes on the same API.
    sam_routes = sam_of("awkward-keys")["Resources"]["WebSocketApi"]["Properties"]["Routes"]
    assert set(sam_routes) == {"$default", "2fa"}  # "default" would be named as "$default"
    assert "WebSocketApi2faRoute" in routes


def test_keys_sam_would_name_alike_stay_apart() -> None:
    app = App()
    app.websocket("chat", ok)
    app.websocket("Chat", ok)
    template = translate(build_template(app, "m:app"))
    assert {r["Properties"]["RouteKey"] for r in routes_of(template).values()} == {"chat", "Chat"}


def test_the_function_settings_follow_the_target_and_options() -> None:
    function = function_of(template_of("default-handler"))
    assert function["Handler"] == "handlers.app"
    assert function["MemorySize"] == 1024
    assert function["Runtime"] == "python3.11"
    assert function["Timeout"] == 29
    assert function_of(template_of("legacy"))["Handler"] == "legacy_handlers.app"
    assert function_of(template_of("dynamodb-store"))["Handler"] == "pkg.sub.module.handler"
    assert function_of(template_of("plain"))["Runtime"] == "python3.12"


@pytest.mark.parametrize("name", list(CASES))
def test_the_function_may_manage_connections(name: str) -> None:
    (statement,) = [
        s
        for s in statements_of(template_of(name))
        if "execute-api:ManageConnections" in s["Action"]
    ]
    arns = [resource["Fn::Sub"] for resource in statement["Resource"]]
    prefix = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebSocketApi}"
    assert arns == [
        f"{prefix}/${{StageName}}/{method}/@connections/*" for method in ("POST", "GET", "DELETE")
    ]


@pytest.mark.parametrize("name", ["tracked", "auth", "dynamodb-store"])
def test_the_connections_table_matches_the_store(name: str) -> None:
    template = template_of(name)
    table = template["Resources"]["ConnectionsTable"]
    properties = table["Properties"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    indexes = {
        index["IndexName"]: (index["KeySchema"], index["Projection"])
        for index in properties["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        "by_user": ([{"AttributeName": "user_id", "KeyType": "HASH"}], {"ProjectionType": "ALL"}),
        "by_tenant": (
            [{"AttributeName": "tenant_id", "KeyType": "HASH"}],
            {"ProjectionType": "ALL"},
        ),
    }
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    function = function_of(template)
    assert function["Environment"]["Variables"] == {
        CONNECTIONS_TABLE_ENV: {"Ref": "ConnectionsTable"},
        "LIFT_WS_MANAGEMENT_ENDPOINT": MANAGEMENT,
    }
    assert CONNECTIONS_TABLE_ENV == "LIFT_CONNECTIONS_TABLE"
    (statement,) = [s for s in statements_of(template) if "dynamodb:GetItem" in s["Action"]]
    assert sorted(statement["Action"]) == sorted(
        f"dynamodb:{action}"
        for action in (
            "GetItem",
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "BatchWriteItem",
            "ConditionCheckItem",
            "Query",
            "Scan",
        )
    )
    assert statement["Resource"] == [
        {"Fn::GetAtt": ["ConnectionsTable", "Arn"]},
        {"Fn::Sub": "${ConnectionsTable.Arn}/index/*"},
    ]
    output = template["Outputs"]["ConnectionsTableName"]["Value"]
    assert output == {"Ref": "ConnectionsTable"}


def test_the_table_name_comes_from_the_option_the_store_or_the_stack() -> None:
    def name_of(template: dict[str, Any]) -> Any:
        return template["Resources"]["ConnectionsTable"]["Properties"]["TableName"]

    assert name_of(template_of("tracked")) == "chat-connections"
    assert name_of(template_of("dynamodb-store")) == "orders-connections"
    assert name_of(build_template(tracked_app(), "m:app")) == {
        "Fn::Sub": "${AWS::StackName}-connections"
    }
    overridden = build_template(dynamodb_store_app(), "m:app", table_name="other.table")
    assert name_of(overridden) == "other.table"


@pytest.mark.parametrize("name", ["plain", "legacy", "default-handler", "explicit-authorizer"])
def test_no_table_without_tracking_or_a_dynamodb_store(name: str) -> None:
    template = template_of(name)
    assert resources_of(template, "AWS::DynamoDB::Table") == {}
    assert function_of(template)["Environment"]["Variables"] == {
        "LIFT_WS_MANAGEMENT_ENDPOINT": MANAGEMENT
    }
    assert len(statements_of(template)) == 1
    assert "ConnectionsTableName" not in template["Outputs"]


def test_the_template_table_is_the_table_the_store_creates(ddb: Any, moto_url: str) -> None:
    """Same keys, indexes, projections and TTL as ``DynamoDBConnectionStore.create_table``."""
    store = DynamoDBConnectionStore("template-check", client=ddb)
    store.create_table(timeout=30)
    try:
        described = ddb.describe_table(TableName="template-check")["Table"]
        ttl = ddb.describe_time_to_live(TableName="template-check")["TimeToLiveDescription"]
    finally:
        ddb.delete_table(TableName="template-check")
    properties = template_of("tracked")["Resources"]["ConnectionsTable"]["Properties"]
    assert sorted(properties["AttributeDefinitions"], key=str) == sorted(
        described["AttributeDefinitions"], key=str
    )
    assert properties["KeySchema"] == described["KeySchema"]
    created = {
        index["IndexName"]: (index["KeySchema"], index["Projection"])
        for index in described["GlobalSecondaryIndexes"]
    }
    assert created == {
        index["IndexName"]: (index["KeySchema"], index["Projection"])
        for index in properties["GlobalSecondaryIndexes"]
    }
    assert properties["TimeToLiveSpecification"]["AttributeName"] == ttl["AttributeName"]
    assert ttl["TimeToLiveStatus"] in ("ENABLED", "ENABLING")


# -- the authorizer -------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["plain", "tracked", "legacy", "default-handler", "auth-without-lambda-authorizer"]
)
def test_no_authorizer_without_auth(name: str) -> None:
    template = template_of(name)
    assert resources_of(template, "AWS::ApiGatewayV2::Authorizer") == {}
    assert "AuthorizerFunction" not in template["Resources"]
    for route in routes_of(template).values():
        assert route["Properties"].get("AuthorizationType", "NONE") == "NONE"
        assert "AuthorizerId" not in route["Properties"]


def test_websocket_auth_adds_a_request_authorizer_on_connect(auth_module: types.ModuleType) -> None:
    template = translate(json.loads(render_template(auth_app(), "authmod:app")))
    resources = template["Resources"]
    authorizer_resource = only(template, "AWS::ApiGatewayV2::Authorizer")["Properties"]
    assert authorizer_resource["AuthorizerType"] == "REQUEST"
    uri, variables = authorizer_resource["AuthorizerUri"]["Fn::Sub"]
    assert uri.endswith("/functions/${AuthArn}/invocations")
    assert variables == {"AuthArn": {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}}
    # Four token sources are accepted, so none is required before the authorizer runs.
    assert "IdentitySource" not in authorizer_resource
    routes = routes_of(template)
    assert routes["$connect"]["Properties"]["AuthorizationType"] == "CUSTOM"
    assert routes["$connect"]["Properties"]["AuthorizerId"] == {
        "Ref": "WebSocketApiConnectAuthorizer"
    }
    for key in ("$disconnect", "chat"):
        assert routes[key]["Properties"].get("AuthorizationType", "NONE") == "NONE"
    function = resources["AuthorizerFunction"]
    assert function["Type"] == "AWS::Lambda::Function"
    assert function["Properties"]["Handler"] == "authmod.authorizer"
    assert function["Properties"]["Environment"]["Variables"] == {
        "LIFT_WS_MANAGEMENT_ENDPOINT": MANAGEMENT,
        CONNECTIONS_TABLE_ENV: {"Ref": "ConnectionsTable"},
    }
    permission = resources["WebSocketApiAuthorizerPermission"]["Properties"]
    assert permission["FunctionName"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert "WebSocketApi" in json.dumps(permission["SourceArn"])


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        ("query:token", ["route.request.querystring.token"]),
        ("header:authorization", ["route.request.header.Authorization"]),
        ("subprotocol", ["route.request.header.Sec-WebSocket-Protocol"]),
    ],
)
def test_a_single_token_source_becomes_the_identity_source(
    auth_module: types.ModuleType, sources: str, expected: list[str]
) -> None:
    template = translate(build_template(auth_app(token_sources=sources), "authmod:app"))
    properties = only(template, "AWS::ApiGatewayV2::Authorizer")["Properties"]
    assert properties["IdentitySource"] == expected


def test_the_identity_source_can_be_given(auth_module: types.ModuleType) -> None:
    source = ["route.request.header.X-Api-Token"]
    template = translate(build_template(auth_app(), "authmod:app", identity_source=source))
    assert only(template, "AWS::ApiGatewayV2::Authorizer")["Properties"]["IdentitySource"] == source
    with pytest.raises(ValueError, match="identity source"):
        build_template(auth_app(), "authmod:app", identity_source=["$request.header.Auth"])


def test_an_explicit_authorizer_handler_turns_the_authorizer_on() -> None:
    template = template_of("explicit-authorizer")
    assert template["Resources"]["AuthorizerFunction"]["Properties"]["Handler"] == (
        "auth.handlers.check"
    )
    routes = routes_of(template)
    assert routes["$connect"]["Properties"]["AuthorizationType"] == "CUSTOM"
    colon = build_template(plain_app(), "m:app", authorizer_handler="auth.handlers:check")
    assert colon["Resources"]["AuthorizerFunction"]["Properties"]["Handler"] == (
        "auth.handlers.check"
    )


def test_a_missing_authorizer_in_the_imported_module_is_an_error() -> None:
    # This test module is imported and defines no ``authorizer``.
    with pytest.raises(ValueError, match=r"expose `authorizer = lift.websocket.authorizer"):
        build_template(auth_app(), f"{__name__}:app")
    with pytest.raises(ValueError, match="nothing_here is not defined"):
        build_template(plain_app(), "m:app", authorizer_handler=f"{__name__}:nothing_here")
    without = build_template(auth_app(), f"{__name__}:app", authorizer=False)
    assert "AuthorizerFunction" not in without["Resources"]
    assert {"$connect", "$disconnect"} <= set(routes_of(translate(without)))


def test_skipping_auth_on_connect_adds_no_authorizer(auth_module: types.ModuleType) -> None:
    template = build_template(auth_app(skip_routes=["$connect"]), "authmod:app")
    assert "AuthorizerFunction" not in template["Resources"]


# -- arguments and routes ---------------------------------------------------------------
def test_a_middleware_that_can_refuse_deploys_connect_as_the_emulators_run_it() -> None:
    from lift.testing import WebSocketRefused, WebSocketTestClient

    template = template_of("refusing-middleware")
    routes = routes_of(template)
    assert set(routes) == {"$connect", "$disconnect", "chat"}
    assert routes["$connect"]["Properties"].get("AuthorizationType", "NONE") == "NONE"
    assert "RouteResponseSelectionExpression" not in routes["$connect"]["Properties"]
    app = refusing_middleware_app()
    with WebSocketTestClient(app) as client:
        assert client.definition.routes == ("$connect", "$disconnect", "chat")
        with pytest.raises(WebSocketRefused) as refused:
            client.connect()
        assert refused.value.status_code == 403
        with client.connect(query={"member": "yes"}) as ws:
            ws.send_json({"action": "chat"})
            assert ws.receive_json() == {"ok": True}


def test_an_app_that_cannot_refuse_deploys_no_connect_route() -> None:
    assert set(routes_of(template_of("plain"))) == {"chat", "send-message"}


def test_the_command_names_the_triggers_it_does_not_wire(tmp_path: Path) -> None:
    (tmp_path / "mixed.py").write_text(
        "from lift import App\n"
        "app = App()\n"
        "app.websocket('chat', lambda ctx: None)\n"
        "app.sqs('orders-*')(lambda ctx: None)\n"
        "app.schedule('nightly')(lambda ctx: None)\n"
        "app.s3('uploads-bucket')(lambda ctx: None)\n"
        "app.authorizer()(lambda ctx: None)\n"
        "app.get('/health')(lambda ctx: 'ok')\n",
        encoding="utf-8",
    )
    result = lift(tmp_path, "template", "mixed:app", "--existing", "s3:uploads-bucket")
    assert result.returncode == 0
    lines = result.stderr.splitlines()
    assert lines == [
        "warning: not wired: sqs orders-*: 'orders-*' is a pattern, not one queue name to wire",
        "warning: not wired: s3 uploads-bucket: S3 notifies a function only from a bucket in "
        "the same template; route the bucket's events through EventBridge "
        "(@app.eventbridge('aws.s3')) instead",
        "warning: not wired: schedule nightly: no expression: use "
        "@app.schedule(name, expression='rate(5 minutes)')",
        "warning: not wired: authorizer *: an API's Lambda authorizer is attached to that API; "
        "name this function as its authorizer by hand",
    ]
    template = json.loads(result.stdout)
    assert "HttpApi" in template["Resources"]  # GET /health is wired
    strict = lift(tmp_path, "template", "mixed:app", "--strict")
    assert strict.returncode == 1
    assert strict.stdout  # the template is still printed
    wired = tmp_path / "wired.py"
    wired.write_text("from lift import App\napp = App()\napp.sqs('orders')(print)\n", "utf-8")
    assert lift(tmp_path, "template", "wired:app", "--strict").returncode == 0


def test_route_keys_lists_implicit_routes_first() -> None:
    assert route_keys(plain_app()) == ["chat", "send-message"]
    assert route_keys(plain_app(), lifecycle=True) == [
        "$connect",
        "$disconnect",
        "chat",
        "send-message",
    ]
    assert route_keys(legacy_app()) == ["$connect", "$disconnect", "$default", "chat"]


@pytest.mark.parametrize(
    ("app", "options", "message"),
    [
        (plain_app, {"http": "soap"}, "HTTP API type"),
        (plain_app, {"existing": ["queue:orders"]}, "KIND:NAME"),
        (plain_app, {"throttle_burst": 0}, "burst"),
        (plain_app, {"stage": "bad stage"}, "stage name"),
        (plain_app, {"table_name": "x"}, "table name"),
        (plain_app, {"memory": 64}, "memory"),
        (plain_app, {"timeout": 0}, "timeout"),
        (plain_app, {"runtime": "nodejs20.x"}, "runtime"),
        (plain_app, {"authorizer_handler": "not a handler"}, "authorizer"),
    ],
)
def test_bad_arguments_are_refused(
    app: Callable[[], App], options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build_template(app(), "m:app", **options)
    with pytest.raises(ValueError, match="MODULE:APP"):
        build_template(plain_app(), "not-a-module:app")


@pytest.mark.skipif(not example_targets(), reason="no example apps yet")
@pytest.mark.parametrize("target", example_targets())
def test_example_templates_cover_their_routes(monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    monkeypatch.syspath_prepend(str(REPO))
    template = translate(json.loads(example_text(target)))
    module = importlib.import_module(target.partition(":")[0])
    routes = routes_of(template)
    for key in module.app.websocket_routes:
        assert key in routes


# -- the command --------------------------------------------------------------------------
APP_SOURCE = """
from lift import App
from lift.middleware import JWTConfig, websocket_auth
from lift.websocket import WebSocketOptions
import lift.websocket

config = JWTConfig(secret="cli-template-secret-" + "x" * 40, algorithms=["HS256"])
app = App(websocket=WebSocketOptions(auto_connections=True))
app.use(websocket_auth(config))
authorizer = lift.websocket.authorizer(config)


@app.websocket("chat")
def chat(ctx):
    return {"ok": True}
"""


def test_the_command_prints_the_template(tmp_path: Path) -> None:
    (tmp_path / "chatapp.py").write_text(APP_SOURCE, encoding="utf-8")
    result = lift(
        tmp_path,
        "template",
        "chatapp:app",
        "--stage",
        "dev",
        "--table-name",
        "chat-connections",
        "--memory",
        "1024",
        "--runtime",
        "python3.11",
        "--timeout",
        "20",
    )
    assert result.returncode == 0, result.stderr
    template = translate(json.loads(result.stdout))
    assert template["Parameters"]["StageName"]["Default"] == "dev"
    assert sorted(routes_of(template)) == ["$connect", "$disconnect", "chat"]
    function = function_of(template)
    assert (function["Handler"], function["MemorySize"], function["Runtime"]) == (
        "chatapp.app",
        1024,
        "python3.11",
    )
    assert function["Timeout"] == 20
    table = template["Resources"]["ConnectionsTable"]["Properties"]
    assert table["TableName"] == "chat-connections"
    resources = template["Resources"]
    assert resources["AuthorizerFunction"]["Properties"]["Handler"] == "chatapp.authorizer"

    custom = lift(tmp_path, "template", "chatapp:app", "--authorizer", "chatapp:authorizer")
    assert custom.returncode == 0, custom.stderr
    assert json.loads(custom.stdout)["Resources"]["AuthorizerFunction"]["Properties"][
        "Handler"
    ] == ("chatapp.authorizer")
    off = lift(tmp_path, "template", "chatapp:app", "--no-authorizer")
    assert off.returncode == 0, off.stderr
    assert "AuthorizerFunction" not in translate(json.loads(off.stdout))["Resources"]


def test_no_route_responses_must_agree_with_the_app(tmp_path: Path) -> None:
    # The app's error frames follow WebSocketOptions(route_responses=...): a template
    # that disagreed would let a client get an error twice (or never), so it is refused.
    (tmp_path / "chatapp.py").write_text(APP_SOURCE)
    refused = lift(tmp_path, "template", "chatapp:app", "--no-route-responses")
    assert refused.returncode == 2
    assert "WebSocketOptions(route_responses=True)" in refused.stderr
    assert "Traceback" not in refused.stderr and refused.stdout == ""

    one_way = APP_SOURCE.replace(
        "WebSocketOptions(auto_connections=True)",
        "WebSocketOptions(auto_connections=True, route_responses=False)",
    )
    (tmp_path / "oneway.py").write_text(one_way)
    for flags in ((), ("--no-route-responses",)):
        done = lift(tmp_path, "template", "oneway:app", *flags)
        assert done.returncode == 0, done.stderr
        resources = translate(json.loads(done.stdout))["Resources"]
        assert not any(r["Type"] == "AWS::ApiGatewayV2::RouteResponse" for r in resources.values())


def test_the_command_explains_what_it_cannot_build(tmp_path: Path) -> None:
    (tmp_path / "chatapp.py").write_text(
        APP_SOURCE.replace("authorizer = lift.websocket.authorizer(config)", ""),
        encoding="utf-8",
    )
    result = lift(tmp_path, "template", "chatapp:app")
    assert result.returncode == 2
    assert "chatapp.authorizer is not defined" in result.stderr
    assert result.stdout == ""
    assert lift(tmp_path, "template", "chatapp:app", "--stage", "no/slash").returncode == 2
    help_text = lift(tmp_path, "template", "--help").stdout
    assert "--authorizer-handler" in help_text and "--memory" in help_text


def test_importing_the_generator_stays_light() -> None:
    code = (
        "import sys, lift.deploy\n"
        "heavy = {'boto3', 'botocore', 'jwt', 'cryptography', 'yaml', 'websockets'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_chat_example_gets_its_request_authorizer() -> None:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    template = translate(json.loads(example_text("examples.chat.app:app")))
    authorizer = only(template, "AWS::ApiGatewayV2::Authorizer")
    assert authorizer["Properties"]["AuthorizerType"] == "REQUEST"
    connect = routes_of(template)["$connect"]["Properties"]
    assert connect["AuthorizationType"] == "CUSTOM"
    handlers = {
        resource["Properties"]["Handler"]
        for resource in resources_of(template, "AWS::Lambda::Function").values()
    }
    assert handlers == {"examples.chat.app.app", "examples.chat.app.authorizer"}
