"""What every DynamoDB call of the stores shares: the table's key and error translation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..connection import ConnectionStoreError

__all__ = ["KEY_ATTRIBUTE", "SORT_ATTRIBUTE", "aws_call", "item_key"]

KEY_ATTRIBUTE = "pk"
"""The table's partition key."""
SORT_ATTRIBUTE = "sk"
"""The table's sort key."""


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
