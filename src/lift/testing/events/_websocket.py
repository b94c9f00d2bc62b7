"""WebSocket API events: ``$connect``, messages and ``$disconnect``."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from typing_extensions import Unpack

from ...apigw.route_selection import DEFAULT_ROUTE_SELECTION, route_for
from ._shared import (
    API_ID,
    REGION,
    SOURCE_IP,
    USER_AGENT,
    Query,
    _check_options,
    _clf_time,
    _domain,
    _encode_body,
    _forwarded_headers,
    _gateway_id,
    _now_ms,
    _v1_fields,
    _v1_headers,
)


def _ws_authorizer(authorizer: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if authorizer is None:
        return None
    result: dict[str, Any] = {"principalId": str(authorizer.get("user_id") or "user")}
    result.update(authorizer)
    result.setdefault("integrationLatency", 0)
    return result


_FACTORIES = {
    "CONNECT": "websocket_connect",
    "MESSAGE": "websocket_message",
    "DISCONNECT": "websocket_disconnect",
}


class ConnectionOptions(TypedDict, total=False):
    """What every WebSocket factory takes about the connection and its API.

    ``connection_id`` and ``connected_at`` (epoch ms) default to fresh
    values; ``stage`` to ``prod``; ``domain_name`` to the API's execute-api domain;
    ``authorizer`` is the context a Lambda authorizer returned (``principalId`` and
    ``integrationLatency`` are added); a ``user_agent`` of ``None`` sends none.
    """

    connection_id: str | None
    stage: str
    domain_name: str | None
    api_id: str
    region: str
    source_ip: str
    user_agent: str | None
    authorizer: Mapping[str, Any] | None
    connected_at: int | None


def connection_options(event: Mapping[str, Any]) -> ConnectionOptions:
    """The :class:`ConnectionOptions` that give later events the connection, API and
    caller of ``event`` (a WebSocket event, its ``$connect`` say)::

        opened = events.websocket_connect(query={"room": "1"})
        app(opened)
        app(events.websocket_message({"action": "ping"}, **events.connection_options(opened)))
    """
    rc = event["requestContext"]
    identity = rc.get("identity") or {}
    return {
        "connection_id": rc["connectionId"],
        "connected_at": rc["connectedAt"],
        "stage": rc["stage"],
        "domain_name": rc["domainName"],
        "api_id": rc["apiId"],
        "source_ip": identity.get("sourceIp", SOURCE_IP),
        "user_agent": identity.get("userAgent"),
        "authorizer": rc.get("authorizer"),
    }


def websocket_request_context(
    *,
    event_type: str,
    route_key: str,
    now_ms: int | None = None,
    request_id: str | None = None,
    **connection: Unpack[ConnectionOptions],
) -> dict[str, Any]:
    """The ``requestContext`` of a WebSocket event, as API Gateway writes it.

    ``now_ms`` (epoch ms) and ``request_id`` default to now and a fresh id; the other
    keywords are :class:`ConnectionOptions`.
    """
    factory = _FACTORIES.get(event_type, "websocket_request_context")
    _check_options(connection, ConnectionOptions, factory)
    now = now_ms if now_ms is not None else _now_ms()
    request_id = request_id or _gateway_id()
    connected_at = connection.get("connected_at")
    api_id = connection.get("api_id", API_ID)
    identity: dict[str, Any] = {"sourceIp": connection.get("source_ip", SOURCE_IP)}
    user_agent = connection.get("user_agent", USER_AGENT)
    if user_agent is not None:
        identity["userAgent"] = user_agent
    rc: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": _clf_time(now),
        "messageDirection": "IN",
        "stage": connection.get("stage", "prod"),
        "connectedAt": connected_at if connected_at is not None else now,
        "requestTimeEpoch": now,
        "identity": identity,
        "requestId": request_id,
        "domainName": connection.get("domain_name")
        or _domain(api_id, connection.get("region", REGION)),
        "connectionId": connection.get("connection_id") or _gateway_id(),
        "apiId": api_id,
    }
    ws_authorizer = _ws_authorizer(connection.get("authorizer"))
    if ws_authorizer is not None:
        rc["authorizer"] = ws_authorizer
    return rc


def websocket_connect(
    *,
    headers: Mapping[str, str] | None = None,
    query: Query | None = None,
    subprotocols: Sequence[str] | None = None,
    http_method: str | None = None,
    path: str = "/",
    request_id: str | None = None,
    **connection: Unpack[ConnectionOptions],
) -> dict[str, Any]:
    """A ``$connect`` event: the upgrade request's headers and query string.

    ``subprotocols`` become ``Sec-WebSocket-Protocol``. ``http_method`` (with ``path``)
    adds the ``httpMethod``/``path`` fields some ``$connect`` events also carry. The
    other keywords are :class:`ConnectionOptions`.
    """
    user_agent = connection.get("user_agent", USER_AGENT)
    rc = websocket_request_context(
        event_type="CONNECT", route_key="$connect", request_id=request_id, **connection
    )
    defaults = {
        "Host": rc["domainName"],
        "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
        "Sec-WebSocket-Key": base64.b64encode(secrets.token_bytes(16)).decode("ascii"),
        "Sec-WebSocket-Version": "13",
        **_forwarded_headers(rc["identity"]["sourceIp"], rc["requestTimeEpoch"]),
    }
    if user_agent is not None:
        defaults["User-Agent"] = user_agent
    if subprotocols:
        defaults["Sec-WebSocket-Protocol"] = ", ".join(subprotocols)
    event: dict[str, Any] = {
        **_v1_fields(defaults, headers, query),
        "requestContext": rc,
        "isBase64Encoded": False,
    }
    if http_method is not None:
        event["httpMethod"] = http_method
        event["path"] = path
    return event


def websocket_message(
    body: Any = None,
    *,
    route_key: str | None = None,
    message_id: str | None = None,
    request_id: str | None = None,
    **connection: Unpack[ConnectionOptions],
) -> dict[str, Any]:
    """A message event. It has no ``headers`` (API Gateway sends none after ``$connect``).

    ``route_key`` defaults to the route API Gateway selects with the default expression
    ``$request.body.action`` (:func:`lift.apigw.route_for`), else ``$default``. The
    other keywords are :class:`ConnectionOptions`.
    """
    encoded, is_base64 = _encode_body(body)
    if route_key is None:
        text = encoded if encoded and not is_base64 else ""
        route_key = route_for(DEFAULT_ROUTE_SELECTION, text, None)
    rc = websocket_request_context(
        event_type="MESSAGE", route_key=route_key, request_id=request_id, **connection
    )
    rc = {"routeKey": rc.pop("routeKey"), "messageId": message_id or _gateway_id(), **rc}
    return {"requestContext": rc, "body": encoded or "", "isBase64Encoded": is_base64}


def websocket_disconnect(
    *,
    status_code: int = 1000,
    reason: str = "",
    request_id: str | None = None,
    **connection: Unpack[ConnectionOptions],
) -> dict[str, Any]:
    """A ``$disconnect`` event with the close ``status_code`` and ``reason``.

    Like AWS, it carries only a few headers (``Host``, ``x-api-key``,
    ``X-Forwarded-For``, ``x-restapi``). The other keywords are :class:`ConnectionOptions`.
    """
    rc = websocket_request_context(
        event_type="DISCONNECT", route_key="$disconnect", request_id=request_id, **connection
    )
    rc = {
        "routeKey": rc.pop("routeKey"),
        "disconnectStatusCode": status_code,
        "eventType": rc.pop("eventType"),
        "extendedRequestId": rc.pop("extendedRequestId"),
        "requestTime": rc.pop("requestTime"),
        "messageDirection": rc.pop("messageDirection"),
        "disconnectReason": reason,
        **rc,
    }
    headers = {
        "Host": rc["domainName"],
        "x-api-key": "",
        "X-Forwarded-For": "",
        "x-restapi": "",
    }
    return {
        **_v1_headers(headers),
        "requestContext": rc,
        "isBase64Encoded": False,
    }
