# snippet: dynamodb_store.py
import os
from datetime import timedelta

from lift import App, Context
from lift.websocket import DynamoDBConnectionStore, WebSocketOptions

store = DynamoDBConnectionStore(
    os.environ["LIFT_CONNECTIONS_TABLE"],  # set by the `lift template` stack
    ttl=timedelta(hours=2),  # expires_at = connected_at + ttl
)
app = App(websocket=WebSocketOptions(auto_connections=True, store=store))


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    ctx.set_identity(user_id=ctx.query("user"), tenant_id=ctx.query("org"))
    ctx.websocket.metadata["client"] = ctx.query("client") or "web"  # saved too


@app.websocket("online")
def online(ctx: Context) -> dict[str, int]:
    return {"connections": store.count_active()}
