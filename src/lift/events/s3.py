"""Amazon S3 notifications, sent directly or through EventBridge."""

from __future__ import annotations

from typing import Any

from ..request import Request, TriggerType
from ._common import MalformedEventError, mapping

_T = TriggerType.S3


def _record(bucket: Any, key: Any, event_name: Any, raw: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(bucket, str) or not bucket or not isinstance(key, str):
        raise MalformedEventError(_T, "An S3 record must name a bucket and a key")
    return {"bucket": bucket, "key": key, "event_name": event_name, "raw": raw}


def normalise(event: dict[str, Any]) -> Request:
    """Build a :class:`Request` whose ``source`` is the bucket name.

    ``records`` holds one entry per object: ``bucket``, ``key`` (URL-decoded, as S3
    encodes keys in direct notifications), ``event_name`` and the ``raw`` record.
    """
    from urllib.parse import unquote_plus

    records: list[dict[str, Any]] = []
    raw_records = event.get("Records")
    if isinstance(raw_records, list) and raw_records:
        for raw in raw_records:
            if not isinstance(raw, dict):
                raise MalformedEventError(_T, "Every S3 record must be an object")
            s3 = mapping(raw.get("s3"), _T, "s3")
            bucket = mapping(s3.get("bucket"), _T, "s3.bucket").get("name")
            key = mapping(s3.get("object"), _T, "s3.object").get("key")
            key = unquote_plus(key) if isinstance(key, str) else key
            records.append(_record(bucket, key, raw.get("eventName"), raw))
        detail_type = ""
    else:
        detail = mapping(event.get("detail"), _T, "detail")
        bucket = mapping(detail.get("bucket"), _T, "detail.bucket").get("name")
        key = mapping(detail.get("object"), _T, "detail.object").get("key")
        raw_type = event.get("detail-type")
        if not isinstance(raw_type, str):
            raise MalformedEventError(_T, "Field 'detail-type' must be a string")
        detail_type = raw_type
        records.append(_record(bucket, key, detail_type, event))
    return Request(_T, event, records=records, source=records[0]["bucket"], detail_type=detail_type)
