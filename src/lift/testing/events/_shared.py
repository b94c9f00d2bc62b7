"""Defaults and helpers shared by the event factories."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ...apigw.ids import new_connection_id

Query = Mapping[str, str | Sequence[str]]
_T = TypeVar("_T")

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
API_ID = "abc123"
SOURCE_IP = "203.0.113.10"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# -- small helpers -------------------------------------------------------------------
def _check_options(options: Mapping[str, Any], kind: Any, factory: str) -> None:
    """Refuse keywords that are not in the ``TypedDict`` ``kind``, as a signature would
    (a misspelt option must not build a silently different event)."""
    unknown = options.keys() - kind.__optional_keys__ - kind.__required_keys__
    if unknown:
        names = ", ".join(repr(name) for name in sorted(unknown))
        raise TypeError(f"{factory}() got unexpected keyword arguments: {names}")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _clf_time(epoch_ms: int) -> str:
    """``25/Nov/2026:18:08:22 +0000``, the format of ``requestContext.requestTime``."""
    t = time.gmtime(epoch_ms / 1000)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def _iso_time(epoch_ms: int, *, millis: bool = False) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_ms / 1000))
    return f"{stamp}.{epoch_ms % 1000:03d}Z" if millis else f"{stamp}Z"


_gateway_id = new_connection_id
"""An id in API Gateway's style (``L0SM9cOFvHcCIhw=``): 15 characters and ``=``."""


def _trace_id(epoch_ms: int) -> str:
    return f"Root=1-{epoch_ms // 1000:08x}-{secrets.token_hex(12)}"


def _domain(api_id: str, region: str) -> str:
    return f"{api_id}.execute-api.{region}.amazonaws.com"


def _encode_body(body: Any) -> tuple[str | None, bool]:
    """The ``body`` field and ``isBase64Encoded`` for a body given to a factory."""
    if body is None:
        return None, False
    if isinstance(body, str):
        return body, False
    if isinstance(body, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(body)).decode("ascii"), True
    return json.dumps(body, separators=(",", ":")), False


def _query_lists(query: Query | None) -> dict[str, list[str]]:
    if not query:
        return {}
    return {
        name: [value] if isinstance(value, str) else [str(v) for v in value]
        for name, value in query.items()
    }


def _merge_headers(defaults: dict[str, str], extra: Mapping[str, str] | None) -> dict[str, str]:
    """``defaults`` overridden by ``extra``, header names compared case-insensitively."""
    if not extra:
        return defaults
    lowered = {name.lower() for name in extra}
    merged = {name: value for name, value in defaults.items() if name.lower() not in lowered}
    merged.update(extra)
    return merged


def _forwarded_headers(
    source_ip: str, epoch_ms: int, *, port: str = "443", proto: str = "https"
) -> dict[str, str]:
    """The headers API Gateway (or a load balancer) adds to the client's request."""
    return {
        "X-Amzn-Trace-Id": _trace_id(epoch_ms),
        "X-Forwarded-For": source_ip,
        "X-Forwarded-Port": port,
        "X-Forwarded-Proto": proto,
    }


def _v1_fields(
    defaults: dict[str, str], headers: Mapping[str, str] | None, query: Query | None
) -> dict[str, Any]:
    """The header and query fields of a payload 1.0 event: ``defaults`` overridden by
    ``headers`` (see :func:`_merge_headers`), then the query string's."""
    return {**_v1_headers(_merge_headers(defaults, headers)), **_v1_query(_query_lists(query))}


def _v1_headers(headers: Mapping[str, str]) -> dict[str, Any]:
    """``headers`` and ``multiValueHeaders`` of a payload 1.0 event (one value each)."""
    return {"headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()}}


def _v1_query(lists: Mapping[str, list[str]]) -> dict[str, Any]:
    """The two query fields of a payload 1.0 event: the last value of each parameter
    and every value; both ``null`` without a query string."""
    return {
        "queryStringParameters": {k: v[-1] for k, v in lists.items() if v} if lists else None,
        "multiValueQueryStringParameters": dict(lists) or None,
    }


def _arn(service: str, region: str, account_id: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account_id}:{resource}"


def _records(
    items: Sequence[_T], default: _T, record: Callable[[int, _T], dict[str, Any]]
) -> dict[str, Any]:
    """A batch event: ``record(index, item)`` for each item (``default`` when none)."""
    return {"Records": [record(index, item) for index, item in enumerate(items or (default,))]}


def _content_headers(body: Any, encoded: str | None, is_base64: bool) -> dict[str, str]:
    if encoded is None:
        return {}
    if is_base64:
        content_type = "application/octet-stream"
        length = len(base64.b64decode(encoded))
    else:
        content_type = "text/plain" if isinstance(body, str) else "application/json"
        length = len(encoded.encode("utf-8"))
    return {"Content-Type": content_type, "Content-Length": str(length)}


def _text(body: Any) -> str:
    """A message body as sent: a ``str`` as is, anything else JSON-encoded."""
    return body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))


def _sequence_number(index: int) -> str:
    return str(4_000_000_000_000_000_000_000 + _now_ms() * 1000 + index)
