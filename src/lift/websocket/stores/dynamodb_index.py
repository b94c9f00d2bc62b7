"""A channel's subscriber index: its subscribers' ids packed into a few items (DynamoDB).

A publish needs only the ids of a channel's subscribers. Reading them from the
per-subscriber items (``pk = "m#<ck>"``, which carry presence metadata for ``members``)
reads one item per subscriber; the index packs them instead::

    pk = "i#<ck>"  sk = "~n"              seq (N): subscriptions counted so far
    pk = "i#<ck>"  sk = "b#<20 digits>"   a bucket: member_entries (SS), expires_at (N)

An entry is ``"<connection_id> <expires_at>"`` (epoch seconds, the connection's expiry),
so a reader skips expired subscribers without reading their items. A new subscription
takes the counter's next number (``UpdateItem ADD``, atomic) and number ``n`` goes to
bucket ``(n - 1) // BUCKET_SIZE``: a bucket is only ever given ``BUCKET_SIZE`` entries,
however many instances subscribe at once. A connection id is at most 1 KiB (DynamoDB's
sort-key limit, which the subscriber item already imposes), so a bucket stays under
70 KB, far below the 400 KB item limit; with API Gateway's 16-character ids it is about
2 KB. Entries are added with ``ADD`` and removed with ``DELETE`` (idempotent set
operations), a bucket emptied by a removal is deleted, and a bucket's ``expires_at`` (the
table's TTL attribute) is the latest expiry of the entries it was given. The counter has
no TTL: were it to restart, old buckets could be given entries again.

1,000 subscribers are about 16 buckets: one ``Query`` page. 100,000 are about 1,600
buckets, some 3 MB: three pages, instead of 100,000 items in about 15 pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from typing import Any

from ..connection import ConnectionStoreError
from .dynamodb_calls import SORT_ATTRIBUTE, aws_call, item_key

__all__ = [
    "BUCKET_SIZE",
    "INDEX_PREFIX",
    "SubscriberIndex",
    "bucket_of",
    "index_entry",
    "parse_entry",
]

BUCKET_SIZE = 64
"""The most entries a bucket is ever given."""
INDEX_PREFIX = "i#"
"""Partition prefix of a channel's index items."""
ENTRIES_ATTRIBUTE = "member_entries"

_COUNTER_SORT = "~n"
_BUCKET_PREFIX = "b#"
_BUCKET_LAST = "b#~"
_BUCKET_DIGITS = 20
_CONDITION_FAILED = "ConditionalCheckFailedException"
_LATER = "attribute_not_exists(expires_at) OR expires_at <= :expires"


def index_entry(connection_id: str, expires_at: int) -> str:
    """The index entry of a subscriber: ``"<connection_id> <expires_at>"``."""
    return f"{connection_id} {expires_at}"


def bucket_of(number: int) -> str:
    """The bucket of subscription number ``number`` (from 1)."""
    return f"{_BUCKET_PREFIX}{(number - 1) // BUCKET_SIZE:0{_BUCKET_DIGITS}d}"


def parse_entry(entry: str) -> tuple[str, int]:
    """``(connection_id, expires_at)`` of an entry (an id may hold spaces: split last)."""
    connection_id, _, expires = entry.rpartition(" ")
    return connection_id, int(expires)


class SubscriberIndex:
    """The index of the channels in one table, through one low-level client."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def next_bucket(self, ck: str) -> str:
        """The bucket of a new subscription of channel ``ck`` (counts it atomically)."""
        return bucket_of(self.next_number(ck))

    def next_number(self, ck: str) -> int:
        """The number of a new subscription of channel ``ck``, unique (counted atomically)."""
        with aws_call("UpdateItem"):
            response = self.client.update_item(
                TableName=self.table_name,
                Key=item_key(INDEX_PREFIX + ck, _COUNTER_SORT),
                UpdateExpression="ADD seq :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
                ReturnValues="UPDATED_NEW",
            )
        return int(response["Attributes"]["seq"]["N"])

    def add(self, ck: str, bucket: str, entry: str, expires_at: int) -> None:
        """Add ``entry`` to ``bucket``, raising the bucket's expiry to the entry's."""
        key = item_key(INDEX_PREFIX + ck, bucket)
        values = {":entry": {"SS": [entry]}, ":expires": {"N": str(expires_at)}}
        try:
            with aws_call("UpdateItem"):
                self.client.update_item(
                    TableName=self.table_name,
                    Key=key,
                    UpdateExpression=f"ADD {ENTRIES_ATTRIBUTE} :entry SET expires_at = :expires",
                    ConditionExpression=_LATER,
                    ExpressionAttributeValues=values,
                )
        except ConnectionStoreError as exc:
            if exc.aws_code != _CONDITION_FAILED:
                raise
            # The bucket outlives this entry already: add it, leaving the expiry as it is.
            with aws_call("UpdateItem"):
                self.client.update_item(
                    TableName=self.table_name,
                    Key=key,
                    UpdateExpression=f"ADD {ENTRIES_ATTRIBUTE} :entry",
                    ExpressionAttributeValues={":entry": values[":entry"]},
                )

    def remove(self, ck: str, bucket: str, entries: list[str]) -> None:
        """Remove ``entries`` from ``bucket``; a bucket left empty is deleted.

        Removing what is not there does nothing (and creates no item).
        """
        key = item_key(INDEX_PREFIX + ck, bucket)
        try:
            with aws_call("UpdateItem"):
                response = self.client.update_item(
                    TableName=self.table_name,
                    Key=key,
                    UpdateExpression=f"DELETE {ENTRIES_ATTRIBUTE} :entries",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":entries": {"SS": sorted(set(entries))}},
                    ReturnValues="ALL_NEW",
                )
        except ConnectionStoreError as exc:
            if exc.aws_code == _CONDITION_FAILED:
                return  # no such bucket
            raise
        if ENTRIES_ATTRIBUTE in response.get("Attributes", {}):
            return
        try:
            with aws_call("DeleteItem"):
                self.client.delete_item(
                    TableName=self.table_name,
                    Key=key,
                    ConditionExpression=f"attribute_not_exists({ENTRIES_ATTRIBUTE})",
                )
        except ConnectionStoreError as exc:
            if exc.aws_code != _CONDITION_FAILED:  # refilled meanwhile: it stays
                raise

    def ids(self, ck: str, now: int, expired: list[str] | None) -> Iterator[str]:
        """Live subscriber ids, each once, a ``Query`` page of buckets at a time.

        Expired entries are removed from their buckets as they are found (their
        subscriber items may already be gone, swept by TTL) and their ids go to
        ``expired`` when it is given.
        """
        seen: set[str] = set()
        for items in self._pages(ck, _BUCKET_PREFIX, None):
            live: list[str] = []
            stale: dict[str, list[str]] = {}
            lapsed: list[str] = []
            for item in items:
                for entry in item.get(ENTRIES_ATTRIBUTE, {}).get("SS", ()):
                    connection_id, expires_at = parse_entry(entry)
                    if expires_at <= now:
                        stale.setdefault(item[SORT_ATTRIBUTE]["S"], []).append(entry)
                        lapsed.append(connection_id)
                    elif connection_id not in seen:
                        seen.add(connection_id)
                        live.append(connection_id)
            for bucket, entries in stale.items():
                # On failure the next listing removes them; they are skipped meanwhile.
                with suppress(ConnectionStoreError):
                    self.remove(ck, bucket, entries)
            if expired is not None:
                expired.extend(i for i in dict.fromkeys(lapsed) if i not in seen)
            yield from live

    def page(
        self, ck: str, cursor: str | None, limit: int, now: int
    ) -> tuple[list[str], str | None]:
        """Up to ``limit`` live ids after ``cursor``, in (bucket, id) order, and the
        cursor of the next page (``"<bucket> <last id>"``; ``None`` after the last)."""
        limit = max(1, limit)
        start, _, after = (cursor or _BUCKET_PREFIX).partition(" ")
        if not start.startswith(_BUCKET_PREFIX):
            raise ValueError("not a channel listing cursor")
        out: list[str] = []
        last = ""
        for items in self._pages(ck, start, limit // BUCKET_SIZE + 2):
            for item in items:
                bucket = item[SORT_ATTRIBUTE]["S"]
                skip = after if bucket == start else ""
                ids = sorted(
                    {  # an id whose expiry moved may have two entries for a moment
                        connection_id
                        for connection_id, expires_at in map(
                            parse_entry, item.get(ENTRIES_ATTRIBUTE, {}).get("SS", ())
                        )
                        if expires_at > now and not (skip and connection_id <= skip)
                    }
                )
                for connection_id in ids:
                    if len(out) == limit:
                        return out, last
                    out.append(connection_id)
                    last = f"{bucket} {connection_id}"
        return out, None

    def _pages(self, ck: str, start: str, limit: int | None) -> Iterator[list[dict[str, Any]]]:
        """The buckets of ``ck`` from ``start`` on, one strongly consistent page at a time."""
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :start AND :last",
            "ExpressionAttributeValues": {
                ":pk": {"S": INDEX_PREFIX + ck},
                ":start": {"S": start},
                ":last": {"S": _BUCKET_LAST},
            },
            "ConsistentRead": True,
            "ProjectionExpression": f"sk, {ENTRIES_ATTRIBUTE}",
        }
        if limit is not None:
            params["Limit"] = limit
        while True:
            with aws_call("Query"):
                page = self.client.query(**params)
            yield page.get("Items", [])
            last_key = page.get("LastEvaluatedKey")
            if not last_key:
                return
            params["ExclusiveStartKey"] = last_key
