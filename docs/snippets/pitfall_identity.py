# snippet: pitfall_identity.py
from typing import Any

from lift import App, Context
from lift.testing import WebSocketTestClient
from lift.websocket import WebSocketOptions

app = App(websocket=WebSocketOptions(auto_connections=True))
users_by_connection: dict[str, str] = {}  # wrong: another instance has another dict


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    user = ctx.header("X-User")  # headers exist on $connect only
    ctx.set_identity(user_id=user)  # right: saved with the connection
    users_by_connection[ctx.websocket.connection_id] = user or ""


@app.websocket("whoami")
def whoami(ctx: Context) -> dict[str, Any]:
    return {
        "header": ctx.header("X-User"),  # a message event has no headers
        "user_id": ctx.user_id,  # restored from the stored connection
    }


with WebSocketTestClient(app) as client, client.connect(headers={"X-User": "ana"}) as ws:
    users_by_connection.clear()  # what a fresh Lambda instance holds
    ws.send_json({"action": "whoami"})
    assert ws.receive_json() == {"header": None, "user_id": "ana"}
