"""The normalised request every adapter produces, and the trigger kinds."""

from __future__ import annotations

import base64
import binascii
from enum import Enum
from typing import Any

__all__ = ["Request", "TriggerType"]


class TriggerType(str, Enum):
    """What kind of event started the invocation."""

    HTTP = "http"
    WEBSOCKET = "websocket"
    SQS = "sqs"
    S3 = "s3"
    EVENTBRIDGE = "eventbridge"
    SCHEDULED = "scheduled"


_EMPTY: dict[str, Any] = {}


class Request:
    """A normalised view of one Lambda event.

    Header names are lower-cased. ``query`` holds the last value of each query
    parameter and ``multi_query`` all of them. ``source`` is what event routes match:
    the queue name (SQS), bucket (S3), event source (EventBridge) or rule name
    (scheduled). ``records`` holds every record of an SQS or S3 batch.
    """

    __slots__ = (
        "_body",
        "_is_base64",
        "_raw_body",
        "cookies",
        "detail_type",
        "event",
        "headers",
        "method",
        "multi_query",
        "path",
        "path_params",
        "query",
        "records",
        "request_context",
        "route_key",
        "source",
        "source_ip",
        "trigger",
    )

    def __init__(
        self,
        trigger: TriggerType,
        event: dict[str, Any],
        *,
        method: str = "",
        path: str = "",
        route_key: str = "",
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        multi_query: dict[str, list[str]] | None = None,
        body: str | bytes | None = None,
        is_base64: bool = False,
        cookies: list[str] | None = None,
        source_ip: str | None = None,
        request_context: dict[str, Any] | None = None,
        records: list[dict[str, Any]] | None = None,
        source: str = "",
        detail_type: str = "",
    ) -> None:
        self.trigger = trigger
        self.event = event
        self.method = method
        self.path = path
        self.route_key = route_key
        self.headers = headers if headers is not None else {}
        self.query = query if query is not None else {}
        self.multi_query = multi_query if multi_query is not None else {}
        self.cookies = cookies if cookies is not None else []
        self.source_ip = source_ip
        self.request_context = request_context if request_context is not None else _EMPTY
        self.records = records if records is not None else []
        self.source = source
        self.detail_type = detail_type
        self.path_params: dict[str, str] = {}
        self._raw_body = body
        self._is_base64 = is_base64
        self._body: bytes | None = body if isinstance(body, bytes) else None

    @property
    def body(self) -> bytes:
        """The request body as bytes (base64 bodies decoded)."""
        if self._body is None:
            raw = self._raw_body
            if not raw:
                self._body = b""
            elif self._is_base64:
                try:
                    self._body = base64.b64decode(raw, validate=True)
                except (binascii.Error, ValueError) as exc:
                    from .errors import LiftError

                    raise LiftError(400, "INVALID_BODY", "The body is not valid base64") from exc
            else:
                self._body = str(raw).encode("utf-8", "surrogatepass")
        return self._body

    @property
    def text(self) -> str:
        """The request body decoded as UTF-8 (invalid bytes replaced)."""
        raw = self._raw_body
        if isinstance(raw, str) and not self._is_base64:
            return raw
        return self.body.decode("utf-8", "replace")

    def header(self, name: str) -> str | None:
        """A header value by case-insensitive name."""
        return self.headers.get(name.lower())

    def __repr__(self) -> str:
        return f"<Request {self.trigger.value} {self.method} {self.path or self.route_key}>"
