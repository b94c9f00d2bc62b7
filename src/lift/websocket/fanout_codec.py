"""Fan-out messages: what a shard and a listing page look like on the queue (I/O-free).

A message body is compact JSON (ASCII only, so SQS accepts every character)::

    {"v": 1, "t": "shard", "job": "<32 hex>", "key": "0", "ep": "<endpoint>",
     "c": <created, epoch s>, "ids": ["id", ...], "p": {"text": "..."}}
    {"v": 1, "t": "list",  "job": ..., "key": "l1", "ep": ..., "c": ...,
     "lister": "channel", "params": {...}, "cursor": "...", "seq": 1, "p": {...}}

The payload ``p`` is ``{"text": str}`` (valid UTF-8), ``{"b64": str}`` (other bytes) or
``{"ref": 1}``: stored once with the job (see :mod:`lift.websocket.fanout_state`).
Decoding is strict and bounded: a body that is not exactly this shape is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..tracing.hook import CARRIER_KEY, carrier
from .payload import MAX_PAYLOAD_BYTES

__all__ = [
    "BATCH_BYTES",
    "BATCH_ENTRIES",
    "INLINE_PAYLOAD_BYTES",
    "MESSAGE_BYTES",
    "Job",
    "MalformedShardError",
    "Message",
    "decode",
    "encode",
    "pack_batches",
    "payload_field",
    "payload_from_field",
    "shard_messages",
]

BATCH_ENTRIES = 10
"""SQS ``SendMessageBatch``: at most 10 entries..."""
BATCH_BYTES = 256 * 1024
"""...and at most 256 KiB of message bodies in all."""
MESSAGE_BYTES = 256 * 1024
"""The largest message this codec writes or reads."""
INLINE_PAYLOAD_BYTES = 16 * 1024
"""Encoded payloads up to this size ride in every shard (ten shards still fit a batch);
larger ones are stored once with the job when a shared table is available."""
MAX_ID_LENGTH = 128
MAX_IDS = 1000
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
_KEY = re.compile(r"^[A-Za-z0-9.]{1,64}$")


class MalformedShardError(ValueError):
    """A queue message that is not a fan-out message this version can read."""


@dataclass(frozen=True)
class Job:
    """What every message of one fan-out carries: its id, endpoint and start time."""

    job_id: str
    endpoint: str
    created: float


@dataclass
class Message:
    """One decoded queue message: a shard of ids, or a listing page to read."""

    kind: str
    job: Job
    key: str
    payload: dict[str, Any]
    ids: list[str] = field(default_factory=list)
    lister: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    cursor: str | None = None
    seq: int = 0
    trace: dict[str, Any] = field(default_factory=dict)
    """The trace context of the invocation that wrote the message (empty untraced)."""


def payload_field(payload: bytes) -> dict[str, Any]:
    """``{"text": ...}`` for UTF-8 payloads, else ``{"b64": ...}``."""
    try:
        return {"text": payload.decode("utf-8")}
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(payload).decode("ascii")}


def payload_from_field(value: Mapping[str, Any]) -> bytes | None:
    """The payload bytes of a ``p`` field; ``None`` for a reference to the stored one."""
    if "text" in value and isinstance(value["text"], str):
        data = value["text"].encode("utf-8", "surrogatepass")
    elif "b64" in value and isinstance(value["b64"], str):
        try:
            data = base64.b64decode(value["b64"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedShardError("payload is not base64") from exc
    elif value.get("ref") == 1:
        return None
    else:
        raise MalformedShardError("payload field has no text, b64 or ref")
    if len(data) > MAX_PAYLOAD_BYTES:
        raise MalformedShardError("payload is over 128 KiB")
    return data


def _head(kind: str, job: Job, key: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    head = {
        "v": 1,
        "t": kind,
        "job": job.job_id,
        "key": key,
        "ep": job.endpoint,
        "c": job.created,
        "p": dict(payload),
    }
    trace = carrier()  # links the delivering invocation to this one when tracing is on
    if trace:
        head[CARRIER_KEY] = trace
    return head


def encode(message: Message) -> str:
    """The JSON body of ``message`` (ASCII only)."""
    body = _head(message.kind, message.job, message.key, message.payload)
    if message.kind == "shard":
        body["ids"] = message.ids
    else:
        body.update(
            lister=message.lister, params=message.params, cursor=message.cursor, seq=message.seq
        )
    return json.dumps(body, separators=(",", ":"), allow_nan=False)


def shard_messages(
    job: Job, ids: list[str], payload: Mapping[str, Any], *, shard_size: int, prefix: str = ""
) -> Iterator[tuple[str, str]]:
    """``(key, body)`` of the shards of ``ids``; a shard too large for SQS is halved."""
    for index, start in enumerate(range(0, len(ids), shard_size)):
        yield from _fitted(job, ids[start : start + shard_size], payload, f"{prefix}{index}")


def _fitted(
    job: Job, ids: list[str], payload: Mapping[str, Any], key: str
) -> Iterator[tuple[str, str]]:
    body = encode(Message("shard", job, key, dict(payload), ids=ids))
    if len(body) <= MESSAGE_BYTES or len(ids) == 1:
        if len(body) > MESSAGE_BYTES:
            raise ValueError("A single shard does not fit in one SQS message")
        yield key, body
        return
    half = len(ids) // 2
    yield from _fitted(job, ids[:half], payload, f"{key}.0")
    yield from _fitted(job, ids[half:], payload, f"{key}.1")


def pack_batches(bodies: list[tuple[str, str]]) -> Iterator[list[tuple[str, str]]]:
    """Group ``(key, body)`` pairs into ``SendMessageBatch`` calls (10 entries, 256 KiB)."""
    batch: list[tuple[str, str]] = []
    size = 0
    for key, body in bodies:
        length = len(body.encode("utf-8"))
        if batch and (len(batch) == BATCH_ENTRIES or size + length > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append((key, body))
        size += length
    if batch:
        yield batch


def _string(body: Mapping[str, Any], name: str, limit: int = 2048) -> str:
    value = body.get(name)
    if not isinstance(value, str) or len(value) > limit:
        raise MalformedShardError(f"field {name!r} must be a string")
    return value


def decode(text: str) -> Message:
    """Parse and validate one message body; :class:`MalformedShardError` if it is not one."""
    if len(text) > MESSAGE_BYTES:
        raise MalformedShardError("message is too large")
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise MalformedShardError("message is not JSON") from exc
    if not isinstance(body, dict) or body.get("v") != 1:
        raise MalformedShardError("not a version 1 fan-out message")
    kind = body.get("t")
    job_id, key = _string(body, "job"), _string(body, "key")
    created = body.get("c")
    payload = body.get("p")
    if (
        kind not in ("shard", "list")
        or not _JOB_ID.match(job_id)
        or not _KEY.match(key)
        or not isinstance(created, (int, float))
        or isinstance(created, bool)
        or not isinstance(payload, dict)
    ):
        raise MalformedShardError("bad kind, job, key, time or payload")
    payload_from_field(payload)  # validates
    job = Job(job_id, _string(body, "ep"), float(created))
    trace = body.get(CARRIER_KEY)
    trace = trace if isinstance(trace, dict) else {}  # checked again before it is used
    if kind == "shard":
        ids = body.get("ids")
        if (
            not isinstance(ids, list)
            or not 0 < len(ids) <= MAX_IDS
            or not all(isinstance(i, str) and 0 < len(i) <= MAX_ID_LENGTH for i in ids)
        ):
            raise MalformedShardError("ids must be 1 to 1000 connection ids")
        return Message("shard", job, key, payload, ids=list(dict.fromkeys(ids)), trace=trace)
    params, seq, cursor = body.get("params"), body.get("seq"), body.get("cursor")
    if (
        not isinstance(params, dict)
        or not isinstance(seq, int)
        or isinstance(seq, bool)
        or not 0 <= seq < 10**9
        or not (cursor is None or (isinstance(cursor, str) and len(cursor) <= 4096))
    ):
        raise MalformedShardError("bad listing fields")
    return Message(
        "list",
        job,
        key,
        payload,
        lister=_string(body, "lister", 128),
        params=params,
        cursor=cursor,
        seq=seq,
        trace=trace,
    )
