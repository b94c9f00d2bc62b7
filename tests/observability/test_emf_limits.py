"""EMF within CloudWatch's limits, thread-safe, and one buffer per invocation."""

from __future__ import annotations

import io
import json
import math
import threading
from collections import Counter
from typing import Any

import pytest

from lift import App, Context
from lift.middleware import websocket_metrics
from lift.observability import EMFMetrics, JSONLogger
from lift.testing import events


def documents(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def check_limits(document: dict[str, Any]) -> None:
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert len(directive["Metrics"]) <= 100
    for dimension_set in directive["Dimensions"]:
        assert len(dimension_set) <= 30
        for name in dimension_set:
            assert isinstance(document[name], str)
    for metric in directive["Metrics"]:
        value = document[metric["Name"]]
        assert not isinstance(value, list) or len(value) <= 100


def values_of(docs: list[dict[str, Any]], name: str) -> list[float]:
    found: list[float] = []
    for document in docs:
        value = document.get(name)
        if value is not None:
            found.extend(value if isinstance(value, list) else [value])
    return found


def test_more_than_100_values_are_split_not_dropped() -> None:
    stream = io.StringIO()
    metrics = EMFMetrics(namespace="T", stream=stream)
    for n in range(250):
        metrics.add("latency", n, "Milliseconds", {"route_key": "chat"})
    metrics.add("requests", 1, "Count", {"route_key": "chat"})
    metrics.flush()
    docs = documents(stream)
    assert len(docs) == 3
    for document in docs:
        check_limits(document)
    assert values_of(docs, "latency") == list(range(250))
    assert values_of(docs, "requests") == [1]


def test_more_than_100_metrics_are_split_not_dropped() -> None:
    stream = io.StringIO()
    metrics = EMFMetrics(namespace="T", stream=stream, default_dimensions={"service": "s"})
    for n in range(150):
        metrics.add(f"metric.{n}", n)
    metrics.flush()
    docs = documents(stream)
    assert len(docs) == 2
    for document in docs:
        check_limits(document)
        assert document["service"] == "s"
    names = [m["Name"] for d in docs for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    assert sorted(names) == sorted(f"metric.{n}" for n in range(150))


def test_dimension_sets_are_limited_to_30() -> None:
    metrics = EMFMetrics(namespace="T", stream=io.StringIO(), default_dimensions={"a": "1"})
    metrics.add("ok", 1, dimensions={f"d{n}": "v" for n in range(29)})
    with pytest.raises(ValueError, match="30"):
        metrics.add("too.many", 1, dimensions={f"d{n}": "v" for n in range(30)})
    with pytest.raises(ValueError):
        EMFMetrics(default_dimensions={f"d{n}": "v" for n in range(31)})


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "1", None, True])
def test_values_must_be_finite_numbers(value: Any) -> None:
    metrics = EMFMetrics(namespace="T", stream=io.StringIO())
    with pytest.raises(ValueError):
        metrics.add("bad", value)


@pytest.mark.parametrize("name", ["", "_aws", "route_key"])
def test_names_that_would_break_the_document_are_refused(name: str) -> None:
    metrics = EMFMetrics(namespace="T", stream=io.StringIO())
    with pytest.raises(ValueError):
        metrics.add(name, 1, dimensions={"route_key": "chat"})


def test_the_writer_is_thread_safe() -> None:
    stream = io.StringIO()
    metrics = EMFMetrics(namespace="T", stream=stream)
    threads, per_thread = 8, 500
    start = threading.Barrier(threads)

    def work(worker: int) -> None:
        start.wait()
        for n in range(per_thread):
            metrics.add("hits", 1, "Count", {"worker": str(worker % 2)})
            if n % 50 == 0:
                metrics.flush()

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(30)
    metrics.flush()
    docs = documents(stream)  # every line parses: no interleaved writes
    for document in docs:
        check_limits(document)
    assert len(values_of(docs, "hits")) == threads * per_thread


def test_concurrent_invocations_never_share_a_document() -> None:
    stream = io.StringIO()
    app = App(
        metrics=EMFMetrics(namespace="T", stream=stream), logger=JSONLogger(stream=io.StringIO())
    )
    both_added = threading.Barrier(2, timeout=10)

    @app.websocket("$default")
    def on_message(ctx: Context) -> None:
        ctx.metrics.add("orders", ctx.json()["n"], "Count", {"route_key": "$default"})
        both_added.wait()  # both values are buffered before either invocation ends

    def invoke(n: int) -> None:
        assert app(events.websocket_message({"n": n}))["statusCode"] == 200

    pool = [threading.Thread(target=invoke, args=(n,)) for n in (1, 2)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(10)
    docs = documents(stream)
    assert sorted(d["orders"] for d in docs) == [1, 2]  # two documents, one value each


def test_websocket_metrics_with_its_own_sink_flushes_per_event() -> None:
    stream = io.StringIO()
    sink = EMFMetrics(namespace="Own", stream=stream)
    app = App(logger=JSONLogger(stream=io.StringIO()))
    app.use(websocket_metrics(sink))
    gate = threading.Barrier(2, timeout=10)

    @app.websocket("$default")
    def on_message(ctx: Context) -> None:
        gate.wait()

    pool = [threading.Thread(target=app, args=(events.websocket_message("x"),)) for _ in range(2)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(10)
    docs = documents(stream)
    assert len(docs) == 2
    assert Counter(d["websocket.requests"] for d in docs) == Counter({1: 2})
