"""Built-in middleware. A middleware wraps a handler: ``app.use(mw)``, first added outermost.

- :func:`websocket_auth` with :class:`JWTConfig`: JWT authentication for WebSocket
  routes (token checked on ``$connect``, identity restored on later events); both
  live in :mod:`lift.auth` and are re-exported here.
- :func:`websocket_metrics`: per-event WebSocket metrics as CloudWatch EMF
  (requests, latency, errors, connections, messages and their size).
- :func:`request_logging`: one structured log line per event, never a header or token.
- :func:`recovery`: exceptions become the standard error response inside the chain.

Names are imported on first use, so ``import lift.middleware`` stays light and PyJWT
is only loaded when token validation is set up.
"""

from __future__ import annotations

from .._lazy import lazy_attributes

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from ..auth.jwt import JWTConfig
    from ..auth.middleware import websocket_auth
    from .logging import request_logging
    from .metrics import websocket_metrics
    from .recovery import recovery

_EXPORTS = {
    "websocket_auth": "..auth.middleware",
    "JWTConfig": "..auth.jwt",
    "request_logging": ".logging",
    "websocket_metrics": ".metrics",
    "recovery": ".recovery",
}

__all__ = ["JWTConfig", "recovery", "request_logging", "websocket_auth", "websocket_metrics"]

__getattr__ = lazy_attributes(__name__, _EXPORTS)
