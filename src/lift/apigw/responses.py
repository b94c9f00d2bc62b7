"""What API Gateway answers: integration responses decoded, and its own refusals."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .ids import new_request_id
from .limits import MAX_FRAME_BYTES

__all__ = [
    "FORBIDDEN",
    "INTERNAL_ERROR",
    "TIMED_OUT",
    "IntegrationResponse",
    "MalformedResponseError",
    "gateway_message",
    "new_request_id",
    "status_of",
]

FORBIDDEN = "Forbidden"
"""A message no deployed route takes (no match and no ``$default``)."""

INTERNAL_ERROR = "Internal server error"
"""The integration failed, or answered something API Gateway cannot use."""

TIMED_OUT = "Endpoint request timed out"
"""The integration did not answer within 29 seconds."""


def gateway_message(message: str, connection_id: str, request_id: str | None = None) -> bytes:
    """The frame API Gateway sends a client when it cannot deliver its message."""
    body = {
        "message": message,
        "connectionId": connection_id,
        "requestId": request_id or new_request_id(),
    }
    return json.dumps(body).encode("utf-8")


class MalformedResponseError(ValueError):
    """An integration response API Gateway cannot use (answered as an internal error)."""


@dataclass(frozen=True)
class IntegrationResponse:
    """A Lambda proxy integration's answer: ``status``, ``headers`` and decoded ``body``."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx (on ``$connect``: the connection is accepted)."""
        return 200 <= self.status < 300

    def header(self, name: str) -> str | None:
        """A header by case-insensitive name."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    @classmethod
    def decode(cls, result: Any) -> IntegrationResponse:
        """Decode what the function returned.

        ``None`` is an empty 200. A dict's ``statusCode`` (default 200) must be an
        HTTP status; ``body`` text, base64-decoded when ``isBase64Encoded`` is true,
        and at most 128 KiB once decoded. :class:`MalformedResponseError` otherwise.
        """
        if result is None:
            return cls()
        if not isinstance(result, Mapping):
            raise MalformedResponseError("the response is not an object")
        status = result.get("statusCode", 200)
        if isinstance(status, str) and status.isdigit():
            status = int(status)
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            raise MalformedResponseError("statusCode is not an HTTP status")
        raw_headers = result.get("headers")
        headers: dict[str, str] = {}
        if isinstance(raw_headers, Mapping):
            headers = {str(k): str(v) for k, v in raw_headers.items() if v is not None}
        elif raw_headers is not None:
            raise MalformedResponseError("headers is not an object")
        return cls(status, headers, _body(result))


def status_of(result: Any) -> int:
    """The status API Gateway sees in an integration response (502 when malformed)."""
    try:
        return IntegrationResponse.decode(result).status
    except MalformedResponseError:
        return 502


def _body(result: Mapping[str, Any]) -> bytes | None:
    body = result.get("body")
    if body is None:
        return None
    if not isinstance(body, str):
        raise MalformedResponseError("body is not a string")
    if result.get("isBase64Encoded") is True:
        if len(body) > 2 * MAX_FRAME_BYTES:
            raise MalformedResponseError("the body is over 128 KiB")
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedResponseError("the body is not valid base64") from exc
    else:
        try:
            data = body.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise MalformedResponseError("the body is not valid text") from exc
    if len(data) > MAX_FRAME_BYTES:
        raise MalformedResponseError("the body is over 128 KiB")
    return data
