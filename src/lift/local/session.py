"""One client's WebSocket session on the local gateway: a thin aiohttp driver of the
API Gateway model (:class:`lift.apigw.WebSocketApi`).

The session tells the model what happened (a client asks to connect, sends a text or
binary frame, closes; the app answered) and performs the action it gets back
(:class:`~lift.apigw.Invoke` the app, :class:`~lift.apigw.Accept` or
:class:`~lift.apigw.Refuse` the handshake, :class:`~lift.apigw.Reply` with a frame,
:class:`~lift.apigw.Close` the socket). Every rule (which routes are deployed, route
selection and ``Forbidden``, refusals, route responses and their limits, 1009 and
1003, close reasons, API Gateway's error frames) is the model's.

What is the driver's own: the upgrade request is checked first (a malformed handshake
is answered 400, 426 for a WebSocket version other than 13, and never reaches the
app); should the handshake fail after an accepted ``$connect`` (the client vanished
meanwhile), the connection is reported closed (1006), so ``$disconnect`` runs and the
app removes what it saved. A reader feeds each frame to the model and queues the
actions; a processor invokes the app for each message in turn (with the integration
timeout) and a writer sends what is delivered to the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from typing import TYPE_CHECKING, Any

from aiohttp import WebSocketError, WSMsgType, web

from ..apigw import Accept, Close, CloseCode, Invoke, Refuse, Reply, close_reason
from ..apigw.limits import MAX_FRAME_BYTES
from ..apigw.responses import status_of
from ..testing import events
from .events import connect_event, new_connection_id
from .inspector import preview
from .live import CloseRequest, LiveConnection

if TYPE_CHECKING:
    from .gateway import Gateway

__all__ = ["READ_LIMIT", "Sessions"]

READ_LIMIT = 4 * MAX_FRAME_BYTES
"""Frames larger than this are refused by aiohttp's reader itself (closed with 1009)."""

_DRAIN_SECONDS = 60.0
_ABNORMAL = int(CloseCode.ABNORMAL)


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


def _stored_identity(app: Any, connection_id: str) -> tuple[str | None, str | None]:
    """The user and tenant the app stored for a connection (worker thread; best effort,
    for the inspector's columns)."""
    store = getattr(getattr(app, "websocket_options", None), "store", None)
    if store is None:
        return None, None
    try:
        record = store.get(connection_id)
    except Exception:  # noqa: BLE001 - the inspector's user column is best effort
        return None, None
    if record is None:
        return None, None
    return record.user_id, record.tenant_id


def _bad_upgrade(request: web.Request) -> web.Response | None:
    """The answer to an upgrade request that is not a valid WebSocket handshake."""
    if request.headers.get("Sec-WebSocket-Version", "").strip() != "13":
        headers = {"Sec-WebSocket-Version": "13"}
        return web.Response(status=426, headers=headers, text="WebSocket version 13 only\n")
    offered = request.headers.get("Sec-WebSocket-Protocol", "")
    protocols = tuple(p.strip() for p in offered.split(",") if p.strip())
    if not web.WebSocketResponse(protocols=protocols).can_prepare(request).ok:
        return web.Response(status=400, text="Bad WebSocket handshake\n")
    return None


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
        api, invoker = gw.api, gw.invoker
        if gw.closing or invoker is None or api is None:
            return web.Response(status=503, text="The gateway is shutting down\n")
        refusal = _bad_upgrade(request)
        if refusal is not None:
            return refusal
        connection_id = new_connection_id()
        source_ip = request.remote or "127.0.0.1"
        first = api.connect()
        event = connect_event(
            connection_id=connection_id,
            headers=_connect_headers(request, source_ip),
            query=request.query.items(),
            stage=gw.stage,
            source_ip=source_ip,
            request_id=first.request_id if isinstance(first, Invoke) else None,
        )
        refusal = await self._authorize(event, connection_id)
        if refusal is not None:
            return refusal
        step, elapsed_ms, who = await self._connect(first, event, connection_id)
        if isinstance(step, Refuse):
            detail = f"{step.status} refused  {elapsed_ms:.1f} ms"
            gw.write_event("CONNECT", connection_id, detail)
            gw.record("refused", connection_id, status=step.status, reason=_reason(step.body))
            return web.Response(status=step.status, headers=step.headers, body=step.body)
        user_id, tenant_id = who
        protocol = step.subprotocol
        ws = web.WebSocketResponse(
            protocols=(protocol,) if protocol else (), compress=False, max_msg_size=READ_LIMIT
        )
        conn = LiveConnection(
            ws, events.connection_options(event), user_id=user_id, tenant_id=tenant_id
        )
        # The connection exists from here (the app may post to it); frames wait in its
        # outbox until the handshake completes.
        gw.live[connection_id] = conn
        api.opened(
            connection_id,
            source_ip=source_ip,
            user_agent=conn.user_agent or "",
            connected_at=conn.connected_at,
        )
        try:
            try:
                await ws.prepare(request)
            except Exception:  # noqa: BLE001 - any failed handshake: $connect is undone
                gw.live.pop(connection_id, None)
                conn.close_code, conn.close_reason = _ABNORMAL, ""
                await self.disconnected(conn)
                return web.Response(status=400, text="Bad WebSocket handshake\n")
            self._accepted(conn, step.response.status, elapsed_ms)
            await self._show_channels(connection_id)  # subscriptions made on $connect
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

    def _accepted(self, conn: LiveConnection, status: int, elapsed_ms: float) -> None:
        gw = self.gateway
        user_id, tenant_id = conn.user_id, conn.tenant_id
        who_text = f"  user={user_id}" if user_id else ""
        who_text += f"  tenant={tenant_id}" if tenant_id else ""
        gw.write_event("CONNECT", conn.id, f"{status}  {elapsed_ms:.1f} ms{who_text}")
        if gw.inspector is not None:
            gw.inspector.connected(conn.summary())
        gw.record("connect", conn.id, status=status, user=user_id, tenant=tenant_id)
        if gw.closing:  # accepted while the gateway was stopping
            gw.close_connection(conn, CloseCode.GOING_AWAY)

    async def _connect(
        self, step: Invoke | Accept, event: dict[str, Any], connection_id: str
    ) -> tuple[Accept | Refuse, float, tuple[str | None, str | None]]:
        """Run ``$connect`` when the model says so: its answer, the time taken and the
        user and tenant the app stored (for the inspector)."""
        gw = self.gateway
        api, invoker = gw.api, gw.invoker
        if isinstance(step, Accept) or api is None or invoker is None:
            return Accept(), 0.0, (None, None)

        def identity(result: Any) -> tuple[str | None, str | None]:
            accepted = isinstance(api.connect_answered(result), Accept)
            return _stored_identity(gw.app, connection_id) if accepted else (None, None)

        outcome, found = await invoker.invoke(event, identity)
        answer = api.connect_answered(
            outcome.result, failed=outcome.raised, timed_out=outcome.timed_out
        )
        return answer, outcome.elapsed_ms, found or (None, None)

    def _disconnect_later(self, conn: LiveConnection) -> None:
        if conn.close_code is None:
            conn.close_code, conn.close_reason = _ABNORMAL, ""
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
                conn.close_code, conn.close_reason = _ABNORMAL, ""
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
        api = gw.api
        assert api is not None
        ws = conn.ws
        while True:
            msg = await ws.receive()
            kind = msg.type
            if kind is WSMsgType.TEXT:
                text: str = msg.data
                if conn.closing:
                    continue
                step = api.receive_text(conn.id, text)
                if isinstance(step, Close):
                    await self._close_now(conn, step)
                    return
                if step is None:
                    continue
                conn.inbox.put_nowait((text, step))
                route = step.route_key if isinstance(step, Invoke) else None
                gw.record("in", conn.id, route=route, data=preview(text), size=len(text))
            elif kind is WSMsgType.BINARY:
                closing = api.receive_binary(conn.id, msg.data)
                if closing is not None:
                    await self._close_now(conn, closing)
                return
            elif kind is WSMsgType.CLOSE:
                if conn.close_code is None:
                    code = int(msg.data) if msg.data else int(CloseCode.NO_STATUS)
                    conn.close_code, conn.close_reason = code, msg.extra or ""
                return
            elif kind is WSMsgType.ERROR:
                error = msg.data
                if conn.close_code is None:
                    code = int(error.code) if isinstance(error, WebSocketError) else _ABNORMAL
                    conn.close_code, conn.close_reason = code, ""
                return
            else:  # CLOSING (we are closing it) or CLOSED (the peer vanished)
                return

    @staticmethod
    async def _close_now(conn: LiveConnection, step: Close) -> None:
        if conn.close_code is None:
            conn.close_code, conn.close_reason = step.code, step.reason
        conn.closing = True
        await conn.ws.close(code=step.code, message=step.reason.encode())

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
        channels = await loop.run_in_executor(None, _stored_channels, gw.app, connection_id)
        if channels is not None and gw.inspector is not None:
            gw.inspector.channels(connection_id, channels)

    async def _processor(self, conn: LiveConnection) -> None:
        gw = self.gateway
        while (item := await conn.inbox.get()) is not None:
            body, step = item
            route = step.route_key if isinstance(step, Invoke) else "(none)"
            try:
                status, elapsed = await self._message(conn, body, step)
            except Exception as exc:  # noqa: BLE001 - one message's failure never ends the rest
                gw.write(f"The gateway failed on a {route} message: {exc!r}")
                status, elapsed = 500, 0.0
            detail = f"{route}  {status}  {elapsed:.1f} ms  {len(body)} chars"
            gw.write_event("MESSAGE", conn.id, detail)
            await self._show_channels(conn.id)

    async def _message(
        self, conn: LiveConnection, body: str, step: Invoke | Reply
    ) -> tuple[int, float]:
        gw = self.gateway
        api, invoker = gw.api, gw.invoker
        if api is None or invoker is None:
            return 503, 0.0
        if isinstance(step, Reply):  # API Gateway answers it (Forbidden)
            api.connections.deliver(conn.id, step.data)
            return 403, 0.0
        event = functools.partial(  # built on the worker thread, off the event loop
            events.websocket_message,
            body,
            route_key=step.route_key,
            request_id=step.request_id,
            **conn.event_options,
        )
        outcome, _ = await invoker.invoke(event, route=step.route_key)
        reply = api.answered(
            conn.id, step, outcome.result, failed=outcome.raised, timed_out=outcome.timed_out
        )
        if reply is not None:
            api.connections.deliver(conn.id, reply.data)
        if outcome.timed_out:
            return 504, outcome.elapsed_ms
        return (500 if outcome.raised else status_of(outcome.result)), outcome.elapsed_ms

    async def disconnected(self, conn: LiveConnection) -> None:
        """Report the end of a connection to the model and run ``$disconnect`` (once)
        when it says so."""
        if conn.id in self._disconnecting or conn.finished.done():
            return
        self._disconnecting.add(conn.id)
        gw = self.gateway
        api = gw.api
        code = conn.close_code if conn.close_code is not None else _ABNORMAL
        step = api.closed(conn.id, code, conn.close_reason) if api is not None else None
        reason = close_reason(code, conn.close_reason)
        try:
            if step is not None and gw.invoker is not None:
                code = step.close_code if step.close_code is not None else code
                reason = step.close_reason or reason
                event = events.websocket_disconnect(
                    status_code=code, reason=reason, **conn.event_options
                )
                outcome, _ = await gw.invoker.invoke(event)
                result = "timed out" if outcome.timed_out else str(status_of(outcome.result))
                detail = f"{code} {reason}  {result}  {outcome.elapsed_ms:.1f} ms"
                gw.write_event("DISCONNECT", conn.id, detail)
        finally:
            self._disconnecting.discard(conn.id)
            if api is not None:
                api.connections.forget(conn.id)
            if gw.inspector is not None:
                gw.inspector.disconnected(conn.id)
            gw.record("disconnect", conn.id, code=code, reason=reason)
            if not conn.finished.done():
                conn.finished.set_result(None)


def _reason(body: bytes | str | None, limit: int = 200) -> str:
    """Why ``$connect`` refused, for the inspector: the body's error message, or the body."""
    if not body:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        parsed = json.loads(text)
    except ValueError:
        return text[:limit]
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        code = error.get("code")
        return (f"{code}: " if isinstance(code, str) else "") + str(error["message"])[:limit]
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        return str(parsed["message"])[:limit]
    return text[:limit]


def _stored_channels(app: Any, connection_id: str) -> list[str] | None:
    """The channels the app's store holds for a connection (on a worker thread; best
    effort, for the inspector's channels column)."""
    store = getattr(getattr(app, "websocket_options", None), "store", None)
    channels_of = getattr(store, "channels_of", None)
    if channels_of is None:
        return None
    try:
        return list(channels_of(connection_id))
    except Exception:  # noqa: BLE001 - the inspector's channels column is best effort
        return None
