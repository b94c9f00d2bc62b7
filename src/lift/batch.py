"""Partial batch failures for SQS, Kinesis and DynamoDB Streams handlers.

With ``ReportBatchItemFailures`` on the event source mapping, a handler that returns
``{"batchItemFailures": [{"itemIdentifier": ...}]}`` has only those records retried
(an empty list: the whole batch succeeded). Raising instead retries the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["batch_failures", "item_identifier", "process_batch"]


def item_identifier(record: Mapping[str, Any]) -> str:
    """The identifier Lambda expects for ``record``.

    SQS: ``messageId``. Kinesis: ``kinesis.sequenceNumber``. DynamoDB Streams:
    ``dynamodb.SequenceNumber``.
    """
    value: Any = record.get("messageId")
    if value is None:
        kinesis = record.get("kinesis")
        if isinstance(kinesis, Mapping):
            value = kinesis.get("sequenceNumber")
    if value is None:
        change = record.get("dynamodb")
        if isinstance(change, Mapping):
            value = change.get("SequenceNumber")
    if not isinstance(value, str) or not value:
        raise ValueError("The record is not an SQS, Kinesis or DynamoDB Streams record")
    return value


def batch_failures(failed: Iterable[Mapping[str, Any] | str]) -> dict[str, Any]:
    """``{"batchItemFailures": [...]}`` for ``failed`` records (or their identifiers)."""
    return {
        "batchItemFailures": [
            {"itemIdentifier": item if isinstance(item, str) else item_identifier(item)}
            for item in failed
        ]
    }


def process_batch(
    records: Iterable[Mapping[str, Any]],
    handle: Callable[[Mapping[str, Any]], Any],
    *,
    logger: Any = None,
) -> dict[str, Any]:
    """Call ``handle`` on each record and report the ones that raised.

    Ordered sources stop at the first failure and report it with every record after it,
    so nothing is processed out of order: SQS FIFO queues, Kinesis and DynamoDB Streams
    (Lambda resumes a stream from the lowest reported sequence number). A standard SQS
    queue's records are all tried. Each failure is logged through ``logger`` (such as
    ``ctx.logger``) with the record's identifier, never its body.
    """
    failed: list[str] = []
    items = list(records)
    for index, record in enumerate(items):
        try:
            handle(record)
        except Exception as exc:
            identifier = item_identifier(record)
            if logger is not None:
                logger.exception(
                    "Batch record failed", item_identifier=identifier, error=type(exc).__name__
                )
            if _ordered(record):
                failed.extend(item_identifier(rest) for rest in items[index:])
                break
            failed.append(identifier)
    return batch_failures(failed)


def _ordered(record: Mapping[str, Any]) -> bool:
    source = record.get("eventSource")
    if source in ("aws:kinesis", "aws:dynamodb"):
        return True
    arn = record.get("eventSourceARN")
    return source == "aws:sqs" and isinstance(arn, str) and arn.endswith(".fifo")
