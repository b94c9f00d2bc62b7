"""Event factories produce AWS's shapes, and every adapter normalises them."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import pytest

from lift import TriggerType, UnsupportedEventError
from lift.events import MalformedEventError, parse
from lift.testing import events

REQUEST_TIME = re.compile(r"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$")
GATEWAY_ID = re.compile(r"^[A-Za-z0-9+/]{15}=$")
WS_CONTEXT_KEYS = {
    "routeKey",
    "eventType",
    "extendedRequestId",
    "requestTime",
    "messageDirection",
    "stage",
    "connectedAt",
    "requestTimeEpoch",
    "identity",
    "requestId",
    "domainName",
    "connectionId",
    "apiId",
}


# -- factory shapes ------------------------------------------------------------------
def test_websocket_connect_shape() -> None:
    event = events.websocket_connect(query={"token": "abc", "tag": ["a", "b"]})
    assert set(event) == {
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "requestContext",
        "isBase64Encoded",
    }
    rc = event["requestContext"]
    assert set(rc) == WS_CONTEXT_KEYS
    assert rc["routeKey"] == "$connect"
    assert rc["eventType"] == "CONNECT"
    assert rc["messageDirection"] == "IN"
    assert REQUEST_TIME.match(rc["requestTime"])
    assert GATEWAY_ID.match(rc["connectionId"])
    assert rc["domainName"] == "abc123.execute-api.us-east-1.amazonaws.com"
    assert rc["apiId"] == "abc123"
    assert isinstance(rc["connectedAt"], int) and rc["connectedAt"] > 1_600_000_000_000
    assert set(rc["identity"]) == {"sourceIp", "userAgent"}
    assert event["headers"]["Host"] == rc["domainName"]
    assert event["headers"]["Sec-WebSocket-Version"] == "13"
    assert event["multiValueHeaders"]["Host"] == [rc["domainName"]]
    assert event["queryStringParameters"] == {"token": "abc", "tag": "b"}
    assert event["multiValueQueryStringParameters"] == {"token": ["abc"], "tag": ["a", "b"]}
    assert event["isBase64Encoded"] is False
    assert "httpMethod" not in event and "body" not in event


def test_websocket_connect_without_query_has_null_query_fields() -> None:
    event = events.websocket_connect()
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_websocket_connect_options() -> None:
    event = events.websocket_connect(
        connection_id="L0SM9cOFvHcCIhw=",
        headers={"host": "ws.example.com", "Authorization": "Bearer t"},
        subprotocols=["graphql-ws", "json"],
        stage="dev",
        domain_name="ws.example.com",
        authorizer={"user_id": "u-1", "tenant_id": "t-1"},
        http_method="GET",
        path="/",
    )
    assert event["requestContext"]["connectionId"] == "L0SM9cOFvHcCIhw="
    assert event["requestContext"]["stage"] == "dev"
    assert event["requestContext"]["domainName"] == "ws.example.com"
    assert event["requestContext"]["authorizer"] == {
        "principalId": "u-1",
        "user_id": "u-1",
        "tenant_id": "t-1",
        "integrationLatency": 0,
    }
    # A header given in another case replaces the default one rather than doubling it.
    assert [k for k in event["headers"] if k.lower() == "host"] == ["host"]
    assert event["headers"]["Sec-WebSocket-Protocol"] == "graphql-ws, json"
    assert event["headers"]["Authorization"] == "Bearer t"
    assert event["httpMethod"] == "GET" and event["path"] == "/"


def test_websocket_message_shape() -> None:
    event = events.websocket_message({"action": "chat", "text": "hi"}, connection_id="c1=")
    assert set(event) == {"requestContext", "body", "isBase64Encoded"}
    rc = event["requestContext"]
    assert set(rc) == WS_CONTEXT_KEYS | {"messageId"}
    assert rc["eventType"] == "MESSAGE"
    assert rc["routeKey"] == "chat"
    assert rc["connectionId"] == "c1="
    assert GATEWAY_ID.match(rc["messageId"])
    assert json.loads(event["body"]) == {"action": "chat", "text": "hi"}


def test_websocket_message_route_key_and_bodies() -> None:
    assert events.websocket_message("hello")["requestContext"]["routeKey"] == "$default"
    assert events.websocket_message({"text": "x"})["requestContext"]["routeKey"] == "$default"
    forced = events.websocket_message({"action": "chat"}, route_key="$default")
    assert forced["requestContext"]["routeKey"] == "$default"
    binary = events.websocket_message(b"\x00\xff")
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\x00\xff"


@pytest.mark.parametrize(
    ("body", "route"),
    [
        ('{"action": "chat"}', "chat"),  # a JSON text body is selected like a dict
        ({"action": "$connect"}, "$default"),  # never a lifecycle route
        ({"action": 7}, "7"),  # a scalar is selected as its JSON text
        ({"action": ""}, "$default"),
        ({"action": {"nested": "chat"}}, "$default"),
        ("[" * 5000 + "]" * 5000, "$default"),
    ],
)
def test_websocket_message_selects_its_route_as_api_gateway_does(body: Any, route: str) -> None:
    assert events.websocket_message(body)["requestContext"]["routeKey"] == route


def test_websocket_disconnect_shape() -> None:
    event = events.websocket_disconnect(status_code=1001, reason="Going away")
    assert set(event["headers"]) == {"Host", "x-api-key", "X-Forwarded-For", "x-restapi"}
    assert event["multiValueHeaders"]["x-api-key"] == [""]
    rc = event["requestContext"]
    assert set(rc) == WS_CONTEXT_KEYS | {"disconnectStatusCode", "disconnectReason"}
    assert rc["eventType"] == "DISCONNECT"
    assert rc["routeKey"] == "$disconnect"
    assert rc["disconnectStatusCode"] == 1001
    assert rc["disconnectReason"] == "Going away"


def test_connection_options_give_later_events_the_connection_of_connect() -> None:
    opened = events.websocket_connect(
        connection_id="L0SM9cOFvHcCIhw=",
        stage="dev",
        domain_name="ws.example.com",
        api_id="a1b2c3",
        source_ip="198.51.100.7",
        user_agent="probe/1",
        authorizer={"user_id": "u-1"},
        connected_at=1_700_000_000_000,
    )
    options = events.connection_options(opened)
    message = events.websocket_message({"action": "chat"}, request_id="r-1", **options)
    closed = events.websocket_disconnect(status_code=1001, **options)
    keys = ("connectionId", "connectedAt", "stage", "domainName", "apiId", "identity")
    for later in (message, closed):
        rc = later["requestContext"]
        assert {k: rc[k] for k in keys} == {k: opened["requestContext"][k] for k in keys}
        assert rc["authorizer"] == {"principalId": "u-1", "user_id": "u-1", "integrationLatency": 0}
    assert message["requestContext"]["requestId"] == "r-1"
    assert closed["requestContext"]["requestId"] != opened["requestContext"]["requestId"]


def test_connection_options_of_a_connect_without_user_agent() -> None:
    opened = events.websocket_connect(user_agent=None)
    message = events.websocket_message("hi", **events.connection_options(opened))
    assert message["requestContext"]["identity"] == {"sourceIp": events.SOURCE_IP}
    assert "authorizer" not in message["requestContext"]


def test_cookies_travel_as_each_http_payload_sends_them() -> None:
    cookies = ["session=abc", "theme=dark"]
    v2 = events.http_v2("GET", "/", cookies=cookies)
    assert v2["cookies"] == cookies and "cookie" not in v2["headers"]
    assert events.function_url("GET", "/", cookies=cookies)["cookies"] == cookies
    v1 = events.http_v1("GET", "/", cookies=cookies)
    assert v1["headers"]["Cookie"] == "session=abc; theme=dark"
    assert v1["multiValueHeaders"]["Cookie"] == ["session=abc; theme=dark"]
    assert events.alb("GET", "/", cookies=cookies)["headers"]["cookie"] == "session=abc; theme=dark"
    assert "Cookie" not in events.http_v1("GET", "/")["headers"]
    # A Cookie header given explicitly wins, as any given header does.
    given = events.http_v1("GET", "/", cookies=cookies, headers={"cookie": "a=1"})
    assert [v for k, v in given["headers"].items() if k.lower() == "cookie"] == ["a=1"]


@pytest.mark.parametrize(
    ("factory", "kwargs"),
    [
        (events.http_v1, {"path_param": {"id": "1"}}),
        (events.http_v2, {"stages": "dev"}),
        (events.alb, {"stage": "prod"}),
        (events.function_url, {"api_id": "x"}),
        (events.websocket_connect, {"conection_id": "c="}),
        (events.websocket_message, {"route": "chat"}),
        (events.websocket_disconnect, {"code": 1001}),
    ],
)
def test_a_misspelt_option_is_refused(factory: Any, kwargs: dict[str, Any]) -> None:
    name = next(iter(kwargs))
    with pytest.raises(TypeError, match=rf"{factory.__name__}\(\) got unexpected .*'{name}'"):
        factory(**kwargs)


def test_http_v1_shape() -> None:
    event = events.http_v1("get", "/items/42", path_params={"id": "42"})
    assert event["httpMethod"] == "GET"
    assert event["resource"] == "/items/{id}"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["stageVariables"] is None
    assert event["body"] is None
    rc = event["requestContext"]
    assert rc["path"] == "/prod/items/42"
    assert rc["resourcePath"] == "/items/{id}"
    assert rc["httpMethod"] == "GET"
    assert rc["stage"] == "prod"
    assert rc["identity"]["sourceIp"] == "203.0.113.10"
    assert rc["identity"]["cognitoIdentityId"] is None
    assert re.match(r"^[0-9a-f-]{36}$", rc["requestId"])


def test_http_v1_json_and_binary_bodies() -> None:
    event = events.http_v1("POST", "/items", body={"name": "pen"})
    assert event["body"] == '{"name":"pen"}'
    assert event["headers"]["Content-Type"] == "application/json"
    assert event["headers"]["Content-Length"] == str(len(event["body"]))
    binary = events.http_v1("PUT", "/blob", body=b"\x89PNG")
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\x89PNG"


def test_http_v2_shape() -> None:
    event = events.http_v2(
        "get",
        "/items",
        stage="prod",
        query={"tag": ["a", "b"], "q": "x y"},
        cookies=["session=1"],
        route_key="GET /items",
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /items"
    assert event["rawPath"] == "/prod/items"
    assert event["rawQueryString"] == "tag=a&tag=b&q=x%20y"
    assert event["queryStringParameters"] == {"tag": "a,b", "q": "x y"}
    assert event["cookies"] == ["session=1"]
    assert "cookie" not in event["headers"]
    assert all(name == name.lower() for name in event["headers"])
    http = event["requestContext"]["http"]
    assert http == {
        "method": "GET",
        "path": "/prod/items",
        "protocol": "HTTP/1.1",
        "sourceIp": "203.0.113.10",
        "userAgent": http["userAgent"],
    }
    assert event["requestContext"]["stage"] == "prod"
    assert "body" not in event and "pathParameters" not in event


def test_http_v2_default_stage_and_optional_fields_absent() -> None:
    event = events.http_v2()
    assert event["rawPath"] == "/"
    assert event["rawQueryString"] == ""
    for absent in ("cookies", "queryStringParameters", "body", "pathParameters"):
        assert absent not in event


def test_sqs_shape() -> None:
    event = events.sqs({"order": 1}, "plain", queue="orders", message_attributes={"n": 5})
    first, second = event["Records"]
    assert first["body"] == '{"order":1}'
    assert second["body"] == "plain"
    assert first["eventSource"] == "aws:sqs"
    assert first["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:orders"
    assert first["awsRegion"] == "us-east-1"
    assert first["md5OfBody"] == hashlib.md5(b'{"order":1}', usedforsecurity=False).hexdigest()
    assert first["attributes"]["ApproximateReceiveCount"] == "1"
    assert first["messageAttributes"]["n"]["dataType"] == "Number"
    assert first["messageAttributes"]["n"]["stringValue"] == "5"
    assert first["messageId"] != second["messageId"]
    fifo = events.sqs("x", queue="jobs.fifo")["Records"][0]["attributes"]
    assert fifo["MessageGroupId"] == "default" and "SequenceNumber" in fifo


def test_s3_shape_encodes_keys() -> None:
    record = events.s3("photos/my cat+dog.jpg", bucket="media")["Records"][0]
    assert record["eventVersion"] == "2.1"
    assert record["eventSource"] == "aws:s3"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["bucket"] == {
        "name": "media",
        "ownerIdentity": record["s3"]["bucket"]["ownerIdentity"],
        "arn": "arn:aws:s3:::media",
    }
    obj = record["s3"]["object"]
    assert obj["key"] == "photos/my+cat%2Bdog.jpg"
    assert obj["size"] == 1024 and len(obj["eTag"]) == 32 and obj["sequencer"]
    removed = events.s3("a", event_name="ObjectRemoved:Delete")["Records"][0]["s3"]["object"]
    assert "size" not in removed and "eTag" not in removed


def test_s3_eventbridge_shape() -> None:
    event = events.s3_eventbridge("dir/key.txt", bucket="media")
    assert event["source"] == "aws.s3"
    assert event["detail-type"] == "Object Created"
    assert event["resources"] == ["arn:aws:s3:::media"]
    assert event["detail"]["bucket"] == {"name": "media"}
    assert event["detail"]["object"]["key"] == "dir/key.txt"
    assert {"size", "etag", "sequencer"} <= set(event["detail"]["object"])


def test_eventbridge_and_scheduled_shapes() -> None:
    detail = {"orderId": "o-1", "items": [1, 2]}
    event = events.eventbridge(detail, source="shop.orders", detail_type="OrderPlaced")
    assert set(event) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert event["detail"] == detail and event["detail"] is not detail
    schedule = events.scheduled("nightly-report", region="eu-west-1")
    assert schedule["source"] == "aws.events"
    assert schedule["detail-type"] == "Scheduled Event"
    assert schedule["detail"] == {}
    assert schedule["resources"] == ["arn:aws:events:eu-west-1:123456789012:rule/nightly-report"]


def test_factories_return_fresh_dicts() -> None:
    a = events.websocket_connect(connection_id="same=")
    b = events.websocket_connect(connection_id="same=")
    a["requestContext"]["identity"]["sourceIp"] = "changed"
    a["headers"]["Host"] = "changed"
    assert b["requestContext"]["identity"]["sourceIp"] == "203.0.113.10"
    assert b["headers"]["Host"] != "changed"
    assert (
        events.websocket_connect()["requestContext"]["connectionId"]
        != (events.websocket_connect()["requestContext"]["connectionId"])
    )


# -- adapters ------------------------------------------------------------------------
def test_connect_is_normalised() -> None:
    event = events.websocket_connect(
        query={"token": "abc"}, headers={"Authorization": "Bearer x"}, connection_id="c=="
    )
    request = parse(event)
    assert request.trigger is TriggerType.WEBSOCKET
    assert request.method == "CONNECT"
    assert request.route_key == "$connect"
    assert request.path == "/connect"
    assert request.query == {"token": "abc"}
    assert request.header("AUTHORIZATION") == "Bearer x"
    assert request.headers["sec-websocket-version"] == "13"
    assert request.source_ip == "203.0.113.10"
    assert request.request_context["connectionId"] == "c=="


def test_connect_with_http_method_and_path_is_websocket() -> None:
    event = events.websocket_connect(http_method="GET", path="/")
    assert parse(event).trigger is TriggerType.WEBSOCKET


@pytest.mark.parametrize(
    "field", ["headers", "multiValueHeaders", "queryStringParameters", "identity"]
)
def test_connect_with_null_fields(field: str) -> None:
    event = events.websocket_connect(query={"a": "1"})
    if field == "identity":
        event["requestContext"]["identity"] = None
    else:
        event[field] = None
    request = parse(event)
    assert request.trigger is TriggerType.WEBSOCKET
    if field == "identity":
        assert request.source_ip is None


def test_connect_with_all_optional_fields_null() -> None:
    event = events.websocket_connect()
    for field in (
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
    ):
        event[field] = None
    request = parse(event)
    assert request.headers == {} and request.query == {}


def test_message_without_headers() -> None:
    event = events.websocket_message({"action": "chat", "n": 1})
    assert "headers" not in event
    request = parse(event)
    assert request.method == "MESSAGE"
    assert request.route_key == "chat"
    assert request.path == "/chat"
    assert request.headers == {}
    assert json.loads(request.text) == {"action": "chat", "n": 1}


def test_message_with_null_body_and_missing_route_key() -> None:
    event = events.websocket_message()
    event["body"] = None
    del event["requestContext"]["routeKey"]
    request = parse(event)
    assert request.route_key == "$default"
    assert request.body == b""


def test_base64_websocket_message() -> None:
    request = parse(events.websocket_message(b"\x00\x01\x02"))
    assert request.body == b"\x00\x01\x02"


def test_disconnect_is_normalised() -> None:
    request = parse(events.websocket_disconnect(status_code=1006, reason="Going away"))
    assert request.method == "DISCONNECT"
    assert request.route_key == "$disconnect"
    assert request.request_context["disconnectStatusCode"] == 1006


def test_http_v2_is_not_websocket() -> None:
    event = events.http_v2("GET", "/chat", route_key="GET /chat")
    assert "routeKey" in event["requestContext"]
    request = parse(event)
    assert request.trigger is TriggerType.HTTP
    assert request.method == "GET" and request.path == "/chat"


def test_http_v2_stage_prefix_is_stripped() -> None:
    assert parse(events.http_v2("GET", "/items/1", stage="prod")).path == "/items/1"
    assert parse(events.http_v2("GET", "/", stage="prod")).path == "/"
    assert parse(events.http_v2("GET", "/prod/x", stage="$default")).path == "/prod/x"
    event = events.http_v2("GET", "/items", stage="prod")
    event["rawPath"] = "/prod"
    assert parse(event).path == "/"


def test_http_v2_cookies_and_query() -> None:
    event = events.http_v2("GET", "/", cookies=["a=1", "b=2"], query={"tag": ["x", "y"]})
    request = parse(event)
    assert request.cookies == ["a=1", "b=2"]
    assert request.header("Cookie") == "a=1; b=2"
    assert request.query["tag"] == "y"
    assert request.multi_query["tag"] == ["x", "y"]


def test_http_v2_query_from_parameters_when_raw_query_missing() -> None:
    event = events.http_v2("GET", "/", query={"tag": ["x", "y"]})
    del event["rawQueryString"]
    request = parse(event)
    assert request.multi_query == {"tag": ["x", "y"]}


def test_http_v2_base64_body() -> None:
    request = parse(events.http_v2("POST", "/upload", body=b"\xff\xd8\xff"))
    assert request.body == b"\xff\xd8\xff"


def test_http_v1_multi_value_query_and_headers() -> None:
    event = events.http_v1("GET", "/search", query={"tag": ["a", "b"], "q": "pen"})
    event["multiValueHeaders"]["Accept"] = ["text/html", "application/json"]
    request = parse(event)
    assert request.query == {"tag": "b", "q": "pen"}
    assert request.multi_query == {"tag": ["a", "b"], "q": ["pen"]}
    assert request.header("accept") == "text/html, application/json"


@pytest.mark.parametrize(
    "field",
    [
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "body",
        "pathParameters",
        "requestContext",
    ],
)
def test_http_v1_null_fields(field: str) -> None:
    event = events.http_v1("GET", "/x", query={"a": "1"})
    event[field] = None
    request = parse(event)
    assert request.trigger is TriggerType.HTTP
    assert request.path == "/x"


def test_http_v1_base64_body() -> None:
    request = parse(events.http_v1("POST", "/blob", body=b"\x00binary\xff"))
    assert request.body == b"\x00binary\xff"


def test_sqs_with_several_records() -> None:
    request = parse(events.sqs({"n": 1}, {"n": 2}, {"n": 3}, queue="orders-eu"))
    assert request.trigger is TriggerType.SQS
    assert request.source == "orders-eu"
    assert [json.loads(r["body"])["n"] for r in request.records] == [1, 2, 3]


def test_s3_direct_decodes_keys() -> None:
    request = parse(events.s3("my dir/a b+c.txt", "plain.txt", bucket="media"))
    assert request.trigger is TriggerType.S3
    assert request.source == "media"
    assert [r["key"] for r in request.records] == ["my dir/a b+c.txt", "plain.txt"]
    assert request.records[0]["event_name"] == "ObjectCreated:Put"


def test_s3_via_eventbridge() -> None:
    request = parse(events.s3_eventbridge("dir/key.txt", bucket="media"))
    assert request.trigger is TriggerType.S3
    assert request.source == "media"
    assert request.records[0]["key"] == "dir/key.txt"
    assert request.detail_type == "Object Created"


def test_scheduled_rule_name() -> None:
    request = parse(events.scheduled("nightly-report"))
    assert request.trigger is TriggerType.SCHEDULED
    assert request.source == "nightly-report"


def test_custom_eventbridge() -> None:
    request = parse(events.eventbridge({"a": 1}, source="shop.orders", detail_type="Paid"))
    assert request.trigger is TriggerType.EVENTBRIDGE
    assert request.source == "shop.orders"
    assert request.detail_type == "Paid"


@pytest.mark.parametrize(
    "event",
    [{}, {"hello": "world"}, {"Records": []}, {"Records": [{"eventSource": "aws:sns"}]}],
)
def test_unrecognised_events(event: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedEventError):
        parse(event)


@pytest.mark.parametrize(
    ("event", "trigger"),
    [
        ({"httpMethod": 5}, TriggerType.HTTP),
        ({"httpMethod": "GET", "headers": "nope"}, TriggerType.HTTP),
        ({"version": "2.0", "requestContext": {"http": {}}}, TriggerType.HTTP),
        ({"requestContext": {"eventType": "MESSAGE"}}, TriggerType.WEBSOCKET),
        ({"Records": [{"eventSource": "aws:sqs"}]}, TriggerType.SQS),
        ({"Records": [{"eventSource": "aws:s3", "s3": {}}]}, TriggerType.S3),
        ({"source": "aws.events", "detail-type": "Scheduled Event"}, TriggerType.SCHEDULED),
        ({"source": 1, "detail-type": "x"}, TriggerType.EVENTBRIDGE),
    ],
)
def test_malformed_events(event: dict[str, Any], trigger: TriggerType) -> None:
    with pytest.raises(MalformedEventError) as info:
        parse(event)
    assert info.value.trigger is trigger
    assert info.value.code == "MALFORMED_EVENT"
