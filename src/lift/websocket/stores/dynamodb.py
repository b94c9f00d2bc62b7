"""DynamoDBConnectionStore: connections and channels in one DynamoDB table.

The table's key is ``pk`` (partition, S) and ``sk`` (sort, S). A connection's record is
the item ``pk = "c#<connection_id>"``, ``sk = "#"`` (channel items: see
:mod:`.dynamodb_channels`). Record attributes (low-level attribute values)::

    connection_id  S  the connection's id
    user_id        S  key of the sparse GSI ``by_user``; absent for anonymous connections
    tenant_id      S  key of the sparse GSI ``by_tenant``; absent when there is no tenant
    connected_at   S  ISO 8601, UTC
    endpoint       S  absent when None
    claims         S  JSON text
    metadata       S  JSON text
    expires_at     N  epoch seconds; the table's TTL attribute

``user_id``/``tenant_id`` are left out rather than written empty: DynamoDB rejects an
empty string as an index key, and an absent key keeps the item out of that index.
``claims`` and ``metadata`` are stored as JSON text, not as DynamoDB maps: any JSON value
then round-trips unchanged (floats need no ``Decimal``, ``null`` and nested lists survive,
no type descriptors), and the store never has to read inside them.
"""

from __future__ import annotations

import json
import math
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from ..connection import (
    Connection,
    ConnectionStoreError,
    as_utc,
    check_connection_id,
    expiry,
    utc_now,
)
from .dynamodb_channels import (
    KEY_ATTRIBUTE,
    RECORD_SORT,
    SORT_ATTRIBUTE,
    DynamoDBChannels,
    aws_call,
    record_key,
)

__all__ = [
    "table_definition",
    "ENDPOINT_ENV",
    "KEY_ATTRIBUTE",
    "SORT_ATTRIBUTE",
    "TENANT_ATTRIBUTE",
    "TENANT_INDEX",
    "TTL_ATTRIBUTE",
    "USER_ATTRIBUTE",
    "USER_INDEX",
    "ConnectionStoreError",
    "DynamoDBConnectionStore",
]

#: Environment variable naming a DynamoDB endpoint (DynamoDB Local, moto) for development.
ENDPOINT_ENV = "LIFT_DYNAMODB_ENDPOINT"

USER_ATTRIBUTE = "user_id"
TENANT_ATTRIBUTE = "tenant_id"
TTL_ATTRIBUTE = "expires_at"
"""Epoch seconds; the table's TTL attribute."""
USER_INDEX = "by_user"
"""Sparse GSI keyed by ``user_id``."""
TENANT_INDEX = "by_tenant"
"""Sparse GSI keyed by ``tenant_id``."""

_METADATA_ATTEMPTS = 12

_CLIENTS: dict[tuple[str | None, str | None], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def _shared_client(region: str | None, endpoint_url: str | None) -> Any:
    """The process-wide low-level ``dynamodb`` client for ``(region, endpoint_url)``."""
    key = (region, endpoint_url)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            import boto3
            from botocore.config import Config

            # Sessions are not thread-safe; clients are, so one is built here and shared.
            client = boto3.session.Session().client(
                "dynamodb",
                region_name=region,
                endpoint_url=endpoint_url,
                config=Config(retries={"mode": "standard", "max_attempts": 4}),
            )
            _CLIENTS[key] = client
        return client


def table_definition() -> dict[str, Any]:
    """Billing, keys and both sparse indexes of the connections (and channels) table.

    ``create_table`` passes it to DynamoDB and ``lift template`` puts it in the
    CloudFormation table, so the two can never differ. TTL is set separately.
    """
    return {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"}
            for name in (KEY_ATTRIBUTE, SORT_ATTRIBUTE, USER_ATTRIBUTE, TENANT_ATTRIBUTE)
        ],
        "KeySchema": [
            {"AttributeName": KEY_ATTRIBUTE, "KeyType": "HASH"},
            {"AttributeName": SORT_ATTRIBUTE, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [{"AttributeName": attribute, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, attribute in ((USER_INDEX, USER_ATTRIBUTE), (TENANT_INDEX, TENANT_ATTRIBUTE))
        ],
    }


class DynamoDBConnectionStore(DynamoDBChannels):
    """Connections (and their channels) in the DynamoDB table ``table_name``.

    ``ttl`` sets ``expires_at`` for connections saved without one (``connected_at + ttl``;
    API Gateway closes a connection after 2 hours). ``client`` is a boto3 ``dynamodb``
    client; without it one client per process and ``(region, endpoint_url)`` is created on
    first use and shared. The endpoint is ``endpoint_url``, else env
    ``LIFT_DYNAMODB_ENDPOINT``, else AWS's; the region is ``region``, else ``AWS_REGION``,
    else ``AWS_DEFAULT_REGION``, else boto3's own configuration (never a silent default).
    ``clock`` returns the current aware datetime (tests pass their own).

    Expired items that DynamoDB's TTL sweeper has not yet removed are filtered out of every
    read. ``get`` and ``count_active`` are strongly consistent; ``list_by_user`` and
    ``list_by_tenant`` read global secondary indexes, which are eventually consistent, so a
    connection saved a moment ago may be missing from them briefly. Failures raise
    :class:`ConnectionStoreError` (503) with a generic message. Channel operations
    (:class:`~lift.websocket.channel.ChannelStore`) are described in
    :mod:`.dynamodb_channels`; ``delete`` removes the connection from every channel.
    """

    def __init__(
        self,
        table_name: str,
        *,
        ttl: timedelta = timedelta(hours=2),
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if not table_name:
            raise ValueError("table_name must be a non-empty string")
        if ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        self.table_name = table_name
        self.ttl = ttl
        self._client = client
        self._region = (
            region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        )
        self._endpoint_url = endpoint_url or os.environ.get(ENDPOINT_ENV) or None
        self._clock = clock

    @property
    def client(self) -> Any:
        """The low-level boto3 ``dynamodb`` client this store uses."""
        if self._client is None:
            with aws_call("CreateClient"):
                self._client = _shared_client(self._region, self._endpoint_url)
        return self._client

    # -- ConnectionStore -------------------------------------------------------------

    def save(self, connection: Connection) -> None:
        """Write the item (``PutItem``), replacing any previous record of this id."""
        item = self._to_item(connection)
        with aws_call("PutItem"):
            self.client.put_item(TableName=self.table_name, Item=item)

    def get(self, connection_id: str) -> Connection | None:
        """The record (strongly consistent read), or ``None`` when absent or expired."""
        if not connection_id:
            return None
        with aws_call("GetItem"):
            response = self.client.get_item(
                TableName=self.table_name, Key=record_key(connection_id), ConsistentRead=True
            )
        item = response.get("Item")
        if item is None:
            return None
        connection = _from_item(item)
        return None if connection.is_expired(self._clock()) else connection

    def delete(self, connection_id: str) -> None:
        """Remove the record and every subscription; deleting an absent one is not an error."""
        self.remove_connection(connection_id)

    def update_metadata(self, connection_id: str, fields: dict[str, Any]) -> Connection | None:
        """Merge ``fields`` into the record's metadata (``None`` when there is no record).

        A read, then an ``UpdateItem`` conditioned on the metadata read, retried when
        another writer got there first, so concurrent updates never lose each other.
        """
        if not isinstance(fields, dict):
            raise TypeError("metadata must be a dict")
        for attempt in range(_METADATA_ATTEMPTS):
            if attempt:  # another writer got there first: back off (full jitter), then reread
                time.sleep(random.uniform(0, min(0.5, 0.01 * 2**attempt)))  # noqa: S311
            current = self.get(connection_id)
            if current is None:
                return None
            old_text = json.dumps(current.metadata, separators=(",", ":"), allow_nan=False)
            merged = {**current.metadata, **fields}
            try:
                new_text = json.dumps(merged, separators=(",", ":"), allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise TypeError("metadata must be JSON-serialisable") from exc
            from botocore.exceptions import ClientError

            try:
                self.client.update_item(
                    TableName=self.table_name,
                    Key=record_key(connection_id),
                    UpdateExpression="SET metadata = :new",
                    ConditionExpression="metadata = :old",
                    ExpressionAttributeValues={":new": {"S": new_text}, ":old": {"S": old_text}},
                )
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if code == "ConditionalCheckFailedException":
                    continue
                raise ConnectionStoreError("UpdateItem", code) from exc
            except Exception as exc:
                raise ConnectionStoreError("UpdateItem") from exc
            current.metadata = merged
            return current
        raise ConnectionStoreError("UpdateItem", "ConditionalCheckFailedException")

    def list_by_user(self, user_id: str) -> Iterator[Connection]:
        """Every live connection of ``user_id``, read page by page from ``by_user``."""
        return self._query(USER_INDEX, "user_id", user_id)

    def list_by_tenant(self, tenant_id: str) -> Iterator[Connection]:
        """Every live connection of ``tenant_id``, read page by page from ``by_tenant``."""
        return self._query(TENANT_INDEX, "tenant_id", tenant_id)

    def count_active(self) -> int:
        """The exact number of unexpired connections.

        A strongly consistent ``Scan`` with ``Select=COUNT`` and the filter
        ``sk = "#" AND expires_at > now`` (records only), followed to the last page. Its cost
        is O(table size): every item (channel items, and expired ones the TTL sweeper has
        not removed yet, included) is read, so one count consumes about one read unit per
        4 KB of table and one request per MB. It is meant for dashboards and checks, not
        the per-message path.

        No counter item is kept: TTL deletions happen without any call through this store,
        and a repeated delete or an overwrite would have to be told apart from a new
        connection on every write, so a counter drifts. An index on a constant key would be
        cheaper to count but is eventually consistent and puts every write on one partition.
        """
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "Select": "COUNT",
            # Channel items, rate-limit counters and fan-out progress share the table:
            # count connection records only.
            "FilterExpression": "sk = :record AND expires_at > :now",
            "ExpressionAttributeValues": {
                ":now": {"N": str(self._now_epoch())},
                ":record": {"S": RECORD_SORT},
            },
            "ConsistentRead": True,
        }
        total = 0
        while True:
            with aws_call("Scan"):
                page = self.client.scan(**params)
            total += int(page.get("Count", 0))
            last_key = page.get("LastEvaluatedKey")
            if not last_key:
                return total
            params["ExclusiveStartKey"] = last_key

    # -- Table management ------------------------------------------------------------

    def create_table(self, *, timeout: float = 300.0) -> None:
        """Create the table with its indexes and TTL (for development and tests).

        On-demand billing, GSIs ``by_user`` and ``by_tenant`` projecting all attributes,
        TTL on ``expires_at``. Waits until the table and its indexes are active. Nothing is
        created when the table already exists; TTL is still enabled if it is off.
        """
        from botocore.exceptions import ClientError

        client = self.client
        with aws_call("CreateTable"):
            try:
                client.create_table(TableName=self.table_name, **table_definition())
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
                    raise
        self._wait_active(timeout)
        with aws_call("UpdateTimeToLive"):
            description = client.describe_time_to_live(TableName=self.table_name)
            status = description.get("TimeToLiveDescription", {}).get("TimeToLiveStatus")
            if status not in ("ENABLED", "ENABLING"):
                client.update_time_to_live(
                    TableName=self.table_name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
                )

    def _wait_active(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with aws_call("DescribeTable"):
                table = self.client.describe_table(TableName=self.table_name)["Table"]
            statuses = [table.get("TableStatus")] + [
                index.get("IndexStatus") for index in table.get("GlobalSecondaryIndexes", [])
            ]
            if all(status == "ACTIVE" for status in statuses):
                return
            if time.monotonic() >= deadline:
                raise ConnectionStoreError("DescribeTable", "Timeout")
            time.sleep(2.0)

    # -- Helpers ---------------------------------------------------------------------

    def _query(self, index: str, attribute: str, value: str) -> Iterator[Connection]:
        if not value:
            return iter(())
        return self._pages(index, attribute, value)

    def _pages(self, index: str, attribute: str, value: str) -> Iterator[Connection]:
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": index,
            "KeyConditionExpression": "#key = :value",
            # Rate-limit counters share the table; they carry rate_count, records never do.
            "FilterExpression": "expires_at > :now AND attribute_not_exists(rate_count)",
            "ExpressionAttributeNames": {"#key": attribute},
            "ExpressionAttributeValues": {
                ":value": {"S": value},
                ":now": {"N": str(self._now_epoch())},
            },
        }
        while True:
            with aws_call("Query"):
                page = self.client.query(**params)
            for item in page.get("Items", []):
                yield _from_item(item)
            last_key = page.get("LastEvaluatedKey")
            if not last_key:
                return
            params["ExclusiveStartKey"] = last_key

    def _to_item(self, connection: Connection) -> dict[str, dict[str, str]]:
        check_connection_id(connection.connection_id)
        connected_at = as_utc(connection.connected_at)
        expires_at = expiry(connection, self.ttl)
        try:
            claims = json.dumps(connection.claims, separators=(",", ":"), allow_nan=False)
            metadata = json.dumps(connection.metadata, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError("Connection claims and metadata must be JSON-serialisable") from exc
        item = {
            **record_key(connection.connection_id),
            "connection_id": {"S": connection.connection_id},
            "connected_at": {"S": connected_at.astimezone(timezone.utc).isoformat()},
            "claims": {"S": claims},
            "metadata": {"S": metadata},
            "expires_at": {"N": str(math.floor(expires_at.timestamp()))},
        }
        if connection.user_id:
            item["user_id"] = {"S": connection.user_id}
        if connection.tenant_id:
            item["tenant_id"] = {"S": connection.tenant_id}
        if connection.endpoint is not None:
            item["endpoint"] = {"S": connection.endpoint}
        return item


def _from_item(item: dict[str, Any]) -> Connection:
    expires = item.get("expires_at")
    return Connection(
        connection_id=item["connection_id"]["S"],
        user_id=item["user_id"]["S"] if "user_id" in item else None,
        tenant_id=item["tenant_id"]["S"] if "tenant_id" in item else None,
        connected_at=datetime.fromisoformat(item["connected_at"]["S"]),
        endpoint=item["endpoint"]["S"] if "endpoint" in item else None,
        claims=json.loads(item["claims"]["S"]) if "claims" in item else {},
        metadata=json.loads(item["metadata"]["S"]) if "metadata" in item else {},
        expires_at=(
            None
            if expires is None
            else datetime.fromtimestamp(int(Decimal(expires["N"])), timezone.utc)
        ),
    )
