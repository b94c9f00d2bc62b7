# snippet: pitfall_identity.py
from typing import Any

from lift import App, Context
from lift.testing import WebSocketTestClient
from lift.websocket import WebSocketOptions

app = App(websocket=WebSocketOptions(auto_connections=True))


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    ctx.set_identity(user_id=ctx.header("X-User"))  # headers exist on $connect only


@app.websocket("whoami")
def whoami(ctx: Context) -> dict[str, Any]:
    record = ctx.websocket.connection
    return {
        "header": ctx.header("X-User"),  # a message event has no headers
        "ctx_user_id": ctx.user_id,  # nothing survives from $connect in memory
        "stored_user_id": record.user_id if record else None,  # the store remembers
    }


with WebSocketTestClient(app) as client, client.connect(headers={"X-User": "ana"}) as ws:
    ws.send_json({"action": "whoami"})
    assert ws.receive_json() == {"header": None, "ctx_user_id": None, "stored_user_id": "ana"}
