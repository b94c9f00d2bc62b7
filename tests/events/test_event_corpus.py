"""Every real event in tests/events/ goes through ``App``: routed and read right, or refused.

The corpus is AWS's own test data (aws-lambda-go, Powertools for AWS Lambda (Python), the
SAM CLI's ``generate-event`` templates and aws-lambda-rust's ``lambda-events``; see
tests/events/SOURCES.md). What each file is expected to be comes from its name (the
table below), not from Lift's detection; every routed event's facts are compared, field
by field, with the file's own values.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import parse_qsl, unquote, unquote_plus

import pytest

from lift import App, Context, LiftError, UnsupportedEventError
from lift.authorizers import allow
from lift.batch import batch_failures
from tests.paths import TESTS

CORPUS = TESTS / "events"
SOURCES = json.loads((CORPUS / "sources.json").read_text())
FILES = sorted(p for p in CORPUS.glob("*/*.json"))
NAMES = [f"{p.parent.name}/{p.name}" for p in FILES]

# What a file is, from its name: the first pattern that matches (case-insensitive) wins.
# Kinds: rest, http (payload 2.0 and function URLs), alb, websocket, authorizer, sqs, s3,
# sns, dynamodb_stream, kinesis, eventbridge, scheduled, or refused.
KINDS: tuple[tuple[str, str], ...] = (
    (r"ses", "refused"),  # SES receipts, also the ones that name SNS or S3 actions
    (r"appsync|iot-custom-auth|iot_custom", "refused"),
    (r"(request|proxyv2)-?(jwt|lambda|no)-?authorizer", "http"),
    (r"authoriz|custom-auth", "authorizer"),
    (r"alb", "alb"),
    (r"lambda-url|functionurl", "http"),
    (r"websocket", "websocket"),
    (r"apigw-v2|apigatewayproxyv2|sam-http|http-api-proxy", "http"),
    (r"apigw|apigateway", "rest"),
    (
        r"firehose|kinesis-analytics|sqs-api-event|kinesis-(apachelog|syslog|cloudwatch-logs|streams-as)",
        "refused",
    ),
    (r"sqs", "sqs"),
    (r"sns", "sns"),
    (r"record-with-optional-fields", "refused"),  # one bare record, not an event
    (r"dynamo", "dynamodb_stream"),
    (r"kinesis", "kinesis"),
    (r"s3-batch|s3batch|object-lambda|s3object", "refused"),
    (r"s3|rekognition-s3", "s3"),
    (r"codedeploy-lifecycle|codedeploylifecycle|codepipeline[-_]?job|codepipelineevent", "refused"),
    (r"config", "refused"),
    (r"schedule", "scheduled"),
    (
        r"autoscaling|codebuild|codedeploy|codepipeline|ecr-|ecs-|eventbridge"
        r"|alarm-composite-with-suppressor",
        "eventbridge",
    ),
)


def expected_kind(name: str) -> str:
    """The kind of the corpus file ``name``; unnamed ones are refused."""
    base = name.rsplit("/", 1)[-1].lower()
    for pattern, kind in KINDS:
        if re.search(pattern, base):
            return kind
    return "refused"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CORPUS / name).read_text())
    return data


# -- the app under test: a catch-all route for every kind ------------------------------
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
seen_authorizers: list[Any] = []


def http_facts(ctx: Context) -> dict[str, Any]:
    return {
        "method": ctx.method,
        "path": ctx.path,
        "query": {k: list(v) for k, v in ctx.request.multi_query.items()},
        "headers": dict(ctx.request.headers),
        "body": base64.b64encode(ctx.body).decode("ascii"),
        "cookies": list(ctx.request.cookies),
    }


def event_facts(ctx: Context) -> dict[str, Any]:
    return {
        "trigger": ctx.request.trigger.value,
        "source": ctx.request.source,
        "detail_type": ctx.request.detail_type,
        "records": list(ctx.request.records),
    }


def ws_facts(ctx: Context) -> dict[str, Any]:
    ws = ctx.websocket
    return {"route_key": ws.route_key, "connection_id": ws.connection_id, "type": ws.event_type}


def build_app() -> App:
    app = App()
    for method in HTTP_METHODS:
        app.handle(method, "/", http_facts)
        app.handle(method, "/{path+}", http_facts)
    for key in ("$connect", "$disconnect", "$default"):
        app.websocket(key, ws_facts)
    app.sqs("*")(event_facts)
    app.s3("*")(event_facts)
    app.sns("*")(event_facts)
    app.dynamodb_stream("*")(event_facts)
    app.kinesis("*")(event_facts)
    app.eventbridge("*")(event_facts)
    app.schedule("*")(event_facts)

    @app.authorizer()
    def authorize(ctx: Context) -> Any:
        seen_authorizers.append((ctx.request, ctx.request.authorizer))
        return allow("corpus-user", context={"api": ctx.request.authorizer.api})

    return app


APP = build_app()


# -- expectations read from the event itself --------------------------------------------
def expected_query_v1(event: dict[str, Any], decode: bool = False) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for name, values in (event.get("multiValueQueryStringParameters") or {}).items():
        if values:
            result[name] = list(values)
    for name, value in (event.get("queryStringParameters") or {}).items():
        if value is not None:
            result.setdefault(name, [value])
    if decode:
        return {unquote_plus(k): [unquote_plus(v) for v in vs] for k, vs in result.items()}
    return result


def expected_headers(event: dict[str, Any]) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, values in (event.get("multiValueHeaders") or {}).items():
        if values:
            result[name.lower()] = ", ".join(values)
    for name, value in (event.get("headers") or {}).items():
        if value is not None:
            result.setdefault(name.lower(), value)
    return result


def expected_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return str(body).encode("utf-8")


def strip_stage(path: str, stage: str | None) -> str:
    if stage and stage != "$default" and (path + "/").startswith(f"/{stage}/"):
        return path[len(stage) + 1 :] or "/"
    return path


def check_http(name: str, event: dict[str, Any], kind: str) -> None:
    answer = APP(event, None)
    if event.get("isBase64Encoded"):
        try:
            base64.b64decode(event.get("body") or "", validate=True)
        except ValueError:  # the file says base64 but its body is not: a clear 400
            assert answer["statusCode"] == 400, (name, answer)
            assert json.loads(answer["body"])["error"]["code"] == "INVALID_BODY"
            return
    assert answer["statusCode"] == 200, (name, answer)
    facts = json.loads(answer["body"])
    if kind == "http":
        rc = event["requestContext"]
        assert facts["method"] == rc["http"]["method"]
        raw = event.get("rawPath") or rc["http"]["path"]
        assert facts["path"] == unquote(strip_stage(raw, rc.get("stage")))
        pairs = parse_qsl(event.get("rawQueryString") or "", keep_blank_values=True)
        query: dict[str, list[str]] = {}
        for key, value in pairs:
            query.setdefault(key, []).append(value)
        if not pairs:
            query = {k: v.split(",") for k, v in (event.get("queryStringParameters") or {}).items()}
        assert facts["query"] == query
        assert facts["cookies"] == event.get("cookies", [])
        assert set(answer) >= {"statusCode", "headers", "body", "isBase64Encoded"}
        assert "statusDescription" not in answer
    else:
        assert facts["method"] == event["httpMethod"]
        assert facts["path"] == unquote(event.get("path") or "/")
        assert facts["query"] == expected_query_v1(event, decode=kind == "alb")
    headers = expected_headers(event)
    if kind == "http" and event.get("cookies"):
        headers.setdefault("cookie", "; ".join(event["cookies"]))
    assert facts["headers"] == headers
    assert base64.b64decode(facts["body"]) == expected_body(event)
    if kind == "alb":
        assert answer["statusDescription"] == "200 OK"
        multi = "multiValueHeaders" in event
        assert ("multiValueHeaders" in answer) is multi and ("headers" in answer) is not multi
        if multi:
            assert answer["multiValueHeaders"]["Content-Type"] == ["application/json"]
    elif kind == "rest":
        assert answer["headers"]["Content-Type"] == "application/json"
        assert "statusDescription" not in answer


def check_websocket(event: dict[str, Any]) -> None:
    rc = event["requestContext"]
    answer = APP(event, None)
    assert answer["statusCode"] == 200
    facts = json.loads(answer["body"])
    default = {"CONNECT": "$connect", "DISCONNECT": "$disconnect", "MESSAGE": "$default"}
    assert facts == {
        "route_key": rc.get("routeKey") or default[rc["eventType"]],
        "connection_id": rc["connectionId"],
        "type": rc["eventType"],
    }


def check_authorizer(event: dict[str, Any]) -> None:
    seen_authorizers.clear()
    answer = APP(event, None)
    arn = event.get("routeArn") or event["methodArn"]
    (request, info) = seen_authorizers[0]
    assert info.arn == arn and info.type == event["type"]
    assert info.token == event.get("authorizationToken")
    rc = event.get("requestContext") or {}
    if event["type"] == "TOKEN":
        expected_api = "rest"
    elif rc.get("eventType") == "CONNECT":
        expected_api = "websocket"
    else:
        expected_api = "http" if event.get("version") in ("1.0", "2.0") else "rest"
    assert info.api == expected_api
    assert info.payload_version == ("2.0" if "routeArn" in event else "1.0")
    if "httpMethod" in event:
        assert request.method == event["httpMethod"]
        assert request.path == unquote(event["path"])
        assert dict(request.multi_query) == expected_query_v1(event)
    if "routeArn" in event:
        assert request.method == rc["http"]["method"]
        assert request.path == unquote(strip_stage(event["rawPath"], rc.get("stage")))
        source = event.get("identitySource") or []
        assert list(info.identity_source) == source
    assert dict(request.headers) == expected_headers(event)
    statement = answer["policyDocument"]["Statement"][0]
    assert answer["principalId"] == "corpus-user"
    assert statement == {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [arn]}
    assert answer["context"] == {"api": expected_api}
    # Never answered as a request: without an authorizer route the event finds no handler.
    bare = App()
    bare.get("/{path+}")(http_facts)
    bare.websocket("$connect", ws_facts)
    with pytest.raises(LiftError) as refused:
        bare(event, None)
    assert refused.value.code == "ROUTE_NOT_FOUND"


def check_event(event: dict[str, Any], kind: str) -> None:
    facts = APP(event, None)
    assert facts["trigger"] == kind
    records = event.get("Records")
    if kind in ("sqs", "dynamodb_stream", "kinesis", "sns"):
        assert facts["records"] == records
    if kind == "sqs":
        assert facts["source"] == records[0]["eventSourceARN"].rsplit(":", 1)[-1]
        ids = [r["messageId"] for r in records]
        assert batch_failures(records) == {
            "batchItemFailures": [{"itemIdentifier": i} for i in ids]
        }
    elif kind == "sns":
        assert facts["source"] == records[0]["Sns"]["TopicArn"].rsplit(":", 1)[-1]
    elif kind == "dynamodb_stream":
        arn = records[0].get("eventSourceARN", "")
        table = arn.split(":table/")[1].split("/")[0] if ":table/" in arn else ""
        assert facts["source"] == table
        numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
        assert [f["itemIdentifier"] for f in batch_failures(records)["batchItemFailures"]] == (
            numbers
        )
    elif kind == "kinesis":
        arn = records[0].get("eventSourceARN", "")
        assert facts["source"] == (arn.split(":stream/")[1] if ":stream/" in arn else "")
        for record in records:
            base64.b64decode(record["kinesis"]["data"], validate=True)
        numbers = [r["kinesis"]["sequenceNumber"] for r in records]
        assert [f["itemIdentifier"] for f in batch_failures(records)["batchItemFailures"]] == (
            numbers
        )
    elif kind == "s3":
        if records:
            assert facts["source"] == records[0]["s3"]["bucket"]["name"]
            keys = [r["key"] for r in facts["records"]]
            assert keys == [unquote_plus(r["s3"]["object"]["key"]) for r in records]
        else:
            assert facts["source"] == event["detail"]["bucket"]["name"]
            assert facts["records"][0]["key"] == event["detail"]["object"]["key"]
    elif kind == "eventbridge":
        assert facts["source"] == event["source"]
        assert facts["detail_type"] == event["detail-type"]
    elif kind == "scheduled":
        assert facts["source"] == event["resources"][0].rsplit("/", 1)[-1]


@pytest.mark.parametrize("name", NAMES)
def test_every_corpus_event_is_routed_right_or_refused(name: str) -> None:
    event = load(name)
    kind = expected_kind(name)
    if kind == "refused":
        with pytest.raises(UnsupportedEventError):
            APP(event, None)
    elif kind in ("rest", "http", "alb"):
        check_http(name, event, kind)
    elif kind == "websocket":
        check_websocket(event)
    elif kind == "authorizer":
        check_authorizer(event)
    else:
        check_event(event, kind)


def test_the_corpus_is_broad_and_every_file_has_its_source() -> None:
    assert set(NAMES) == set(SOURCES)
    for entry in SOURCES.values():
        assert re.fullmatch(r"[0-9a-f]{40}", entry["commit"]) and entry["path"]
    kinds = {expected_kind(name) for name in NAMES}
    assert kinds == {
        "rest",
        "http",
        "alb",
        "websocket",
        "authorizer",
        "sqs",
        "s3",
        "sns",
        "dynamodb_stream",
        "kinesis",
        "eventbridge",
        "scheduled",
        "refused",
    }
    sources = {name.split("/")[0] for name in NAMES}
    assert sources == {"aws-lambda-go", "powertools-python", "sam-cli", "aws-lambda-rust"}
    assert len(NAMES) >= 390


def test_refusals_name_the_kind_that_arrived() -> None:
    for name, words in (
        ("powertools-python/bedrockAgentEvent.json", "Bedrock agent"),
        ("aws-lambda-go/cognito-event-userpools-presignup.json", "Cognito user pool"),
        ("aws-lambda-go/cloudwatch-logs-event.json", "CloudWatch Logs"),
        ("powertools-python/kafkaEventMsk.json", "Kafka"),
        ("powertools-python/appSyncResolverEvent.json", "AppSync"),
    ):
        with pytest.raises(UnsupportedEventError) as refused:
            APP(load(name), None)
        assert words in refused.value.message
