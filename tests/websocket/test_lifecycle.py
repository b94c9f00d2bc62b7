"""Automatic connection tracking through the app, on both stores."""

from __future__ import annotations

import contextlib
import io
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from lift import App, Context, LiftError
from lift.observability import JSONLogger
from lift.testing import WebSocketTestClient, events
from lift.websocket import (
    Connection,
    ConnectionStore,
    DynamoDBConnectionStore,
    MemoryConnectionStore,
    WebSocketOptions,
)


@pytest.fixture
def dynamo_table(ddb: Any) -> Iterator[DynamoDBConnectionStore]:
    name = f"lifecycle-{uuid.uuid4().hex[:10]}"
    store = DynamoDBConnectionStore(name, client=ddb)
    store.create_table()
    yield store
    with contextlib.suppress(Exception):
        ddb.delete_table(TableName=name)


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> ConnectionStore:
    if request.param == "memory":
        return MemoryConnectionStore()
    result: ConnectionStore = request.getfixturevalue("dynamo_table")
    return result


def identity_from_query(next_handler: Any) -> Any:
    """A stand-in for auth: identity from the query string, refusal on ?deny."""

    def handler(ctx: Context) -> Any:
        if ctx.is_websocket and ctx.websocket.is_connect:
            if ctx.query("deny"):
                raise LiftError(401, "UNAUTHORIZED", "Missing token")
            ctx.set_identity(
                user_id=ctx.query("user"),
                tenant_id=ctx.query("tenant"),
                claims={"sub": ctx.query("user"), "roles": ["member"], "secret_blob": "x" * 50},
            )
        return next_handler(ctx)

    return handler


def tracked_app(store: ConnectionStore, **options: Any) -> App:
    app = App(
        websocket=WebSocketOptions(auto_connections=True, store=store, **options),
        logger=JSONLogger(stream=io.StringIO()),
    )
    app.use(identity_from_query)
    return app


def test_accepted_connect_is_saved_with_identity(store: ConnectionStore) -> None:
    app = tracked_app(store)

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        ctx.websocket.metadata["room"] = "lobby"

    event = events.websocket_connect(connection_id="c1", query={"user": "u1", "tenant": "t1"})
    assert app(event, None)["statusCode"] == 200
    saved = store.get("c1")
    assert saved is not None
    assert (saved.user_id, saved.tenant_id) == ("u1", "t1")
    assert saved.claims == {"sub": "u1", "roles": ["member"]}  # only the saved subset
    assert saved.metadata == {"room": "lobby"}
    assert saved.endpoint == "https://abc123defg.execute-api.us-east-1.amazonaws.com/prod" or (
        saved.endpoint and saved.endpoint.endswith("/prod")
    )
    assert saved.connected_at.tzinfo is not None
    assert saved.expires_at is not None and saved.expires_at > saved.connected_at
    assert store.count_active() == 1


def test_handler_sees_its_own_record_on_later_events(store: ConnectionStore) -> None:
    app = tracked_app(store)
    seen: list[Connection | None] = []
    app.websocket("$default", lambda ctx: seen.append(ctx.websocket.connection))
    app(events.websocket_connect(connection_id="c1", query={"user": "u1"}), None)
    app(events.websocket_message({"x": 1}, connection_id="c1"), None)
    assert seen[0] is not None and seen[0].user_id == "u1"


@pytest.mark.parametrize("refusal", ["middleware", "handler_status", "handler_raises", "crash"])
def test_refused_connect_stores_nothing(store: ConnectionStore, refusal: str) -> None:
    app = tracked_app(store)

    @app.websocket("$connect")
    def connect(ctx: Context) -> Any:
        if refusal == "handler_status":
            return ctx.status(403).json({"reason": "closed"})
        if refusal == "handler_raises":
            raise LiftError(429, "TOO_MANY_REQUESTS", "Slow down")
        if refusal == "crash":
            raise RuntimeError("database password=hunter2")
        return None

    query = {"user": "u1", "deny": "1"} if refusal == "middleware" else {"user": "u1"}
    response = app(events.websocket_connect(connection_id="c1", query=query), None)
    assert response["statusCode"] >= 400
    assert "hunter2" not in json.dumps(response)
    assert store.get("c1") is None
    assert store.count_active() == 0


def test_disconnect_deletes_and_handler_still_runs(store: ConnectionStore) -> None:
    app = tracked_app(store)
    ran: list[int | None] = []
    app.websocket("$disconnect", lambda ctx: ran.append(ctx.websocket.disconnect_status_code))
    app(events.websocket_connect(connection_id="c1", query={"user": "u1"}), None)
    assert store.count_active() == 1
    response = app(events.websocket_disconnect(connection_id="c1", status_code=1001), None)
    assert response["statusCode"] == 200
    assert ran == [1001]
    assert store.get("c1") is None
    assert store.count_active() == 0
    # a repeated $disconnect (API Gateway may deliver twice) is harmless
    assert app(events.websocket_disconnect(connection_id="c1"), None)["statusCode"] == 200


def test_disconnect_handler_failure_still_deletes(store: ConnectionStore) -> None:
    app = tracked_app(store)

    @app.websocket("$disconnect")
    def disconnect(ctx: Context) -> None:
        raise RuntimeError("boom")

    app(events.websocket_connect(connection_id="c1", query={"user": "u1"}), None)
    assert app(events.websocket_disconnect(connection_id="c1"), None)["statusCode"] == 500
    assert store.get("c1") is None


class FailingDeletes(MemoryConnectionStore):
    def delete(self, connection_id: str) -> None:
        raise ConnectionError("store unavailable")


class FailingSaves(MemoryConnectionStore):
    def save(self, connection: Connection) -> None:
        raise ConnectionError("store unavailable")


def test_failed_delete_on_disconnect_is_logged_not_raised() -> None:
    stream = io.StringIO()
    store = FailingDeletes()
    app = App(
        websocket=WebSocketOptions(auto_connections=True, store=store),
        logger=JSONLogger(stream=stream),
    )
    ran: list[str] = []
    app.websocket("$disconnect", lambda ctx: ran.append("handler"))
    app(events.websocket_connect(connection_id="c1"), None)
    response = app(events.websocket_disconnect(connection_id="c1"), None)
    assert response == {"statusCode": 200}
    assert ran == ["handler"]
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert any("delete the connection record" in line["message"] for line in lines)


def test_failed_save_refuses_the_connection() -> None:
    app = App(
        websocket=WebSocketOptions(auto_connections=True, store=FailingSaves()),
        logger=JSONLogger(stream=io.StringIO()),
    )
    response = app(events.websocket_connect(connection_id="c1"), None)
    assert response["statusCode"] == 503
    assert "unavailable" not in response["body"]
    assert json.loads(response["body"])["error"]["code"] == "CONNECTION_STORE_ERROR"


def test_memory_store_is_the_default() -> None:
    app = App(websocket=WebSocketOptions(auto_connections=True))
    counts: list[int] = []
    app.websocket("$default", lambda ctx: counts.append(ctx.websocket.store.count_active()))  # type: ignore[union-attr]
    app(events.websocket_connect(connection_id="c1"), None)
    app(events.websocket_message("x", connection_id="c1"), None)
    assert counts == [1]
    assert isinstance(app.websocket_options.store, MemoryConnectionStore)  # type: ignore[union-attr]


def test_concurrent_connects_and_disconnects_on_dynamodb(
    dynamo_table: DynamoDBConnectionStore,
) -> None:
    app = tracked_app(dynamo_table)
    threads, per_thread = 4, 150
    errors: list[BaseException] = []
    peak: list[int] = []

    def worker(worker_id: int) -> None:
        try:
            ids = [f"w{worker_id}-{n}" for n in range(per_thread)]
            for index, connection_id in enumerate(ids):
                query = {"user": f"user-{worker_id}", "tenant": f"t{index % 3}"}
                event = events.websocket_connect(connection_id=connection_id, query=query)
                assert app(event, None)["statusCode"] == 200
            peak.append(sum(1 for _ in dynamo_table.list_by_user(f"user-{worker_id}")))
            for connection_id in ids:
                event = events.websocket_disconnect(connection_id=connection_id)
                assert app(event, None)["statusCode"] == 200
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    assert errors == []
    assert peak == [per_thread] * threads
    assert dynamo_table.count_active() == 0
    for tenant in ("t0", "t1", "t2"):
        assert list(dynamo_table.list_by_tenant(tenant)) == []
    scan = dynamo_table.client.scan(TableName=dynamo_table.table_name, ConsistentRead=True)
    assert scan["Items"] == []


def test_broadcast_to_tenant_never_reaches_another_tenant(store: ConnectionStore) -> None:
    app = tracked_app(store)

    @app.websocket("announce")
    def announce(ctx: Context) -> dict[str, int]:
        tenant = ctx.json()["tenant"]
        assert ctx.tenant_id == tenant  # restored from the store, not from memory
        result = ctx.websocket.broadcast_to_tenant(tenant, {"news": tenant})
        return {"delivered": len(result.delivered)}

    with WebSocketTestClient(app) as client:
        acme = [client.connect(query={"user": f"a{n}", "tenant": "acme"}) for n in range(3)]
        globex = [client.connect(query={"user": f"g{n}", "tenant": "globex"}) for n in range(2)]
        loner = client.connect(query={"user": "solo"})
        acme[0].send_json({"action": "announce", "tenant": "acme"})
        assert acme[0].receive_json() == {"news": "acme"}
        assert acme[0].receive_json() == {"delivered": 3}
        for ws in acme[1:]:
            assert ws.receive_json() == {"news": "acme"}
        for ws in [*globex, loner]:
            assert ws.pending == 0
        globex[0].send_json({"action": "announce", "tenant": "globex"})
        assert globex[0].receive_json() == {"news": "globex"}
        assert globex[1].receive_json() == {"news": "globex"}
        for ws in [*acme, loner]:
            assert ws.pending == 0


def test_broadcast_to_user_reaches_every_tab(store: ConnectionStore) -> None:
    app = tracked_app(store)

    @app.websocket("$default")
    def default(ctx: Context) -> None:
        ctx.websocket.broadcast_to_user("u1", "hi u1")

    with WebSocketTestClient(app) as client:
        tabs = [client.connect(query={"user": "u1", "tenant": "t"}) for _ in range(3)]
        other = client.connect(query={"user": "u2", "tenant": "t"})
        other.send_text("go")
        for tab in tabs:
            assert tab.receive_text() == "hi u1"
        assert other.pending == 0
        tabs[1].close()
        other.send_text("again")
        assert tabs[0].receive_text() == "hi u1" and tabs[2].receive_text() == "hi u1"
        assert sum(1 for _ in store.list_by_user("u1")) == 2


def test_auto_connections_use_the_deployed_table_when_named(
    monkeypatch: pytest.MonkeyPatch, dynamo_table: DynamoDBConnectionStore, moto_url: str
) -> None:
    monkeypatch.setenv("LIFT_CONNECTIONS_TABLE", dynamo_table.table_name)
    monkeypatch.setenv("LIFT_DYNAMODB_ENDPOINT", moto_url)
    app = App(websocket=WebSocketOptions(auto_connections=True))
    store = app.websocket_options.store  # type: ignore[union-attr]
    assert isinstance(store, DynamoDBConnectionStore)
    assert store.table_name == dynamo_table.table_name
    app(events.websocket_connect(connection_id="c1"), None)
    assert dynamo_table.get("c1") is not None
    monkeypatch.delenv("LIFT_CONNECTIONS_TABLE")
    assert isinstance(
        App(websocket=WebSocketOptions(auto_connections=True)).websocket_options.store,  # type: ignore[union-attr]
        MemoryConnectionStore,
    )


def test_the_default_store_is_named_at_creation_and_built_once_on_first_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The environment is read when the app is made; the store is built by the first read,
    once, however many threads ask at the same moment."""
    monkeypatch.setenv("LIFT_CONNECTIONS_TABLE", "named-at-creation")
    options = WebSocketOptions(auto_connections=True)
    app = App(websocket=options)
    monkeypatch.delenv("LIFT_CONNECTIONS_TABLE")
    assert options._store is None  # nothing built yet
    seen: list[Any] = []
    start = threading.Barrier(8)

    def read() -> None:
        start.wait()
        seen.append(options.store)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(store) for store in seen}) == 1
    assert isinstance(seen[0], DynamoDBConnectionStore)
    assert seen[0].table_name == "named-at-creation"
    assert app.websocket_options is options and options.store is seen[0]

    memory = App(websocket=WebSocketOptions(auto_connections=True)).websocket_options
    assert memory is not None and memory.store is memory.store  # one store per app

    given = MemoryConnectionStore()
    options = WebSocketOptions(auto_connections=True)
    App(websocket=options)
    options.store = given  # set before the first read: the default is never built
    assert options.store is given
    assert App(websocket=WebSocketOptions(store=given)).websocket_options.store is given  # type: ignore[union-attr]


def test_options_are_compared_and_shown_by_value() -> None:
    from datetime import timedelta

    from lift.websocket import ChannelOptions

    assert WebSocketOptions(auto_connections=True) == WebSocketOptions(auto_connections=True)
    assert WebSocketOptions() != WebSocketOptions(region="eu-west-1")
    assert repr(WebSocketOptions(region="eu-west-1")).startswith(
        "WebSocketOptions(auto_connections=False, store=None, default_handler=None"
    )
    channels = ChannelOptions(history=5)
    assert channels.history_ttl == timedelta(hours=24)
    assert channels == ChannelOptions(history=5, history_ttl=timedelta(hours=24))
    with pytest.raises(ValueError, match="history_ttl"):
        ChannelOptions(history_ttl=timedelta(0))
    with pytest.raises(ValueError, match="history"):
        ChannelOptions(history=True)


def test_a_store_set_while_the_default_is_being_built_is_kept() -> None:
    """The first read builds the default under a lock; a store set meanwhile wins and is
    never overwritten by the default when its build finishes."""
    options = WebSocketOptions(auto_connections=True)
    building = threading.Event()
    was_set = threading.Event()

    def slow_default() -> MemoryConnectionStore:
        building.set()
        was_set.wait(0.5)  # the setter runs now (or waits for this build to finish)
        return MemoryConnectionStore()

    options.default_store_on_first_use(slow_default)
    given = MemoryConnectionStore()
    reader = threading.Thread(target=lambda: options.store)
    reader.start()
    assert building.wait(5)
    options.store = given
    was_set.set()
    reader.join()
    assert options.store is given


def test_showing_or_comparing_options_builds_no_default_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIFT_CONNECTIONS_TABLE", "named-at-creation")
    options = WebSocketOptions(auto_connections=True)
    App(websocket=options)
    assert "store=None" in repr(options)
    assert options == WebSocketOptions(auto_connections=True)
    assert options._store is None  # still to be built by the first read
    assert isinstance(options.store, DynamoDBConnectionStore)
    assert "DynamoDBConnectionStore" in repr(options)
