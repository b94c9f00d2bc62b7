"""Identity on every WebSocket event after ``$connect``, without middleware or memory."""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from lift import App, Context
from lift.middleware import JWTConfig, request_logging, websocket_auth
from lift.observability import JSONLogger, MemoryMetrics
from lift.testing import events
from lift.websocket import (
    Connection,
    ConnectionStore,
    DynamoDBConnectionStore,
    MemoryConnectionStore,
    WebSocketOptions,
)
from tests.conftest import REGION


class CountingMemoryStore(MemoryConnectionStore):
    """A memory store that counts reads of one record."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, connection_id: str) -> Connection | None:
        self.reads += 1
        return super().get(connection_id)


class CountingDynamoDBStore(DynamoDBConnectionStore):
    """A DynamoDB store that counts reads of one record."""

    reads = 0

    def get(self, connection_id: str) -> Connection | None:
        self.reads += 1
        return super().get(connection_id)


def tracked_app(store: ConnectionStore, logs: io.StringIO | None = None) -> App:
    """An app as a fresh Lambda instance builds it: only the store is shared."""
    app = App(
        websocket=WebSocketOptions(auto_connections=True, store=store),
        logger=JSONLogger(stream=logs if logs is not None else io.StringIO()),
        metrics=MemoryMetrics(),
    )

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        ctx.set_identity(
            user_id=ctx.query("user"),
            tenant_id=ctx.query("tenant"),
            claims={"sub": ctx.query("user"), "roles": ["admin"], "nickname": "not saved"},
        )

    @app.websocket("whoami")
    def whoami(ctx: Context) -> dict[str, Any]:
        asked = [(ctx.user_id, ctx.tenant_id, dict(ctx.claims), ctx.is_authenticated)]
        asked.append((ctx.user_id, ctx.tenant_id, dict(ctx.claims), ctx.is_authenticated))
        record = ctx.websocket.connection  # the same read, kept for the invocation
        assert asked[0] == asked[1]
        user, tenant, claims, authenticated = asked[0]
        return {
            "user": user,
            "tenant": tenant,
            "claims": claims,
            "authenticated": authenticated,
            "record": record.user_id if record else None,
        }

    @app.websocket("quiet")
    def quiet(ctx: Context) -> dict[str, bool]:
        return {"ok": True}

    @app.websocket("$disconnect")
    def disconnect(ctx: Context) -> None:
        ctx.set("seen", ctx.user_id)

    return app


def connect(app: App, **query: str) -> str:
    event = events.websocket_connect(query=query)
    assert app(event)["statusCode"] == 200
    return str(event["requestContext"]["connectionId"])


def ask(app: App, connection_id: str, route: str = "whoami", **extra: Any) -> Any:
    event = events.websocket_message({"action": route}, connection_id=connection_id, **extra)
    result = app(event)
    assert result["statusCode"] == 200, result
    return json.loads(result["body"])


def test_identity_set_on_connect_is_restored_on_later_messages() -> None:
    store = CountingMemoryStore()
    app = tracked_app(store)
    cid = connect(app, user="alice", tenant="acme")
    answer = ask(tracked_app(store), cid)  # another instance: only the store is shared
    assert answer == {
        "user": "alice",
        "tenant": "acme",
        "claims": {"sub": "alice", "roles": ["admin"]},  # the saved subset
        "authenticated": True,
        "record": "alice",
    }


def test_the_store_is_read_once_and_only_when_asked() -> None:
    store = CountingMemoryStore()
    cid = connect(tracked_app(store), user="alice", tenant="acme")
    app = tracked_app(store)
    store.reads = 0
    ask(app, cid, "quiet")
    assert store.reads == 0  # nobody asked: no read
    ask(app, cid)
    assert store.reads == 1  # identity asked four times, record once: one read


def test_the_authorizer_context_wins_and_costs_no_read() -> None:
    store = CountingMemoryStore()
    app = tracked_app(store)
    cid = connect(app, user="alice", tenant="acme")
    store.reads = 0
    authorizer = {"principalId": "bob", "tenant_id": "globex", "roles": "a,b"}
    answer = ask(app, cid, authorizer=authorizer)
    assert (answer["user"], answer["tenant"], answer["claims"]["roles"]) == (
        "bob",
        "globex",
        ["a", "b"],
    )
    assert store.reads == 1  # only the handler's own ctx.websocket.connection


def test_authorizer_identity_on_connect_is_stored() -> None:
    store = MemoryConnectionStore()
    app = App(websocket=WebSocketOptions(auto_connections=True, store=store))
    event = events.websocket_connect(authorizer={"principalId": "carol", "tenant_id": "acme"})
    assert app(event)["statusCode"] == 200
    record = store.get(event["requestContext"]["connectionId"])
    assert record is not None and (record.user_id, record.tenant_id) == ("carol", "acme")


def test_unknown_connection_and_other_events_are_anonymous() -> None:
    store = CountingMemoryStore()
    app = tracked_app(store)

    @app.get("/me")
    def me(ctx: Context) -> dict[str, Any]:
        return {"user": ctx.user_id, "claims": dict(ctx.claims)}

    assert ask(app, "never-connected")["authenticated"] is False
    store.reads = 0
    http = app(events.http_v1("GET", "/me"))
    assert json.loads(http["body"]) == {"user": None, "claims": {}}
    assert store.reads == 0


def test_disconnect_sees_the_identity_and_still_cleans_up() -> None:
    store = MemoryConnectionStore()
    cid = connect(tracked_app(store), user="alice")
    seen: list[Any] = []
    app = tracked_app(store)
    app.use(lambda handler: lambda ctx: (handler(ctx), seen.append(ctx.get("seen")))[0])
    assert app(events.websocket_disconnect(connection_id=cid))["statusCode"] == 200
    assert seen == ["alice"]
    assert store.get(cid) is None


def test_websocket_auth_shares_the_one_read(monkeypatch: pytest.MonkeyPatch) -> None:
    store = CountingMemoryStore()
    app = tracked_app(store)
    cid = connect(app, user="alice", tenant="acme")
    secured = tracked_app(store)
    config = JWTConfig(secret="s" * 48, algorithms=["HS256"])
    secured.use(websocket_auth(config))
    store.reads = 0
    assert ask(secured, cid)["user"] == "alice"
    assert store.reads == 1
    refused = secured(events.websocket_message({"action": "whoami"}, connection_id="unknown"))
    assert refused["statusCode"] == 401


def test_request_logging_never_reads_the_store() -> None:
    store = CountingMemoryStore()
    cid = connect(tracked_app(store), user="alice")
    logs = io.StringIO()
    app = tracked_app(store, logs)
    app.use(request_logging())
    store.reads = 0
    ask(app, cid, "quiet")
    assert store.reads == 0
    line = json.loads(logs.getvalue().splitlines()[-1])
    assert "user_id" not in line  # not known without a read
    ask(app, cid, "quiet", authorizer={"principalId": "bob"})
    line = json.loads(logs.getvalue().splitlines()[-1])
    assert line["user_id"] == "bob" and store.reads == 0


@pytest.fixture
def table_name(ddb: Any) -> Iterator[str]:
    name = f"identity-{uuid.uuid4().hex[:10]}"
    DynamoDBConnectionStore(name, client=ddb).create_table()
    yield name
    with contextlib.suppress(Exception):
        ddb.delete_table(TableName=name)


def test_identity_restores_across_instances_sharing_only_a_dynamodb_table(
    moto_url: str, table_name: str
) -> None:
    def instance() -> tuple[App, CountingDynamoDBStore]:
        store = CountingDynamoDBStore(table_name, region=REGION, endpoint_url=moto_url)
        return tracked_app(store), store

    first, _ = instance()
    second, second_store = instance()
    cid = connect(first, user="alice", tenant="acme")
    answer = ask(second, cid)
    assert (answer["user"], answer["tenant"], answer["claims"]["roles"]) == (
        "alice",
        "acme",
        ["admin"],
    )
    assert second_store.reads == 1
    third, third_store = instance()
    assert third(events.websocket_disconnect(connection_id=cid))["statusCode"] == 200
    assert third_store.reads == 1
    assert second_store.get(cid) is None
