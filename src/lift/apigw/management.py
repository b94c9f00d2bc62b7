"""The ``@connections`` Management API as API Gateway answers it over HTTP (no I/O).

:func:`handle_connections_request` takes a method, path and body and returns status,
headers and body, with the REST-JSON wire format of ``apigatewaymanagementapi``:
``GetConnection`` answers ``{"connectedAt", "lastActiveAt", "identity": {"sourceIp",
"userAgent"}}`` with ISO-8601 timestamps; errors carry ``{"message": ...}`` and the
``x-amzn-ErrorType`` header from which botocore builds ``GoneException`` and friends.
Any HTTP server can serve it (see :mod:`lift.local.connections`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

from .limits import MAX_FRAME_BYTES

__all__ = [
    "ConnectionRegistry",
    "handle_connections_request",
    "parse_connections_path",
]

Headers = dict[str, str]


@runtime_checkable
class ConnectionRegistry(Protocol):
    """The live connections an ``@connections`` endpoint manages.

    :class:`lift.apigw.connections.ConnectionTable` is one.
    """

    def post(self, connection_id: str, data: bytes) -> bool:
        """Deliver ``data`` to the connection; ``False`` when it is unknown or closed."""

    def info(self, connection_id: str) -> dict[str, Any] | None:
        """``{"ConnectedAt", "LastActiveAt", "Identity": {"SourceIp", "UserAgent"}}``.

        Timestamps are ISO-8601 strings; ``None`` when the connection is unknown or
        closed. The lower-camel wire names are accepted too.
        """

    def delete(self, connection_id: str) -> bool:
        """Close the connection; ``False`` when it is unknown or already closed."""


def _error(status: int, error_type: str, message: str) -> tuple[int, Headers, bytes]:
    headers = {
        "Content-Type": "application/json",
        "x-amzn-RequestId": str(uuid.uuid4()),
        "x-amzn-ErrorType": error_type,
    }
    return status, headers, json.dumps({"message": message}).encode()


def _pick(mapping: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in mapping:
            return mapping[name]
    return None


def _wire_info(info: Mapping[str, Any]) -> dict[str, Any]:
    """Translate a registry's ``info`` dict to the lower-camel wire form."""
    identity = _pick(info, "Identity", "identity") or {}
    return {
        "connectedAt": _pick(info, "ConnectedAt", "connectedAt"),
        "identity": {
            "sourceIp": _pick(identity, "SourceIp", "sourceIp"),
            "userAgent": _pick(identity, "UserAgent", "userAgent"),
        },
        "lastActiveAt": _pick(info, "LastActiveAt", "lastActiveAt"),
    }


def parse_connections_path(path: str, stage: str | None = None) -> str | None:
    """The URL-decoded connection id of ``[/{stage}]/@connections/{id}``, else ``None``.

    Raises :class:`LookupError` when the path names a stage other than ``stage``.
    """
    segments = urlsplit(path).path.split("/")
    segments = [unquote(s) if s.lower() == "%40connections" else s for s in segments]
    if segments and segments[0] == "":
        segments = segments[1:]
    if len(segments) == 3 and segments[1] == "@connections":
        if stage is not None and unquote(segments[0]) != stage:
            raise LookupError(segments[0])
        segments = segments[1:]
    if len(segments) != 2 or segments[0] != "@connections" or not segments[1]:
        return None
    return unquote(segments[1])


def handle_connections_request(
    registry: ConnectionRegistry,
    method: str,
    path: str,
    body: bytes,
    *,
    stage: str | None = None,
    throttled: bool = False,
) -> tuple[int, Headers, bytes]:
    """Answer one ``@connections`` request as API Gateway does.

    ``path`` is ``/{stage}/@connections/{id}`` or ``/@connections/{id}`` (a query string
    is ignored); with ``stage`` set, another stage gets 403 ``ForbiddenException``.
    POST → 200 with no body; GET → 200 JSON; DELETE → 204; an unknown or closed id →
    410 ``GoneException``; a body over 128 KiB → 413 ``PayloadTooLargeException``;
    ``throttled`` → 429 ``LimitExceededException``; a registry that raises → 500
    ``InternalServerErrorException``. Other paths get 404, other methods 405. The
    transport adds ``Content-Length``.
    """
    try:
        connection_id = parse_connections_path(path, stage)
    except LookupError:
        return _error(403, "ForbiddenException", "Forbidden")
    if connection_id is None:
        return _error(404, "NotFoundException", "Not Found")
    method = method.upper()
    if method not in ("POST", "GET", "DELETE"):
        status, headers, payload = _error(405, "MethodNotAllowedException", "Method Not Allowed")
        headers["Allow"] = "DELETE, GET, POST"
        return status, headers, payload
    if throttled:
        return _error(429, "LimitExceededException", "Rate exceeded")
    try:
        return _dispatch(registry, method, connection_id, body)
    except Exception:  # noqa: BLE001 - a failing registry is API Gateway's 500, not a crash
        return _error(500, "InternalServerErrorException", "Internal server error")


def _dispatch(
    registry: ConnectionRegistry, method: str, connection_id: str, body: bytes
) -> tuple[int, Headers, bytes]:
    headers: Headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    if method == "POST":
        if len(body) > MAX_FRAME_BYTES:
            return _error(413, "PayloadTooLargeException", "Request Entity Too Large")
        if not registry.post(connection_id, body):
            return _error(410, "GoneException", "Gone")
        return 200, headers, b""
    if method == "GET":
        info = registry.info(connection_id)
        if info is None:
            return _error(410, "GoneException", "Gone")
        headers["Content-Type"] = "application/json"
        return 200, headers, json.dumps(_wire_info(info)).encode()
    if not registry.delete(connection_id):
        return _error(410, "GoneException", "Gone")
    return 204, headers, b""
