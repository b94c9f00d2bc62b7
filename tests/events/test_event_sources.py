"""Event sources beyond WebSocket and REST: authorizers, ALB, function URLs, decoded paths,
prefixes, CloudTrail through EventBridge, SNS, DynamoDB Streams, Kinesis and batch failures.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from lift import App, Context, LiftError, Response, forbidden, unauthorized
from lift.authorizers import AuthorizerResult, Unauthorized, allow, deny
from lift.batch import batch_failures, item_identifier, process_batch
from lift.events import parse
from lift.request import TriggerType
from lift.testing import events


# -- authorizers -----------------------------------------------------------------------
def authorizer_app(*, simple: bool = False) -> tuple[App, list[Context]]:
    app = App()
    seen: list[Context] = []

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        raise AssertionError("an authorizer event is not a $connect")

    @app.get("/{path+}")
    def http(ctx: Context) -> None:
        raise AssertionError("an authorizer event is not a request")

    @app.authorizer(simple_responses=simple)
    def authorize(ctx: Context) -> AuthorizerResult:
        seen.append(ctx)
        token = ctx.request.authorizer.token or ctx.header("authorization") or ctx.query("token")
        if token == "expired":
            raise unauthorized()
        if token == "banned":
            raise forbidden()
        if token != "good":
            return deny()
        return allow("alice", context={"user_id": "alice", "tenant_id": "acme", "admin": False})

    return app, seen


@pytest.mark.parametrize(
    ("event", "api"),
    [
        (events.authorizer_token("good", method="GET", path="/items"), "rest"),
        (events.authorizer_request("rest", headers={"Authorization": "good"}), "rest"),
        (events.authorizer_request("http", headers={"Authorization": "good"}), "http"),
        (
            events.authorizer_request(
                "http", payload_version="2.0", headers={"Authorization": "good"}
            ),
            "http",
        ),
        (events.authorizer_request("websocket", query={"token": "good"}), "websocket"),
    ],
)
def test_authorizer_events_get_an_iam_policy(event: dict[str, Any], api: str) -> None:
    app, seen = authorizer_app()
    answer = app(event, None)
    arn = event.get("routeArn") or event["methodArn"]
    assert answer == {
        "principalId": "alice",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [arn]}],
        },
        "context": {"user_id": "alice", "tenant_id": "acme", "admin": False},
    }
    assert seen[0].request.trigger is TriggerType.AUTHORIZER
    assert seen[0].request.authorizer.api == api
    assert "statusCode" not in answer


def test_websocket_authorizer_is_not_a_connect_and_keeps_the_route_key() -> None:
    app, seen = authorizer_app()
    event = events.authorizer_request("websocket", query={"token": "good"})
    app(event, None)
    assert seen[0].request.route_key == "$connect"
    assert seen[0].query("token") == "good"


def test_authorizer_deny_unauthorized_and_forbidden() -> None:
    app, _ = authorizer_app()
    denied = app(events.authorizer_token("bad"), None)
    assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert denied["principalId"] == "anonymous"
    with pytest.raises(Unauthorized) as raised:
        app(events.authorizer_token("expired"), None)
    assert str(raised.value) == "Unauthorized"  # what API Gateway maps to 401
    banned = app(events.authorizer_token("banned"), None)
    assert banned["policyDocument"]["Statement"][0]["Effect"] == "Deny"


def test_http_api_simple_responses() -> None:
    app, _ = authorizer_app(simple=True)
    good = events.authorizer_request(
        "http", payload_version="2.0", headers={"authorization": "good"}
    )
    assert app(good, None) == {
        "isAuthorized": True,
        "context": {"user_id": "alice", "tenant_id": "acme", "admin": False},
    }
    bad = events.authorizer_request("http", payload_version="2.0")
    assert app(bad, None) == {"isAuthorized": False, "context": {}}
    # Payload 1.0 has no simple responses: the policy shape is kept.
    v1 = events.authorizer_request("http", headers={"authorization": "good"})
    assert "policyDocument" in app(v1, None)


def test_authorizer_results_are_checked() -> None:
    with pytest.raises(TypeError, match="str, int, float or bool"):
        allow("alice", context={"roles": ["admin"]})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        allow("")
    app = App()

    @app.authorizer()
    def wrong(ctx: Context) -> Any:
        return {"statusCode": 200}

    with pytest.raises(TypeError, match="allow"):
        app(events.authorizer_token("x"), None)


def test_authorizer_whole_stage_resources() -> None:
    app = App()

    @app.authorizer()
    def authorize(ctx: Context) -> AuthorizerResult:
        return allow("alice", resources=[ctx.request.authorizer.arn_for()])

    answer = app(events.authorizer_token("x", method="GET", path="/items", api_id="api1"), None)
    resource = answer["policyDocument"]["Statement"][0]["Resource"]
    assert resource == ["arn:aws:execute-api:us-east-1:123456789012:api1/prod/*/*"]
    ws = app(events.authorizer_request("websocket", api_id="api1"), None)
    assert ws["policyDocument"]["Statement"][0]["Resource"] == [
        "arn:aws:execute-api:us-east-1:123456789012:api1/prod/*"
    ]


def test_authorizer_without_a_route_is_not_answered_200() -> None:
    app = App()
    app.websocket("$connect", lambda ctx: None)
    app.get("/{path+}")(lambda ctx: None)
    for event in (
        events.authorizer_request("websocket"),
        events.authorizer_request("rest"),
        events.authorizer_request("http", payload_version="2.0"),
    ):
        with pytest.raises(LiftError) as refused:
            app(event, None)
        assert refused.value.code == "ROUTE_NOT_FOUND"


# -- ALB ------------------------------------------------------------------------------
def echo_app(**options: Any) -> App:
    app = App(**options)

    @app.get("/capture/{value}")
    def capture(ctx: Context) -> dict[str, Any]:
        return {"value": ctx.param("value"), "path": ctx.path}

    @app.get("/search")
    def search(ctx: Context) -> Response:
        response = Response.json({"q": ctx.query("q"), "tags": ctx.request.multi_query.get("t")})
        response.cookies = ["a=1; Path=/", "b=2; Path=/"]
        return response

    @app.get("/items")
    def items(ctx: Context) -> dict[str, str]:
        return {"path": ctx.path}

    return app


def test_alb_query_is_decoded_and_answer_is_single_value() -> None:
    answer = echo_app()(events.alb("GET", "/search", query={"q": "a b&c", "t": ["x/y"]}), None)
    assert json.loads(answer["body"]) == {"q": "a b&c", "tags": ["x/y"]}
    assert answer["statusDescription"] == "200 OK"
    assert answer["headers"]["Content-Type"] == "application/json"
    assert answer["headers"]["Set-Cookie"] == "b=2; Path=/"
    assert "multiValueHeaders" not in answer


def test_alb_multi_value_mode_answers_in_multi_value_headers() -> None:
    event = events.alb("GET", "/search", query={"q": "a+b", "t": ["1", "2"]}, multi_value=True)
    answer = echo_app()(event, None)
    assert json.loads(answer["body"]) == {"q": "a+b", "tags": ["1", "2"]}
    assert answer["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert answer["multiValueHeaders"]["Set-Cookie"] == ["a=1; Path=/", "b=2; Path=/"]
    assert "headers" not in answer
    missing = echo_app()(events.alb("GET", "/nope", multi_value=True), None)
    assert missing["statusCode"] == 404 and missing["statusDescription"] == "404 Not Found"


# -- function URLs and decoded paths ----------------------------------------------------
def test_function_url_events() -> None:
    event = events.function_url("GET", "/capture/x", query={"a": "1"})
    assert ".lambda-url." in event["requestContext"]["domainName"]
    answer = echo_app()(event, None)
    assert json.loads(answer["body"]) == {"value": "x", "path": "/capture/x"}
    assert "cookies" in echo_app()(events.function_url("GET", "/search"), None)


@pytest.mark.parametrize(
    "event",
    [
        events.http_v1("GET", "/capture/space%20value"),
        events.http_v2("GET", "/capture/space%20value"),
        events.alb("GET", "/capture/space%20value"),
        events.function_url("GET", "/capture/space%20value"),
    ],
)
def test_path_parameters_are_decoded_for_every_http_source(event: dict[str, Any]) -> None:
    answer = echo_app()(event, None)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"value": "space value", "path": "/capture/space value"}


def test_strip_prefixes_for_a_custom_domain_base_path() -> None:
    event = events.http_v1("GET", "/v1/items")
    assert echo_app()(event, None)["statusCode"] == 404
    app = echo_app(strip_prefixes=["/v1", "/api/v2/"])
    assert json.loads(app(event, None)["body"]) == {"path": "/items"}
    assert json.loads(app(events.http_v1("GET", "/api/v2/items"), None)["body"]) == {
        "path": "/items"
    }
    # Only at a segment boundary: /v10/items is not /v1 + 0/items.
    assert app(events.http_v1("GET", "/v10/items"), None)["statusCode"] == 404
    with pytest.raises(ValueError):
        App(strip_prefixes=["/"])


# -- EventBridge and S3 route patterns ----------------------------------------------------
def test_s3_cloudtrail_event_reaches_the_eventbridge_route() -> None:
    app = App()
    got: list[Any] = []

    @app.s3("*")
    def on_s3(ctx: Context) -> None:
        raise AssertionError("a CloudTrail record is not an S3 notification")

    @app.eventbridge("aws.s3")
    def on_trail(ctx: Context) -> str:
        got.append(ctx.request.event["detail"]["eventName"])
        return ctx.request.detail_type

    assert app(events.cloudtrail_eventbridge("PutObject"), None) == "AWS API Call via CloudTrail"
    assert got == ["PutObject"]


def test_event_patterns_match_their_documented_field_only() -> None:
    app = App()
    got: list[str] = []
    app.s3("Object*")(lambda ctx: got.append("by detail-type"))
    app.s3("uploads")(lambda ctx: got.append("by bucket"))
    app.schedule("Scheduled*")(lambda ctx: got.append("schedule by detail-type"))
    app.schedule("nightly")(lambda ctx: got.append("schedule by rule"))
    app(events.s3_eventbridge(bucket="uploads"), None)
    app(events.scheduled("nightly"), None)
    assert got == ["by bucket", "schedule by rule"]
    # EventBridge routes match source or detail-type, as documented.
    bridge = App()
    bridge.eventbridge("OrderPlaced")(lambda ctx: "by detail-type")
    assert bridge(events.eventbridge(source="shop", detail_type="OrderPlaced"), None) == (
        "by detail-type"
    )


# -- SNS, DynamoDB Streams, Kinesis ------------------------------------------------------
def test_sns_dynamodb_and_kinesis_routes() -> None:
    app = App()

    @app.sns("alerts-*")
    def on_sns(ctx: Context) -> list[Any]:
        return [json.loads(r["Sns"]["Message"]) for r in ctx.request.records]

    @app.dynamodb_stream("orders")
    def on_change(ctx: Context) -> list[str]:
        return [r["dynamodb"]["NewImage"]["id"]["S"] for r in ctx.request.records]

    @app.kinesis("clicks")
    def on_clicks(ctx: Context) -> list[str]:
        return [base64.b64decode(r["kinesis"]["data"]).decode() for r in ctx.request.records]

    assert app(events.sns({"level": "high"}, topic="alerts-prod"), None) == [{"level": "high"}]
    change = {"eventName": "INSERT", "Keys": {"id": {"S": "o1"}}, "NewImage": {"id": {"S": "o1"}}}
    assert app(events.dynamodb_stream(change, table="orders"), None) == ["o1"]
    assert app(events.kinesis("a", "b", stream="clicks"), None) == ["a", "b"]
    with pytest.raises(LiftError):
        app(events.sns(topic="other"), None)
    assert parse(events.sns()).trigger is TriggerType.SNS


# -- partial batch failures --------------------------------------------------------------
def test_batch_failures_for_each_source() -> None:
    sqs = events.sqs("a", "b")["Records"]
    kinesis = events.kinesis("a")["Records"]
    ddb = events.dynamodb_stream()["Records"]
    assert batch_failures([sqs[1]]) == {
        "batchItemFailures": [{"itemIdentifier": sqs[1]["messageId"]}]
    }
    assert item_identifier(kinesis[0]) == kinesis[0]["kinesis"]["sequenceNumber"]
    assert item_identifier(ddb[0]) == ddb[0]["dynamodb"]["SequenceNumber"]
    assert batch_failures(["id-1"]) == {"batchItemFailures": [{"itemIdentifier": "id-1"}]}
    assert batch_failures([]) == {"batchItemFailures": []}
    with pytest.raises(ValueError):
        item_identifier({"body": "x"})


def test_process_batch_reports_failures_and_keeps_order_on_ordered_sources() -> None:
    def handle(record: Any) -> None:
        if record["body"] == "bad":
            raise RuntimeError("nope")

    standard = events.sqs("ok", "bad", "ok2")["Records"]
    assert process_batch(standard, handle) == batch_failures([standard[1]])
    fifo = events.sqs("ok", "bad", "ok2", queue="jobs.fifo")["Records"]
    assert process_batch(fifo, handle) == batch_failures(fifo[1:])
    stream = events.kinesis("ok", "bad", "ok2")["Records"]
    processed: list[str] = []

    def handle_stream(record: Any) -> None:
        data = base64.b64decode(record["kinesis"]["data"]).decode()
        processed.append(data)
        if data == "bad":
            raise RuntimeError("nope")

    assert process_batch(stream, handle_stream) == batch_failures(stream[1:])
    assert processed == ["ok", "bad"]
