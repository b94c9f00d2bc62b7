"""Development tokens for the chat: the signing secret and :func:`mint`.

In production the tokens come from your identity provider (Cognito, Auth0...) and the
app verifies them with its public keys (``JWTConfig(jwks_url=..., algorithms=["RS256"])``).
For local runs and tests the chat uses an HS256 shared secret: env ``CHAT_JWT_SECRET``,
else :data:`DEV_SECRET`, which is public and must never protect anything real.

Print a token from the shell::

    python -m examples.chat.tokens alice acme
"""

from __future__ import annotations

import os
import sys
import time

__all__ = ["AUDIENCE", "DEV_SECRET", "SECRET_ENV", "mint", "secret"]

SECRET_ENV = "CHAT_JWT_SECRET"
DEV_SECRET = "lift-chat-dev-secret-not-for-production"
"""The development default (HS256 needs at least 32 bytes). The demo page signs with it."""
AUDIENCE = "lift-chat"
"""The ``aud`` every chat token carries, so tokens minted for other apps are refused."""


def secret() -> str:
    """The HS256 secret: ``CHAT_JWT_SECRET``, else the development default."""
    return os.environ.get(SECRET_ENV) or DEV_SECRET


def mint(
    user: str,
    tenant: str,
    *,
    ttl: int = 3600,
    key: str | None = None,
    **claims: object,
) -> str:
    """A signed token for ``user`` in ``tenant``, valid ``ttl`` seconds.

    ``key`` defaults to :func:`secret`; extra ``claims`` are added (or override).
    """
    import jwt  # PyJWT, imported on use like the rest of Lift's optional dependencies

    now = int(time.time())
    payload: dict[str, object] = {
        "sub": user,
        "tenant_id": tenant,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + ttl,
    }
    payload.update(claims)
    token: str = jwt.encode(payload, key or secret(), algorithm="HS256")
    return token


if __name__ == "__main__":  # pragma: no cover - a developer convenience
    if len(sys.argv) != 3:
        sys.exit("usage: python -m examples.chat.tokens USER TENANT")
    print(mint(sys.argv[1], sys.argv[2]))
