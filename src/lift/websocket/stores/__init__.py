"""Connection store implementations.

``memory.MemoryConnectionStore`` keeps records in process; ``dynamodb.DynamoDBConnectionStore``
keeps them in a DynamoDB table. Import them from :mod:`lift.websocket` (loaded on first use).
"""

from __future__ import annotations

import os

from ..connection import ConnectionStore, ConnectionStoreError

__all__ = ["CONNECTIONS_TABLE_ENV", "ConnectionStoreError", "default_store"]

CONNECTIONS_TABLE_ENV = "LIFT_CONNECTIONS_TABLE"
"""Names the DynamoDB connections table (``lift template`` sets it on the function)."""


def default_store() -> ConnectionStore:
    """The store for ``auto_connections`` when none is given.

    A :class:`~lift.websocket.stores.dynamodb.DynamoDBConnectionStore` on the table
    named by ``LIFT_CONNECTIONS_TABLE`` (as deployed), else a
    :class:`~lift.websocket.stores.memory.MemoryConnectionStore` (local runs and tests).
    """
    table = os.environ.get(CONNECTIONS_TABLE_ENV)
    if table:
        from .dynamodb import DynamoDBConnectionStore

        return DynamoDBConnectionStore(table)
    from .memory import MemoryConnectionStore

    return MemoryConnectionStore()
