"""Redaction of credential-like fields before anything is logged."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any


__all__ = ["REDACTED", "SENSITIVE_KEYS", "redact"]

REDACTED = "[REDACTED]"
SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "token",
        "access_token",
        "id_token",
        "refresh_token",
        "password",
        "secret",
        "cookie",
        "set-cookie",
        "sec-websocket-protocol",
        "x-api-key",
    }
)
"""Field names (any case) whose values are never logged."""


def redact(value: Any) -> Any:
    """A copy of ``value`` with sensitive keys (at any depth) replaced by ``"[REDACTED]"``."""
    if isinstance(value, dict):
        return {
            key: REDACTED if str(key).lower() in SENSITIVE_KEYS else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    return value
