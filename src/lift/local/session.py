"""One client's WebSocket session on the local gateway, from the upgrade request to
``$disconnect``.

* The upgrade request is checked first: a malformed handshake is answered 400 (426 for
  a WebSocket version other than 13) and never reaches the app. Then ``$connect`` runs;
  a non-2xx result (or a timeout: 504) refuses the handshake. Should the handshake
  still fail after an accepted ``$connect`` (the client vanished meanwhile),
  ``$disconnect`` runs, so the app removes what it saved.
* A reader routes each text message (route selection) into the connection's inbox;
  a processor invokes the app for each in turn, and a writer sends what is posted to
  the connection. Every failure of one message (the app raising or timing out, a route
  response that is malformed or over 128 KiB) answers that message with API Gateway's
  error frame and leaves the connection open.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import json
import os
import random
from typing import TYPE_CHECKING, Any

from aiohttp import WebSocketError, WSMsgType, web

from ..apigw.route_selection import route_for
from .connections import MAX_PAYLOAD_BYTES
from .events import close_reason, connect_event, disconnect_event, message_event, new_connection_id
from .inspector import preview
from .live import CloseRequest, LiveConnection, result_header, status_of

if TYPE_CHECKING:
    from .gateway import Gateway

__all__ = [
    "FORBIDDEN",
    "INTERNAL_ERROR",
    "READ_LIMIT",
    "TIMED_OUT",
    "RouteResponseError",
    "Sessions",
    "route_response",
]

READ_LIMIT = 4 * MAX_PAYLOAD_BYTES
"""Frames larger than this are refused by aiohttp's reader itself."""

FORBIDDEN = "Forbidden"
INTERNAL_ERROR = "Internal server error"
TIMED_OUT = "Endpoint request timed out"
"""The ``message`` of API Gateway's error frames (no route; app failure; 29 s passed)."""

_HOP_BY_HOP = frozenset({"connection", "content-length", "transfer-encoding", "upgrade"})
_DRAIN_SECONDS = 60.0


_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_ID_RANDOM = random.Random(os.urandom(16))  # noqa: S311 - request ids are not secrets


def _request_id() -> str:
    """A ``requestId`` in API Gateway's style (15 characters and ``=``). Request ids are
    not secrets: they come from a seeded generator, as a system call on the event loop
    would hand the interpreter lock to a worker thread for milliseconds."""
    return "".join(_ID_RANDOM.choices(_ID_ALPHABET, k=15)) + "="


class RouteResponseError(ValueError):
    """A message handler's result cannot be sent as a route response."""


def route_response(result: Any) -> bytes | None:
    """The frame a message handler's result sends back as its route response (``None``:
    nothing to send). Raises :class:`RouteResponseError` for a body that is not a string,
    is not valid base64 when ``isBase64Encoded``, or is over 128 KiB."""
    if not isinstance(result, dict) or result.get("body") is None:
        return None
    body = result["body"]
    if not isinstance(body, str):
        raise RouteResponseError("the body is not a string")
    if result.get("isBase64Encoded"):
        if len(body) > (MAX_PAYLOAD_BYTES // 3 + 1) * 4:
            raise RouteResponseError("the body is over 128 KiB")
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RouteResponseError("the body is not valid base64") from exc
    else:
        data = body.encode("utf-8", "surrogatepass")
    if len(data) > MAX_PAYLOAD_BYTES:
        raise RouteResponseError("the body is over 128 KiB")
    return data


def _connect_headers(request: web.Request, source_ip: str) -> list[tuple[str, str]]:
    headers = list(request.headers.items())
    present = {name.lower() for name, _ in headers}
    extra = {
        "X-Forwarded-For": source_ip,
        "X-Forwarded-Port": str(request.url.port or ""),
        "X-Forwarded-Proto": request.scheme,
    }
    headers.extend((k, v) for k, v in extra.items() if k.lower() not in present)
    return headers


def _handshake_problem(request: web.Request) -> web.Response | None:
    """The answer to an upgrade request that is not a valid WebSocket handshake."""
    if request.headers.get("Sec-WebSocket-Version", "").strip() != "13":
        headers = {"Sec-WebSocket-Version": "13"}
        return web.Response(status=426, headers=headers, text="WebSocket version 13 only\n")
    offered = request.headers.get("Sec-WebSocket-Protocol", "")
    protocols = tuple(p.strip() for p in offered.split(",") if p.strip())
    if not web.WebSocketResponse(protocols=protocols).can_prepare(request).ok:
        return web.Response(status=400, text="Bad WebSocket handshake\n")
    return None


def _reason(result: Any, limit: int = 200) -> str:
    """Why ``$connect`` refused, for the inspector: the body's error message, or the body."""
    body = result.get("body") if isinstance(result, dict) else None
    if not isinstance(body, str) or not body:
        return ""
    try:
        parsed = json.loads(body)
    except ValueError:
        return body[:limit]
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        code = error.get("code")
        return (f"{code}: " if isinstance(code, str) else "") + str(error["message"])[:limit]
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        return str(parsed["message"])[:limit]
    return body[:limit]


def _refusal(status: int, result: Any) -> web.Response:
    headers = {}
    raw = result.get("headers") if isinstance(result, dict) else None
    if isinstance(raw, dict):
        headers = {str(k): str(v) for k, v in raw.items() if str(k).lower() not in _HOP_BY_HOP}
    body = result.get("body") if isinstance(result, dict) else None
    payload = body.encode("utf-8", "replace") if isinstance(body, str) else b""
    return web.Response(status=status, headers=headers, body=payload)


class Sessions:
    """The WebSocket endpoint of a :class:`~lift.local.gateway.Gateway`."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._cleanups: set[asyncio.Task[None]] = set()
        self._disconnecting: set[str] = set()

    # -- the handshake ----------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one upgrade request until the connection ends."""
        gw = self.gateway
        if gw.closing or gw.invoker is None:
            return web.Response(status=503, text="The gateway is shutting down\n")
        problem = _handshake_problem(request)
        if problem is not None:
            return problem
        connection_id = new_connection_id()
        source_ip = request.remote or "127.0.0.1"
        event = connect_event(
            connection_id=connection_id,
            headers=_connect_headers(request, source_ip),
            query=request.query.items(),
            stage=gw.stage,
            source_ip=source_ip,
        )
        rc = event["requestContext"]
        refusal = await self._authorize(event, connection_id)
        if refusal is not None:
            return refusal

        def identity(result: Any) -> tuple[str | None, str | None]:
            return gw.identity_of(connection_id) if 200 <= status_of(result) < 300 else (None, None)

        outcome, who = await gw.invoker.invoke(event, identity)
        status = 504 if outcome.timed_out else status_of(outcome.result)
        if not 200 <= status < 300:
            detail = f"{status} refused  {outcome.elapsed_ms:.1f} ms"
            gw.write_event("CONNECT", connection_id, detail)
            gw.record("refused", connection_id, status=status, reason=_reason(outcome.result))
            if outcome.timed_out:
                return web.json_response({"message": TIMED_OUT}, status=504)
            return _refusal(status, outcome.result)
        user_id, tenant_id = who
        protocol = result_header(outcome.result, "Sec-WebSocket-Protocol")
        ws = web.WebSocketResponse(
            protocols=(protocol,) if protocol else (), compress=False, max_msg_size=READ_LIMIT
        )
        conn = LiveConnection(
            connection_id,
            ws,
            source_ip=source_ip,
            user_agent=rc["identity"].get("userAgent"),
            connected_ms=rc["connectedAt"],
            user_id=user_id,
            tenant_id=tenant_id,
        )
        conn.authorizer = rc.get("authorizer")
        try:
            await ws.prepare(request)
        except asyncio.CancelledError:
            self._disconnect_later(conn)
            raise
        except Exception:  # noqa: BLE001 - any failed handshake: $connect is undone
            conn.close_code, conn.close_reason = 1006, close_reason(1006)
            await self.disconnected(conn)
            return web.Response(status=400, text="Bad WebSocket handshake\n")
        gw.live[connection_id] = conn
        who_text = f"  user={user_id}" if user_id else ""
        who_text += f"  tenant={tenant_id}" if tenant_id else ""
        gw.write_event("CONNECT", connection_id, f"{status}  {outcome.elapsed_ms:.1f} ms{who_text}")
        if gw.inspector is not None:
            gw.inspector.connected(conn.summary())
            await self._show_channels(connection_id)
        gw.record("connect", connection_id, status=status, user=user_id, tenant=tenant_id)
        if gw.closing:  # accepted while the gateway was stopping
            gw.close_connection(conn, 1001, "Going away")
        try:
            await self._serve(conn)
        except asyncio.CancelledError:
            gw.live.pop(connection_id, None)
            self._disconnect_later(conn)
            raise
        return ws

    async def _authorize(self, event: dict[str, Any], connection_id: str) -> web.Response | None:
        """Run the app's REQUEST authorizer, if any: its refusal, or ``None`` (its context
        is then ``requestContext.authorizer`` of ``event``)."""
        gw = self.gateway
        authorizer, pool = gw.authorizer, gw.pool
        if authorizer is None or pool is None:
            return None
        decision = await authorizer.decide(
            event, pool, timeout=gw.integration_timeout, report=gw.write
        )
        if decision.allowed:
            event["requestContext"]["authorizer"] = decision.context
            return None
        gw.write_event("CONNECT", connection_id, f"{decision.status} refused by the authorizer")
        reason = f"authorizer: {decision.message}"
        gw.record("refused", connection_id, status=decision.status, reason=reason)
        return web.json_response({"message": decision.message}, status=decision.status)

    def _disconnect_later(self, conn: LiveConnection) -> None:
        if conn.close_code is None:
            conn.close_code, conn.close_reason = 1006, close_reason(1006)
        task = asyncio.get_running_loop().create_task(self.disconnected(conn))
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    async def _serve(self, conn: LiveConnection) -> None:
        writer = asyncio.create_task(self._writer(conn))
        processor = asyncio.create_task(self._processor(conn))
        try:
            await self._reader(conn)
        finally:
            conn.closing = True
            if conn.close_code is None:
                conn.close_code, conn.close_reason = 1006, close_reason(1006)
            conn.outbox.put_nowait(CloseRequest(conn.close_code, conn.close_reason))
            conn.inbox.put_nowait(None)
            _, late = await asyncio.wait([writer, processor], timeout=_DRAIN_SECONDS)
            for task in late:
                task.cancel()
            with contextlib.suppress(Exception):
                await conn.ws.close()
            self.gateway.live.pop(conn.id, None)
            await self.disconnected(conn)

    # -- the three tasks of a connection ------------------------------------------------
    async def _reader(self, conn: LiveConnection) -> None:
        gw = self.gateway
        ws = conn.ws
        while True:
            msg = await ws.receive()
            kind = msg.type
            if kind is WSMsgType.TEXT:
                text: str = msg.data
                size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
                if size > MAX_PAYLOAD_BYTES:
                    await self._policy_close(conn, 1009)
                    return
                if conn.closing:
                    continue
                conn.touch()
                route_key = route_for(gw.selection, text, gw.routes)
                conn.inbox.put_nowait((text, route_key))
                gw.record("in", conn.id, route=route_key, data=preview(text), size=size)
            elif kind is WSMsgType.BINARY:
                await self._policy_close(conn, 1003)
                return
            elif kind is WSMsgType.CLOSE:
                if conn.close_code is None:
                    code = int(msg.data) if msg.data else 1005
                    conn.close_code, conn.close_reason = code, close_reason(code, msg.extra or "")
                return
            elif kind is WSMsgType.ERROR:
                error = msg.data
                if conn.close_code is None:
                    code = int(error.code) if isinstance(error, WebSocketError) else 1006
                    conn.close_code, conn.close_reason = code, close_reason(code)
                return
            else:  # CLOSING (we are closing it) or CLOSED (the peer vanished)
                return

    async def _policy_close(self, conn: LiveConnection, code: int) -> None:
        if conn.close_code is None:
            conn.close_code, conn.close_reason = code, close_reason(code)
        conn.closing = True
        await conn.ws.close(code=code, message=conn.close_reason.encode())

    @staticmethod
    async def _writer(conn: LiveConnection) -> None:
        ws = conn.ws
        while True:
            item = await conn.outbox.get()
            if isinstance(item, CloseRequest):
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.close(code=item.code, message=item.reason.encode())
                return
            if ws.closed:
                continue
            try:
                if isinstance(item, str):
                    await ws.send_str(item)
                else:
                    await ws.send_bytes(item)
            except (ConnectionError, RuntimeError):
                continue

    async def _show_channels(self, connection_id: str) -> None:
        """Refresh the inspector's channels column of one connection (from the store)."""
        gw = self.gateway
        if gw.inspector is None:
            return
        loop = asyncio.get_running_loop()
        channels = await loop.run_in_executor(None, gw.channels_of, connection_id)
        if channels is not None and gw.inspector is not None:
            gw.inspector.channels(connection_id, channels)

    async def _processor(self, conn: LiveConnection) -> None:
        gw = self.gateway
        while (item := await conn.inbox.get()) is not None:
            body, route_key = item
            try:
                status, elapsed = await self._message(conn, body, route_key)
            except Exception as exc:  # noqa: BLE001 - one message's failure never ends the rest
                gw.write(f"The gateway failed on a {route_key} message: {exc!r}")
                self._answer_error(conn, INTERNAL_ERROR, _request_id())
                status, elapsed = 500, 0.0
            detail = f"{route_key}  {status}  {elapsed:.1f} ms  {len(body)} chars"
            gw.write_event("MESSAGE", conn.id, detail)
            await self._show_channels(conn.id)

    async def _message(self, conn: LiveConnection, body: str, route_key: str) -> tuple[int, float]:
        gw = self.gateway
        request_id = _request_id()
        if not gw.has_route(route_key):
            self._answer_error(conn, FORBIDDEN, request_id)
            return 403, 0.0
        invoker = gw.invoker
        if invoker is None:
            return 503, 0.0
        event = functools.partial(  # built on the worker thread, off the event loop
            message_event,
            body,
            route_key=route_key,
            connection_id=conn.id,
            connected_at=conn.connected_ms,
            stage=gw.stage,
            source_ip=conn.source_ip,
            user_agent=conn.user_agent,
            request_id=request_id,
            authorizer=conn.authorizer,
        )
        outcome, _ = await invoker.invoke(event, route=route_key)
        if outcome.timed_out:
            self._answer_error(conn, TIMED_OUT, request_id)
            return 504, outcome.elapsed_ms
        if outcome.raised:
            self._answer_error(conn, INTERNAL_ERROR, request_id)
            return 500, outcome.elapsed_ms
        if gw.route_responses:
            try:
                data = route_response(outcome.result)
            except RouteResponseError as exc:
                gw.write(f"The route response of {route_key} was refused: {exc}")
                self._answer_error(conn, INTERNAL_ERROR, request_id)
                return 502, outcome.elapsed_ms
            if data is not None:
                gw.post(conn.id, data)
        return status_of(outcome.result), outcome.elapsed_ms

    def _answer_error(self, conn: LiveConnection, message: str, request_id: str) -> None:
        """What API Gateway sends a client when it cannot deliver its message."""
        body = {"message": message, "connectionId": conn.id, "requestId": request_id}
        self.gateway.post(conn.id, json.dumps(body).encode())

    async def disconnected(self, conn: LiveConnection) -> None:
        """Run ``$disconnect`` (once) for a connection whose ``$connect`` succeeded."""
        if conn.id in self._disconnecting or conn.finished.done():
            return
        self._disconnecting.add(conn.id)
        gw = self.gateway
        code = conn.close_code if conn.close_code is not None else 1006
        reason = conn.close_reason
        event = disconnect_event(
            connection_id=conn.id,
            connected_at=conn.connected_ms,
            status_code=code,
            reason=reason,
            stage=gw.stage,
            source_ip=conn.source_ip,
            user_agent=conn.user_agent,
            authorizer=conn.authorizer,
        )
        try:
            if gw.invoker is not None:
                outcome, _ = await gw.invoker.invoke(event)
                result = "timed out" if outcome.timed_out else str(status_of(outcome.result))
                detail = f"{code} {reason}  {result}  {outcome.elapsed_ms:.1f} ms"
                gw.write_event("DISCONNECT", conn.id, detail)
        finally:
            self._disconnecting.discard(conn.id)
            if gw.inspector is not None:
                gw.inspector.disconnected(conn.id)
            gw.record("disconnect", conn.id, code=code, reason=reason)
            if not conn.finished.done():
                conn.finished.set_result(None)
