# snippet: legacy_routes.py
from lift import App, Context
from lift.testing import events

app = App()


def on_connect(ctx: Context) -> None:
    ws = ctx.as_websocket()  # the legacy name of ctx.websocket
    ctx.logger.info("Connected", connection_id=ws.connection_id)


def on_message(ctx: Context) -> str:
    return f"{ctx.method} {ctx.path}"


app.handle("CONNECT", "/connect", on_connect)  # = app.websocket("$connect", ...)
app.handle("DISCONNECT", "/disconnect", lambda ctx: None)  # = "$disconnect"
app.handle("MESSAGE", "/message", on_message)  # = "$default"
app.handle("MESSAGE", "/chat", on_message)  # = route key "chat"

assert app(events.websocket_connect())["statusCode"] == 200
assert app(events.websocket_message({"action": "chat"}))["body"] == "MESSAGE /chat"
assert app(events.websocket_message("not JSON"))["body"] == "MESSAGE /message"

# Legacy and native registrations are the same routes: registering one twice fails.
try:
    app.websocket("chat", on_message)
except ValueError as error:
    assert "already registered" in str(error)
else:
    raise AssertionError("expected a ValueError")
