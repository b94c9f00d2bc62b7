"""Tracing: invocation spans, child spans for I/O, links across invocations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from lift import App, Context, LiftError
from lift.testing import WebSocketTestClient, events
from lift.tracing import CARRIER_KEY, carrier, shard_span, span
from lift.tracing.hook import active
from lift.websocket import MemoryConnectionStore, WebSocketOptions


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(exporter: InMemorySpanExporter) -> Any:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("tests")


def named(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def chat_app(tracer: Any, store: MemoryConnectionStore) -> App:
    app = App(websocket=WebSocketOptions(auto_connections=True, store=store), tracing=tracer)

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        ctx.set_identity(user_id="ada", tenant_id="acme")

    @app.websocket("chat")
    def chat(ctx: Context) -> None:
        ctx.websocket.send({"echo": ctx.json()["text"]})

    @app.websocket("fail")
    def fail(ctx: Context) -> None:
        raise RuntimeError("boom")

    @app.websocket("deny")
    def deny(ctx: Context) -> None:
        raise LiftError(403, "FORBIDDEN", "No")

    return app


def test_invocation_spans_with_children_and_a_link_to_the_connect(
    tracer: Any, exporter: InMemorySpanExporter
) -> None:
    store = MemoryConnectionStore()
    app = chat_app(tracer, store)
    with WebSocketTestClient(app) as client, client.connect() as ws:
        ws.send_json({"action": "chat", "text": "hi"})
        assert ws.receive_json() == {"echo": "hi"}
        connection_id = ws.connection_id
    spans = exporter.get_finished_spans()
    (connect,) = named(spans, "lift.websocket $connect")
    (message,) = named(spans, "lift.websocket chat")
    (disconnect,) = named(spans, "lift.websocket $disconnect")
    assert dict(message.attributes or {}) == {
        "faas.trigger": "websocket",
        "faas.invocation_id": message.attributes["faas.invocation_id"],  # type: ignore[index]
        "lift.route_key": "chat",
        "lift.event_type": "MESSAGE",
        "lift.connection_id": connection_id,
        "lift.tenant_id": "acme",
        "http.response.status_code": 200,
        "lift.outcome": "ok",
    }
    # Child spans: the store save under $connect, the post and the store read under chat.
    (save,) = named(spans, "lift.store.save")
    assert save.parent is not None and save.parent.span_id == connect.context.span_id
    (post,) = named(spans, "lift.connections.post")
    assert post.parent is not None and post.parent.span_id == message.context.span_id
    assert post.attributes == {"lift.connection_id": connection_id}
    gets = named(spans, "lift.store.get")
    assert gets and all(g.parent and g.parent.span_id == message.context.span_id for g in gets[:1])
    (delete,) = named(spans, "lift.store.delete")
    assert delete.parent is not None and delete.parent.span_id == disconnect.context.span_id
    # The connection record carries the $connect trace; later events link to it.
    for later in (message, disconnect):
        assert [link.context.span_id for link in later.links] == [connect.context.span_id]
        assert later.links[0].context.trace_id == connect.context.trace_id


def test_outcomes_of_refusals_and_failures(tracer: Any, exporter: InMemorySpanExporter) -> None:
    app = chat_app(tracer, MemoryConnectionStore())
    assert app(events.websocket_message(body="{}", route_key="deny"))["statusCode"] == 403
    assert app(events.websocket_message(body="{}", route_key="fail"))["statusCode"] == 500
    spans = exporter.get_finished_spans()
    (deny,) = named(spans, "lift.websocket deny")
    assert deny.attributes["lift.outcome"] == "client_error"  # type: ignore[index]
    assert deny.attributes["http.response.status_code"] == 403  # type: ignore[index]
    assert deny.status.status_code is StatusCode.UNSET
    (fail,) = named(spans, "lift.websocket fail")
    assert fail.attributes["lift.outcome"] == "error"  # type: ignore[index]
    assert fail.status.status_code is StatusCode.ERROR
    assert [event.name for event in fail.events] == ["exception"]


def test_a_fan_out_shard_links_back_to_the_publishing_invocation(
    tracer: Any, exporter: InMemorySpanExporter
) -> None:
    """Two apps sharing nothing: the publisher puts its carrier in the shard it queues;
    the worker delivering the shard (an SQS invocation) links its span to it."""
    queued: list[str] = []
    publisher = App(tracing=tracer)

    @publisher.websocket("publish")
    def publish(ctx: Context) -> None:
        queued.append(json.dumps({"recipients": ["a=", "b="], CARRIER_KEY: carrier()}))

    worker = App(tracing=tracer)
    delivered: list[list[str]] = []

    @worker.sqs("fanout")
    def deliver(ctx: Context) -> None:
        for record in ctx.request.records:
            shard = json.loads(record["body"])
            with shard_span(shard, {"lift.recipients": len(shard["recipients"])}):
                delivered.append(shard["recipients"])

    publisher(events.websocket_message(body="{}", route_key="publish"))
    worker(events.sqs(*queued, queue="fanout"))
    assert delivered == [["a=", "b="]]
    spans = exporter.get_finished_spans()
    (published,) = named(spans, "lift.websocket publish")
    (invocation,) = named(spans, "lift.sqs")
    (shard,) = named(spans, "lift.fanout.shard")
    assert shard.parent is not None and shard.parent.span_id == invocation.context.span_id
    assert shard.context.trace_id != published.context.trace_id
    assert [(link.context.trace_id, link.context.span_id) for link in shard.links] == [
        (published.context.trace_id, published.context.span_id)
    ]
    assert shard.attributes == {"lift.recipients": 2}


def test_hostile_carriers_are_ignored(tracer: Any, exporter: InMemorySpanExporter) -> None:
    app = App(tracing=tracer)

    @app.sqs("*")
    def deliver(ctx: Context) -> None:
        for body in ({CARRIER_KEY: "x"}, {CARRIER_KEY: {"traceparent": "garbage"}}, []):
            with shard_span(body):  # type: ignore[arg-type]
                pass

    app(events.sqs("{}"))
    shards = named(exporter.get_finished_spans(), "lift.fanout.shard")
    assert len(shards) == 3 and all(not s.links for s in shards)


def test_off_the_hook_costs_a_context_variable_read_and_records_nothing() -> None:
    assert active() is None
    assert carrier() == {}
    with span("anything") as handle:
        assert handle is None
    app = App()
    app.websocket("$default", lambda ctx: None)
    assert app.tracing is None
    app(events.websocket_message(body="{}"))
    assert app.websocket_routes["$default"].compiled is app.websocket_routes["$default"].handler


class FakeSubsegment:
    def __init__(self, name: str) -> None:
        self.name = name
        self.annotations: dict[str, Any] = {}
        self.exceptions: list[BaseException] = []

    def put_annotation(self, key: str, value: Any) -> None:
        self.annotations[key] = value

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        self.exceptions.append(exception)


class FakeProvider:
    def __init__(self) -> None:
        self.segments: list[FakeSubsegment] = []

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[FakeSubsegment]:
        segment = FakeSubsegment(name or "")
        self.segments.append(segment)
        yield segment


def test_a_powertools_tracer_records_subsegments() -> None:
    from aws_lambda_powertools import Tracer

    provider = FakeProvider()
    try:
        powertools = Tracer(service="chat", disabled=False, auto_patch=False, provider=provider)  # type: ignore[arg-type]
        app = App(tracing=powertools)
        app.websocket("boom", lambda ctx: 1 / 0)
        app.websocket("$default", lambda ctx: ctx.websocket.connection_id)
        app(events.websocket_message(body="{}", connection_id="c1="))
        app(events.websocket_message(body="{}", route_key="boom"))
    finally:
        Tracer._reset_config()  # type: ignore[no-untyped-call]
    ok, boom = provider.segments
    assert ok.name == "## lift.websocket $default"
    assert ok.annotations["lift_connection_id"] == "c1="
    assert ok.annotations["lift_outcome"] == "ok"
    assert boom.annotations["lift_outcome"] == "error"
    assert [type(e) for e in boom.exceptions] == [ZeroDivisionError]


def test_tracing_refuses_what_it_cannot_use() -> None:
    with pytest.raises(TypeError):
        App(tracing="yes")


def test_async_handlers_keep_the_trace(tracer: Any, exporter: InMemorySpanExporter) -> None:
    app = App(tracing=tracer)

    @app.websocket("chat")
    async def chat(ctx: Context) -> None:
        with span("work", {"step": 1}):
            pass

    app(events.websocket_message(body="{}", route_key="chat"))
    spans = exporter.get_finished_spans()
    (message,) = named(spans, "lift.websocket chat")
    (work,) = named(spans, "work")
    assert work.parent is not None and work.parent.span_id == message.context.span_id
    assert work.attributes == {"step": 1}


def test_real_fan_out_shards_link_back_to_the_broadcasting_invocation(
    tracer: Any, exporter: InMemorySpanExporter
) -> None:
    """A broadcast too big for one invocation is queued; each delivered shard's span
    links to the invocation that broadcast, through the trace context in the shard."""
    from lift.websocket import FanoutOptions

    app = App(
        websocket=WebSocketOptions(
            auto_connections=True,
            store=MemoryConnectionStore(),
            fanout=FanoutOptions(inline_limit=2, shard_size=2),
        ),
        tracing=tracer,
    )

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        ctx.set_identity(user_id="u", tenant_id="t1")

    @app.websocket("announce")
    def announce(ctx: Context) -> None:
        ctx.websocket.broadcast_to_tenant("t1", {"text": "hi"})

    with WebSocketTestClient(app) as client:
        sockets = [client.connect() for _ in range(5)]
        sockets[0].send_json({"action": "announce"})
        for ws in sockets:
            assert {"text": "hi"} in [ws.receive_json() for _ in range(ws.pending)]
    spans = exporter.get_finished_spans()
    (published,) = named(spans, "lift.websocket announce")
    shards = named(spans, "lift.fanout.shard")
    assert len(shards) == 3
    for shard in shards:
        assert [(link.context.trace_id, link.context.span_id) for link in shard.links] == [
            (published.context.trace_id, published.context.span_id)
        ]
