# snippet: rate_limits.py
import json

from lift import App, Context
from lift.ratelimit import MemoryCounterStore, rate_limit
from lift.testing import WebSocketRefused, WebSocketTestClient
from lift.websocket import WebSocketOptions

# Replies go through @connections only: no route responses, so errors come as frames.
app = App(websocket=WebSocketOptions(route_responses=False))
app.use(
    rate_limit(
        per_connection="3/hour",
        per_user="100/minute",
        on_connect="2/hour per source_ip",
        store=MemoryCounterStore(),  # deployed: DynamoDBCounterStore("connections-table")
    )
)


@app.websocket("$default")
def echo(ctx: Context) -> None:
    ctx.websocket.send(ctx.text)


with WebSocketTestClient(app) as client:
    with client.connect() as ws:
        for n in range(3):
            ws.send_json({"n": n})
            assert ws.receive_json() == {"n": n}
        refused = ws.send_json({"n": 3})
        assert refused["statusCode"] == 429
        assert 0 < int(refused["headers"]["Retry-After"]) <= 3600  # seconds
        frame = ws.receive_json()  # what the client sees, once
        assert frame["error"]["code"] == "TOO_MANY_REQUESTS"
        assert frame == json.loads(refused["body"]) and ws.pending == 0
    client.connect().close()  # the second from this address this hour
    try:
        client.connect()
    except WebSocketRefused as refusal:  # the handshake is refused with 429
        assert refusal.status_code == 429
        assert "Retry-After" in refusal.headers
    else:
        raise AssertionError("a third connection in an hour was accepted")
