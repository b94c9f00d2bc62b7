"""Where fan-out jobs keep what outlives one invocation: progress, totals, payloads.

Three kinds of record, all expiring after :data:`RECORD_TTL` (SQS's longest retention,
so a record outlives every redelivery of its message):

* the **job**: shards written and finished, delivered/gone/failed totals, whether a
  listing is still open, and the payload when it is too large to repeat in every shard;
* a **shard's progress**: who works on it (SQS message id and receive count), the ids of
  the current round, how far it got (``done``), what it may have sent (``claimed``),
  ids to try again (``retry``) and its counts; written with a version check, so two
  copies of one message never both send;
* a **listing page**: the ids a listing message read, so a redelivered page writes the
  same shards again.

:class:`DynamoDBFanoutState` keeps them in a DynamoDB table (the connections table by
default; its key schema is read once, so a table with or without a sort key works);
:class:`MemoryFanoutState` in process (local runs, tests, or no table at all).
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .fanout import FanoutOptions

__all__ = [
    "RECORD_TTL",
    "DynamoDBFanoutState",
    "FanoutState",
    "JobTotals",
    "MemoryFanoutState",
    "Progress",
    "state_for",
]

RECORD_TTL = 14 * 24 * 3600
"""Seconds a fan-out record lives: SQS's longest message retention."""
_PAYLOAD_CACHE = 32


@dataclass
class Progress:
    """How far one shard got. ``work`` is ``None`` in the first round (the shard's ids)."""

    owner: str
    attempt: int
    work: list[str] | None = None
    done: int = 0
    claimed: int = 0
    retry: list[str] = field(default_factory=list)
    delivered: int = 0
    gone: int = 0
    failed: int = 0
    unconfirmed: int = 0
    final: bool = False
    version: int = 0
    updated: float = 0.0
    """When the record was last written (epoch seconds)."""


@dataclass(frozen=True)
class JobTotals:
    """A finished job's totals (for its one log line and metrics)."""

    job_id: str
    shards: int
    delivered: int
    gone: int
    failed: int
    seconds: float


class FanoutState(Protocol):
    """Records of fan-out jobs shared by every worker (see the module docstring)."""

    shared: bool
    """Whether other processes see these records (a table), or only this one."""

    def create_job(
        self, job_id: str, *, shards: int, listing: bool, payload: bytes | None, created: float
    ) -> None: ...

    def payload(self, job_id: str) -> bytes | None:
        """The payload stored with the job (``None`` when absent or expired)."""

    def progress(self, job_id: str, key: str) -> Progress | None:
        """A shard's progress (strongly consistent), ``None`` before its first attempt."""

    def save(self, job_id: str, key: str, progress: Progress) -> bool:
        """Write ``progress`` if the stored version is still ``progress.version`` (or
        absent when it is 0); bumps the version. ``False``: someone else wrote first."""

    def finish(self, job_id: str, key: str, progress: Progress) -> bool:
        """Like :meth:`save` with ``final`` set, adding the shard's counts to the job in
        the same atomic write."""

    def record_page(
        self, job_id: str, seq: int, ids: list[str], cursor: str | None, shards: int
    ) -> tuple[list[str], str | None]: ...

    def drop_shards(self, job_id: str, shards: int, *, close_listing: bool) -> None:
        """Count ``shards`` (never queued) and the listing fewer: the job ends without."""

    def job_line(self, job_id: str) -> JobTotals | None:
        """The totals, once, when every shard is finished and the listing closed."""


def _now() -> float:
    return time.time()


class MemoryFanoutState:
    """:class:`FanoutState` in this process (thread-safe)."""

    shared = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, dict[str, Any]] = {}
        self._progress: dict[tuple[str, str], Progress] = {}
        self._pages: dict[tuple[str, int], tuple[list[str], str | None]] = {}

    def create_job(
        self, job_id: str, *, shards: int, listing: bool, payload: bytes | None, created: float
    ) -> None:
        """Record a new job."""
        with self._lock:
            self._jobs[job_id] = {
                "shards": shards,
                "done": 0,
                "delivered": 0,
                "gone": 0,
                "failed": 0,
                "listing": listing,
                "payload": payload,
                "created": created,
                "logged": False,
            }

    def payload(self, job_id: str) -> bytes | None:
        """The stored payload."""
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else job["payload"]

    def progress(self, job_id: str, key: str) -> Progress | None:
        """A copy of the shard's progress."""
        with self._lock:
            found = self._progress.get((job_id, key))
            return None if found is None else Progress(**asdict(found))

    def save(self, job_id: str, key: str, progress: Progress) -> bool:
        """Conditional write (see :class:`FanoutState`)."""
        with self._lock:
            return self._put(job_id, key, progress)

    def _put(self, job_id: str, key: str, progress: Progress) -> bool:
        current = self._progress.get((job_id, key))
        if (current.version if current is not None else 0) != progress.version:
            return False
        progress.version += 1
        progress.updated = _now()
        self._progress[(job_id, key)] = Progress(**asdict(progress))
        return True

    def finish(self, job_id: str, key: str, progress: Progress) -> bool:
        """Mark the shard final and add its counts to the job."""
        with self._lock:
            progress.final = True
            if not self._put(job_id, key, progress):
                return False
            job = self._jobs.get(job_id)
            if job is not None:
                job["done"] += 1
                for name in ("delivered", "gone", "failed"):
                    job[name] += getattr(progress, name)
            return True

    def record_page(
        self, job_id: str, seq: int, ids: list[str], cursor: str | None, shards: int
    ) -> tuple[list[str], str | None]:
        """The page as first recorded (this one when new; the job's counts grow once)."""
        with self._lock:
            found = self._pages.get((job_id, seq))
            if found is not None:
                return found
            self._pages[(job_id, seq)] = (list(ids), cursor)
            job = self._jobs.get(job_id)
            if job is not None:
                job["shards"] += shards
                job["listing"] = cursor is not None
            return list(ids), cursor

    def drop_shards(self, job_id: str, shards: int, *, close_listing: bool) -> None:
        """Take never-queued shards (and the listing) out of the job."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                job["shards"] -= shards
                if close_listing:
                    job["listing"] = False

    def job_line(self, job_id: str) -> JobTotals | None:
        """Totals once the job is complete (once)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job["logged"] or job["listing"] or job["done"] < job["shards"]:
                return None
            job["logged"] = True
            return JobTotals(
                job_id,
                job["shards"],
                job["delivered"],
                job["gone"],
                job["failed"],
                round(_now() - job["created"], 3),
            )


class DynamoDBFanoutState:
    """:class:`FanoutState` in a DynamoDB table (``client``: a low-level boto3 client).

    Keys: with a sort key, partition ``fanout#<job>`` and sort ``job``, ``s#<shard>`` or
    ``p#<page>``; without one, the partition key alone, ``fanout#<job>#<...>``. Records
    carry the table's TTL attribute ``expires_at`` and no user or tenant attribute, so
    they stay out of the connection indexes.
    """

    shared = True

    def __init__(self, table_name: str, client: Any = None) -> None:
        self.table_name = table_name
        self._client = client
        self._schema: tuple[str, str | None] | None = None
        self._cache: OrderedDict[str, bytes | None] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The boto3 ``dynamodb`` client (created once per process)."""
        if self._client is None:
            from .stores.dynamodb import ENDPOINT_ENV, _shared_client

            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
            self._client = _shared_client(region, os.environ.get(ENDPOINT_ENV) or None)
        return self._client

    def _key(self, job_id: str, sort: str) -> dict[str, Any]:
        if self._schema is None:
            table = self.client.describe_table(TableName=self.table_name)["Table"]
            names = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
            self._schema = (names["HASH"], names.get("RANGE"))
        hash_name, range_name = self._schema
        if range_name is None:
            return {hash_name: {"S": f"fanout#{job_id}#{sort}"}}
        return {hash_name: {"S": f"fanout#{job_id}"}, range_name: {"S": sort}}

    @staticmethod
    def _expiry() -> dict[str, str]:
        return {"N": str(math.floor(_now()) + RECORD_TTL)}

    def create_job(
        self, job_id: str, *, shards: int, listing: bool, payload: bytes | None, created: float
    ) -> None:
        """Write the job record (``PutItem``)."""
        item: dict[str, Any] = {
            **self._key(job_id, "job"),
            "shards": {"N": str(shards)},
            "shards_done": {"N": "0"},
            "delivered": {"N": "0"},
            "gone": {"N": "0"},
            "failed": {"N": "0"},
            "listing_open": {"N": "1" if listing else "0"},
            "created": {"N": repr(created)},
            "expires_at": self._expiry(),
        }
        if payload is not None:
            item["payload"] = {"B": payload}
        self.client.put_item(TableName=self.table_name, Item=item)

    def payload(self, job_id: str) -> bytes | None:
        """The stored payload, cached per process (a job's payload never changes)."""
        with self._lock:
            if job_id in self._cache:
                self._cache.move_to_end(job_id)
                return self._cache[job_id]
        found = self.client.get_item(
            TableName=self.table_name,
            Key=self._key(job_id, "job"),
            ProjectionExpression="payload",
            ConsistentRead=True,
        ).get("Item")
        data = None if not found or "payload" not in found else bytes(found["payload"]["B"])
        with self._lock:
            self._cache[job_id] = data
            while len(self._cache) > _PAYLOAD_CACHE:
                self._cache.popitem(last=False)
        return data

    def progress(self, job_id: str, key: str) -> Progress | None:
        """The shard's progress (``GetItem``, strongly consistent)."""
        found = self.client.get_item(
            TableName=self.table_name, Key=self._key(job_id, f"s#{key}"), ConsistentRead=True
        ).get("Item")
        if not found or "state" not in found:
            return None
        return Progress(**json.loads(found["state"]["S"]))

    def _put_request(self, job_id: str, key: str, progress: Progress) -> dict[str, Any]:
        expected = progress.version
        progress.version += 1
        progress.updated = _now()
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": {
                **self._key(job_id, f"s#{key}"),
                "state": {"S": json.dumps(asdict(progress), separators=(",", ":"))},
                "version": {"N": str(progress.version)},
                "expires_at": self._expiry(),
            },
        }
        if expected == 0:
            request["ConditionExpression"] = "attribute_not_exists(version)"
        else:
            request["ConditionExpression"] = "version = :v"
            request["ExpressionAttributeValues"] = {":v": {"N": str(expected)}}
        return request

    def save(self, job_id: str, key: str, progress: Progress) -> bool:
        """Conditional ``PutItem`` on the version."""
        request = self._put_request(job_id, key, progress)
        try:
            self.client.put_item(**request)
        except self.client.exceptions.ConditionalCheckFailedException:
            progress.version -= 1
            return False
        return True

    def finish(self, job_id: str, key: str, progress: Progress) -> bool:
        """``TransactWriteItems``: the final progress and the job's ``ADD``."""
        progress.final = True
        put = self._put_request(job_id, key, progress)
        update = {
            "TableName": self.table_name,
            "Key": self._key(job_id, "job"),
            "UpdateExpression": "ADD shards_done :one, delivered :d, gone :g, failed :f",
            "ConditionExpression": "attribute_exists(shards)",
            "ExpressionAttributeValues": {
                ":one": {"N": "1"},
                ":d": {"N": str(progress.delivered)},
                ":g": {"N": str(progress.gone)},
                ":f": {"N": str(progress.failed)},
            },
        }
        try:
            self.client.transact_write_items(TransactItems=[{"Put": put}, {"Update": update}])
        except self.client.exceptions.TransactionCanceledException as exc:
            progress.version -= 1
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                # the job record expired or was never written: keep the progress only
                return self.save(job_id, key, progress)
            raise
        return True

    def record_page(
        self, job_id: str, seq: int, ids: list[str], cursor: str | None, shards: int
    ) -> tuple[list[str], str | None]:
        """Store the page and grow the job in one transaction; an existing page wins."""
        key = self._key(job_id, f"p#{seq}")
        page = json.dumps({"ids": ids, "cursor": cursor}, separators=(",", ":"))
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": {**key, "page": {"S": page}, "expires_at": self._expiry()},
                            "ConditionExpression": "attribute_not_exists(page)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": self._key(job_id, "job"),
                            "UpdateExpression": "ADD shards :n SET listing_open = :open",
                            "ExpressionAttributeValues": {
                                ":n": {"N": str(shards)},
                                ":open": {"N": "1" if cursor is not None else "0"},
                            },
                        }
                    },
                ]
            )
        except self.client.exceptions.TransactionCanceledException:
            found = self.client.get_item(
                TableName=self.table_name, Key=key, ConsistentRead=True
            ).get("Item")
            if not found:
                raise
            stored = json.loads(found["page"]["S"])
            return list(stored["ids"]), stored["cursor"]
        return ids, cursor

    def drop_shards(self, job_id: str, shards: int, *, close_listing: bool) -> None:
        """``ADD shards -n`` (and close the listing) on the job record."""
        expression = "ADD shards :minus"
        values: dict[str, Any] = {":minus": {"N": str(-shards)}}
        if close_listing:
            expression += " SET listing_open = :zero"
            values[":zero"] = {"N": "0"}
        self.client.update_item(
            TableName=self.table_name,
            Key=self._key(job_id, "job"),
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(shards)",
            ExpressionAttributeValues=values,
        )

    def job_line(self, job_id: str) -> JobTotals | None:
        """Claim the job's log line with a conditional update (one worker wins).

        The claim carries a token of its own, so the SDK retrying a claim that was
        written but not answered still gets it, instead of the line being lost.
        """
        token = uuid.uuid4().hex
        try:
            item = self.client.update_item(
                TableName=self.table_name,
                Key=self._key(job_id, "job"),
                UpdateExpression="SET logged = :token",
                ConditionExpression="(attribute_not_exists(logged) OR logged = :token) "
                "AND listing_open = :zero AND shards_done >= shards",
                ExpressionAttributeValues={":token": {"S": token}, ":zero": {"N": "0"}},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except self.client.exceptions.ConditionalCheckFailedException:
            return None

        def number(name: str) -> int:
            return int(item[name]["N"])

        return JobTotals(
            job_id,
            number("shards"),
            number("delivered"),
            number("gone"),
            number("failed"),
            round(_now() - float(item["created"]["N"]), 3),
        )


_memory: weakref.WeakKeyDictionary[Any, MemoryFanoutState] = weakref.WeakKeyDictionary()
_tables: dict[tuple[str, str | None, str | None], DynamoDBFanoutState] = {}
_states_lock = threading.Lock()


def state_for(app: Any, options: FanoutOptions) -> FanoutState:
    """The records of ``app``'s fan-out jobs.

    A table named by ``FanoutOptions.table``, env ``LIFT_FANOUT_TABLE``, env
    ``LIFT_CONNECTIONS_TABLE`` or the app's DynamoDB store; otherwise records kept in
    this process (``app.fanout_state`` overrides everything, as local runs do).
    """
    override = getattr(app, "fanout_state", None)
    if override is not None:
        return override  # type: ignore[no-any-return]
    from .fanout import TABLE_ENV
    from .stores import CONNECTIONS_TABLE_ENV

    store = getattr(getattr(app, "websocket_options", None), "store", None)
    table = options.table or os.environ.get(TABLE_ENV) or os.environ.get(CONNECTIONS_TABLE_ENV)
    client = None
    if not table and store is not None and hasattr(store, "table_name"):
        table, client = str(store.table_name), store.client
    with _states_lock:
        if table:
            from .stores.dynamodb import ENDPOINT_ENV

            key = (table, os.environ.get(ENDPOINT_ENV), os.environ.get("AWS_REGION"))
            state = _tables.get(key)
            if state is None:
                state = _tables[key] = DynamoDBFanoutState(table, client)
            return state
        memory = _memory.get(app)
        if memory is None:
            memory = _memory[app] = MemoryFanoutState()
        return memory
