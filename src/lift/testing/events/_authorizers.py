"""API Gateway Lambda authorizer events (TOKEN and REQUEST)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._http import http_v1, http_v2
from ._shared import ACCOUNT_ID, REGION, Query, _arn
from ._websocket import websocket_connect


def _method_arn(api_id: str, stage: str, tail: str, region: str, account_id: str) -> str:
    return _arn("execute-api", region, account_id, f"{api_id}/{stage}/{tail}")


def authorizer_token(
    token: str = "allow",  # noqa: S107 - a test token, as in AWS's own samples
    *,
    method: str = "GET",
    path: str = "/",
    api_id: str = "abc123",
    stage: str = "prod",
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """A REST API TOKEN authorizer event (the token is the identity source's value)."""
    tail = f"{method.upper()}/{path.lstrip('/')}"
    return {
        "type": "TOKEN",
        "authorizationToken": token,
        "methodArn": _method_arn(api_id, stage, tail, region, account_id),
    }


def authorizer_request(
    api: str = "rest",
    *,
    method: str = "GET",
    path: str = "/",
    headers: Mapping[str, str] | None = None,
    query: Query | None = None,
    payload_version: str = "1.0",
    api_id: str = "abc123",
    stage: str = "prod",
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
    identity_source: Sequence[str] = (),
) -> dict[str, Any]:
    """A REQUEST authorizer event of a ``rest``, ``http`` or ``websocket`` API.

    ``http`` with ``payload_version="2.0"`` gives the HTTP API 2.0 shape (``routeArn``,
    ``identitySource`` as a list); ``websocket`` the ``$connect`` authorizer's event.
    """
    if api == "websocket":
        event = websocket_connect(headers=headers, query=query, stage=stage, api_id=api_id)
        event.pop("isBase64Encoded", None)
        rc = event["requestContext"]
        event = {
            "type": "REQUEST",
            "methodArn": _method_arn(api_id, stage, "$connect", region, account_id),
            **event,
        }
        rc.pop("authorizer", None)
        return event
    tail = f"{method.upper()}/{path.lstrip('/')}"
    if api == "http" and payload_version == "2.0":
        event = http_v2(method, path, headers=headers, query=query, stage=stage, api_id=api_id)
        event.pop("isBase64Encoded", None)
        event.pop("body", None)
        return {
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": _method_arn(api_id, stage, tail, region, account_id),
            "identitySource": list(identity_source),
            **{k: v for k, v in event.items() if k != "version"},
        }
    if api not in ("rest", "http"):
        raise ValueError("api must be 'rest', 'http' or 'websocket'")
    event = http_v1(method, path, headers=headers, query=query, stage=stage, api_id=api_id)
    for name in ("body", "isBase64Encoded"):
        event.pop(name, None)
    result: dict[str, Any] = {}
    if api == "http":
        result["version"] = "1.0"
    result["type"] = "REQUEST"
    result["methodArn"] = _method_arn(api_id, stage, tail, region, account_id)
    if api == "http":
        result["identitySource"] = ",".join(identity_source)
        result["authorizationToken"] = ",".join(identity_source)
    result.update(event)
    return result
