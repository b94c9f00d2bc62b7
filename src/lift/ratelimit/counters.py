"""Counter stores for rate limits: atomic "add one unless at the limit" with expiry.

Two implementations of one small protocol: :class:`MemoryCounterStore` (one process;
tests and ``lift dev``) and :class:`DynamoDBCounterStore`, which keeps each counter as
its own item in the connections table. A counter item's key is ``rate#...``; API Gateway
connection ids never contain ``#``, so a counter never collides with a connection
record, and it has no ``user_id``/``tenant_id`` so it stays out of the sparse indexes.
Its ``expires_at`` lets the table's TTL remove it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from ..errors import LiftError

__all__ = [
    "COUNT_ATTRIBUTE",
    "CounterStore",
    "CounterStoreError",
    "DynamoDBCounterStore",
    "MemoryCounterStore",
]

COUNT_ATTRIBUTE = "rate_count"
"""The number attribute of a counter item (connection records never have it)."""


class CounterStoreError(LiftError):
    """The counter store failed (503 ``RATE_LIMIT_UNAVAILABLE``); the cause is chained."""

    def __init__(self, operation: str = "", aws_code: str = "") -> None:
        super().__init__(503, "RATE_LIMIT_UNAVAILABLE", "The rate limiter is unavailable")
        self.operation = operation
        self.aws_code = aws_code


@runtime_checkable
class CounterStore(Protocol):
    """Counters shared by every instance of an app."""

    def add(self, key: str, *, limit: int, expires_at: float) -> bool:
        """Add one to ``key`` unless it already counts ``limit`` or more; whether it did.

        A new counter expires at ``expires_at`` (epoch seconds). Atomic.
        """

    def count(self, key: str) -> int:
        """The current value of ``key`` (0 when absent or expired)."""


class MemoryCounterStore:
    """Counters in this process (thread-safe). Instances of a deployed app share nothing,
    so a deployed app uses :class:`DynamoDBCounterStore`."""

    def __init__(self, *, clock: Callable[[], float] = time.time, max_keys: int = 100_000):
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._max_keys = max_keys

    def add(self, key: str, *, limit: int, expires_at: float) -> bool:
        """See :meth:`CounterStore.add`."""
        now = self._clock()
        with self._lock:
            count, expiry = self._counts.get(key, (0, expires_at))
            if expiry <= now:
                count, expiry = 0, expires_at
            if count >= limit:
                return False
            if len(self._counts) >= self._max_keys and key not in self._counts:
                self._purge(now)
            self._counts[key] = (count + 1, expiry)
            return True

    def count(self, key: str) -> int:
        """See :meth:`CounterStore.count`."""
        with self._lock:
            count, expiry = self._counts.get(key, (0, 0.0))
        return count if expiry > self._clock() else 0

    def _purge(self, now: float) -> None:
        for key in [k for k, (_, expiry) in self._counts.items() if expiry <= now]:
            del self._counts[key]
        if len(self._counts) >= self._max_keys:  # bounded even when nothing has expired
            for key in list(self._counts)[: len(self._counts) // 2]:
                del self._counts[key]


class DynamoDBCounterStore:
    """Counters as items of the DynamoDB table ``table_name`` (the connections table).

    ``add`` is one ``UpdateItem``: ``ADD rate_count :one`` under the condition that the
    counter is absent or below the limit, so concurrent hits from any number of instances
    are counted exactly. ``key_attribute`` is the table's partition key
    (``connection_id`` for :class:`~lift.websocket.DynamoDBConnectionStore`'s table);
    ``sort_key`` an ``(attribute, value)`` pair for a table with a sort key.
    ``ttl_attribute`` is the table's TTL attribute. The client, region and endpoint are
    chosen as the connection store chooses them.
    """

    def __init__(
        self,
        table_name: str,
        *,
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        key_attribute: str = "connection_id",
        sort_key: tuple[str, str] | None = None,
        ttl_attribute: str = "expires_at",
    ) -> None:
        if not table_name:
            raise ValueError("table_name must be a non-empty string")
        self.table_name = table_name
        self.key_attribute = key_attribute
        self.sort_key = sort_key
        self.ttl_attribute = ttl_attribute
        self._client = client
        self._region = (
            region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        )
        self._endpoint_url = endpoint_url or os.environ.get("LIFT_DYNAMODB_ENDPOINT") or None

    @property
    def client(self) -> Any:
        """The low-level ``dynamodb`` client (shared per process unless one was given)."""
        if self._client is None:
            from ..websocket.stores.dynamodb import _shared_client

            self._client = _shared_client(self._region, self._endpoint_url)
        return self._client

    def _key(self, key: str) -> dict[str, dict[str, str]]:
        item_key = {self.key_attribute: {"S": key}}
        if self.sort_key is not None:
            item_key[self.sort_key[0]] = {"S": self.sort_key[1]}
        return item_key

    def add(self, key: str, *, limit: int, expires_at: float) -> bool:
        """See :meth:`CounterStore.add`."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=self._key(key),
                UpdateExpression="ADD #count :one SET #ttl = if_not_exists(#ttl, :ttl)",
                ConditionExpression="attribute_not_exists(#count) OR #count < :limit",
                ExpressionAttributeNames={"#count": COUNT_ATTRIBUTE, "#ttl": self.ttl_attribute},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(limit)},
                    ":ttl": {"N": str(int(expires_at) + 1)},
                },
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code == "ConditionalCheckFailedException":
                return False
            raise CounterStoreError("UpdateItem", code) from exc
        except BotoCoreError as exc:
            raise CounterStoreError("UpdateItem") from exc
        return True

    def count(self, key: str) -> int:
        """See :meth:`CounterStore.count` (a strongly consistent read).

        Keys name their window, so an item the TTL sweeper has not removed yet is only
        ever read for its own window.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.get_item(
                TableName=self.table_name,
                Key=self._key(key),
                ConsistentRead=True,
                ProjectionExpression="#count",
                ExpressionAttributeNames={"#count": COUNT_ATTRIBUTE},
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            raise CounterStoreError("GetItem", code) from exc
        except BotoCoreError as exc:
            raise CounterStoreError("GetItem") from exc
        item = answer.get("Item") or {}
        return int(item.get(COUNT_ATTRIBUTE, {}).get("N", "0"))
