"""The ``rate_limit`` middleware: fixed or sliding windows over a counter store."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import LiftError
from ..frames import send_error_frame
from .counters import CounterStore, MemoryCounterStore
from .rules import Rule, parse_rule

if TYPE_CHECKING:
    from ..context import Context
    from ..types import Handler

__all__ = ["RateLimit", "rate_limit", "too_many_requests"]

_MAX_KEY_PART = 200


def too_many_requests(rule: Rule, retry_after: int) -> LiftError:
    """429 ``TOO_MANY_REQUESTS`` with ``Retry-After`` (also in the details, for frames)."""
    return LiftError(
        429,
        "TOO_MANY_REQUESTS",
        "Too many requests",
        {"limit": rule.name, "retry_after": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


def _key_part(value: str) -> str:
    """``value`` as the last part of a counter key; long values are hashed (bounded keys)."""
    if len(value) <= _MAX_KEY_PART:
        return value
    import hashlib

    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


class RateLimit:
    """Middleware counting hits per connection, user, tenant or source IP.

    MESSAGE events count against ``per_connection``, ``per_user`` and ``per_tenant``;
    ``$connect`` against ``on_connect``; HTTP requests against ``per_user`` and
    ``per_tenant``; ``$disconnect`` and other events are never limited. A refused
    WebSocket message gets the 429 response, which the route response returns to the
    client, or an error frame as well when the route has none (:mod:`lift.frames`); a
    refused ``$connect`` refuses the handshake with 429. Both carry ``Retry-After``.
    """

    def __init__(
        self,
        rules: list[Rule],
        store: CounterStore,
        *,
        sliding: bool,
        fail_open: bool,
        clock: Callable[[], float],
        prefix: str,
    ) -> None:
        self.rules = rules
        self.store = store
        self.sliding = sliding
        self.fail_open = fail_open
        self.clock = clock
        self.prefix = prefix
        self._message = [rule for rule in rules if rule.name != "on_connect"]
        self._http = [rule for rule in rules if rule.name in ("per_user", "per_tenant")]
        self._connect = [rule for rule in rules if rule.name == "on_connect"]

    def __call__(self, handler: Handler) -> Handler:
        def limited(ctx: Context) -> Any:
            request = ctx.request
            if ctx.is_websocket:
                method = request.method
                rules = (
                    self._message
                    if method == "MESSAGE"
                    else self._connect
                    if method == "CONNECT"
                    else ()
                )
            else:
                rules = self._http if request.trigger.value == "http" else ()
            for rule in rules:
                error = self.check(rule, ctx)
                if error is not None:
                    send_error_frame(ctx, error)
                    raise error
            return handler(ctx)

        return limited

    def scope_value(self, rule: Rule, ctx: Context) -> str | None:
        """Whom ``rule`` counts for this event (``None``: the rule does not apply)."""
        scope = rule.scope
        if scope == "connection":
            return ctx.websocket.connection_id if ctx.is_websocket else None
        if scope == "user":
            return ctx.user_id
        if scope == "tenant":
            return ctx.tenant_id
        return ctx.request.source_ip or None

    def check(self, rule: Rule, ctx: Context) -> LiftError | None:
        """Count one hit of ``rule``; the 429 to answer when it is over its limit."""
        value = self.scope_value(rule, ctx)
        if not value:
            return None
        now = self.clock()
        window = rule.window(now)
        base = f"{self.prefix}#{rule.name}#{rule.seconds}#"
        key = f"{base}{window.index}#{_key_part(value)}"
        limit = rule.limit
        previous = 0
        try:
            if self.sliding:
                previous = self.store.count(f"{base}{window.index - 1}#{_key_part(value)}")
                weight = 1.0 - (now - window.start) / rule.seconds
                limit -= math.ceil(previous * weight)
            counted = limit > 0 and self.store.add(
                key, limit=limit, expires_at=window.end + rule.seconds
            )
        except LiftError:
            if not self.fail_open:
                raise
            ctx.logger.warning("Rate limit not checked: the counter store failed", rule=rule.name)
            return None
        if counted:
            return None
        return too_many_requests(rule, self._retry_after(rule, now, window.end, previous))

    def _retry_after(self, rule: Rule, now: float, end: float, previous: int) -> int:
        """Whole seconds until a hit may be counted again."""
        wait = end - now
        if self.sliding and previous > 0:
            # The previous window weighs in less and less: one more hit is allowed once
            # ceil(previous * weight) drops by one, unless the window ends first.
            weighted = previous * (end - now) / rule.seconds
            drop = weighted - (math.ceil(weighted) - 1)
            wait = min(wait, drop * rule.seconds / previous)
        return max(1, math.ceil(wait))


def rate_limit(
    per_connection: str | None = None,
    per_user: str | None = None,
    per_tenant: str | None = None,
    on_connect: str | None = None,
    *,
    store: CounterStore | None = None,
    window: str = "fixed",
    fail_open: bool = True,
    clock: Callable[[], float] = time.time,
    prefix: str = "rate",
) -> RateLimit:
    """Limit how often a connection, user, tenant or source IP may call the app.

    Rates read ``"20/second"``, ``"100/minute"``, ``"1000/hour"``, ``"10/5 minutes"``;
    ``on_connect`` defaults to ``per source_ip`` and any rate may name its scope
    (``"5/minute per user"``). ``store`` is shared by every instance of the app
    (:class:`~lift.ratelimit.DynamoDBCounterStore`; the default
    :class:`~lift.ratelimit.MemoryCounterStore` counts within one process only).
    ``window``: ``"fixed"`` (counters reset at each period boundary) or ``"sliding"``
    (the previous period's count weighs in by how much of it overlaps the last period).
    ``fail_open``: when the counter store fails, let the event through (logged) rather
    than answer 503.
    """
    if window not in ("fixed", "sliding"):
        raise ValueError("window must be 'fixed' or 'sliding'")
    if not prefix or "#" in prefix:
        raise ValueError("prefix must be non-empty and without '#'")
    given = {
        "per_connection": (per_connection, "connection"),
        "per_user": (per_user, "user"),
        "per_tenant": (per_tenant, "tenant"),
        "on_connect": (on_connect, "source_ip"),
    }
    rules = [
        parse_rule(name, text, scope) for name, (text, scope) in given.items() if text is not None
    ]
    if not rules:
        raise ValueError("rate_limit() needs at least one rate")
    return RateLimit(
        rules,
        store if store is not None else MemoryCounterStore(clock=clock),
        sliding=window == "sliding",
        fail_open=fail_open,
        clock=clock,
        prefix=prefix,
    )
