"""Where ``@connections`` calls go and which region signs them."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ...errors import LiftError

__all__ = ["ENDPOINT_ENV", "config_error", "resolve_endpoint", "resolve_region"]

ENDPOINT_ENV = "LIFT_WS_MANAGEMENT_ENDPOINT"

_EXECUTE_API = re.compile(
    r"^(?P<api_id>[A-Za-z0-9]+)\.execute-api\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)"
    r"\.amazonaws\.com(?:\.cn)?$"
)


def config_error(what: str, reason: str) -> LiftError:
    """A generic client-visible error; ``reason`` (for logs) rides on ``__cause__``."""
    error = LiftError(
        500, "WEBSOCKET_CONFIG_ERROR", f"The WebSocket management {what} is not configured"
    )
    error.__cause__ = ValueError(reason)
    return error


def _host(endpoint_or_domain: str) -> str:
    value = endpoint_or_domain.strip()
    if "://" in value:
        return (urlsplit(value).hostname or "").lower()
    return value.split("/", 1)[0].split(":", 1)[0].lower()


def _execute_api(endpoint_or_domain: str) -> re.Match[str] | None:
    return _EXECUTE_API.match(_host(endpoint_or_domain))


def resolve_region(endpoint_or_domain: str, *, option: str | None = None) -> str:
    """The region to sign ``@connections`` calls for.

    ``option`` (``WebSocketOptions.region``) wins; then the region in an
    ``{api}.execute-api.{region}.amazonaws.com`` host (the endpoint's own region is
    the one its signature must name); then ``AWS_REGION``, then ``AWS_DEFAULT_REGION``.
    Never a silent default: raises 500 ``WEBSOCKET_CONFIG_ERROR`` when none is known.
    """
    if option:
        return option
    match = _execute_api(endpoint_or_domain) if endpoint_or_domain else None
    if match is not None:
        return match.group("region")
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        value = os.environ.get(name)
        if value:
            return value
    raise config_error(
        "region",
        f"no region for {endpoint_or_domain!r}: set WebSocketOptions.region or AWS_REGION",
    )


def resolve_endpoint(
    request_context: Mapping[str, Any],
    *,
    option: str | None = None,
    region: str | None = None,
) -> str:
    """The Management API endpoint for a WebSocket event's ``requestContext``.

    ``option`` (``WebSocketOptions.management_endpoint``), else env
    ``LIFT_WS_MANAGEMENT_ENDPOINT``, else ``https://{domainName}/{stage}`` for an
    ``execute-api`` domain, else (a custom domain)
    ``https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`` with the region from
    :func:`resolve_region` (``region`` is the region option). No trailing slash.
    """
    explicit = option or os.environ.get(ENDPOINT_ENV)
    if explicit:
        explicit = explicit.strip().rstrip("/")
        return explicit if "://" in explicit else f"https://{explicit}"
    domain = str(request_context.get("domainName") or "")
    stage = str(request_context.get("stage") or "")
    if not stage:
        raise config_error("endpoint", "the event's requestContext has no stage")
    if domain and _execute_api(domain) is not None:
        return f"https://{_host(domain)}/{stage}"
    api_id = str(request_context.get("apiId") or "")
    if not api_id:
        raise config_error(
            "endpoint", "requestContext has neither an execute-api domainName nor an apiId"
        )
    resolved = resolve_region(domain, option=region)
    suffix = ".amazonaws.com.cn" if resolved.startswith("cn-") else ".amazonaws.com"
    return f"https://{api_id}.execute-api.{resolved}{suffix}/{stage}"
