# snippet: test_fanout_app.py
import json
from typing import Any

from lift import App, Context
from lift.testing import WebSocketTestClient, events, lambda_context
from lift.websocket import FanoutOptions, FanoutResult, WebSocketOptions

app = App(
    websocket=WebSocketOptions(
        auto_connections=True,
        fanout=FanoutOptions(
            # deployed, the queue comes from LIFT_FANOUT_QUEUE_URL
            inline_limit=2,  # tiny here, to see the queue at work
            shard_size=2,
            rate_per_second=500,
        ),
    )
)


@app.websocket("$connect")
def join(ctx: Context) -> None:
    ctx.set_identity(user_id=ctx.query("user"), tenant_id="acme")


@app.websocket("announce")
def announce(ctx: Context) -> dict[str, Any]:
    result = ctx.websocket.broadcast_to_tenant("acme", {"text": ctx.json()["text"]})
    if isinstance(result, FanoutResult):  # queued: the workers deliver it
        return {"job": result.job_id, "recipients": result.recipients, "shards": result.shards}
    return {"delivered": len(result.delivered)}


def test_everyone_gets_the_announcement_once() -> None:
    with WebSocketTestClient(app) as client:  # delivers the queue in process
        sockets = [client.connect(query={"user": f"u{i}"}) for i in range(5)]
        sockets[0].send_json({"action": "announce", "text": "hello"})
        answer = sockets[0].receive_json()
        assert (answer["recipients"], answer["shards"]) == (5, 3)
        for ws in sockets:
            assert ws.receive_json() == {"text": "hello"}
            assert ws.pending == 0


def test_without_a_queue_a_send_that_cannot_finish_is_refused() -> None:
    plain = App()

    @plain.websocket("announce")
    def announce_all(ctx: Context) -> None:
        ctx.websocket.broadcast([f"conn-{i}" for i in range(20_000)], "hi")

    event = events.websocket_message('{"action": "announce"}', route_key="announce")
    response = plain(event, lambda_context(timeout=10))
    error = json.loads(response["body"])["error"]
    assert (response["statusCode"], error["code"]) == (503, "FANOUT_NEEDS_QUEUE")
    assert "FanoutOptions" in error["message"]  # and nothing was sent
