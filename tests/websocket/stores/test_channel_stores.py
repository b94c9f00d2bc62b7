"""Contract tests for the channel half of the connection stores.

One suite runs against ``MemoryConnectionStore`` and ``DynamoDBConnectionStore`` (over
HTTP to moto's server on 127.0.0.1, a fresh table per test).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from lift.websocket.channel import ChannelStore, Member
from lift.websocket.connection import Connection, ConnectionStore
from lift.websocket.stores.dynamodb import DynamoDBConnectionStore
from lift.websocket.stores.dynamodb_channels import channel_key, record_key
from lift.websocket.stores.memory import MemoryConnectionStore
from tests.conftest import FakeClock

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest, clock: FakeClock) -> Any:
    if request.param == "memory":
        return MemoryConnectionStore(clock=clock)
    dynamo = DynamoDBConnectionStore(
        request.getfixturevalue("table"), client=request.getfixturevalue("ddb"), clock=clock
    )
    dynamo.create_table()
    return dynamo


def connect(
    store: ConnectionStore, clock: FakeClock, connection_id: str, **fields: Any
) -> Connection:
    fields.setdefault("connected_at", clock.now)
    fields.setdefault("expires_at", clock.now + timedelta(hours=2))
    connection = Connection(connection_id=connection_id, **fields)
    store.save(connection)
    return connection


def member_ids(members: Iterator[Member]) -> list[str]:
    return [m.connection_id for m in members]


def test_both_stores_keep_channels(store: Any) -> None:
    assert isinstance(store, ChannelStore)
    assert isinstance(store, ConnectionStore)


def test_subscribe_members_unsubscribe(store: Any, clock: FakeClock) -> None:
    ana = connect(store, clock, "c-ana", user_id="ana", tenant_id="acme")
    ben = connect(store, clock, "c-ben", user_id="ben", tenant_id="acme")

    member, new = store.subscribe(ana, "general", {"nick": "Ana", "tags": [1, None]})
    assert new is True
    assert (member.connection_id, member.user_id, member.channel, member.tenant_id) == (
        "c-ana",
        "ana",
        "general",
        "acme",
    )
    assert member.metadata == {"nick": "Ana", "tags": [1, None]}
    assert member.expires_at == ana.expires_at
    clock.advance(5)
    store.subscribe(ben, "general", {})
    store.subscribe(ana, "random", {})

    listed = list(store.members("acme", "general"))
    assert {m.connection_id for m in listed} == {"c-ana", "c-ben"}
    by_id = {m.connection_id: m for m in listed}
    assert by_id["c-ana"].metadata == {"nick": "Ana", "tags": [1, None]}
    assert by_id["c-ana"].joined_at == member.joined_at
    assert by_id["c-ben"].user_id == "ben"
    assert sorted(store.member_ids("acme", "general")) == ["c-ana", "c-ben"]
    assert list(store.member_ids("globex", "general")) == []
    assert store.channels_of("c-ana") == ["general", "random"]
    assert store.channels_of("c-ben") == ["general"]

    # Subscribing again updates the metadata, keeps joined_at and is not new.
    clock.advance(5)
    again, new = store.subscribe(ana, "general", {"nick": "Ana B."})
    assert new is False
    assert again.joined_at == member.joined_at
    [ana_member] = [m for m in store.members("acme", "general") if m.connection_id == "c-ana"]
    assert ana_member.metadata == {"nick": "Ana B."}
    assert ana_member.joined_at == member.joined_at

    removed = store.unsubscribe("c-ana", "acme", "general")
    assert removed is not None and removed.connection_id == "c-ana"
    assert store.unsubscribe("c-ana", "acme", "general") is None
    assert member_ids(store.members("acme", "general")) == ["c-ben"]
    assert store.channels_of("c-ana") == ["random"]
    assert store.get("c-ana") is not None  # leaving a channel keeps the connection


def test_channels_are_scoped_to_a_tenant(store: Any, clock: FakeClock) -> None:
    acme = connect(store, clock, "c1", user_id="u1", tenant_id="acme")
    globex = connect(store, clock, "c2", user_id="u2", tenant_id="globex")
    nobody = connect(store, clock, "c3", user_id="u3")
    # A tenant whose id looks like another key cannot reach into it.
    tricky = connect(store, clock, "c4", user_id="u4", tenant_id="acme#general")
    for connection in (acme, globex, nobody, tricky):
        store.subscribe(connection, "general", {})
    assert member_ids(store.members("acme", "general")) == ["c1"]
    assert member_ids(store.members("globex", "general")) == ["c2"]
    assert member_ids(store.members(None, "general")) == ["c3"]
    assert member_ids(store.members("", "general")) == ["c3"]
    assert member_ids(store.members("acme#general", "general")) == ["c4"]
    assert store.unsubscribe("c1", "globex", "general") is None
    assert member_ids(store.members("acme", "general")) == ["c1"]

    store.append_history("acme", "general", {"n": 1}, keep=10, ttl=DAY)
    assert store.history("globex", "general") == []
    assert [m.data for m in store.history("acme", "general")] == [{"n": 1}]


def test_delete_and_remove_connection_leave_every_channel(store: Any, clock: FakeClock) -> None:
    ana = connect(store, clock, "c-ana", user_id="ana", tenant_id="acme")
    ben = connect(store, clock, "c-ben", user_id="ben", tenant_id="acme")
    channels = [f"room-{n:02d}" for n in range(50)]
    for channel in channels:
        store.subscribe(ana, channel, {"n": channel})
    store.subscribe(ben, "room-00", {})

    removed = store.remove_connection("c-ana")
    assert sorted(m.channel for m in removed) == channels
    assert all(m.connection_id == "c-ana" and m.tenant_id == "acme" for m in removed)
    assert store.get("c-ana") is None
    assert store.channels_of("c-ana") == []
    assert all(list(store.members("acme", c)) == [] for c in channels[1:])
    assert member_ids(store.members("acme", "room-00")) == ["c-ben"]
    assert all(list(store.member_ids("acme", c)) == [] for c in channels[1:])
    assert list(store.member_ids("acme", "room-00")) == ["c-ben"]
    # A retried cleanup (a Lambda retry of $disconnect) finds nothing more and fails not.
    assert store.remove_connection("c-ana") == []
    assert store.remove_connection("never-seen") == []

    # delete() is the same cleanup.
    store.delete("c-ben")
    assert store.get("c-ben") is None
    assert list(store.members("acme", "room-00")) == []
    assert list(store.member_ids("acme", "room-00")) == []
    if isinstance(store, DynamoDBConnectionStore):
        # Nothing is left but each channel's index counter (emptied buckets are deleted).
        assert leftovers(store) == [("i#" + channel_key("acme", c), "~n") for c in channels]


def leftovers(store: DynamoDBConnectionStore) -> list[tuple[str, str]]:
    """The keys of every item in the store's table, sorted."""
    scan = store.client.scan(TableName=store.table_name, ConsistentRead=True)
    return sorted((item["pk"]["S"], item["sk"]["S"]) for item in scan["Items"])


def test_concurrent_cleanups_report_each_member_once(store: Any, clock: FakeClock) -> None:
    ana = connect(store, clock, "c-ana", user_id="ana", tenant_id="acme")
    for n in range(10):
        store.subscribe(ana, f"room-{n}", {})
    results: list[list[Member]] = []
    lock = threading.Lock()

    def clean() -> None:
        removed = store.remove_connection("c-ana")
        with lock:
            results.append(removed)

    if isinstance(store, DynamoDBConnectionStore):
        # A second instance's cleanup runs in the middle of this one's (staged: moto's
        # server does not serialise concurrent requests on one item as DynamoDB does).
        other = DynamoDBConnectionStore(store.table_name, client=store.client)
        started: list[int] = []

        def interleave(params: dict[str, Any], **_: Any) -> None:
            if params.get("ReturnValues") == "ALL_OLD" and not started:
                started.append(1)
                results.append(other.remove_connection("c-ana"))

        event = "before-parameter-build.dynamodb.DeleteItem"
        store.client.meta.events.register(event, interleave, "interleave")
        try:
            clean()
        finally:
            store.client.meta.events.unregister(event, None, "interleave")
        assert len(results) == 2 and started
        reported = sorted(m.channel for removed in results for m in removed)
        assert reported == [f"room-{n}" for n in range(10)]
        return
    threads = [threading.Thread(target=clean) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reported = sorted(m.channel for removed in results for m in removed)
    assert reported == [f"room-{n}" for n in range(10)]


def test_expired_subscribers_are_reported_not_listed(store: Any, clock: FakeClock) -> None:
    soon = connect(store, clock, "soon", tenant_id="t", expires_at=clock.now + timedelta(minutes=5))
    live = connect(store, clock, "live", tenant_id="t")
    store.subscribe(soon, "news", {})
    store.subscribe(live, "news", {})
    assert sorted(member_ids(store.members("t", "news"))) == ["live", "soon"]

    clock.advance(300)
    expired: list[Member] = []
    assert member_ids(store.members("t", "news", expired=expired)) == ["live"]
    assert [m.connection_id for m in expired] == ["soon"]
    assert member_ids(store.members("t", "news")) == ["live"]  # no list given: just skipped
    expired_ids: list[str] = []
    assert list(store.member_ids("t", "news", expired=expired_ids)) == ["live"]
    assert expired_ids == ["soon"]
    assert store.channels_of("soon") == []
    assert store.get("soon") is None
    # Removing it reports the subscription, so its leave can be announced.
    assert [m.channel for m in store.remove_connection("soon")] == ["news"]
    expired.clear()
    list(store.members("t", "news", expired=expired))
    assert expired == []


def test_dynamodb_subscriptions_expire_with_the_connection_record(
    ddb: Any, table: str, clock: FakeClock
) -> None:
    store = DynamoDBConnectionStore(table, client=ddb, clock=clock)
    store.create_table()
    ana = connect(store, clock, "c-ana", user_id="ana", tenant_id="acme")
    store.subscribe(ana, "general", {})
    ck = channel_key("acme", "general")
    items = store.client.scan(TableName=store.table_name, ConsistentRead=True)["Items"]
    by_key = {(i["pk"]["S"], i["sk"]["S"]): i for i in items}
    record = by_key[("c#c-ana", "#")]
    reverse = by_key[("c#c-ana", "s#" + ck)]
    member = by_key[("m#" + ck, "c-ana")]
    assert record["expires_at"] == reverse["expires_at"] == member["expires_at"]
    # Subscription items stay out of the user and tenant indexes.
    for item in (reverse, member):
        assert "user_id" not in item and "tenant_id" not in item
    assert [c.connection_id for c in store.list_by_tenant("acme")] == ["c-ana"]
    assert store.count_active() == 1


def test_history_sequence_trim_and_resume(store: Any, clock: FakeClock) -> None:
    seqs = [
        store.append_history("t", "feed", {"n": n, "f": 0.5}, keep=5, ttl=DAY).seq
        for n in range(1, 9)
    ]
    assert seqs == list(range(1, 9))
    kept = store.history("t", "feed")
    assert [m.seq for m in kept] == [4, 5, 6, 7, 8]  # the last five
    assert [m.data for m in kept] == [{"n": n, "f": 0.5} for n in range(4, 9)]
    assert all(m.published_at == clock.now for m in kept)
    assert [m.seq for m in store.history("t", "feed", after=6)] == [7, 8]
    assert [m.seq for m in store.history("t", "feed", after=2, limit=2)] == [4, 5]
    assert store.history("t", "feed", after=8) == []
    assert store.history("t", "other") == []

    clock.advance(DAY.total_seconds())
    assert store.history("t", "feed") == []  # kept for history_ttl only
    assert store.append_history("t", "feed", "next", keep=5, ttl=DAY).seq == 9


def test_history_numbers_are_unique_and_gapless_across_publishers(
    store: Any, clock: FakeClock
) -> None:
    seqs: list[int] = []
    lock = threading.Lock()
    if isinstance(store, DynamoDBConnectionStore):
        # Four "instances": stores of their own on the one table, taking turns. (DynamoDB
        # applies UpdateItem ADD atomically; moto's server does not lock an item between
        # concurrent requests, so true concurrency would test moto, not the store.)
        stores = [DynamoDBConnectionStore(store.table_name, client=store.client) for _ in range(4)]
        added: list[str] = []
        store.client.meta.events.register(
            "before-parameter-build.dynamodb.UpdateItem",
            lambda params, **_: added.append(params.get("UpdateExpression", "")),
            "seen-adds",
        )
        try:
            for n in range(10):
                for worker, each in enumerate(stores):
                    message = each.append_history(
                        "t", "busy", {"w": worker, "n": n}, keep=100, ttl=DAY
                    )
                    seqs.append(message.seq)
        finally:
            store.client.meta.events.unregister(
                "before-parameter-build.dynamodb.UpdateItem", None, "seen-adds"
            )
        assert added == ["ADD seq :one"] * 40  # the number comes from one atomic ADD
    else:

        def publish(worker: int) -> None:
            for n in range(10):
                message = store.append_history(
                    "t", "busy", {"w": worker, "n": n}, keep=100, ttl=DAY
                )
                with lock:
                    seqs.append(message.seq)

        threads = [threading.Thread(target=publish, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(seqs) == list(range(1, 41))
    history = store.history("t", "busy", limit=1000)
    assert [m.seq for m in history] == list(range(1, 41))
    # Each worker's messages are in the order it published them.
    for worker in range(4):
        assert [m.data["n"] for m in history if m.data["w"] == worker] == list(range(10))


def test_members_page_past_one_megabyte(store: Any, clock: FakeClock) -> None:
    total = 300
    blob = "x" * 4096
    for n in range(total):
        connection = connect(store, clock, f"conn-{n:04d}", user_id=f"u{n}", tenant_id="big")
        store.subscribe(connection, "lobby", {"b": blob})
    queries = 0

    def count(**_: Any) -> None:
        nonlocal queries
        queries += 1

    dynamo = store if isinstance(store, DynamoDBConnectionStore) else None
    if dynamo is not None:
        dynamo.client.meta.events.register("after-call.dynamodb.Query", count, "count-q")
    try:
        listed = list(store.members("big", "lobby"))
    finally:
        if dynamo is not None:
            dynamo.client.meta.events.unregister("after-call.dynamodb.Query", None, "count-q")
    assert sorted(m.connection_id for m in listed) == [f"conn-{n:04d}" for n in range(total)]
    assert all(m.metadata == {"b": blob} for m in listed)
    if dynamo is not None:
        assert len(json.dumps([m.metadata for m in listed])) > 1_000_000
        assert queries >= 2  # followed LastEvaluatedKey


def test_update_metadata_merges_and_survives_concurrent_writers(
    store: Any, clock: FakeClock
) -> None:
    connect(store, clock, "c1", user_id="u1", metadata={"a": 1})
    updated = store.update_metadata("c1", {"b": [2]})
    assert updated is not None and updated.metadata == {"a": 1, "b": [2]}
    assert store.get("c1").metadata == {"a": 1, "b": [2]}
    assert store.update_metadata("missing", {"x": 1}) is None
    with pytest.raises(TypeError):
        store.update_metadata("c1", {"bad": object()})

    def write(key: str) -> None:
        for n in range(5):
            store.update_metadata("c1", {key: n})

    if isinstance(store, DynamoDBConnectionStore):
        # Another instance writes between this one's read and its conditional write, once
        # per call. (moto's server does not make condition + write atomic across threads,
        # so the race is staged rather than left to the scheduler.)
        other = DynamoDBConnectionStore(store.table_name, client=store.client)
        staged: list[int] = []

        def interfere(params: dict[str, Any], **_: Any) -> None:
            if "ConditionExpression" in params and len(staged) < 5:
                staged.append(1)
                other.update_metadata("c1", {f"other{len(staged)}": True})

        event = "before-parameter-build.dynamodb.UpdateItem"
        store.client.meta.events.register(event, interfere, "interfere")
        try:
            write("k0")
        finally:
            store.client.meta.events.unregister(event, None, "interfere")
        expected = {"a": 1, "b": [2], "k0": 4}
        expected.update({f"other{n}": True for n in range(1, 6)})
        assert store.get("c1").metadata == expected
        return
    threads = [threading.Thread(target=write, args=(f"k{w}",)) for w in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get("c1").metadata == {"a": 1, "b": [2], "k0": 4, "k1": 4, "k2": 4}


def test_dynamodb_table_has_one_composite_key(ddb: Any, table: str) -> None:
    store = DynamoDBConnectionStore(table, client=ddb)
    store.create_table()
    description = ddb.describe_table(TableName=table)["Table"]
    assert description["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert record_key("c1") == {"pk": {"S": "c#c1"}, "sk": {"S": "#"}}


def test_dynamodb_cleanup_cut_short_is_finished_by_the_retry(
    ddb: Any, table: str, clock: FakeClock
) -> None:
    from botocore.exceptions import EndpointConnectionError

    from lift.websocket.stores.dynamodb_channels import CleanupIncompleteError

    store = DynamoDBConnectionStore(table, client=ddb, clock=clock)
    store.create_table()
    ana = connect(store, clock, "c-ana", user_id="ana", tenant_id="acme")
    for n in range(30):
        store.subscribe(ana, f"room-{n}", {})

    def fail(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="http://dynamodb")

    # The first $disconnect dies after the subscriptions, before the connection's own items.
    ddb.meta.events.register("before-call.dynamodb.BatchWriteItem", fail, "cut-short")
    try:
        with pytest.raises(CleanupIncompleteError) as cut:
            store.remove_connection("c-ana")
    finally:
        ddb.meta.events.unregister("before-call.dynamodb.BatchWriteItem", None, "cut-short")
    # What was removed is reported with the error, so the leaves can still be announced.
    assert sorted(m.channel for m in cut.value.removed) == sorted(f"room-{n}" for n in range(30))
    assert cut.value.status_code == 503
    assert all(list(store.members("acme", f"room-{n}")) == [] for n in range(30))
    assert store.get("c-ana") is not None  # still findable by the retry

    assert store.remove_connection("c-ana") == []  # every leave was reported the first time
    assert store.get("c-ana") is None
    assert store.channels_of("c-ana") == []
    counters = [("i#" + channel_key("acme", f"room-{n}"), "~n") for n in range(30)]
    assert leftovers(store) == sorted(counters)


def test_member_pages_list_every_live_subscriber_once(store: Any, clock: FakeClock) -> None:
    """Fan-out workers list a huge channel page by page through a cursor."""
    ids = [f"c-{index:03d}" for index in range(23)]
    for connection_id in ids:
        store.subscribe(connect(store, clock, connection_id, tenant_id="acme"), "big", {})
    store.subscribe(connect(store, clock, "other-tenant", tenant_id="globex"), "big", {})
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page, cursor = store.member_ids_page("acme", "big", cursor, 5)
        seen.extend(page)
        pages += 1
        if cursor is None:
            break
    assert sorted(seen) == ids and len(seen) == len(set(seen))
    assert pages >= 5


def test_listed_ids_always_match_the_members(store: Any, clock: FakeClock) -> None:
    """What a publish lists (``member_ids``) and what ``members`` shows never disagree,
    through joins, re-joins, leaves, cleanups and expiry."""
    people = {
        name: connect(
            store, clock, f"c-{name}", tenant_id="acme", expires_at=clock.now + timedelta(hours=h)
        )
        for name, h in (("ana", 2), ("ben", 2), ("cat", 1), ("dan", 2))
    }
    rooms = ("a", "b")

    def check() -> None:
        for room in rooms:
            listed = list(store.member_ids("acme", room))
            assert len(listed) == len(set(listed))
            assert sorted(listed) == sorted(member_ids(store.members("acme", room)))

    steps: list[tuple[str, str, str]] = [
        ("join", "ana", "a"),
        ("join", "ben", "a"),
        ("join", "cat", "a"),
        ("join", "ana", "b"),
        ("join", "ana", "a"),  # again: still one
        ("leave", "ben", "a"),
        ("join", "dan", "b"),
        ("join", "ben", "a"),  # back
        ("leave", "ben", "b"),  # never joined b
        ("drop", "ana", ""),
        ("join", "cat", "b"),
        ("expire", "", ""),  # cat's connection ends
        ("drop", "dan", ""),
    ]
    for action, name, room in steps:
        if action == "join":
            store.subscribe(people[name], room, {"step": len(name)})
        elif action == "leave":
            store.unsubscribe(f"c-{name}", "acme", room)
        elif action == "drop":
            store.remove_connection(f"c-{name}")
        else:
            clock.advance(3600)
        check()
    assert [list(store.member_ids("acme", room)) for room in rooms] == [["c-ben"], []]


def test_a_connection_without_its_record_cannot_subscribe(store: Any, clock: FakeClock) -> None:
    from lift.errors import LiftError

    ana = connect(store, clock, "c-ana", tenant_id="acme")
    store.delete("c-ana")  # its $disconnect ran first
    with pytest.raises(LiftError) as refused:
        store.subscribe(ana, "general", {})
    assert refused.value.status_code == 409 and refused.value.code == "NOT_CONNECTED"
    assert list(store.member_ids("acme", "general")) == []
    assert list(store.members("acme", "general")) == []
    assert store.channels_of("c-ana") == []
    soon = connect(store, clock, "soon", tenant_id="acme", expires_at=clock.now + HOUR)
    clock.advance(HOUR.total_seconds())
    with pytest.raises(LiftError):
        store.subscribe(soon, "general", {})  # expired
    assert list(store.member_ids("acme", "general")) == []


@pytest.mark.parametrize("connection_id", ["", "z" * 1025, "é" * 513])
def test_an_id_a_store_cannot_key_is_refused_before_anything_is_written(
    store: Any, clock: FakeClock, connection_id: str
) -> None:
    """An id over 1 KiB was saved, then failed halfway through a subscribe (a 503 that
    left the connection's channel item behind, naming a channel it was not in)."""
    connection = Connection(
        connection_id=connection_id,
        tenant_id="acme",
        connected_at=clock.now,
        expires_at=clock.now + timedelta(hours=2),
    )
    with pytest.raises(ValueError, match="connection_id"):
        store.save(connection)
    with pytest.raises(ValueError, match="connection_id"):
        store.subscribe(connection, "room", {})
    assert store.channels_of(connection_id) == []
    assert list(store.member_ids("acme", "room")) == []
    longest = connect(store, clock, "z" * 1024, tenant_id="acme")
    store.subscribe(longest, "room", {})
    assert list(store.member_ids("acme", "room")) == ["z" * 1024]
