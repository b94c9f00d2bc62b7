# snippet: subprotocols.py
from lift import App, Context, bad_request

app = App()
SUPPORTED = ("chat.v2", "chat.v1")  # preferred first


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    offered = ctx.websocket.requested_subprotocols  # from Sec-WebSocket-Protocol
    if not offered:
        return  # a plain WebSocket: no subprotocol
    for name in SUPPORTED:
        if name in offered:
            ctx.websocket.accept_subprotocol(name)  # answered in Sec-WebSocket-Protocol
            return
    raise bad_request("No supported subprotocol")
