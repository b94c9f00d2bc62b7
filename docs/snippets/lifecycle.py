# snippet: lifecycle.py
from datetime import timedelta

from lift import App, Context, forbidden
from lift.testing import WebSocketRefused, WebSocketTestClient
from lift.websocket import MemoryConnectionStore, WebSocketOptions

store = MemoryConnectionStore()
app = App(websocket=WebSocketOptions(auto_connections=True, store=store))
closed: list[str] = []


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    if ctx.query("banned"):
        raise forbidden()  # a refused connection is never stored
    ctx.set_identity(user_id=ctx.query("user"), claims={"sub": ctx.query("user")})
    ctx.websocket.metadata["room"] = "lobby"


@app.websocket("$disconnect")
def disconnect(ctx: Context) -> None:
    record = ctx.websocket.connection  # still there while the handler runs
    closed.append(record.user_id if record else "?")


with WebSocketTestClient(app) as client:
    try:
        client.connect(query={"banned": "1"})
    except WebSocketRefused as refused:
        assert refused.status_code == 403
    assert store.count_active() == 0

    ws = client.connect(query={"user": "ana"})
    saved = store.get(ws.connection_id)
    assert saved is not None
    assert (saved.user_id, saved.claims) == ("ana", {"sub": "ana"})
    assert saved.metadata == {"room": "lobby"}
    assert saved.expires_at == saved.connected_at + timedelta(hours=2)  # the TTL

    ws.close()
    assert closed == ["ana"]  # the handler ran, then the record was deleted
    assert store.get(ws.connection_id) is None
