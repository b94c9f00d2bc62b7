# snippet: pitfall_connect.py
from lift import App, Context
from lift.testing import WebSocketTestClient
from lift.websocket import ConnectionGoneError

app = App()
too_early: list[str] = []


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    try:
        ctx.websocket.send_json({"welcome": True})  # wrong: not connected yet
    except ConnectionGoneError:
        too_early.append(ctx.websocket.connection_id)


@app.websocket("hello")
def hello(ctx: Context) -> None:
    ctx.websocket.send_json({"welcome": True})  # right: the client's first message


with WebSocketTestClient(app) as client, client.connect() as ws:
    assert too_early == [ws.connection_id]  # the $connect send was answered Gone
    ws.send_json({"action": "hello"})
    assert ws.receive_json() == {"welcome": True}
