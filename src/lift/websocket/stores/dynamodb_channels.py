"""Channel subscriptions and history in the connections table (DynamoDB).

Items (``ck`` is ``"<channel>#<tenant>"``; a channel name never holds ``#``, so the
key is unambiguous, and a connection without a tenant has an empty tenant part)::

    pk = "c#<connection_id>"  sk = "#"            the connection's record
    pk = "c#<connection_id>"  sk = "s#<ck>"       one per channel of the connection
    pk = "m#<ck>"             sk = <connection_id> one per subscriber of the channel
    pk = "i#<ck>"             sk = "~n" | "b#..."  the channel's subscriber index
    pk = "h#<ck>"             sk = "~seq"          the channel's sequence counter
    pk = "h#<ck>"             sk = <seq, 20 digits> one per kept message

Access patterns, all strongly consistent ``GetItem``/``Query`` on the base table:

* subscriber ids of a channel (publish, presence events): ``Query pk = "i#<ck>"``, the
  index's buckets of up to 64 ids (:mod:`.dynamodb_index`); 100,000 subscribers are
  ~1,600 buckets in ~3 pages;
* subscribers with their metadata (``members``): ``Query pk = "m#<ck>"``, page by page;
  100,000 subscribers of ~150 bytes are ~15 pages of 1 MB;
* channels of a connection (subscriptions, cleanup): ``Query pk = "c#<id>"``; a
  connection in 50 channels is one page;
* next sequence number: ``UpdateItem ADD seq 1`` on the counter (atomic);
* history after a seq: ``Query pk = "h#<ck>" AND sk BETWEEN <after+1> AND <max>``.

A connection's channel item names the index bucket that holds its entry
(``member_bucket``), so unsubscribing and cleanup remove the entry before the items
that lead to it.

Subscription items carry the connection's ``expires_at`` (the table's TTL attribute), so
they expire with the connection. Their user and tenant are kept as ``member_user`` and
``member_tenant``, never ``user_id``/``tenant_id``, so they stay out of the sparse indexes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import suppress
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ...errors import LiftError
from ..channel import Member
from ..connection import Connection, ConnectionStoreError, check_connection_id, expiry
from .dynamodb_calls import KEY_ATTRIBUTE, SORT_ATTRIBUTE, aws_call, batch_write, query_items
from .dynamodb_calls import item_key as _key
from .dynamodb_history import DynamoDBHistory, channel_key
from .dynamodb_history import epoch as _epoch
from .dynamodb_history import live as _live
from .dynamodb_index import SubscriberIndex, bucket_of, index_entry

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "CleanupIncompleteError",
    "KEY_ATTRIBUTE",
    "RECORD_SORT",
    "SORT_ATTRIBUTE",
    "DynamoDBChannels",
    "aws_call",
    "channel_key",
    "record_key",
]

RECORD_SORT = "#"
"""The sort key of a connection's record (its channel items sort after it)."""

_CLEANUP_ROUNDS = 3
"""Queries of a connection's items during one cleanup (later ones find racing subscribes)."""
_CONDITION_FAILED = "ConditionalCheckFailedException"


class CleanupIncompleteError(ConnectionStoreError):
    """A connection's cleanup stopped after removing ``removed``; a retry finishes it."""

    def __init__(self, operation: str, aws_code: str, removed: list[Member]) -> None:
        super().__init__(operation, aws_code)
        self.removed = removed


def record_key(connection_id: str) -> dict[str, dict[str, str]]:
    """The key of a connection's record item."""
    return {KEY_ATTRIBUTE: {"S": "c#" + connection_id}, SORT_ATTRIBUTE: {"S": RECORD_SORT}}


class DynamoDBChannels(DynamoDBHistory):
    """The :class:`~lift.websocket.channel.ChannelStore` half of the DynamoDB store."""

    table_name: str
    ttl: timedelta
    _clock: Callable[[], datetime]
    client: Any
    """The boto3 ``dynamodb`` client (provided by the store)."""

    def subscribe(
        self, connection: Connection, channel: str, metadata: dict[str, Any]
    ) -> tuple[Member, bool]:
        """Write the connection's channel item, the member item, then the index entry.

        Re-subscribing updates the metadata and keeps ``joined_at`` and the index bucket;
        the result says whether the subscription is new. Last, the connection's record
        is read: when its ``$disconnect`` ran meanwhile, the subscription is taken back
        (409 ``NOT_CONNECTED``), so none outlives its connection.
        """
        check_connection_id(connection.connection_id)
        tenant = connection.tenant_id or None
        ck = channel_key(tenant, channel)
        now = self._clock()
        expires_at = expiry(connection, self.ttl)
        try:
            metadata_text = json.dumps(metadata, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError("metadata must be JSON-serialisable") from exc
        values: dict[str, Any] = {
            ":cid": {"S": connection.connection_id},
            ":channel": {"S": channel},
            ":now": {"S": now.astimezone(timezone.utc).isoformat()},
            ":metadata": {"S": metadata_text},
            ":expires": {"N": str(_epoch(expires_at))},
        }
        sets = [
            "connection_id = :cid",
            "channel = :channel",
            "joined_at = if_not_exists(joined_at, :now)",
            "metadata = :metadata",
            "expires_at = :expires",
        ]
        if connection.user_id:
            values[":user"] = {"S": connection.user_id}
            sets.append("member_user = :user")
        if tenant:
            values[":tenant"] = {"S": tenant}
            sets.append("member_tenant = :tenant")
        update = "SET " + ", ".join(sets)
        index = self._index()
        expires = _epoch(expires_at)
        client = self.client
        number = index.next_number(ck)
        with aws_call("UpdateItem"):
            # The connection's item first: cleanup finds the subscription (and the index
            # bucket that holds it) through it. A subscription keeps its first number
            # (which names it) and bucket.
            mine = client.update_item(
                TableName=self.table_name,
                Key=_key("c#" + connection.connection_id, "s#" + ck),
                UpdateExpression=update + ", member_bucket = if_not_exists(member_bucket, :bucket)"
                ", member_n = if_not_exists(member_n, :n)",
                ExpressionAttributeValues={
                    **values,
                    ":bucket": {"S": bucket_of(number)},
                    ":n": {"N": str(number)},
                },
                ReturnValues="ALL_OLD",
            )
        before = mine.get("Attributes") or {}
        bucket = before.get("member_bucket", {}).get("S", bucket_of(number))
        ours = {"S": bucket}, before.get("member_n", {"N": str(number)})
        entry = index_entry(connection.connection_id, expires)
        try:
            with aws_call("UpdateItem"):
                # The member item names the subscription too, for an unsubscribe's retry.
                response = client.update_item(
                    TableName=self.table_name,
                    Key=_key("m#" + ck, connection.connection_id),
                    UpdateExpression=update + ", member_bucket = :bucket, member_n = :n",
                    ExpressionAttributeValues={**values, ":bucket": ours[0], ":n": ours[1]},
                    ReturnValues="ALL_OLD",
                )
            index.add(ck, bucket, entry, expires)
            if "expires_at" in before and "member_bucket" in before:
                previous = index_entry(connection.connection_id, int(before["expires_at"]["N"]))
                if previous != entry:  # the connection's expiry moved: one entry per member
                    index.remove(ck, bucket, [previous])
            self._require_record(connection.connection_id, ck, ours[1]["N"], bucket, entry)
        except ConnectionStoreError:
            if not before:  # a new subscription left half-written: taken back if possible
                with suppress(ConnectionStoreError):
                    self._take_back(connection.connection_id, ck, ours[1]["N"], bucket, entry)
            raise
        old = response.get("Attributes")
        member = Member(
            connection_id=connection.connection_id,
            user_id=connection.user_id or None,
            joined_at=_member(old).joined_at if old else now,
            metadata=json.loads(metadata_text),
            channel=channel,
            tenant_id=tenant,
            expires_at=datetime.fromtimestamp(expires, timezone.utc),
        )
        return member, not old

    def unsubscribe(self, connection_id: str, tenant_id: str | None, channel: str) -> Member | None:
        """Delete the connection's channel item, leave the index, then delete the member
        item (reporting it).

        The channel item goes first: a subscribe running meanwhile then finds it gone
        and takes its own writes back. The member item names the index bucket too, so
        an unsubscribe cut short after the first delete is finished by a retry.
        """
        ck = channel_key(tenant_id, channel)
        member_key = _key("m#" + ck, connection_id)
        client = self.client
        with aws_call("DeleteItem"):
            mine = client.delete_item(
                TableName=self.table_name,
                Key=_key("c#" + connection_id, "s#" + ck),
                ReturnValues="ALL_OLD",
            ).get("Attributes")
        if mine is None:  # a retry, or an unsubscribe from nothing
            with aws_call("GetItem"):
                mine = client.get_item(
                    TableName=self.table_name, Key=member_key, ConsistentRead=True
                ).get("Item")
        self._leave_index(connection_id, ck, mine)
        params: dict[str, Any] = {}
        number = (mine or {}).get("member_n")
        if number is not None:  # not the member item of a subscribe that came after
            params = {
                "ConditionExpression": "attribute_not_exists(member_n) OR member_n = :n",
                "ExpressionAttributeValues": {":n": number},
            }
        try:
            with aws_call("DeleteItem"):
                response = client.delete_item(
                    TableName=self.table_name, Key=member_key, ReturnValues="ALL_OLD", **params
                )
        except ConnectionStoreError as exc:
            if exc.aws_code != _CONDITION_FAILED or mine is None:
                raise
            # A later subscription of the same channel: its entry may be the one left.
            self._rejoin_index(connection_id, ck)
            return _member(mine)  # the subscription this call ended
        old = response.get("Attributes")
        return _member(old) if old else None

    def channels_of(self, connection_id: str) -> list[str]:
        """The connection's live channels, sorted (one ``Query`` of its partition)."""
        now = self._now_epoch()
        return sorted(
            item["channel"]["S"]
            for item in query_items(
                self.client,
                self.table_name,
                "c#" + connection_id,
                begins_with="s#",
                attributes="channel, expires_at",
            )
            if _live(item, now)
        )

    def members(
        self, tenant_id: str | None, channel: str, *, expired: list[Member] | None = None
    ) -> Iterator[Member]:
        """Live subscribers, page by page; expired ones go to ``expired`` when given."""
        now = self._now_epoch()
        for item in query_items(
            self.client, self.table_name, "m#" + channel_key(tenant_id, channel)
        ):
            if _live(item, now):
                yield _member(item)
            elif expired is not None:
                expired.append(_member(item))

    def member_ids(
        self, tenant_id: str | None, channel: str, *, expired: list[str] | None = None
    ) -> Iterator[str]:
        """Ids of live subscribers, read from the channel's index (a few items)."""
        return self._index().ids(channel_key(tenant_id, channel), self._now_epoch(), expired)

    def member_ids_page(
        self, tenant_id: str | None, channel: str, cursor: str | None, limit: int
    ) -> tuple[list[str], str | None]:
        """One page of live subscriber ids from the index, after ``cursor``."""
        ck = channel_key(tenant_id, channel)
        return self._index().page(ck, cursor, limit, self._now_epoch())

    def remove_connection(self, connection_id: str) -> list[Member]:
        """Delete every subscription, then the connection's items (retries finish the job).

        Each subscription leaves the channel's index, then its member item is deleted on
        its own with ``ReturnValues=ALL_OLD``, so of several concurrent cleanups exactly
        one reports each member. The connection's own items (its channel items and
        record) go last, in batches: a cleanup cut short is completed by the next one,
        which finds what is left through them.
        """
        if not connection_id:
            return []
        removed: list[Member] = []
        for round_ in range(_CLEANUP_ROUNDS):
            items = list(
                query_items(
                    self.client,
                    self.table_name,
                    "c#" + connection_id,
                    attributes="pk, sk, member_bucket, expires_at",
                )
            )
            if not items and round_:
                break
            try:
                self._remove_subscriptions(connection_id, items, removed)
                keys = [
                    {KEY_ATTRIBUTE: i[KEY_ATTRIBUTE], SORT_ATTRIBUTE: i[SORT_ATTRIBUTE]}
                    for i in items
                ]
                batch_write(
                    self.client,
                    self.table_name,
                    [
                        {"DeleteRequest": {"Key": key}}
                        for key in keys or [record_key(connection_id)]
                    ],
                )
            except ConnectionStoreError as exc:
                # Removed subscriptions are reported, so that their leaves are announced.
                raise CleanupIncompleteError(exc.operation, exc.aws_code, removed) from exc
            # Look again: a subscribe that read the record before it was deleted may have
            # written its items since (it checks the record last, and takes them back itself
            # only when it finds the record gone).
        return removed

    def _remove_subscriptions(
        self, connection_id: str, items: list[dict[str, Any]], removed: list[Member]
    ) -> None:
        """Take each subscription among the connection's ``items`` out of its channel."""
        for item in items:
            sort = item[SORT_ATTRIBUTE]["S"]
            if not sort.startswith("s#"):
                continue
            self._leave_index(connection_id, sort[2:], item)
            with aws_call("DeleteItem"):
                response = self.client.delete_item(
                    TableName=self.table_name,
                    Key=_key("m#" + sort[2:], connection_id),
                    ReturnValues="ALL_OLD",
                )
            old = response.get("Attributes")
            if old:
                removed.append(_member(old))

    # -- Helpers ---------------------------------------------------------------------

    def _require_record(
        self, connection_id: str, ck: str, number: str, bucket: str, entry: str
    ) -> None:
        """After subscribing: if the connection's record is gone (its ``$disconnect`` ran
        meanwhile) or expired, take the subscription back and refuse (409).

        If the connection's channel item is gone (an unsubscribe ran meanwhile) or names
        another subscription (``member_n``), this subscription's entry and member item
        are taken back: the unsubscribe came last.
        """
        client = self.client
        with aws_call("GetItem"):
            found = client.get_item(
                TableName=self.table_name,
                Key=record_key(connection_id),
                ConsistentRead=True,
                ProjectionExpression="pk, expires_at",
            ).get("Item")
            mine = client.get_item(
                TableName=self.table_name,
                Key=_key("c#" + connection_id, "s#" + ck),
                ConsistentRead=True,
                ProjectionExpression="member_n",
            ).get("Item")
        alive = found is not None and _live(found, self._now_epoch())
        if alive and mine is not None and mine.get("member_n", {}).get("N") == number:
            return
        self._take_back(connection_id, ck, number, bucket, entry, channel_item=not alive)
        if not alive:
            raise LiftError(409, "NOT_CONNECTED", "This connection is not in the connection store")
        if mine is not None:  # a later subscription's entry may be the one just removed
            self._rejoin_index(connection_id, ck)

    def _take_back(
        self,
        connection_id: str,
        ck: str,
        number: str,
        bucket: str,
        entry: str,
        *,
        channel_item: bool = True,
    ) -> None:
        """Remove subscription ``number``'s index entry and member item (and channel item);
        the items of another subscription (a later one's) stay."""
        self._index().remove(ck, bucket, [entry])
        keys = [_key("m#" + ck, connection_id)]
        if channel_item:
            keys.append(_key("c#" + connection_id, "s#" + ck))
        for key in keys:
            try:
                with aws_call("DeleteItem"):
                    self.client.delete_item(
                        TableName=self.table_name,
                        Key=key,
                        ConditionExpression="attribute_not_exists(member_n) OR member_n = :n",
                        ExpressionAttributeValues={":n": {"N": number}},
                    )
            except ConnectionStoreError as exc:
                if exc.aws_code != _CONDITION_FAILED:
                    raise

    def _rejoin_index(self, connection_id: str, ck: str) -> None:
        """Add the entry of the connection's current subscription to ``ck`` again (an
        earlier one's removal may have taken the same text)."""
        with aws_call("GetItem"):
            mine = self.client.get_item(
                TableName=self.table_name,
                Key=_key("c#" + connection_id, "s#" + ck),
                ConsistentRead=True,
                ProjectionExpression="member_bucket, expires_at",
            ).get("Item")
        if mine is None or "member_bucket" not in mine or "expires_at" not in mine:
            return
        expires = int(mine["expires_at"]["N"])
        entry = index_entry(connection_id, expires)
        self._index().add(ck, mine["member_bucket"]["S"], entry, expires)

    def _index(self) -> SubscriberIndex:
        return SubscriberIndex(self.client, self.table_name)

    def _leave_index(self, connection_id: str, ck: str, item: dict[str, Any] | None) -> None:
        """Remove a subscription's entry from the index (``item``: its channel item)."""
        if item is None or "member_bucket" not in item or "expires_at" not in item:
            return
        entry = index_entry(connection_id, int(item["expires_at"]["N"]))
        self._index().remove(ck, item["member_bucket"]["S"], [entry])

    def _now_epoch(self) -> int:
        return _epoch(self._clock())


def _member(item: dict[str, Any]) -> Member:
    expires = item.get("expires_at")
    return Member(
        connection_id=item["connection_id"]["S"],
        user_id=item["member_user"]["S"] if "member_user" in item else None,
        joined_at=datetime.fromisoformat(item["joined_at"]["S"]),
        metadata=json.loads(item["metadata"]["S"]) if "metadata" in item else {},
        channel=item["channel"]["S"],
        tenant_id=item["member_tenant"]["S"] if "member_tenant" in item else None,
        expires_at=(
            None if expires is None else datetime.fromtimestamp(int(expires["N"]), timezone.utc)
        ),
    )
