"""S3 notifications, direct and through EventBridge."""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import Any
from urllib.parse import quote_plus

from ._eventbridge import _envelope
from ._shared import ACCOUNT_ID, REGION, SOURCE_IP, _iso_time, _now_ms


def _sequencer() -> str:
    return secrets.token_hex(9).upper()


def s3(
    *keys: str,
    bucket: str = "uploads",
    event_name: str = "ObjectCreated:Put",
    size: int = 1024,
    region: str = REGION,
) -> dict[str, Any]:
    """A direct S3 notification with one record per key (``uploads/photo.jpg`` by default).

    Keys are URL-encoded the way S3 encodes them (a space becomes ``+``). ``ObjectRemoved``
    events carry no size or ETag.
    """
    if not keys:
        keys = ("uploads/photo.jpg",)
    records = []
    for key in keys:
        now = _now_ms()
        obj: dict[str, Any] = {"key": quote_plus(key, safe="/")}
        if not event_name.startswith("ObjectRemoved"):
            obj["size"] = size
            obj["eTag"] = secrets.token_hex(16)
        obj["sequencer"] = _sequencer()
        records.append(
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": _iso_time(now, millis=True),
                "eventName": event_name,
                "userIdentity": {"principalId": "AWS:AIDAINPONIXQXHT3IKHL2"},
                "requestParameters": {"sourceIPAddress": SOURCE_IP},
                "responseElements": {
                    "x-amz-request-id": secrets.token_hex(8).upper(),
                    "x-amz-id-2": base64.b64encode(secrets.token_bytes(56)).decode("ascii"),
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": str(uuid.uuid4()),
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "A3I5XTEXAMAI3E"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": obj,
                },
            }
        )
    return {"Records": records}


def s3_eventbridge(
    key: str = "uploads/photo.jpg",
    *,
    bucket: str = "uploads",
    detail_type: str = "Object Created",
    size: int = 1024,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """An S3 event delivered through EventBridge (``source`` ``aws.s3``)."""
    created = detail_type == "Object Created"
    obj: dict[str, Any] = {"key": key}
    if created:
        obj["size"] = size
        obj["etag"] = secrets.token_hex(16)
    obj["sequencer"] = _sequencer()
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": bucket},
        "object": obj,
        "request-id": secrets.token_hex(8).upper(),
        "requester": account_id,
        "source-ip-address": SOURCE_IP,
        "reason": "PutObject" if created else "DeleteObject",
    }
    if detail_type == "Object Deleted":
        detail["deletion-type"] = "Permanently Deleted"
    return _envelope(
        "aws.s3", detail_type, detail, region, account_id, resources=[f"arn:aws:s3:::{bucket}"]
    )
