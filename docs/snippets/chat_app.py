# snippet: chat_app.py
from lift import App, Context, bad_request, unauthorized
from lift.websocket import ChannelOptions, WebSocketOptions

# auto_connections: every accepted connection is saved in a store and removed again on
# $disconnect. channels: connections subscribe to channels (rooms) kept in that store.
# The store is the DynamoDB table named by LIFT_CONNECTIONS_TABLE when that is set (as
# deployed), else memory (local runs and tests).
app = App(websocket=WebSocketOptions(auto_connections=True, channels=ChannelOptions()))


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    name = ctx.query("name")
    if not name:
        raise bad_request("Connect with ?name=...")  # a non-2xx answer refuses the connection
    ctx.set_identity(user_id=name)  # saved with the connection
    # Written to the store together with the connection, once $connect has succeeded.
    ctx.websocket.subscribe(ctx.query("room") or "lobby")


@app.websocket("chat")
def chat(ctx: Context) -> None:
    me = ctx.websocket.connection  # the record saved on $connect
    rooms = ctx.websocket.subscriptions()  # this connection's channels, from the store
    if me is None or not rooms:
        raise unauthorized("Unknown connection")
    ctx.websocket.publish(rooms[0], {"from": me.user_id, "text": ctx.json().get("text", "")})


@app.websocket("$default")
def fallback(ctx: Context) -> None:
    ctx.websocket.send_json({"error": "unknown action", "hint": 'send {"action": "chat"}'})


handler = app  # the Lambda entry point
