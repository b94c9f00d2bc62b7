"""What every DynamoDB call of the stores shares: the table's key, error translation,
paginated queries and batched writes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..connection import ConnectionStoreError

__all__ = [
    "KEY_ATTRIBUTE",
    "SORT_ATTRIBUTE",
    "aws_call",
    "batch_write",
    "item_key",
    "query_items",
]

KEY_ATTRIBUTE = "pk"
"""The table's partition key."""
SORT_ATTRIBUTE = "sk"
"""The table's sort key."""

_BATCH = 25
_BATCH_ATTEMPTS = 8


@contextmanager
def aws_call(operation: str) -> Iterator[None]:
    """Turn botocore failures into :class:`ConnectionStoreError`, chaining the original."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        raise ConnectionStoreError(operation, code) from exc
    except BotoCoreError as exc:
        raise ConnectionStoreError(operation) from exc


def item_key(pk: str, sk: str) -> dict[str, dict[str, str]]:
    """The low-level key of item ``(pk, sk)``."""
    return {KEY_ATTRIBUTE: {"S": pk}, SORT_ATTRIBUTE: {"S": sk}}


def query_items(
    client: Any,
    table_name: str,
    pk: str,
    *,
    begins_with: str | None = None,
    attributes: str | None = None,
    limit: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Every item of partition ``pk`` (strongly consistent), following LastEvaluatedKey."""
    params: dict[str, Any] = {
        "TableName": table_name,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": pk}},
        "ConsistentRead": True,
    }
    if begins_with is not None:
        params["KeyConditionExpression"] += " AND begins_with(sk, :prefix)"
        params["ExpressionAttributeValues"][":prefix"] = {"S": begins_with}
    if attributes is not None:
        params["ProjectionExpression"] = attributes
    if limit is not None:
        params["Limit"] = limit
    while True:
        with aws_call("Query"):
            page = client.query(**params)
        yield from page.get("Items", [])
        last_key = page.get("LastEvaluatedKey")
        if not last_key:
            return
        params["ExclusiveStartKey"] = last_key


def batch_write(client: Any, table_name: str, requests: list[dict[str, Any]]) -> None:
    """``BatchWriteItem`` in chunks of 25, re-sending unprocessed items with backoff."""
    for start in range(0, len(requests), _BATCH):
        pending: list[dict[str, Any]] = requests[start : start + _BATCH]
        for attempt in range(_BATCH_ATTEMPTS):
            with aws_call("BatchWriteItem"):
                response = client.batch_write_item(RequestItems={table_name: pending})
            pending = response.get("UnprocessedItems", {}).get(table_name, [])
            if not pending:
                break
            time.sleep(min(1.0, 0.05 * 2**attempt))
        else:
            raise ConnectionStoreError("BatchWriteItem", "UnprocessedItems")
