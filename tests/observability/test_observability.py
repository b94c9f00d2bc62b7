"""The JSON logger, the CloudWatch EMF writer and the in-memory metrics sink."""

from __future__ import annotations

import io
import json
import re
import time
from typing import Any

import pytest

from lift.observability import (
    EMFMetrics,
    JSONLogger,
    Logger,
    MemoryMetrics,
    Metrics,
    default_logger,
    default_metrics,
)
from lift.observability.logger import redact


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


# -- logger --------------------------------------------------------------------------
def test_logger_writes_one_json_object_per_line() -> None:
    stream = io.StringIO()
    logger = JSONLogger(level="DEBUG", stream=stream, service="orders")
    logger.info("created", order_id="o-1", amount=3.5)
    logger.debug("detail", when=time)  # not JSON-serialisable: written with str()
    first, second = lines(stream)
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", first["timestamp"])
    assert first["level"] == "INFO"
    assert first["message"] == "created"
    assert first["service"] == "orders"
    assert (first["order_id"], first["amount"]) == ("o-1", 3.5)
    assert second["level"] == "DEBUG" and "module" in second["when"]


def test_logger_level_filtering(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    logger = JSONLogger(level="warning", stream=stream)
    logger.debug("d")
    logger.info("i")
    logger.warning("w")
    logger.error("e")
    assert [line["level"] for line in lines(stream)] == ["WARNING", "ERROR"]
    assert logger.level == 30

    monkeypatch.setenv("LIFT_LOG_LEVEL", "ERROR")
    assert JSONLogger().level == 40
    monkeypatch.delenv("LIFT_LOG_LEVEL")
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", "DEBUG")
    assert JSONLogger().level == 10
    monkeypatch.delenv("AWS_LAMBDA_LOG_LEVEL")
    assert JSONLogger().level == 20


def test_logger_bind() -> None:
    stream = io.StringIO()
    base = JSONLogger(level="INFO", stream=stream, service="chat")
    child = base.bind(request_id="r-1")
    grandchild = child.bind(connection_id="c-1")
    grandchild.info("hello")
    base.info("plain")
    bound, plain = lines(stream)
    assert bound["service"] == "chat"
    assert bound["request_id"] == "r-1"
    assert bound["connection_id"] == "c-1"
    assert "request_id" not in plain
    assert child.level == base.level
    assert isinstance(child, Logger)


def test_logger_redacts_credentials_at_any_depth() -> None:
    stream = io.StringIO()
    logger = JSONLogger(level="INFO", stream=stream, token="bound-secret")
    logger.info(
        "request",
        headers={"Authorization": "Bearer abc.def.ghi", "Host": "example.com"},
        query={"token": "qs-secret", "page": "2"},
        items=[{"password": "pw", "id": 1}],
        access_token="at",
    )
    text = stream.getvalue()
    for secret in ("bound-secret", "abc.def.ghi", "qs-secret", '"pw"', '"at"'):
        assert secret not in text
    (line,) = lines(stream)
    assert line["token"] == "[REDACTED]"
    assert line["headers"] == {"Authorization": "[REDACTED]", "Host": "example.com"}
    assert line["query"] == {"token": "[REDACTED]", "page": "2"}
    assert line["items"] == [{"password": "[REDACTED]", "id": 1}]
    assert redact({"Sec-WebSocket-Protocol": "jwt"}) == {"Sec-WebSocket-Protocol": "[REDACTED]"}


def test_logger_exception_includes_traceback() -> None:
    stream = io.StringIO()
    logger = JSONLogger(level="INFO", stream=stream)
    try:
        {}["missing"]
    except KeyError:
        logger.exception("lookup failed", request_id="r-9")
    (line,) = lines(stream)
    assert line["level"] == "ERROR"
    assert line["exception_type"] == "KeyError"
    assert line["traceback"].startswith("Traceback (most recent call last)")
    assert "missing" in line["traceback"]
    assert line["request_id"] == "r-9"


def test_logger_exception_outside_handler_has_no_traceback() -> None:
    stream = io.StringIO()
    JSONLogger(level="INFO", stream=stream).exception("odd")
    (line,) = lines(stream)
    assert line["level"] == "ERROR" and "traceback" not in line


# -- EMF -----------------------------------------------------------------------------
def test_emf_document_is_valid() -> None:
    stream = io.StringIO()
    metrics = EMFMetrics(namespace="Chat", stream=stream)
    before = int(time.time() * 1000)
    metrics.add("websocket.requests", 1, "Count", {"route_key": "chat", "event_type": "MESSAGE"})
    metrics.add(
        "websocket.latency", 12.5, "Milliseconds", {"route_key": "chat", "event_type": "MESSAGE"}
    )
    metrics.add("websocket.requests", 1, "Count", {"route_key": "chat", "event_type": "MESSAGE"})
    metrics.flush()
    (document,) = lines(stream)
    aws = document["_aws"]
    assert isinstance(aws["Timestamp"], int)
    assert before <= aws["Timestamp"] <= int(time.time() * 1000)
    (directive,) = aws["CloudWatchMetrics"]
    assert directive["Namespace"] == "Chat"
    assert directive["Dimensions"] == [["event_type", "route_key"]]
    assert directive["Metrics"] == [
        {"Name": "websocket.requests", "Unit": "Count"},
        {"Name": "websocket.latency", "Unit": "Milliseconds"},
    ]
    assert document["route_key"] == "chat"
    assert document["event_type"] == "MESSAGE"
    assert document["websocket.requests"] == [1, 1]
    assert document["websocket.latency"] == 12.5
    for dimension in directive["Dimensions"][0]:
        assert isinstance(document[dimension], str)
    for metric in directive["Metrics"]:
        assert metric["Name"] in document


def test_emf_one_document_per_dimension_set() -> None:
    stream = io.StringIO()
    metrics = EMFMetrics(namespace="Lift", stream=stream, default_dimensions={"service": "chat"})
    metrics.add("websocket.connections.new", 1, dimensions={"route_key": "$connect"})
    metrics.add("websocket.messages", 1, dimensions={"route_key": "chat"})
    metrics.add("cold_start", 1)
    metrics.flush()
    documents = lines(stream)
    assert len(documents) == 3
    dimension_sets = [d["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0] for d in documents]
    assert dimension_sets == [["route_key", "service"], ["route_key", "service"], ["service"]]
    assert all(d["service"] == "chat" for d in documents)
    assert [d["route_key"] for d in documents[:2]] == ["$connect", "chat"]


def test_emf_writes_nothing_when_empty_and_clears_after_flush() -> None:
    stream = io.StringIO()
    metrics = EMFMetrics(stream=stream)
    metrics.flush()
    assert stream.getvalue() == ""
    metrics.add("x", 1)
    metrics.flush()
    metrics.flush()
    assert len(lines(stream)) == 1


def test_emf_namespace_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFT_METRICS_NAMESPACE", "FromEnv")
    assert EMFMetrics().namespace == "FromEnv"
    monkeypatch.delenv("LIFT_METRICS_NAMESPACE")
    assert EMFMetrics().namespace == "Lift"


# -- memory sink and defaults --------------------------------------------------------
def test_memory_metrics() -> None:
    metrics = MemoryMetrics()
    metrics.add("websocket.messages", 1, dimensions={"route_key": "chat"})
    metrics.add("websocket.messages", 2, dimensions={"route_key": "news"})
    metrics.add("websocket.message.size", 512, "Bytes", {"route_key": "chat"})
    metrics.flush()
    assert metrics.values("websocket.messages") == [1, 2]
    assert metrics.values("websocket.messages", route_key="chat") == [1]
    assert metrics.total("websocket.messages") == 3
    assert metrics.records[2].unit == "Bytes"
    assert metrics.flushes == 1
    assert isinstance(metrics, Metrics)
    metrics.clear()
    assert metrics.records == [] and metrics.flushes == 0


def test_defaults_are_process_wide() -> None:
    assert default_logger() is default_logger()
    assert default_metrics() is default_metrics()
    assert isinstance(default_logger(), Logger)
    assert isinstance(default_metrics(), Metrics)
