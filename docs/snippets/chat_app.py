# snippet: chat_app.py
from lift import App, Context, bad_request, unauthorized
from lift.websocket import WebSocketOptions

# auto_connections: every accepted connection is saved in a store and removed again on
# $disconnect. The store is the DynamoDB table named by LIFT_CONNECTIONS_TABLE when that
# is set (as deployed), else memory (local runs and tests).
app = App(websocket=WebSocketOptions(auto_connections=True))


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    name = ctx.query("name")
    if not name:
        raise bad_request("Connect with ?name=...")  # a non-2xx answer refuses the connection
    # The identity set here is saved with the connection; the room is kept as its tenant.
    ctx.set_identity(user_id=name, tenant_id=ctx.query("room") or "lobby")


@app.websocket("chat")
def chat(ctx: Context) -> None:
    me = ctx.websocket.connection  # the record saved on $connect
    if me is None or me.tenant_id is None:
        raise unauthorized("Unknown connection")
    message = {"from": me.user_id, "text": ctx.json().get("text", "")}
    ctx.websocket.broadcast_to_tenant(me.tenant_id, message)


@app.websocket("$default")
def fallback(ctx: Context) -> None:
    ctx.websocket.send_json({"error": "unknown action", "hint": 'send {"action": "chat"}'})


handler = app  # the Lambda entry point
