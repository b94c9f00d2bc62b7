# snippet: migration_boto3_after.py
import os
from dataclasses import dataclass

from lift import App, Context, unauthorized
from lift.websocket import DynamoDBConnectionStore, WebSocketOptions

store = DynamoDBConnectionStore(os.environ["LIFT_CONNECTIONS_TABLE"])
app = App(websocket=WebSocketOptions(auto_connections=True, store=store))


@dataclass
class ChatMessage:
    text: str


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    user = ctx.query("user")
    if not user:
        raise unauthorized()
    ctx.set_identity(user_id=user, tenant_id=ctx.query("room") or "lobby")  # room as tenant


@app.websocket("$default")
def message(ctx: Context) -> None:
    chat = ctx.bind(ChatMessage)  # 400 INVALID_JSON, 422 VALIDATION_ERROR
    me = ctx.websocket.connection
    if me is None or me.tenant_id is None:
        raise unauthorized()
    ctx.websocket.broadcast_to_tenant(me.tenant_id, {"from": me.user_id, "text": chat.text})


lambda_handler = app
