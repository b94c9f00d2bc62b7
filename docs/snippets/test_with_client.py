# snippet: test_with_client.py
import pytest

from lift import App, Context
from lift.testing import WebSocketClosed, WebSocketTestClient
from lift.websocket import ConnectionGoneError

app = App()
closes: list[tuple[int | None, str | None]] = []


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    if "chat" in ctx.websocket.requested_subprotocols:
        ctx.websocket.accept_subprotocol("chat")


@app.websocket("shout")
def shout(ctx: Context) -> dict[str, str]:
    return {"echo": ctx.json()["text"].upper()}  # the route response goes to the sender


@app.websocket("poke")
def poke(ctx: Context) -> None:
    ctx.websocket.post_to(ctx.json()["to"], {"poked_by": ctx.websocket.connection_id})


@app.websocket("quit")
def quit_(ctx: Context) -> None:
    ctx.websocket.disconnect()


@app.websocket("$disconnect")
def disconnect(ctx: Context) -> None:
    closes.append((ctx.websocket.disconnect_status_code, ctx.websocket.disconnect_reason))


def test_route_responses_and_posts() -> None:
    with WebSocketTestClient(app) as client:
        ana = client.connect(subprotocols=["chat"])
        ben = client.connect()
        assert ana.accepted_subprotocol == "chat"
        ana.send_json({"action": "shout", "text": "hi"})
        assert ana.receive_json() == {"echo": "HI"}

        ana.send_json({"action": "poke", "to": ben.connection_id})
        assert ben.receive_json() == {"poked_by": ana.connection_id}
        with pytest.raises(TimeoutError):
            ana.receive_json(timeout=0.05)  # nothing else arrived


def test_closing_fires_disconnect_and_gone() -> None:
    closes.clear()
    with WebSocketTestClient(app) as client:
        ws = client.connect()
        ws.close(4000, "bye")
        assert closes == [(4000, "bye")]
        with pytest.raises(ConnectionGoneError):
            ws.send_text("anyone?")

        server_side = client.connect()
        server_side.send_json({"action": "quit"})
        assert server_side.closed and server_side.close_code == 1000
        with pytest.raises(WebSocketClosed):
            server_side.receive_text()
        assert closes[-1] == (1000, "Connection Closed Normally")
