"""Contract tests for the connection stores.

One suite runs against ``MemoryConnectionStore`` and ``DynamoDBConnectionStore``; the
DynamoDB store talks over HTTP to moto's server on 127.0.0.1 (a fresh table per test).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lift.websocket.connection import Connection, ConnectionStore, ConnectionStoreError
from lift.websocket.stores import dynamodb as dynamodb_module
from lift.websocket.stores.dynamodb import DynamoDBConnectionStore
from lift.websocket.stores.dynamodb_channels import record_key
from lift.websocket.stores.memory import MemoryConnectionStore
from tests.conftest import REGION, FakeClock

# -- Fixtures -------------------------------------------------------------------------


@pytest.fixture
def dynamo_store(ddb: Any, table: str, clock: FakeClock) -> DynamoDBConnectionStore:
    store = DynamoDBConnectionStore(table, client=ddb, clock=clock)
    store.create_table()
    return store


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest, clock: FakeClock) -> ConnectionStore:
    if request.param == "memory":
        return MemoryConnectionStore(clock=clock)
    result: DynamoDBConnectionStore = request.getfixturevalue("dynamo_store")
    return result


def raw_item(store: ConnectionStore, connection_id: str) -> dict[str, Any] | None:
    """The item exactly as DynamoDB holds it (DynamoDB store only)."""
    assert isinstance(store, DynamoDBConnectionStore)
    response = store.client.get_item(
        TableName=store.table_name,
        Key=record_key(connection_id),
        ConsistentRead=True,
    )
    item: dict[str, Any] | None = response.get("Item")
    return item


def ids(connections: Iterator[Connection]) -> set[str]:
    return {c.connection_id for c in connections}


def conn(clock: FakeClock, connection_id: str, **fields: Any) -> Connection:
    fields.setdefault("connected_at", clock.now)
    fields.setdefault("expires_at", clock.now + timedelta(hours=2))
    return Connection(connection_id=connection_id, **fields)


# -- Contract -------------------------------------------------------------------------


def test_satisfies_protocol(store: ConnectionStore) -> None:
    assert isinstance(store, ConnectionStore)


def test_round_trip(store: ConnectionStore, clock: FakeClock) -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    connected_at = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=ist)
    claims = {"sub": "u1", "roles": ["admin", "ops"], "exp": 1714567815, "scope": None}
    metadata = {
        "ratio": 0.25,
        "nested": {"list": [1, 2.5, "three", None, True], "empty": {}},
        "unicode": "héllo ✓",
        "blank": "",
    }
    expires_at = clock.now + timedelta(minutes=30)
    original = Connection(
        connection_id="abc123=",
        user_id="u1",
        tenant_id="t1",
        connected_at=connected_at,
        endpoint="https://abc.execute-api.eu-west-1.amazonaws.com/prod",
        claims=claims,
        metadata=metadata,
        expires_at=expires_at,
    )
    store.save(original)
    got = store.get("abc123=")
    assert got == original
    assert got is not original
    assert got.connected_at.tzinfo is not None
    assert got.connected_at == connected_at  # same instant, microseconds kept
    assert got.expires_at is not None
    assert got.expires_at.tzinfo is not None
    assert got.expires_at == expires_at
    assert json.dumps(got.claims, sort_keys=True) == json.dumps(claims, sort_keys=True)
    assert store.get("missing") is None


def test_records_are_copies(store: ConnectionStore, clock: FakeClock) -> None:
    original = conn(clock, "c1", user_id="u1", metadata={"room": "lobby"})
    store.save(original)
    original.metadata["room"] = "changed"
    original.user_id = "u2"
    got = store.get("c1")
    assert got is not None
    assert got.metadata == {"room": "lobby"}
    assert got.user_id == "u1"
    got.metadata["room"] = "mutated"
    again = store.get("c1")
    assert again is not None
    assert again.metadata == {"room": "lobby"}


def test_sparse_indexes(store: ConnectionStore, clock: FakeClock) -> None:
    store.save(conn(clock, "anon", tenant_id="t1"))
    store.save(conn(clock, "solo", user_id="u1"))
    store.save(conn(clock, "blank", user_id="", tenant_id=""))
    store.save(conn(clock, "full", user_id="u1", tenant_id="t1"))

    assert ids(store.list_by_user("u1")) == {"solo", "full"}
    assert ids(store.list_by_tenant("t1")) == {"anon", "full"}
    assert list(store.list_by_user("")) == []
    assert list(store.list_by_tenant("")) == []

    anon, blank = store.get("anon"), store.get("blank")
    assert anon is not None
    assert anon.user_id is None
    assert blank is not None
    assert (blank.user_id, blank.tenant_id) == (None, None)
    assert store.count_active() == 4

    if isinstance(store, DynamoDBConnectionStore):
        anon_item, solo_item, blank_item = (raw_item(store, i) for i in ("anon", "solo", "blank"))
        assert anon_item is not None
        assert solo_item is not None
        assert blank_item is not None
        assert "user_id" not in anon_item
        assert anon_item["tenant_id"] == {"S": "t1"}
        assert "tenant_id" not in solo_item
        assert "user_id" not in blank_item
        assert "tenant_id" not in blank_item
        # The indexes really are sparse: only items with the key attribute are in them.
        by_user = store.client.scan(TableName=store.table_name, IndexName="by_user")
        by_tenant = store.client.scan(TableName=store.table_name, IndexName="by_tenant")
        assert {i["connection_id"]["S"] for i in by_user["Items"]} == {"solo", "full"}
        assert {i["connection_id"]["S"] for i in by_tenant["Items"]} == {"anon", "full"}


def test_delete_is_idempotent(store: ConnectionStore, clock: FakeClock) -> None:
    store.save(conn(clock, "c1", user_id="u1", tenant_id="t1"))
    store.delete("c1")
    assert store.get("c1") is None
    store.delete("c1")
    store.delete("never-existed")
    assert store.get("c1") is None
    assert list(store.list_by_user("u1")) == []
    assert list(store.list_by_tenant("t1")) == []
    assert store.count_active() == 0


def test_overwrite_moves_index_entries(store: ConnectionStore, clock: FakeClock) -> None:
    store.save(conn(clock, "c1", user_id="u1", tenant_id="t1", metadata={"v": 1}))
    store.save(conn(clock, "c1", user_id="u2", tenant_id="t2", metadata={"v": 2}))
    assert list(store.list_by_user("u1")) == []
    assert list(store.list_by_tenant("t1")) == []
    [by_user] = store.list_by_user("u2")
    [by_tenant] = store.list_by_tenant("t2")
    assert by_user.metadata == by_tenant.metadata == {"v": 2}
    assert store.count_active() == 1

    store.save(conn(clock, "c1"))  # now anonymous and tenant-less
    assert list(store.list_by_user("u2")) == []
    assert list(store.list_by_tenant("t2")) == []
    got = store.get("c1")
    assert got is not None
    assert (got.user_id, got.tenant_id) == (None, None)
    assert store.count_active() == 1
    if isinstance(store, DynamoDBConnectionStore):
        item = raw_item(store, "c1")
        assert item is not None
        assert "user_id" not in item
        assert "tenant_id" not in item


def test_counts_after_every_change(store: ConnectionStore, clock: FakeClock) -> None:
    assert store.count_active() == 0
    store.save(conn(clock, "a", user_id="u1"))
    assert store.count_active() == 1
    store.save(conn(clock, "b", user_id="u1", expires_at=clock.now + timedelta(seconds=60)))
    assert store.count_active() == 2
    store.save(conn(clock, "a", user_id="u2"))  # overwrite
    assert store.count_active() == 2
    store.delete("a")
    assert store.count_active() == 1
    store.delete("a")  # repeated delete
    assert store.count_active() == 1
    store.delete("nobody")
    assert store.count_active() == 1
    store.save(conn(clock, "old", expires_at=clock.now - timedelta(seconds=1)))  # born expired
    assert store.count_active() == 1
    store.save(conn(clock, "c"))
    assert store.count_active() == 2
    clock.advance(60)  # "b" expires exactly now
    assert store.count_active() == 1
    store.save(conn(clock, "b", user_id="u1"))  # a reconnect under an expired id
    assert store.count_active() == 2
    store.delete("b")
    store.delete("c")
    assert store.count_active() == 0


def test_expired_records_are_hidden(store: ConnectionStore, clock: FakeClock) -> None:
    past = clock.now - timedelta(seconds=5)
    store.save(conn(clock, "stale", user_id="u1", tenant_id="t1", expires_at=past))
    store.save(
        conn(
            clock,
            "soon",
            user_id="u1",
            tenant_id="t1",
            expires_at=clock.now + timedelta(seconds=10),
        )
    )
    store.save(conn(clock, "live", user_id="u1", tenant_id="t1"))

    assert store.get("stale") is None
    assert ids(store.list_by_user("u1")) == {"soon", "live"}
    assert ids(store.list_by_tenant("t1")) == {"soon", "live"}
    assert store.count_active() == 2
    if isinstance(store, DynamoDBConnectionStore):
        assert raw_item(store, "stale") is not None  # filtered, not yet swept by TTL

    clock.advance(10)
    assert store.get("soon") is None
    assert ids(store.list_by_user("u1")) == {"live"}
    assert ids(store.list_by_tenant("t1")) == {"live"}
    assert store.count_active() == 1


def test_pagination_over_one_megabyte(store: ConnectionStore, clock: FakeClock) -> None:
    total = 300
    blob = "x" * 4096
    for n in range(total):
        store.save(
            conn(clock, f"conn-{n:04d}", user_id="heavy", tenant_id="big", metadata={"b": blob})
        )
    store.save(conn(clock, "other", user_id="light", tenant_id="small", metadata={"b": blob}))

    calls: dict[str, int] = {"Query": 0, "Scan": 0}

    def count(event_name: str, **_: Any) -> None:
        calls[event_name.rsplit(".", 1)[-1]] += 1

    dynamo = store if isinstance(store, DynamoDBConnectionStore) else None
    if dynamo is not None:
        dynamo.client.meta.events.register("after-call.dynamodb.Query", count, "count-query")
        dynamo.client.meta.events.register("after-call.dynamodb.Scan", count, "count-scan")
    try:
        tenant_iter = store.list_by_tenant("big")
        first = next(tenant_iter)
        if dynamo is not None:
            assert calls["Query"] == 1  # lazy: one page fetched so far
        listed = [first, *tenant_iter]
        tenant_queries = calls["Query"]
        by_user = list(store.list_by_user("heavy"))
        active = store.count_active()
    finally:
        if dynamo is not None:
            dynamo.client.meta.events.unregister("after-call.dynamodb.Query", None, "count-query")
            dynamo.client.meta.events.unregister("after-call.dynamodb.Scan", None, "count-scan")

    expected = {f"conn-{n:04d}" for n in range(total)}
    assert len(listed) == total
    assert {c.connection_id for c in listed} == expected
    assert all(c.metadata == {"b": blob} for c in listed)
    assert {c.connection_id for c in by_user} == expected
    assert active == total + 1
    if dynamo is not None:
        assert len(json.dumps([c.metadata for c in listed])) > 1_000_000
        assert tenant_queries >= 2
        assert calls["Query"] - tenant_queries >= 2
        assert calls["Scan"] >= 2


# -- Memory store ---------------------------------------------------------------------


def test_memory_store_concurrency() -> None:
    store = MemoryConnectionStore()
    workers, rounds = 8, 400
    barrier = threading.Barrier(workers + 1)
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(w: int) -> None:
        try:
            barrier.wait()
            for k in range(rounds):
                cid = f"w{w}-{k}"
                store.save(Connection(cid, user_id=f"u{k % 5}", tenant_id="t"))
                store.save(Connection(cid, user_id=f"v{w}", tenant_id=f"t{w}"))  # overwrite
                if k % 2:
                    store.delete(cid)
                    store.delete(cid)
                store.save(Connection("shared", user_id=f"v{w}", tenant_id="t"))
                store.delete("shared")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            barrier.wait()
            while not stop.is_set():
                store.count_active()
                list(store.list_by_tenant("t"))
                list(store.list_by_user("v0"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(workers)]
    observer = threading.Thread(target=reader)
    for t in [*threads, observer]:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    observer.join()

    assert errors == []
    kept = rounds // 2
    assert store.count_active() == workers * kept
    assert store.get("shared") is None
    assert list(store.list_by_tenant("t")) == []
    for w in range(workers):
        expected = {f"w{w}-{k}" for k in range(0, rounds, 2)}
        assert ids(store.list_by_user(f"v{w}")) == expected
        assert ids(store.list_by_tenant(f"t{w}")) == expected
    for k in range(5):
        assert list(store.list_by_user(f"u{k}")) == []


def test_memory_store_list_is_a_snapshot_iterator(clock: FakeClock) -> None:
    store = MemoryConnectionStore(clock=clock)
    for n in range(3):
        store.save(conn(clock, f"c{n}", tenant_id="t", connected_at=clock.now + timedelta(n)))
    iterator = store.list_by_tenant("t")
    store.delete("c0")  # changing the store while iterating is safe
    assert [c.connection_id for c in iterator] == ["c0", "c1", "c2"]
    assert ids(store.list_by_tenant("t")) == {"c1", "c2"}


def test_memory_store_naive_datetimes_are_utc(clock: FakeClock) -> None:
    store = MemoryConnectionStore(clock=clock)
    naive = clock.now.replace(tzinfo=None)
    store.save(Connection("c1", connected_at=naive, expires_at=naive + timedelta(seconds=1)))
    got = store.get("c1")
    assert got is not None
    assert got.connected_at == clock.now
    clock.advance(1)
    assert store.get("c1") is None


# -- DynamoDB store -------------------------------------------------------------------


def test_dynamodb_default_expiry_and_item_layout(dynamo_store: DynamoDBConnectionStore) -> None:
    connected_at = datetime(2030, 1, 2, 3, 4, 5, 600000, tzinfo=timezone.utc)
    dynamo_store.save(
        Connection("c1", user_id="u1", connected_at=connected_at, metadata={"a": [1, 2]})
    )
    item = raw_item(dynamo_store, "c1")
    assert item is not None
    expected_expiry = connected_at + timedelta(hours=2)
    assert item["expires_at"] == {"N": str(int(expected_expiry.timestamp()))}
    assert item["connected_at"] == {"S": "2030-01-02T03:04:05.600000+00:00"}
    assert json.loads(item["metadata"]["S"]) == {"a": [1, 2]}
    assert json.loads(item["claims"]["S"]) == {}
    assert "endpoint" not in item
    assert "tenant_id" not in item
    got = dynamo_store.get("c1")
    assert got is not None
    assert got.expires_at == expected_expiry.replace(microsecond=0)


def test_dynamodb_custom_ttl(ddb: Any, table: str, clock: FakeClock) -> None:
    store = DynamoDBConnectionStore(table, client=ddb, ttl=timedelta(minutes=5), clock=clock)
    store.create_table()
    store.save(Connection("c1", connected_at=clock.now))
    assert store.count_active() == 1
    clock.advance(299)
    assert store.get("c1") is not None
    clock.advance(1)
    assert store.get("c1") is None
    assert store.count_active() == 0


def test_dynamodb_create_table_is_idempotent(ddb: Any, table: str) -> None:
    store = DynamoDBConnectionStore(table, client=ddb)
    store.create_table()
    store.create_table()
    description = ddb.describe_table(TableName=table)["Table"]
    assert description["TableStatus"] == "ACTIVE"
    assert description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    indexes = {i["IndexName"]: i for i in description["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"by_user", "by_tenant"}
    assert indexes["by_user"]["KeySchema"] == [{"AttributeName": "user_id", "KeyType": "HASH"}]
    assert indexes["by_tenant"]["Projection"] == {"ProjectionType": "ALL"}
    ttl = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def test_dynamodb_errors_are_generic(ddb: Any) -> None:
    store = DynamoDBConnectionStore("no-such-table", client=ddb)
    with pytest.raises(ConnectionStoreError) as caught:
        store.get("c1")
    error = caught.value
    assert (error.status_code, error.code) == (503, "CONNECTION_STORE_ERROR")
    assert error.aws_code == "ResourceNotFoundException"
    assert error.operation == "GetItem"
    assert isinstance(error.__cause__, ClientError)
    body = json.dumps(error.to_body())
    assert body == (
        '{"error": {"code": "CONNECTION_STORE_ERROR", '
        '"message": "The connection store is unavailable"}}'
    )
    with pytest.raises(ConnectionStoreError):
        list(store.list_by_user("u1"))
    with pytest.raises(ConnectionStoreError):
        store.count_active()


def test_dynamodb_unreachable_endpoint(aws_env: None) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = boto3.session.Session().client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=f"http://127.0.0.1:{port}",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1),
    )
    store = DynamoDBConnectionStore("t", client=client)
    with pytest.raises(ConnectionStoreError) as caught:
        store.save(Connection("c1"))
    assert isinstance(caught.value.__cause__, BotoCoreError)
    assert caught.value.message == "The connection store is unavailable"


def test_dynamodb_client_is_shared_and_endpoint_from_env(
    moto_url: str, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dynamodb_module, "_CLIENTS", {})
    monkeypatch.setenv("LIFT_DYNAMODB_ENDPOINT", moto_url)
    first = DynamoDBConnectionStore(table)
    second = DynamoDBConnectionStore("another-table")
    assert first.client is second.client
    assert first.client.meta.endpoint_url == moto_url
    assert first.client.meta.region_name == REGION
    assert DynamoDBConnectionStore(table, region="eu-central-1").client is not first.client
    explicit = DynamoDBConnectionStore(table, endpoint_url=moto_url, region=REGION)
    assert explicit.client is first.client
    assert len(dynamodb_module._CLIENTS) == 2

    first.create_table()
    first.save(Connection("c1", user_id="u1"))
    got = DynamoDBConnectionStore(table).get("c1")
    assert got is not None
    assert got.user_id == "u1"


def test_dynamodb_rejects_unserialisable_metadata(dynamo_store: DynamoDBConnectionStore) -> None:
    with pytest.raises(TypeError, match="JSON"):
        dynamo_store.save(Connection("c1", metadata={"when": datetime.now(timezone.utc)}))
    with pytest.raises(ValueError, match="connection_id"):
        dynamo_store.save(Connection(""))
    assert dynamo_store.count_active() == 0


def test_imports_stay_light() -> None:
    code = (
        "import sys, lift, lift.websocket\n"
        "from lift.websocket import DynamoDBConnectionStore, MemoryConnectionStore\n"
        "DynamoDBConnectionStore('t')\n"
        "heavy = {'boto3', 'botocore'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
