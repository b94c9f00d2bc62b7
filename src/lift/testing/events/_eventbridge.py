"""EventBridge events: custom, scheduled and CloudTrail API calls."""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from ._shared import ACCOUNT_ID, REGION, SOURCE_IP, _arn, _iso_time, _now_ms


def _envelope(
    source: str,
    detail_type: str,
    detail: dict[str, Any],
    region: str,
    account_id: str,
    *,
    resources: Sequence[str] = (),
) -> dict[str, Any]:
    """An event as EventBridge delivers it to a target, around ``detail``."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account_id,
        "time": _iso_time(_now_ms()),
        "region": region,
        "resources": list(resources),
        "detail": detail,
    }


def eventbridge(
    detail: Mapping[str, Any] | None = None,
    *,
    source: str = "com.example.orders",
    detail_type: str = "OrderPlaced",
    resources: Sequence[str] = (),
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """A custom EventBridge event (``PutEvents``) with ``detail``."""
    detail = copy.deepcopy(dict(detail or {}))
    return _envelope(source, detail_type, detail, region, account_id, resources=resources)


def scheduled(
    rule: str = "nightly",
    *,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """A scheduled event of the EventBridge rule ``rule``."""
    resources = [_arn("events", region, account_id, f"rule/{rule}")]
    return _envelope("aws.events", "Scheduled Event", {}, region, account_id, resources=resources)


def cloudtrail_eventbridge(
    event_name: str = "PutObject",
    *,
    service: str = "s3",
    request_parameters: Mapping[str, Any] | None = None,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """An API call recorded by CloudTrail, delivered by EventBridge.

    ``source`` is ``aws.<service>`` and ``detail-type`` ``AWS API Call via CloudTrail``;
    ``detail`` is the CloudTrail record.
    """
    params = dict(request_parameters or {"bucketName": "uploads", "key": "photo.jpg"})
    detail = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAJ45Q7YFFAREXAMPLE",
            "arn": f"arn:aws:iam::{account_id}:user/ada",
            "accountId": account_id,
            "userName": "ada",
        },
        "eventTime": _iso_time(_now_ms()),
        "eventSource": f"{service}.amazonaws.com",
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": SOURCE_IP,
        "userAgent": "[aws-cli/2.15.0]",
        "requestParameters": params,
        "responseElements": None,
        "requestID": secrets.token_hex(8).upper(),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": False,
        "recipientAccountId": account_id,
        "eventCategory": "Data",
    }
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:8]
    detail["additionalEventData"] = {"x-amz-id-2": digest}
    return _envelope(f"aws.{service}", "AWS API Call via CloudTrail", detail, region, account_id)
