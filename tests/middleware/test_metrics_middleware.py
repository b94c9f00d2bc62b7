"""websocket_metrics: CloudWatch EMF output checked against the EMF specification."""

from __future__ import annotations

import io
import json
import numbers
import time
from typing import Any

import pytest

from lift import App, Context, LiftError, Response
from lift.middleware import websocket_metrics
from lift.observability import EMFMetrics, JSONLogger, MemoryMetrics
from lift.testing import events

# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html
CLOUDWATCH_UNITS = {
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
}


def check_emf(document: dict[str, Any]) -> None:
    """Assert ``document`` follows the Embedded Metric Format specification."""
    aws = document["_aws"]
    timestamp = aws["Timestamp"]
    assert isinstance(timestamp, int) and not isinstance(timestamp, bool)
    assert abs(timestamp - time.time() * 1000) < 60_000, "Timestamp must be epoch milliseconds"
    directives = aws["CloudWatchMetrics"]
    assert isinstance(directives, list) and directives
    for directive in directives:
        assert isinstance(directive["Namespace"], str) and directive["Namespace"]
        dimension_sets = directive["Dimensions"]
        assert isinstance(dimension_sets, list)
        for dimension_set in dimension_sets:
            assert isinstance(dimension_set, list) and len(dimension_set) <= 30
            for name in dimension_set:
                assert isinstance(name, str) and name
                assert isinstance(document[name], str), f"dimension {name} must be a root string"
        metrics = directive["Metrics"]
        assert isinstance(metrics, list) and 0 < len(metrics) <= 100
        for metric in metrics:
            assert isinstance(metric["Name"], str) and 0 < len(metric["Name"]) <= 255
            assert metric["Unit"] in CLOUDWATCH_UNITS
            value = document[metric["Name"]]
            values = value if isinstance(value, list) else [value]
            assert values and len(values) <= 100
            assert all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values)


class CountingStream(io.StringIO):
    """A text stream that counts flushes: one flush closes one write batch."""

    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


class EMFRecorder:
    """Parses what an :class:`EMFMetrics` wrote, invocation by invocation."""

    def __init__(self) -> None:
        self.stream = CountingStream()
        self.metrics = EMFMetrics(namespace="LiftTest", stream=self.stream)
        self._read = 0

    def take(self) -> list[dict[str, Any]]:
        """The documents written since the last call, each checked against the spec."""
        text = self.stream.getvalue()[self._read :]
        self._read += len(text)
        documents = [json.loads(line) for line in text.splitlines() if line]
        for document in documents:
            check_emf(document)
        return documents


def metric_values(documents: list[dict[str, Any]]) -> dict[str, list[tuple[Any, dict[str, str]]]]:
    """``name -> [(value, dimensions)]`` over every directive of ``documents``."""
    found: dict[str, list[tuple[Any, dict[str, str]]]] = {}
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            names = {name for dims in directive["Dimensions"] for name in dims}
            dimensions = {name: document[name] for name in names}
            for metric in directive["Metrics"]:
                found.setdefault(metric["Name"], []).append((document[metric["Name"]], dimensions))
    return found


def units(documents: list[dict[str, Any]]) -> dict[str, str]:
    return {
        metric["Name"]: metric["Unit"]
        for document in documents
        for directive in document["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }


@pytest.fixture
def recorder() -> EMFRecorder:
    return EMFRecorder()


@pytest.fixture
def log_stream() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def app(recorder: EMFRecorder, log_stream: io.StringIO) -> App:
    app = App(metrics=recorder.metrics, logger=JSONLogger(stream=log_stream))
    app.use(websocket_metrics())

    @app.websocket("$connect")
    def connect(ctx: Context) -> Any:
        assert recorder.stream.getvalue()[recorder._read :] == "", "written before the end"
        if ctx.query("reject") == "lift":
            raise LiftError(401, "UNAUTHORIZED", "Missing token")
        if ctx.query("reject") == "status":
            return ctx.status(403).json({"error": {"code": "ORIGIN_DENIED", "message": "no"}})
        return None

    @app.websocket("$disconnect")
    def disconnect(ctx: Context) -> None:
        return None

    @app.websocket("echo")
    def echo(ctx: Context) -> Any:
        return {"echo": ctx.json()}

    @app.websocket("slow")
    def slow(ctx: Context) -> None:
        time.sleep(0.02)

    @app.websocket("fail")
    def fail(ctx: Context) -> None:
        raise LiftError(409, "ROOM_FULL", "The room is full")

    @app.websocket("boom")
    def boom(ctx: Context) -> None:
        raise KeyError("internal detail")

    @app.websocket("teapot")
    def teapot(ctx: Context) -> Response:
        return Response("short and stout", 418)

    return app


def test_connect_records_requests_latency_and_new_connection(
    app: App, recorder: EMFRecorder
) -> None:
    result = app(events.websocket_connect())

    assert result["statusCode"] == 200
    documents = recorder.take()
    assert recorder.stream.flushes == 1, "one write batch per invocation"
    found = metric_values(documents)
    dims = {"route_key": "$connect", "event_type": "CONNECT"}
    assert found["websocket.requests"] == [(1, dims)]
    assert found["websocket.connections.new"] == [(1, dims)]
    [(latency, latency_dims)] = found["websocket.latency"]
    assert latency_dims == dims
    assert isinstance(latency, float) and latency >= 0
    assert "websocket.errors" not in found
    assert "websocket.messages" not in found
    assert all(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "LiftTest" for doc in documents)
    assert units(documents) == {
        "websocket.requests": "Count",
        "websocket.latency": "Milliseconds",
        "websocket.connections.new": "Count",
    }


def test_message_records_count_and_inbound_size_in_bytes(app: App, recorder: EMFRecorder) -> None:
    text = json.dumps({"action": "echo", "text": "héllo ✓"}, ensure_ascii=False)
    event = events.websocket_message(text, route_key="echo")
    body_bytes = len(event["body"].encode("utf-8"))
    assert body_bytes > len(event["body"]), "the body has multi-byte characters"

    result = app(event)

    assert json.loads(result["body"]) == {"echo": {"action": "echo", "text": "héllo ✓"}}
    documents = recorder.take()
    found = metric_values(documents)
    dims = {"route_key": "echo", "event_type": "MESSAGE"}
    assert found["websocket.messages"] == [(1, dims)]
    assert found["websocket.message.size"] == [(body_bytes, dims)]
    assert found["websocket.requests"] == [(1, dims)]
    assert "websocket.connections.new" not in found
    assert units(documents)["websocket.message.size"] == "Bytes"
    assert units(documents)["websocket.messages"] == "Count"
    assert recorder.stream.flushes == 1


def test_binary_message_size_is_the_decoded_payload(app: App, recorder: EMFRecorder) -> None:
    payload = bytes(range(256)) * 4
    event = events.websocket_message(payload, route_key="teapot")
    assert event["isBase64Encoded"] is True

    app(event)

    found = metric_values(recorder.take())
    assert found["websocket.message.size"][0][0] == len(payload)


def test_latency_is_milliseconds(app: App, recorder: EMFRecorder) -> None:
    app(events.websocket_message({"action": "slow"}))

    [(latency, _)] = metric_values(recorder.take())["websocket.latency"]
    assert 20 <= latency < 5_000


def test_lift_error_is_counted_with_its_code(app: App, recorder: EMFRecorder) -> None:
    result = app(events.websocket_message({"action": "fail"}))

    assert result["statusCode"] == 409
    found = metric_values(recorder.take())
    assert found["websocket.errors"] == [
        (1, {"route_key": "fail", "event_type": "MESSAGE", "error_type": "ROOM_FULL"})
    ]
    assert found["websocket.requests"] == [(1, {"route_key": "fail", "event_type": "MESSAGE"})]


def test_bare_exception_is_counted_with_its_class_and_still_answered_500(
    app: App, recorder: EMFRecorder, log_stream: io.StringIO
) -> None:
    result = app(events.websocket_message({"action": "boom"}))

    assert result["statusCode"] == 500
    assert json.loads(result["body"])["error"]["code"] == "INTERNAL_ERROR"
    assert "internal detail" not in result["body"]
    found = metric_values(recorder.take())
    assert found["websocket.errors"] == [
        (1, {"route_key": "boom", "event_type": "MESSAGE", "error_type": "KeyError"})
    ]
    # The exception went on to the app, which logged it once with its traceback.
    errors = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    assert [e["exception_type"] for e in errors if e["level"] == "ERROR"] == ["KeyError"]


def test_non_2xx_result_is_an_error(app: App, recorder: EMFRecorder) -> None:
    app(events.websocket_message({"action": "teapot"}))
    found = metric_values(recorder.take())
    assert found["websocket.errors"][0][1]["error_type"] == "HTTP_418"


def test_refused_connect_is_an_error_and_not_a_new_connection(
    app: App, recorder: EMFRecorder
) -> None:
    assert app(events.websocket_connect(query={"reject": "lift"}))["statusCode"] == 401
    found = metric_values(recorder.take())
    assert "websocket.connections.new" not in found
    assert found["websocket.errors"][0][1]["error_type"] == "UNAUTHORIZED"

    assert app(events.websocket_connect(query={"reject": "status"}))["statusCode"] == 403
    found = metric_values(recorder.take())
    assert "websocket.connections.new" not in found
    assert found["websocket.errors"][0][1]["error_type"] == "ORIGIN_DENIED"
    assert recorder.stream.flushes == 2


def test_disconnect_records_a_closed_connection(app: App, recorder: EMFRecorder) -> None:
    app(events.websocket_disconnect(status_code=1001, reason="Going away"))

    found = metric_values(recorder.take())
    dims = {"route_key": "$disconnect", "event_type": "DISCONNECT"}
    assert found["websocket.connections.closed"] == [(1, dims)]
    assert found["websocket.requests"] == [(1, dims)]
    assert "websocket.connections.new" not in found


def test_http_events_are_not_measured(recorder: EMFRecorder) -> None:
    app = App(metrics=recorder.metrics, logger=JSONLogger(stream=io.StringIO()))
    app.use(websocket_metrics())
    app.get("/items")(lambda ctx: {"items": []})

    assert app(events.http_v2("GET", "/items"))["statusCode"] == 200
    assert recorder.take() == []


def test_each_invocation_is_one_batch(app: App, recorder: EMFRecorder) -> None:
    cid = events.new_connection_id()
    app(events.websocket_connect(connection_id=cid))
    app(events.websocket_message({"action": "echo", "n": 1}, connection_id=cid))
    app(events.websocket_message({"action": "echo", "n": 2}, connection_id=cid))
    app(events.websocket_disconnect(connection_id=cid))

    assert recorder.stream.flushes == 4
    found = metric_values(recorder.take())
    assert sum(value for value, _ in found["websocket.requests"]) == 4
    assert sum(value for value, _ in found["websocket.messages"]) == 2


def test_an_explicit_sink_is_flushed_by_the_middleware(recorder: EMFRecorder) -> None:
    sink = MemoryMetrics()
    app = App(metrics=recorder.metrics, logger=JSONLogger(stream=io.StringIO()))
    app.use(websocket_metrics(sink))
    app.websocket("$default", lambda ctx: None)

    app(events.websocket_message("hello"))

    assert sink.flushes == 1
    assert sink.total("websocket.message.size", route_key="$default") == 5
    assert recorder.take() == [], "the app's sink got nothing"


def test_a_failing_sink_never_fails_the_event() -> None:
    class BrokenSink:
        def add(self, name: str, value: float, unit: str = "Count", dimensions: Any = None) -> None:
            raise OSError("disk full")

        def flush(self) -> None:
            raise AssertionError("not reached")

    log = io.StringIO()
    app = App(metrics=MemoryMetrics(), logger=JSONLogger(stream=log))
    app.use(websocket_metrics(BrokenSink()))
    app.websocket("$default", lambda ctx: {"ok": True})

    result = app(events.websocket_message("hi"))

    assert result["statusCode"] == 200
    [line] = [json.loads(line) for line in log.getvalue().splitlines()]
    assert line["message"] == "Could not record WebSocket metrics"
    assert line["exception_type"] == "OSError"


# -- Powertools for AWS Lambda as the sink ------------------------------------------
@pytest.fixture
def powertools_metrics(monkeypatch: pytest.MonkeyPatch) -> Any:
    from aws_lambda_powertools import Metrics

    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    metrics = Metrics(namespace="Test", service="svc")
    metrics.clear_metrics()
    yield metrics
    metrics.clear_metrics()


def test_powertools_sink_gets_correct_dimensions_per_metric(
    powertools_metrics: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    app = App(metrics=MemoryMetrics(), logger=JSONLogger(stream=io.StringIO()))
    app.use(websocket_metrics(powertools_metrics))

    @app.websocket("order")
    def order(ctx: Context) -> None:
        powertools_metrics.add_metric(name="OrdersPlaced", unit="Count", value=1)
        raise LiftError(422, "VALIDATION_ERROR", "Bad order")

    event = events.websocket_message({"action": "order", "sku": "pen"})
    assert app(event)["statusCode"] == 422
    powertools_metrics.flush_metrics()

    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    for document in documents:
        check_emf(document)
    assert {d["_aws"]["CloudWatchMetrics"][0]["Namespace"] for d in documents} == {"Test"}
    found = metric_values(documents)
    lift_dims = {"route_key": "order", "event_type": "MESSAGE", "service": "svc"}
    assert found["websocket.requests"] == [([1.0], lift_dims)]
    assert found["websocket.messages"] == [([1.0], lift_dims)]
    assert found["websocket.message.size"] == [([float(len(event["body"]))], lift_dims)]
    assert found["websocket.errors"] == [([1.0], {**lift_dims, "error_type": "VALIDATION_ERROR"})]
    [(latency, _)] = found["websocket.latency"]
    assert latency[0] >= 0
    # The application's own metric keeps its own dimensions.
    assert found["OrdersPlaced"] == [([1.0], {"service": "svc"})]
    assert units(documents)["websocket.latency"] == "Milliseconds"
    assert units(documents)["websocket.message.size"] == "Bytes"
