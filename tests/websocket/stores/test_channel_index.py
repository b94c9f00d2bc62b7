"""The DynamoDB store's subscriber index (buckets of ids), over moto's real HTTP server.

A publish lists a channel from the index, ``members`` from the per-subscriber items: these
tests catch an index that disagrees with the subscriptions (a stale id would be sent
messages for a channel it left), a bucket that grows without bound, and a listing that
reads one item per subscriber.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from lift.websocket.connection import Connection
from lift.websocket.stores import dynamodb_index
from lift.websocket.stores.dynamodb import DynamoDBConnectionStore
from lift.websocket.stores.dynamodb_channels import channel_key
from lift.websocket.stores.dynamodb_index import parse_entry
from tests.conftest import FakeClock


@pytest.fixture
def store(ddb: Any, table: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(dynamodb_index, "BUCKET_SIZE", 4)  # many buckets from few members
    dynamo = DynamoDBConnectionStore(table, client=ddb, clock=clock)
    dynamo.create_table()
    return dynamo


def join(
    store: DynamoDBConnectionStore, clock: FakeClock, connection_id: str, channel: str, **kw: Any
) -> Connection:
    kw.setdefault("expires_at", clock.now + timedelta(hours=2))
    connection = Connection(connection_id, tenant_id="acme", connected_at=clock.now, **kw)
    store.save(connection)
    store.subscribe(connection, channel, {})
    return connection


@contextlib.contextmanager
def hooked(
    store: DynamoDBConnectionStore, *hooks: tuple[str, Callable[..., Any]]
) -> Iterator[None]:
    """``store``'s client calls each handler on its botocore event while the block runs
    (another instance acting between two calls, or a call that never reaches the table)."""
    events = store.client.meta.events
    for number, (event, handler) in enumerate(hooks):
        events.register(event, handler, f"hook-{number}")
    try:
        yield
    finally:
        for number, (event, _) in enumerate(hooks):
            events.unregister(event, None, f"hook-{number}")


def unreachable(**_: Any) -> None:
    """A botocore handler: the call fails as if the table could not be reached."""
    from botocore.exceptions import EndpointConnectionError

    raise EndpointConnectionError(endpoint_url="http://dynamodb")


def buckets(store: DynamoDBConnectionStore, channel: str) -> dict[str, list[str]]:
    """The index buckets of ``channel`` (acme): sort key -> entries."""
    page = store.client.query(
        TableName=store.table_name,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :b)",
        ExpressionAttributeValues={
            ":pk": {"S": "i#" + channel_key("acme", channel)},
            ":b": {"S": "b#"},
        },
        ConsistentRead=True,
    )
    return {
        item["sk"]["S"]: sorted(item.get("member_entries", {}).get("SS", []))
        for item in page["Items"]
    }


def listed_in(store: DynamoDBConnectionStore, channel: str) -> list[str]:
    """The connection ids in the buckets of ``channel``."""
    return [parse_entry(e)[0] for entries in buckets(store, channel).values() for e in entries]


def test_buckets_are_bounded_and_a_listing_reads_them_not_the_members(
    store: DynamoDBConnectionStore, clock: FakeClock
) -> None:
    ids = [f"c-{n:02d}" for n in range(18)]
    for connection_id in ids:
        join(store, clock, connection_id, "big")
    found = buckets(store, "big")
    assert len(found) == 5 and all(len(entries) <= 4 for entries in found.values())
    expires = int((clock.now + timedelta(hours=2)).timestamp())
    assert sorted(e for entries in found.values() for e in entries) == sorted(
        f"{i} {expires}" for i in ids
    )

    queries: list[dict[str, Any]] = []
    returned: list[int] = []
    with hooked(
        store,
        ("before-parameter-build.dynamodb.Query", lambda params, **_: queries.append(params)),
        ("after-call.dynamodb.Query", lambda parsed, **_: returned.append(parsed["Count"])),
    ):
        assert sorted(store.member_ids("acme", "big")) == ids
    assert len(queries) == 1 and queries[0]["ConsistentRead"] is True
    assert returned == [5]  # five buckets, not eighteen member items


def test_unsubscribe_cleanup_and_gone_leave_no_id_behind(
    store: DynamoDBConnectionStore, clock: FakeClock
) -> None:
    ana = join(store, clock, "c-ana", "room")
    join(store, clock, "c-ben", "room")
    join(store, clock, "c-cat", "room")
    store.subscribe(ana, "other", {})
    assert store.unsubscribe("c-ana", "acme", "room") is not None
    assert sorted(store.member_ids("acme", "room")) == ["c-ben", "c-cat"]
    assert list(store.member_ids("acme", "other")) == ["c-ana"]
    assert store.unsubscribe("c-ana", "acme", "room") is None  # again: nothing, no item made
    assert [m.channel for m in store.remove_connection("c-ana")] == ["other"]
    assert buckets(store, "other") == {}  # an emptied bucket is deleted
    store.delete("c-ben")
    assert list(store.member_ids("acme", "room")) == ["c-cat"]
    assert listed_in(store, "room") == ["c-cat"]


def test_a_cleanup_cut_short_never_leaves_a_listed_id(
    store: DynamoDBConnectionStore, clock: FakeClock
) -> None:

    from lift.websocket.connection import ConnectionStoreError

    join(store, clock, "c-ana", "room")
    join(store, clock, "c-ben", "room")

    # $disconnect dies right after the index: the id is no longer listed, and the retry
    # still finds the subscription through the connection's item and reports the leave.
    with (
        hooked(store, ("before-call.dynamodb.DeleteItem", unreachable)),
        pytest.raises(ConnectionStoreError),
    ):
        store.remove_connection("c-ana")
    assert list(store.member_ids("acme", "room")) == ["c-ben"]
    assert [m.connection_id for m in store.remove_connection("c-ana")] == ["c-ana"]
    assert store.channels_of("c-ana") == [] and list(store.member_ids("acme", "room")) == ["c-ben"]


def test_expired_ids_are_pruned_even_when_ttl_swept_their_items(
    store: DynamoDBConnectionStore, clock: FakeClock
) -> None:
    join(store, clock, "soon", "news", expires_at=clock.now + timedelta(minutes=5))
    join(store, clock, "live", "news")
    # DynamoDB's TTL sweeper removed the subscription's items, not the index entry.
    for key in (("c#soon", "s#" + channel_key("acme", "news")), ("m#news#acme", "soon")):
        store.client.delete_item(
            TableName=store.table_name, Key={"pk": {"S": key[0]}, "sk": {"S": key[1]}}
        )
    assert sorted(store.member_ids("acme", "news")) == ["live", "soon"]  # not yet expired
    clock.advance(300)
    expired: list[str] = []
    assert list(store.member_ids("acme", "news", expired=expired)) == ["live"]
    assert expired == ["soon"]
    assert listed_in(store, "news") == ["live"]
    expired.clear()
    assert list(store.member_ids("acme", "news", expired=expired)) == ["live"] and not expired


def test_a_subscription_has_one_entry_when_its_expiry_moves(
    store: DynamoDBConnectionStore, clock: FakeClock
) -> None:
    ana = join(store, clock, "c-ana", "room")
    later = Connection(
        "c-ana",
        tenant_id="acme",
        connected_at=ana.connected_at,
        expires_at=clock.now + timedelta(hours=3),
    )
    store.save(later)
    store.subscribe(later, "room", {"again": True})
    entries = [e for entries in buckets(store, "room").values() for e in entries]
    assert entries == [f"c-ana {int(later.expires_at.timestamp())}"]  # type: ignore[union-attr]
    assert list(store.member_ids("acme", "room")) == ["c-ana"]
    # The bucket lives as long as its latest entry.
    item = store.client.get_item(
        TableName=store.table_name,
        Key={"pk": {"S": "i#room#acme"}, "sk": {"S": next(iter(buckets(store, "room")))}},
        ConsistentRead=True,
    )["Item"]
    assert int(item["expires_at"]["N"]) == int(later.expires_at.timestamp())  # type: ignore[union-attr]
    assert store.unsubscribe("c-ana", "acme", "room") is not None
    assert buckets(store, "room") == {}


def test_pages_cross_buckets_and_stop_at_the_limit(
    store: DynamoDBConnectionStore, clock: FakeClock
) -> None:
    ids = [f"c-{n:02d}" for n in range(15)]
    for connection_id in ids:
        join(store, clock, connection_id, "big")
    join(store, clock, "soon", "big", expires_at=clock.now + timedelta(minutes=1))
    clock.advance(60)
    seen: list[str] = []
    cursor: str | None = None
    sizes = []
    while True:
        page, cursor = store.member_ids_page("acme", "big", cursor, 3)
        sizes.append(len(page))
        seen.extend(page)
        if cursor is None:
            break
    assert sorted(seen) == ids and len(seen) == len(set(seen))
    assert max(sizes) == 3 and len(sizes) in (5, 6)
    with pytest.raises(ValueError):
        store.member_ids_page("acme", "big", "m#forged", 3)


def test_a_subscribe_racing_its_disconnect_leaves_nothing_listed(
    store: DynamoDBConnectionStore, clock: FakeClock
) -> None:
    """Staged with a second "instance" (moto's server does not serialise requests)."""
    from lift.errors import LiftError

    other = DynamoDBConnectionStore(store.table_name, client=store.client, clock=clock)
    join(store, clock, "c-ben", "room")

    # 1. $disconnect runs while the subscribe writes: the subscribe finds the record gone.
    ana = Connection("c-ana", tenant_id="acme", expires_at=clock.now + timedelta(hours=2))
    store.save(ana)
    ran: list[list[Any]] = []

    def disconnect(params: dict[str, Any], **_: Any) -> None:
        if params.get("UpdateExpression", "").startswith("ADD member_entries") and not ran:
            ran.append(other.remove_connection("c-ana"))

    with (
        hooked(store, ("before-parameter-build.dynamodb.UpdateItem", disconnect)),
        pytest.raises(LiftError) as refused,
    ):
        store.subscribe(ana, "room", {})
    assert ran and refused.value.status_code == 409
    assert list(store.member_ids("acme", "room")) == ["c-ben"]
    assert [m.connection_id for m in store.members("acme", "room")] == ["c-ben"]
    assert store.channels_of("c-ana") == []

    # 2. The subscribe runs whole between the cleanup's Query and its last deletes: the
    # cleanup looks again and takes the new subscription out too (reporting its leave).
    cat = Connection("c-cat", tenant_id="acme", expires_at=clock.now + timedelta(hours=2))
    store.save(cat)
    subscribed: list[bool] = []

    def subscribe(**_: Any) -> None:
        if not subscribed:
            subscribed.append(other.subscribe(cat, "room", {})[1])

    with hooked(store, ("before-call.dynamodb.BatchWriteItem", subscribe)):
        removed = store.remove_connection("c-cat")
    assert subscribed == [True]
    assert [(m.connection_id, m.channel) for m in removed] == [("c-cat", "room")]
    assert list(store.member_ids("acme", "room")) == ["c-ben"]
    assert listed_in(store, "room") == ["c-ben"]
    assert store.get("c-cat") is None and store.channels_of("c-cat") == []


def test_a_subscribe_racing_an_unsubscribe_of_the_same_channel_leaves_no_stray_id(
    store: DynamoDBConnectionStore, clock: FakeClock
) -> None:
    """API Gateway may run two messages of one connection at once, in two instances.

    Whichever way a subscribe and an unsubscribe interleave, the channel item, the member
    item and the index entry end up all present or all absent: an id the connection's
    channels do not name would be sent the channel's messages after it left, and no
    unsubscribe or cleanup could find it again.
    """
    other = DynamoDBConnectionStore(store.table_name, client=store.client, clock=clock)
    ana = join(store, clock, "c-ana", "room")
    join(store, clock, "c-ben", "room")

    def consistent() -> bool:
        subscribed = store.channels_of("c-ana") == ["room"]
        members = [m.connection_id for m in store.members("acme", "room")]
        return (
            sorted(store.member_ids("acme", "room")) == sorted(listed_in(store, "room"))
            and ("c-ana" in listed_in(store, "room")) is subscribed
            and ("c-ana" in members) is subscribed
        )

    for step in ("UpdateItem", "DeleteItem", "GetItem"):
        for nth in range(3):
            if store.channels_of("c-ana") != ["room"]:
                store.subscribe(ana, "room", {})
            calls: list[int] = []

            def race(nth: int = nth, calls: list[int] = calls, **_: Any) -> None:
                calls.append(1)
                if len(calls) == nth + 1:
                    other.subscribe(ana, "room", {"again": True})

            with hooked(store, (f"before-call.dynamodb.{step}", race)):
                store.unsubscribe("c-ana", "acme", "room")
            assert consistent(), (step, nth)
    store.unsubscribe("c-ana", "acme", "room")
    assert store.remove_connection("c-ana") == []
    assert listed_in(store, "room") == ["c-ben"]


def test_an_unsubscribe_cut_short_is_finished_by_its_retry(
    store: DynamoDBConnectionStore, clock: FakeClock
) -> None:

    from lift.websocket.connection import ConnectionStoreError

    join(store, clock, "c-ana", "room")
    join(store, clock, "c-ben", "room")

    # The channel item is deleted, then the index update fails: the retry finds the
    # bucket through the subscriber item and reports the leave.
    with (
        hooked(store, ("before-call.dynamodb.UpdateItem", unreachable)),
        pytest.raises(ConnectionStoreError),
    ):
        store.unsubscribe("c-ana", "acme", "room")
    left = store.unsubscribe("c-ana", "acme", "room")
    assert left is not None and left.connection_id == "c-ana"
    assert listed_in(store, "room") == ["c-ben"]
    assert [m.connection_id for m in store.members("acme", "room")] == ["c-ben"]
    assert store.unsubscribe("c-ana", "acme", "room") is None


def test_a_page_names_an_id_once_while_its_expiry_moves(
    store: DynamoDBConnectionStore, clock: FakeClock
) -> None:
    """A re-subscribe with a new expiry adds the new entry before it removes the old one
    (and a failed removal leaves it until it expires): a fan-out page must not name the
    connection twice, or a queued publish would send it the message twice."""
    from lift.websocket.stores.dynamodb_index import SubscriberIndex, index_entry

    ana = join(store, clock, "c-ana", "room")
    join(store, clock, "c-ben", "room")
    bucket = next(iter(buckets(store, "room")))
    later = int((clock.now + timedelta(hours=3)).timestamp())
    index = SubscriberIndex(store.client, store.table_name)
    index.add(channel_key("acme", "room"), bucket, index_entry(ana.connection_id, later), later)
    assert sorted(store.member_ids("acme", "room")) == ["c-ana", "c-ben"]
    for limit in (1, 2, 10):
        seen: list[str] = []
        cursor: str | None = None
        while True:
            page, cursor = store.member_ids_page("acme", "room", cursor, limit)
            seen.extend(page)
            if cursor is None:
                break
        assert sorted(seen) == ["c-ana", "c-ben"], limit


def test_a_channel_name_with_the_separator_cannot_reach_another_tenant(
    store: DynamoDBConnectionStore, clock: FakeClock
) -> None:
    """``"<channel>#<tenant>"`` is one key only while a channel never holds ``#``: the
    store's own API refuses such a name (channel ``a#b`` of tenant ``c`` would be
    channel ``a`` of tenant ``b#c``)."""
    victim = Connection("c-vic", tenant_id="b#c", expires_at=clock.now + timedelta(hours=2))
    store.save(victim)
    store.subscribe(victim, "a", {})
    intruder = Connection("c-int", tenant_id="c", expires_at=clock.now + timedelta(hours=2))
    store.save(intruder)
    with pytest.raises(ValueError, match="#"):
        store.subscribe(intruder, "a#b", {})
    for read in (
        lambda: list(store.member_ids("c", "a#b")),
        lambda: list(store.members("c", "a#b")),
        lambda: store.history("c", "a#b"),
    ):
        with pytest.raises(ValueError, match="#"):
            read()
    assert list(store.member_ids("b#c", "a")) == ["c-vic"]


@pytest.mark.parametrize("failing", ["member", "index", "record"])
def test_a_new_subscription_cut_short_by_the_table_leaves_nothing_half_written(
    store: DynamoDBConnectionStore, clock: FakeClock, failing: str
) -> None:
    """The subscribe fails (503) after the connection's channel item was written: that
    item is taken back, so the connection's channels do not name a channel it gets no
    message of; a re-subscription cut short keeps the subscription it had."""

    from lift.websocket.connection import ConnectionStoreError

    ana = join(store, clock, "c-ana", "lobby")
    failed: list[str] = []

    def fail(params: dict[str, Any], **_: Any) -> None:
        key = params.get("Key", {})
        hit = {
            "member": key.get("pk", {}).get("S", "").startswith("m#")
            and "UpdateExpression" in params,
            "index": params.get("UpdateExpression", "").startswith("ADD member_entries"),
            "record": key.get("sk", {}).get("S") == "#" and "UpdateExpression" not in params,
        }[failing]
        if hit and not failed:
            failed.append(failing)
            unreachable()

    with hooked(
        store,
        ("before-parameter-build.dynamodb.UpdateItem", fail),
        ("before-parameter-build.dynamodb.GetItem", fail),
    ):
        with pytest.raises(ConnectionStoreError):
            store.subscribe(ana, "room", {})
        failed.clear()
        with pytest.raises(ConnectionStoreError):
            store.subscribe(ana, "lobby", {"again": True})
    assert store.channels_of("c-ana") == ["lobby"]
    assert list(store.member_ids("acme", "room")) == [] and listed_in(store, "room") == []
    assert list(store.members("acme", "room")) == []
    assert list(store.member_ids("acme", "lobby")) == ["c-ana"]
    assert [m.connection_id for m in store.members("acme", "lobby")] == ["c-ana"]
