"""What the example apps' instances share when deployed: a DynamoDB table (moto's real
server) and one ``@connections`` endpoint (a local server), and nothing else."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from lift.local.connections import ConnectionsServer, MemoryConnectionRegistry
from lift.websocket import DynamoDBConnectionStore


class Deployment:
    """The shared table and ``@connections``; each instance makes its own store object."""

    def __init__(self, ddb: Any, table: str, registry: MemoryConnectionRegistry) -> None:
        self.ddb, self.table, self.registry = ddb, table, registry

    def store(self) -> DynamoDBConnectionStore:
        return DynamoDBConnectionStore(self.table, client=self.ddb)


class FrameReader:
    """The frames ``@connections`` delivered to each connection, each returned once."""

    def __init__(self, registry: MemoryConnectionRegistry) -> None:
        self.registry = registry
        self.read: dict[str, int] = {}

    def frames(self, cid: str) -> list[Any]:
        messages = self.registry.messages(cid)
        start = self.read.get(cid, 0)
        self.read[cid] = len(messages)
        return [json.loads(m) for m in messages[start:]]


@pytest.fixture
def deployment(ddb: Any, monkeypatch: pytest.MonkeyPatch, aws_env: None) -> Iterator[Deployment]:
    table = f"example-{uuid.uuid4().hex[:10]}"
    DynamoDBConnectionStore(table, client=ddb).create_table()
    registry = MemoryConnectionRegistry()
    try:
        with ConnectionsServer(registry, stage="prod") as server:
            monkeypatch.setenv("LIFT_WS_MANAGEMENT_ENDPOINT", server.endpoint)
            monkeypatch.setenv("AWS_REGION", "eu-west-1")
            yield Deployment(ddb, table, registry)
    finally:
        with contextlib.suppress(Exception):
            ddb.delete_table(TableName=table)
