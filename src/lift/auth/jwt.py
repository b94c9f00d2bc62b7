"""JWT validation shared by ``websocket_auth`` and the Lambda authorizer.

:class:`JWTConfig` is checked when it is created; :class:`TokenValidator` is built once
(keys loaded, JWKS client created) and then validates tokens. PyJWT and cryptography
are imported when a validator is built, never when this module is imported.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..identity import parse_roles

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from datetime import timedelta
    from typing import Any

__all__ = [
    "MAX_TOKEN_LENGTH",
    "REASON_MESSAGES",
    "JWTConfig",
    "TokenError",
    "TokenValidator",
    "claim_roles",
    "parse_roles",
]

MAX_TOKEN_LENGTH = 16 * 1024
"""Longer strings are refused without being parsed."""

REASON_MESSAGES = {
    "missing": "Missing token",
    "invalid": "Invalid token",
    "expired": "Token expired",
    "not_yet_valid": "Token not yet valid",
    "unauthenticated": "Not authenticated",
    "unavailable": "Token could not be verified",
}
"""The client-facing message of each refusal reason."""

# Algorithm families. HMAC values are the minimum secret length in bytes (RFC 7518 3.2);
# EC values are the curve each algorithm requires.
_HMAC = {"HS256": 32, "HS384": 48, "HS512": 64}
_RSA = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_EC = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1", "ES256K": "secp256k1"}
_OKP = frozenset({"EdDSA"})
_KNOWN = frozenset(_HMAC) | _RSA | frozenset(_EC) | _OKP
_MIN_RSA_BITS = 2048
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _strings(value: Any, name: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    """A str or a sequence of non-empty strs, as a tuple."""
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, Sequence) or not all(isinstance(v, str) and v for v in items):
        raise ValueError(f"JWTConfig.{name} must be a string or a list of non-empty strings")
    if not items and not allow_empty:
        raise ValueError(f"JWTConfig.{name} must not be empty")
    return tuple(items)


class JWTConfig:
    """How tokens are verified. Every field is keyword-only; the config is checked here.

    Exactly one key source: ``secret`` (HS256/384/512, at least as long as the hash),
    ``public_key`` (PEM public key or certificate; RS*, PS*, ES*, EdDSA) or ``jwks_url``
    (keys fetched within ``jwks_timeout`` seconds in all, at most 256 KiB, one fetch at
    a time; cached ``jwks_cache_ttl`` seconds, a failure ``jwks_failure_ttl`` seconds;
    refetched on an unknown ``kid`` at most once per ``jwks_refresh_interval`` seconds).
    ``algorithms`` is required; ``none`` is never accepted, and HMAC algorithms cannot
    be mixed with a public key or JWKS (which blocks the key-confusion attack).
    ``issuer`` and ``audience`` are checked when set; note that a token carrying ``aud``
    is refused when ``audience`` is not set. ``leeway`` (seconds or timedelta) applies
    to ``exp``, ``nbf`` and ``iat``. ``required_claims`` must be present in every token.
    ``tenant_claim`` and ``roles_claim`` name the claims the tenant id and the roles
    (a list, or a comma/space separated string) come from.

    Immutable, compared and hashed by value; ``repr`` never shows ``secret`` or
    ``public_key``. (A plain class with slots: building an app never loads
    :mod:`dataclasses`.)
    """

    __slots__ = _FIELDS = (
        "algorithms",
        "secret",
        "public_key",
        "jwks_url",
        "issuer",
        "audience",
        "leeway",
        "required_claims",
        "tenant_claim",
        "roles_claim",
        "jwks_cache_ttl",
        "jwks_refresh_interval",
        "jwks_timeout",
        "jwks_failure_ttl",
    )
    _HIDDEN = frozenset({"secret", "public_key"})

    algorithms: Sequence[str]
    secret: str | bytes | None
    public_key: str | bytes | None
    jwks_url: str | None
    issuer: str | Sequence[str] | None
    audience: str | Sequence[str] | None
    leeway: float | timedelta
    required_claims: Sequence[str]
    tenant_claim: str
    roles_claim: str
    jwks_cache_ttl: float
    jwks_refresh_interval: float
    jwks_timeout: float
    jwks_failure_ttl: float

    def __init__(
        self,
        *,
        algorithms: Sequence[str] = (),
        secret: str | bytes | None = None,
        public_key: str | bytes | None = None,
        jwks_url: str | None = None,
        issuer: str | Sequence[str] | None = None,
        audience: str | Sequence[str] | None = None,
        leeway: float | timedelta = 0,
        required_claims: Sequence[str] = ("sub", "exp"),
        tenant_claim: str = "tenant_id",
        roles_claim: str = "roles",
        jwks_cache_ttl: float = 300.0,
        jwks_refresh_interval: float = 30.0,
        jwks_timeout: float = 5.0,
        jwks_failure_ttl: float = 5.0,
    ) -> None:
        values = locals()
        for name in self._FIELDS:
            object.__setattr__(self, name, values[name])
        self._check()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"JWTConfig is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"JWTConfig is immutable: cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        """Copied and pickled through its checks, as built: ``JWTConfig(**fields)``."""
        return _rebuild_config, (dict(zip(self._FIELDS, self._values(), strict=True)),)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def __eq__(self, other: object) -> bool:
        if type(other) is not JWTConfig:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = (f"{n}={getattr(self, n)!r}" for n in self._FIELDS if n not in self._HIDDEN)
        return f"JWTConfig({', '.join(shown)})"

    def _check(self) -> None:
        if not self.algorithms:
            raise ValueError("JWTConfig.algorithms is required, for example algorithms=['RS256']")
        algorithms = _strings(self.algorithms, "algorithms")
        for name in algorithms:
            if name.lower() == "none":
                raise ValueError("JWTConfig.algorithms must not contain 'none'")
            if name not in _KNOWN:
                raise ValueError(f"JWTConfig.algorithms: unknown algorithm {name!r}")
        object.__setattr__(self, "algorithms", algorithms)

        sources = [
            name
            for name in ("secret", "public_key", "jwks_url")
            if getattr(self, name) not in (None, "", b"")
        ]
        if len(sources) != 1:
            raise ValueError(
                "JWTConfig needs exactly one of secret, public_key or jwks_url"
                + (f" (got {', '.join(sources)})" if sources else "")
            )
        if isinstance(self.secret, (bytearray, memoryview)):
            object.__setattr__(self, "secret", bytes(self.secret))  # kept as it was checked
        if self.secret is not None and not isinstance(self.secret, (str, bytes)):
            raise ValueError("JWTConfig.secret must be a string or bytes")
        hmac = [a for a in algorithms if a in _HMAC]
        if self.secret is not None and self.secret not in ("", b""):
            self._check_secret(algorithms)
        elif hmac:
            raise ValueError(
                f"JWTConfig: {', '.join(hmac)} cannot be used with a public key or JWKS"
            )
        if self.public_key is not None and not isinstance(self.public_key, (str, bytes)):
            raise ValueError("JWTConfig.public_key must be a PEM string or bytes")
        if self.jwks_url is not None:
            _check_jwks_url(self.jwks_url)

        for name in ("issuer", "audience"):
            value = getattr(self, name)
            if value is not None:
                strings = _strings(value, name)
                object.__setattr__(self, name, value if isinstance(value, str) else strings)
        object.__setattr__(
            self,
            "required_claims",
            _strings(self.required_claims, "required_claims", allow_empty=True),
        )
        if self.leeway_seconds < 0:
            raise ValueError("JWTConfig.leeway must not be negative")
        for name in ("tenant_claim", "roles_claim"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"JWTConfig.{name} must be a non-empty string")
        if (
            self.jwks_cache_ttl <= 0
            or self.jwks_timeout <= 0
            or self.jwks_refresh_interval < 0
            or self.jwks_failure_ttl < 0
        ):
            raise ValueError(
                "JWTConfig: jwks_cache_ttl and jwks_timeout must be positive and "
                "jwks_refresh_interval and jwks_failure_ttl not negative"
            )

    def _check_secret(self, algorithms: tuple[str, ...]) -> None:
        asymmetric = [a for a in algorithms if a not in _HMAC]
        if asymmetric:
            raise ValueError(
                f"JWTConfig: {', '.join(asymmetric)} needs public_key or jwks_url, not a secret"
            )
        secret = self.secret
        size = len(secret.encode("utf-8") if isinstance(secret, str) else bytes(secret or b""))
        needed = max(_HMAC[a] for a in algorithms)
        if size < needed:
            raise ValueError(
                f"JWTConfig.secret must be at least {needed} bytes for {', '.join(algorithms)}"
            )

    @property
    def leeway_seconds(self) -> float:
        """``leeway`` in seconds."""
        leeway = self.leeway
        if isinstance(leeway, (int, float)):
            return float(leeway)
        from datetime import timedelta

        return leeway.total_seconds() if isinstance(leeway, timedelta) else float(leeway)

    @property
    def key_source(self) -> str:
        """``secret``, ``public_key`` or ``jwks_url``."""
        if self.secret:
            return "secret"
        return "public_key" if self.public_key else "jwks_url"


def _rebuild_config(fields: dict[str, Any]) -> JWTConfig:
    return JWTConfig(**fields)


def _check_jwks_url(url: str) -> None:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    if parsed.scheme == "https" and parsed.hostname:
        return
    if parsed.scheme == "http" and parsed.hostname in _LOOPBACK:
        return
    raise ValueError("JWTConfig.jwks_url must be an https URL (http only for localhost)")


class TokenError(Exception):
    """A token was refused.

    ``reason`` is one of ``missing``, ``invalid``, ``expired``, ``not_yet_valid`` or
    ``unavailable`` (the keys could not be fetched);
    ``message`` is safe to show to clients. ``error_type`` names the underlying error
    class for logs; the library's own text is never kept.
    """

    def __init__(self, reason: str, error_type: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_type = error_type

    @property
    def message(self) -> str:
        """The client-facing message."""
        return REASON_MESSAGES.get(self.reason, "Invalid token")


def _plain(value: str | Sequence[str] | None) -> str | list[str] | None:
    return value if value is None or isinstance(value, str) else list(value)


def _import_jwt() -> Any:
    try:
        import jwt
    except ImportError:  # pragma: no cover - depends on the installation
        raise ImportError("JWT validation needs PyJWT: pip install 'lift-python[jwt]'") from None
    return jwt


def _key_fits(key: Any, algorithm: str) -> bool:
    """Whether ``key`` (a cryptography public key) can verify ``algorithm``."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    if algorithm in _RSA:
        return isinstance(key, rsa.RSAPublicKey) and key.key_size >= _MIN_RSA_BITS
    if algorithm in _EC:
        return isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == _EC[algorithm]
    if algorithm in _OKP:
        return isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey))
    return False


def _load_public_key(pem: str | bytes, algorithms: Sequence[str]) -> Any:
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
    except ImportError:  # pragma: no cover - depends on the installation
        raise ImportError(
            "Public-key JWT validation needs cryptography: pip install 'lift-python[jwt]'"
        ) from None
    data = pem.encode("utf-8") if isinstance(pem, str) else bytes(pem)
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            key: Any = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except ValueError:
        raise ValueError("JWTConfig.public_key must be a PEM public key or certificate") from None
    unfit = [a for a in algorithms if not _key_fits(key, a)]
    if unfit:
        raise ValueError(
            f"JWTConfig.public_key cannot verify {', '.join(unfit)} "
            f"(wrong key type or curve, or an RSA key under {_MIN_RSA_BITS} bits)"
        )
    return key


class _JWKSKeys:
    """Signing keys from a JWKS URL, through :class:`~lift.auth.jwks.JWKSCache`.

    An unknown ``kid`` forces one refetch, at most once per ``refresh_interval``, so
    rotated keys are picked up while made-up kids cannot make every request fetch.
    Any failure to get the key set is :class:`TokenError` ``unavailable``.
    """

    def __init__(self, jwt: Any, config: JWTConfig) -> None:
        from .. import __version__
        from .jwks import JWKSCache

        assert config.jwks_url is not None
        self._cache = JWKSCache(
            config.jwks_url,
            ttl=config.jwks_cache_ttl,
            timeout=config.jwks_timeout,
            failure_ttl=config.jwks_failure_ttl,
            user_agent=f"lift-python/{__version__}",
            jwt=jwt,
        )
        self._refresh_interval = config.jwks_refresh_interval
        self._last_refresh: float | None = None
        import threading

        self._lock = threading.Lock()

    def _may_refresh(self) -> bool:
        with self._lock:
            now = time.monotonic()
            last = self._last_refresh
            if last is not None and now - last < self._refresh_interval:
                return False
            self._last_refresh = now
            return True

    def key_for(self, kid: str) -> Any:
        """The public key of ``kid``; :class:`TokenError` when it cannot be had."""
        from .jwks import JWKSError

        try:
            key = self._cache.keys().get(kid)
            if key is None and self._may_refresh():
                key = self._cache.keys(refresh=True).get(kid)
        except JWKSError as exc:
            raise TokenError("unavailable", f"JWKSError:{exc.kind}") from None
        if key is None:
            raise TokenError("invalid", "UnknownKeyId")
        return key


class TokenValidator:
    """Validates tokens against a :class:`JWTConfig`; build it once and reuse it.

    ``validate(token)`` returns the claims or raises :class:`TokenError`. The signature
    is checked before any claim, so a forged token is always ``invalid``.
    """

    def __init__(self, config: JWTConfig) -> None:
        self.config = config
        self._algorithms = list(config.algorithms)
        options: Any = {
            "verify_signature": True,
            "verify_exp": True,
            "verify_nbf": True,
            "verify_iat": True,
            "verify_iss": True,
            "verify_aud": True,
            "require": list(config.required_claims),
        }
        self._kwargs: dict[str, Any] = {
            "algorithms": self._algorithms,
            "options": options,
            "audience": _plain(config.audience),
            "issuer": _plain(config.issuer),
            "leeway": config.leeway_seconds,
        }
        self._jwt: Any = None
        self._key: Any = None
        self._jwks: _JWKSKeys | None = None
        if config.secret:
            # PyJWT (and the cryptography it loads) is imported by the first validation,
            # not at app import: a cold start that serves no $connect never pays for it.
            secret = config.secret
            self._key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
            return
        self._load_jwt()  # public keys and JWKS are checked now: bad setup fails at start
        if config.public_key:
            self._key = _load_public_key(config.public_key, self._algorithms)
        else:
            try:
                import cryptography  # noqa: F401
                import urllib3  # noqa: F401
            except ImportError:  # pragma: no cover - depends on the installation
                raise ImportError(
                    "JWKS validation needs cryptography and urllib3: pip install 'lift-python[jwt]'"
                ) from None
            self._jwks = _JWKSKeys(self._jwt, config)

    def _load_jwt(self) -> Any:
        """PyJWT and the exception classes :meth:`validate` maps, once per validator."""
        if self._jwt is None:
            jwt = _import_jwt()
            self._expired = jwt.ExpiredSignatureError
            self._immature = jwt.ImmatureSignatureError
            self._refusals = (jwt.PyJWTError, ValueError, TypeError, KeyError, RecursionError)
            self._jwt = jwt
        return self._jwt

    def validate(self, token: str | None) -> dict[str, Any]:
        """The verified claims of ``token``; :class:`TokenError` when it is refused."""
        if not token:
            raise TokenError("missing")
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            raise TokenError("invalid", "MalformedToken")
        jwt = self._jwt or self._load_jwt()
        try:
            key = self._key if self._jwks is None else self._jwks_key(token)
            claims: dict[str, Any] = jwt.decode(token, key, **self._kwargs)
        except TokenError:
            raise
        except self._expired:
            raise TokenError("expired", "ExpiredSignatureError") from None
        except self._immature:
            raise TokenError("not_yet_valid", "ImmatureSignatureError") from None
        except self._refusals as exc:
            raise TokenError("invalid", type(exc).__name__) from None
        subject = claims.get("sub")
        if subject is not None and not (isinstance(subject, str) and subject):
            raise TokenError("invalid", "InvalidSubjectError")
        return claims

    def _jwks_key(self, token: str) -> Any:
        # The header is checked before any key lookup, so junk never causes a fetch.
        header = self._jwt.get_unverified_header(token)
        algorithm = header.get("alg")
        if algorithm not in self._algorithms:
            raise TokenError("invalid", "InvalidAlgorithmError")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenError("invalid", "MissingKeyId")
        assert self._jwks is not None
        key = self._jwks.key_for(kid)
        if not _key_fits(key, algorithm):
            raise TokenError("invalid", "KeyAlgorithmMismatch")
        return key


def claim_roles(claims: dict[str, Any], roles_claim: str = "roles") -> list[str]:
    """The roles in ``claims[roles_claim]`` (see :func:`parse_roles`)."""
    return parse_roles(claims.get(roles_claim))
