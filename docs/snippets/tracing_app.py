# snippet: tracing_app.py
import json

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lift import App, Context
from lift.testing import WebSocketTestClient, events
from lift.tracing import CARRIER_KEY, carrier, shard_span
from lift.websocket import WebSocketOptions

exporter = InMemorySpanExporter()  # in Lambda: an OTLP exporter, or the ADOT layer
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))

app = App(
    websocket=WebSocketOptions(auto_connections=True),
    tracing=provider.get_tracer("chat"),  # or tracing=True (the global provider)
)
queued: list[str] = []


@app.websocket("chat")
def chat(ctx: Context) -> None:
    ctx.websocket.send({"echo": ctx.json()["text"]})
    # Work for a later invocation carries the trace context with it.
    queued.append(json.dumps({"text": ctx.json()["text"], CARRIER_KEY: carrier()}))


@app.sqs("deliveries")
def deliver(ctx: Context) -> None:
    for record in ctx.request.records:
        job = json.loads(record["body"])
        with shard_span(job, {"lift.recipients": 1}):  # linked to the chat invocation
            pass


with WebSocketTestClient(app) as client, client.connect() as ws:
    ws.send_json({"action": "chat", "text": "hi"})
app(events.sqs(*queued, queue="deliveries"))

spans = {span.name: span for span in exporter.get_finished_spans()}
message = spans["lift.websocket chat"]
assert message.attributes is not None
assert message.attributes["lift.route_key"] == "chat"
assert message.attributes["lift.outcome"] == "ok"
post = spans["lift.connections.post"]
assert post.parent is not None and post.parent.span_id == message.context.span_id
# The message links to its connection's $connect (saved on the connection record) ...
assert message.links[0].context.span_id == spans["lift.websocket $connect"].context.span_id
# ... and the queued work links back to the message that produced it.
assert spans["lift.fanout.shard"].links[0].context.span_id == message.context.span_id
