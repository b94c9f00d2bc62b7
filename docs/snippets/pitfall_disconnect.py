# snippet: pitfall_disconnect.py
from typing import Any

from lift import App, Context
from lift.testing import WebSocketTestClient
from lift.websocket import MemoryConnectionStore, WebSocketOptions

store = MemoryConnectionStore()
app = App(websocket=WebSocketOptions(auto_connections=True, store=store))


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    ctx.set_identity(user_id=ctx.query("user"))


@app.websocket("notify")
def notify(ctx: Context) -> dict[str, Any]:
    me = ctx.websocket.connection
    result = ctx.websocket.broadcast_to_user(me.user_id if me else "", {"ping": 1})
    return {"delivered": len(result.delivered), "gone": len(result.gone)}


with WebSocketTestClient(app) as client:
    phone = client.connect(query={"user": "ana"})
    laptop = client.connect(query={"user": "ana"})

    # The phone drops off the network and API Gateway never sends $disconnect:
    client.management_api.close(phone.connection_id)
    assert store.get(phone.connection_id) is not None  # a stale record

    laptop.send_json({"action": "notify"})
    assert laptop.receive_json() == {"ping": 1}
    assert laptop.receive_json() == {"delivered": 1, "gone": 1}
    assert store.get(phone.connection_id) is None  # the send found it gone and removed it
