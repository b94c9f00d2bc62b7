"""Encoding of outgoing WebSocket payloads and API Gateway's frame limit."""

from __future__ import annotations

from typing import Any

from ..response import json_dumps
from .errors import PayloadTooLargeError

__all__ = ["MAX_PAYLOAD_BYTES", "encode_payload"]

MAX_PAYLOAD_BYTES = 128 * 1024
"""API Gateway's limit for one WebSocket frame (128 KiB)."""


def encode_payload(data: Any) -> bytes:
    """``dict``/``list`` as JSON, ``str`` as UTF-8, ``bytes`` as is.

    Raises :class:`PayloadTooLargeError` over 128 KiB, before anything is sent.
    """
    if isinstance(data, bytes):
        encoded = data
    elif isinstance(data, str):
        encoded = data.encode("utf-8")
    elif isinstance(data, (bytearray, memoryview)):
        encoded = bytes(data)
    else:
        encoded = json_dumps(data).encode("utf-8")
    if len(encoded) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLargeError(len(encoded), MAX_PAYLOAD_BYTES)
    return encoded
