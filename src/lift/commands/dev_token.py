"""``lift token MODULE:APP``: a signed development JWT the app accepts.

The key, algorithm, issuer, audience and tenant claim come from the ``JWTConfig`` of
the app's ``websocket_auth`` middleware. Only shared-secret (HS*) configurations can
be minted for: with a public key or JWKS, tokens come from the identity provider.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..loading import load_app

__all__ = ["find_jwt_config", "mint", "register"]


def register(commands: Any, app_argument: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``token`` to ``commands``."""
    parser = commands.add_parser(
        "token",
        help="print a signed development JWT for the app's websocket_auth",
        description="Print a JWT signed with the shared secret of the app's websocket_auth "
        "JWTConfig (issuer, audience and tenant claim included). For development only.",
    )
    app_argument(parser)
    parser.add_argument("--sub", default="dev-user", help="the user id (sub claim)")
    parser.add_argument("--tenant", default=None, help="the tenant id (the tenant claim)")
    parser.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    parser.add_argument(
        "--role", action="append", default=None, help="a role (repeatable; the roles claim)"
    )
    parser.add_argument(
        "--claim", action="append", default=None, metavar="NAME=VALUE", help="an extra claim"
    )
    parser.set_defaults(run=run)


def find_jwt_config(app: Any) -> Any:
    """The ``JWTConfig`` of the app's ``websocket_auth`` middleware, or ``None``."""
    from ..auth.jwt import JWTConfig

    for middleware in getattr(app, "middleware", ()):
        config = getattr(middleware, "config", None)
        if isinstance(config, JWTConfig):
            return config
    return None


def _first(value: str | Sequence[str] | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return next(iter(value), None)


def mint(
    config: Any,
    sub: str,
    *,
    tenant: str | None = None,
    ttl: int = 3600,
    roles: Sequence[str] | None = None,
    claims: dict[str, Any] | None = None,
) -> str:
    """A token ``config`` accepts, signed with its secret (``ValueError`` without one)."""
    if config.secret is None:
        source = "a JWKS URL" if config.jwks_url else "a public key"
        raise ValueError(
            f"the app verifies tokens with {source}; only its identity provider can sign "
            "them (lift token signs for a shared-secret JWTConfig only)"
        )
    algorithm = next((a for a in config.algorithms if a.startswith("HS")), None)
    if algorithm is None:
        raise ValueError("the JWTConfig has a secret but no HS* algorithm")
    if ttl <= 0:
        raise ValueError("--ttl must be a positive number of seconds")
    import jwt

    now = int(time.time())
    payload: dict[str, Any] = {"sub": sub, "iat": now, "exp": now + ttl}
    issuer, audience = _first(config.issuer), _first(config.audience)
    if issuer is not None:
        payload["iss"] = issuer
    if audience is not None:
        payload["aud"] = audience
    if tenant is not None:
        payload[config.tenant_claim] = tenant
    if roles:
        payload[config.roles_claim] = list(roles)
    payload.update(claims or {})
    missing = [name for name in config.required_claims if name not in payload]
    if missing:
        raise ValueError(f"the app requires claims {missing}: add them with --claim NAME=VALUE")
    token: str = jwt.encode(payload, config.secret, algorithm=algorithm)
    return token


def run(args: argparse.Namespace) -> int:
    """Print the token on stdout (and nothing else)."""
    app = load_app(args.app, factory=args.factory)
    config = find_jwt_config(app)
    if config is None:
        print(f"error: {args.app} uses no websocket_auth(JWTConfig(...))", file=sys.stderr)
        return 2
    claims = {}
    for item in args.claim or ():
        name, sep, value = item.partition("=")
        if not sep or not name:
            print(f"error: --claim takes NAME=VALUE, got {item!r}", file=sys.stderr)
            return 2
        claims[name] = value
    try:
        token = mint(
            config, args.sub, tenant=args.tenant, ttl=args.ttl, roles=args.role, claims=claims
        )
    except ImportError:
        print("error: lift token needs PyJWT: pip install 'lift-python[jwt]'", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0
