"""Connection store implementations.

``memory.MemoryConnectionStore`` keeps records in process; ``dynamodb.DynamoDBConnectionStore``
keeps them in a DynamoDB table. Import them from :mod:`lift.websocket` (loaded on first use).
"""

from __future__ import annotations

from ..connection import ConnectionStoreError

__all__ = ["ConnectionStoreError"]
