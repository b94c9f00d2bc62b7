"""Authentication: JWT validation, token sources, ``websocket_auth`` and the authorizer.

- :class:`JWTConfig` and :class:`TokenValidator` (:mod:`lift.auth.jwt`): how tokens
  are checked; keys from a secret, a PEM public key or a JWKS URL.
- :func:`websocket_auth` (:mod:`lift.auth.middleware`): the middleware, also exported
  as ``lift.middleware.websocket_auth``.
- :func:`authorizer` (:mod:`lift.auth.request_authorizer`): a Lambda REQUEST
  authorizer for ``$connect``, also exported as ``lift.websocket.authorizer``.

Names are imported on first use, so ``import lift.auth`` loads neither PyJWT nor
cryptography.
"""

from __future__ import annotations

from .._lazy import lazy_attributes

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from .jwt import JWTConfig, TokenError, TokenValidator
    from .middleware import WebSocketAuth, websocket_auth
    from .request_authorizer import authorizer

_EXPORTS = {
    "JWTConfig": ".jwt",
    "TokenError": ".jwt",
    "TokenValidator": ".jwt",
    "WebSocketAuth": ".middleware",
    "websocket_auth": ".middleware",
    "authorizer": ".request_authorizer",
}

__all__ = [
    "JWTConfig",
    "TokenError",
    "TokenValidator",
    "WebSocketAuth",
    "authorizer",
    "websocket_auth",
]

__getattr__ = lazy_attributes(__name__, _EXPORTS)
