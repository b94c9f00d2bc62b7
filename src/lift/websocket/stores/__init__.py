"""Connection store implementations.

``memory.MemoryConnectionStore`` keeps records in process; ``dynamodb.DynamoDBConnectionStore``
keeps them in a DynamoDB table. Import them from :mod:`lift.websocket` (loaded on first use).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ..._lazy import lazy_attributes

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from ..connection import ConnectionStore, ConnectionStoreError

__all__ = [
    "CONNECTIONS_TABLE_ENV",
    "ConnectionStoreError",
    "default_store",
    "default_store_factory",
]

__getattr__ = lazy_attributes(__name__, {"ConnectionStoreError": "..connection"})

CONNECTIONS_TABLE_ENV = "LIFT_CONNECTIONS_TABLE"
"""Names the DynamoDB connections table (``lift template`` sets it on the function)."""


def default_store_factory() -> Callable[[], ConnectionStore]:
    """What :func:`default_store` would build now, as a function to call later.

    The environment is read here; the store's module is imported (and the store made)
    only when the result is called, so an app can name its store at import for free.
    """
    table = os.environ.get(CONNECTIONS_TABLE_ENV)
    if table:

        def dynamodb_store() -> ConnectionStore:
            from .dynamodb import DynamoDBConnectionStore

            return DynamoDBConnectionStore(table)

        return dynamodb_store

    def memory_store() -> ConnectionStore:
        from .memory import MemoryConnectionStore

        return MemoryConnectionStore()

    return memory_store


def default_store() -> ConnectionStore:
    """The store for ``auto_connections`` when none is given.

    A :class:`~lift.websocket.stores.dynamodb.DynamoDBConnectionStore` on the table
    named by ``LIFT_CONNECTIONS_TABLE`` (as deployed), else a
    :class:`~lift.websocket.stores.memory.MemoryConnectionStore` (local runs and tests).
    """
    return default_store_factory()()
