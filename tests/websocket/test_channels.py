"""Channels end to end: real WebSocket events in, frames out through a local ``@connections``.

Every test runs on both stores (DynamoDB through moto's HTTP server). Connections are
opened in a :class:`MemoryConnectionRegistry` served over HTTP by ``ConnectionsServer``,
so a connection can vanish without a ``$disconnect`` (a Gone answer) as it does deployed.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from lift import App, Context, LiftError
from lift.local.connections import ConnectionsServer, MemoryConnectionRegistry
from lift.testing import events
from lift.websocket import ChannelOptions, PublishResult, WebSocketOptions
from lift.websocket.stores.dynamodb import DynamoDBConnectionStore
from lift.websocket.stores.memory import MemoryConnectionStore


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def registry() -> MemoryConnectionRegistry:
    return MemoryConnectionRegistry()


@pytest.fixture
def server(
    registry: MemoryConnectionRegistry, monkeypatch: pytest.MonkeyPatch, aws_env: None
) -> Iterator[ConnectionsServer]:
    with ConnectionsServer(registry, stage="prod") as server:
        monkeypatch.setenv("LIFT_WS_MANAGEMENT_ENDPOINT", server.endpoint)
        monkeypatch.setenv("AWS_REGION", "eu-west-1")
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryConnectionStore(clock=clock)
        return
    ddb = request.getfixturevalue("ddb")
    name = f"channels-{uuid.uuid4().hex[:12]}"
    store = DynamoDBConnectionStore(name, client=ddb, clock=clock)
    store.create_table()
    yield store
    with contextlib.suppress(Exception):
        ddb.delete_table(TableName=name)


def build_app(store: Any, **channel_options: Any) -> App:
    """A small app whose routes drive every channel operation."""
    app = App(
        websocket=WebSocketOptions(
            auto_connections=True, store=store, channels=ChannelOptions(**channel_options)
        )
    )

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        ctx.set_identity(user_id=ctx.query("user"), tenant_id=ctx.query("tenant"))
        room = ctx.query("room")
        if room:
            ctx.websocket.subscribe(room, metadata={"via": "connect"})

    @app.websocket("join")
    def join(ctx: Context) -> dict[str, Any]:
        body = ctx.json()
        member = ctx.websocket.subscribe(body["channel"], metadata=body.get("metadata"))
        return {"joined": member.channel}

    @app.websocket("leave")
    def leave(ctx: Context) -> dict[str, Any]:
        return {"left": ctx.websocket.unsubscribe(ctx.json()["channel"])}

    @app.websocket("say")
    def say(ctx: Context) -> dict[str, Any]:
        body = ctx.json()
        result = ctx.websocket.publish(
            body["channel"], body["data"], exclude_self=bool(body.get("exclude_self"))
        )
        return {"seq": result.seq, "delivered": sorted(result.delivered), "gone": result.gone}

    @app.websocket("who")
    def who(ctx: Context) -> dict[str, Any]:
        members = ctx.websocket.members(ctx.json()["channel"])
        return {"members": [[m.user_id, m.metadata] for m in members]}

    @app.websocket("missed")
    def missed(ctx: Context) -> dict[str, Any]:
        body = ctx.json()
        messages = ctx.websocket.history(body["channel"], after=body["after"])
        return {"messages": [[m.seq, m.data] for m in messages]}

    @app.websocket("mine")
    def mine(ctx: Context) -> dict[str, Any]:
        return {"channels": ctx.websocket.subscriptions()}

    @app.websocket("profile")
    def profile(ctx: Context) -> dict[str, Any]:
        ctx.websocket.update_metadata(**ctx.json()["fields"])
        return {"ok": True}

    @app.websocket("whoami")
    def whoami(ctx: Context) -> dict[str, Any]:
        record = ctx.websocket.connection
        return {"metadata": record.metadata if record else None}

    @app.schedule("digest")
    def digest(ctx: Context) -> None:
        result = app.connections().publish("news", {"digest": 1}, tenant_id="acme")
        ctx.set("result", result)

    return app


class Harness:
    """Opens connections, sends real events, reads what each connection received."""

    def __init__(self, app: App, registry: MemoryConnectionRegistry) -> None:
        self.app = app
        self.registry = registry
        self.seen: dict[str, int] = {}

    def connect(
        self,
        cid: str,
        user: str,
        tenant: str | None = "acme",
        at: datetime | None = None,
        **query: str,
    ) -> None:
        self.registry.open(cid)
        if tenant is not None:
            query["tenant"] = tenant
        event = events.websocket_connect(
            connection_id=cid,
            query={"user": user, **query},
            connected_at=None if at is None else int(at.timestamp() * 1000),
        )
        response = self.app(event)
        assert response["statusCode"] == 200, response

    def send(self, cid: str, route: str, **body: Any) -> dict[str, Any]:
        response = self.app(events.websocket_message(body, route_key=route, connection_id=cid))
        result: dict[str, Any] = response
        return result

    def ok(self, cid: str, route: str, **body: Any) -> Any:
        response = self.send(cid, route, **body)
        assert response["statusCode"] == 200, response
        return json.loads(response["body"])

    def disconnect(self, cid: str) -> None:
        self.registry.close(cid)
        self.app(events.websocket_disconnect(connection_id=cid))

    def frames(self, cid: str) -> list[Any]:
        """Frames received since the last call."""
        messages = self.registry.messages(cid)
        start = self.seen.get(cid, 0)
        self.seen[cid] = len(messages)
        return [json.loads(m) for m in messages[start:]]


def test_publish_reaches_the_channel_of_the_tenant_only(
    store: Any, registry: MemoryConnectionRegistry, server: ConnectionsServer
) -> None:
    h = Harness(build_app(store), registry)
    h.connect("a", "ana")
    h.connect("b", "ben")
    h.connect("c", "cy", tenant="globex")
    h.connect("d", "dee")
    h.connect("e", "eve", tenant=None)
    for cid in "abce":
        h.ok(cid, "join", channel="room-1")
    h.ok("d", "join", channel="room-2")

    answer = h.ok("a", "say", channel="room-1", data={"text": "hi"})
    assert answer == {"seq": None, "delivered": ["a", "b"], "gone": []}
    frame = {"event": "message", "channel": "room-1", "seq": None, "data": {"text": "hi"}}
    assert h.frames("a") == h.frames("b") == [frame]
    assert h.frames("c") == h.frames("d") == h.frames("e") == []

    assert h.ok("a", "say", channel="room-1", data="again", exclude_self=True)["delivered"] == ["b"]
    assert h.frames("a") == []
    assert [f["data"] for f in h.frames("b")] == ["again"]
    assert h.ok("e", "say", channel="room-1", data=1)["delivered"] == ["e"]
    assert h.ok("a", "mine")["channels"] == ["room-1"]
    assert h.ok("a", "leave", channel="room-1") == {"left": True}
    assert h.ok("a", "leave", channel="room-1") == {"left": False}
    assert h.ok("b", "say", channel="room-1", data=2)["delivered"] == ["b"]


def test_subscribing_on_connect(
    store: Any, registry: MemoryConnectionRegistry, server: ConnectionsServer
) -> None:
    h = Harness(build_app(store, presence_events=True), registry)
    h.connect("a", "ana", room="lobby")
    h.connect("b", "ben", room="lobby")
    assert h.ok("a", "mine")["channels"] == ["lobby"]
    assert h.ok("a", "who", channel="lobby")["members"] == [
        ["ana", {"via": "connect"}],
        ["ben", {"via": "connect"}],
    ]
    # Ana was told of Ben; nothing was posted to a connection still in its $connect.
    [joined] = h.frames("a")
    assert joined["event"] == "presence" and [m["user_id"] for m in joined["joined"]] == ["ben"]
    assert h.frames("b") == []


def test_a_refused_connect_keeps_no_subscription(
    store: Any, registry: MemoryConnectionRegistry, server: ConnectionsServer
) -> None:
    app = App(
        websocket=WebSocketOptions(auto_connections=True, store=store, channels=ChannelOptions())
    )

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        ctx.set_identity(user_id="u", tenant_id="acme")
        ctx.websocket.subscribe("lobby")
        raise LiftError(401, "UNAUTHORIZED", "no")

    registry.open("x")
    assert app(events.websocket_connect(connection_id="x"))["statusCode"] == 401
    assert list(store.members("acme", "lobby")) == []
    assert store.get("x") is None


@pytest.mark.parametrize(
    "channel",
    ["", "a" * 129, "room#1", "room 1", "-x", "../etc", "café", "a\nb", 7, None, ["a"]],
)
def test_hostile_channel_names_are_refused(
    channel: Any, registry: MemoryConnectionRegistry, server: ConnectionsServer
) -> None:
    store = MemoryConnectionStore()
    h = Harness(build_app(store), registry)
    h.connect("a", "ana")
    for route, extra in (("join", {}), ("say", {"data": 1}), ("who", {}), ("missed", {"after": 0})):
        response = h.send("a", route, channel=channel, **extra)
        assert response["statusCode"] == 400, (route, response)
        assert json.loads(response["body"])["error"]["code"] == "INVALID_CHANNEL"
    assert store.channels_of("a") == []
    assert h.frames("a") == []


def test_authorize_decides_who_subscribes(
    store: Any, registry: MemoryConnectionRegistry, server: ConnectionsServer
) -> None:
    def authorize(ctx: Context, channel: str) -> bool:
        record = ctx.websocket.connection
        user = ctx.user_id or (record.user_id if record else None)
        return not channel.startswith("admin:") or user == "root"

    h = Harness(build_app(store, authorize=authorize), registry)
    h.connect("a", "ana")
    h.connect("r", "root")
    refused = h.send("a", "join", channel="admin:ops")
    assert refused["statusCode"] == 403
    assert json.loads(refused["body"]) == {
        "error": {
            "code": "CHANNEL_FORBIDDEN",
            "message": "This connection may not subscribe to that channel",
        }
    }
    assert h.ok("r", "join", channel="admin:ops") == {"joined": "admin:ops"}
    assert h.ok("a", "join", channel="general") == {"joined": "general"}
    assert h.ok("r", "who", channel="admin:ops")["members"] == [["root", {}]]


def test_presence_joins_and_every_kind_of_leave(
    store: Any, clock: FakeClock, registry: MemoryConnectionRegistry, server: ConnectionsServer
) -> None:
    h = Harness(build_app(store, presence_events=True), registry)
    for cid, user in (("a", "ana"), ("b", "ben"), ("c", "cy"), ("d", "dee"), ("e", "eve")):
        h.connect(cid, user)
        h.ok(cid, "join", channel="room", metadata={"nick": user.title()})

    def presence(cid: str) -> list[tuple[str, list[str]]]:
        return [
            (kind, [m["user_id"] for m in frame[kind]])
            for frame in h.frames(cid)
            if frame["event"] == "presence"
            for kind in ("joined", "left")
            if frame[kind]
        ]

    # Ana saw each later member join; Eve (the last) saw no join, not even her own.
    assert presence("a") == [("joined", [user]) for user in ("ben", "cy", "dee", "eve")]
    assert presence("e") == []
    h.frames("b"), h.frames("c"), h.frames("d")

    # Leaving the channel.
    h.ok("e", "leave", channel="room")
    assert presence("a") == [("left", ["eve"])]
    # $disconnect, and a retried $disconnect, which announces nothing twice.
    h.disconnect("d")
    h.app(events.websocket_disconnect(connection_id="d"))
    assert presence("a") == [("left", ["dee"])]
    assert store.get("d") is None
    # A connection that vanished without $disconnect is found Gone by a publish.
    registry.close("c")
    answer = h.ok("a", "say", channel="room", data="anyone?")
    assert answer["gone"] == ["c"]
    assert [f.get("data") for f in h.frames("b")] == [None, None, "anyone?", None]
    assert presence("a") == [("left", ["cy"])]
    assert store.get("c") is None
    # A record that outlived its connection (a lost $disconnect) expires and is announced.
    clock.now += timedelta(hours=2, seconds=1)
    h.connect("f", "fay", at=clock.now)  # a fresh connection, after the others' expiry
    h.ok("f", "join", channel="room")
    who = h.ok("f", "who", channel="room")["members"]
    assert who == [["fay", {}]]
    assert [m["user_id"] for f in h.frames("f") for m in f.get("left", [])] == ["ana", "ben"]
    assert list(store.members("acme", "room")) and store.channels_of("a") == []


def test_history_lets_a_reconnecting_client_resume(
    store: Any, registry: MemoryConnectionRegistry, server: ConnectionsServer
) -> None:
    h = Harness(build_app(store, history=50), registry)
    h.connect("a", "ana")
    h.connect("b", "ben")
    h.ok("a", "join", channel="room")
    h.ok("b", "join", channel="room")
    seqs = [h.ok("a", "say", channel="room", data={"n": n})["seq"] for n in range(1, 4)]
    assert seqs == [1, 2, 3]
    assert [f["seq"] for f in h.frames("b")] == [1, 2, 3]

    # Ben loses his connection; three more messages go out while he is away.
    h.disconnect("b")
    for n in range(4, 7):
        h.ok("a", "say", channel="room", data={"n": n})
    # He reconnects (a new connection id), subscribes, then asks what followed seq 3.
    h.connect("b2", "ben")
    h.ok("b2", "join", channel="room")
    missed = h.ok("b2", "missed", channel="room", after=3)["messages"]
    assert missed == [[4, {"n": 4}], [5, {"n": 5}], [6, {"n": 6}]]
    assert h.ok("a", "say", channel="room", data={"n": 7})["seq"] == 7
    assert [f["seq"] for f in h.frames("b2")] == [7]

    oversized = h.send("a", "say", channel="room", data="x" * 200_000)
    assert oversized["statusCode"] == 413
    assert h.ok("a", "say", channel="room", data={"n": 8})["seq"] == 8  # no seq was used up
    bad = h.send("a", "missed", channel="room", after=-1)
    assert bad["statusCode"] == 400


def test_metadata_updated_on_a_message_route_is_kept(
    store: Any, registry: MemoryConnectionRegistry, server: ConnectionsServer
) -> None:
    h = Harness(build_app(store), registry)
    h.connect("a", "ana")
    h.ok("a", "profile", fields={"status": "away", "color": [1, 2]})
    h.ok("a", "profile", fields={"status": "back"})
    assert h.ok("a", "whoami") == {"metadata": {"status": "back", "color": [1, 2]}}
    registry.open("ghost")
    assert h.send("ghost", "profile", fields={"x": 1})["statusCode"] == 409


def test_a_worker_publishes_to_a_tenant_channel(
    store: Any, registry: MemoryConnectionRegistry, server: ConnectionsServer
) -> None:
    h = Harness(build_app(store, history=10), registry)
    h.connect("a", "ana")
    h.connect("g", "gus", tenant="globex")
    h.ok("a", "join", channel="news")
    h.ok("g", "join", channel="news")
    h.app(events.scheduled("digest"))
    assert h.frames("a") == [
        {"event": "message", "channel": "news", "seq": 1, "data": {"digest": 1}}
    ]
    assert h.frames("g") == []
    result = h.app.connections().publish("news", {"digest": 2}, tenant_id="acme")
    assert isinstance(result, PublishResult)
    assert (result.delivered, result.seq, result.ok) == (["a"], 2, True)


def test_channels_need_a_channel_store(
    registry: MemoryConnectionRegistry, server: ConnectionsServer
) -> None:
    class PlainStore(MemoryConnectionStore):
        subscribe = None  # type: ignore[assignment]

    app = build_app(PlainStore())
    h = Harness(app, registry)
    h.connect("a", "ana")
    response = h.send("a", "join", channel="room")
    assert response["statusCode"] == 500
    assert json.loads(response["body"])["error"]["code"] == "NO_CHANNEL_STORE"


def test_channels_without_connection_tracking_are_refused_at_setup() -> None:
    # A subscription needs its connection's record: without tracking, every subscribe
    # would fail at run time with 409 NOT_CONNECTED.
    with pytest.raises(ValueError, match="auto_connections=True"):
        App(websocket=WebSocketOptions(channels=ChannelOptions()))


def test_hostile_metadata_is_refused(
    store: Any, registry: MemoryConnectionRegistry, server: ConnectionsServer
) -> None:
    h = Harness(build_app(store, presence_events=True), registry)
    h.connect("a", "ana")
    for metadata in ({"blob": "x" * 2000}, ["not", "an", "object"], "text", 5):
        response = h.send("a", "join", channel="room", metadata=metadata)
        assert response["statusCode"] == 400, metadata
        assert json.loads(response["body"])["error"]["code"] == "INVALID_METADATA"
    assert store.channels_of("a") == []
    response = h.send("a", "profile", fields={"blob": "x" * 9000})
    assert response["statusCode"] == 400
    assert h.ok("a", "whoami") == {"metadata": {}}
    assert h.ok("a", "join", channel="room", metadata={"nick": "A" * 900}) == {"joined": "room"}
