"""Where tokens come from: query parameters, headers and ``Sec-WebSocket-Protocol``.

A subprotocol offer is a token only when it parses as a compact JWT (its header
segment decodes to a JSON object naming an ``alg``); every other offer, dotted names
such as ``wamp.2.json`` included, is a real subprotocol to negotiate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "DEFAULT_TOKEN_SOURCES",
    "TokenSource",
    "find_token",
    "looks_like_jwt",
    "parse_token_sources",
    "pick_subprotocol",
    "subprotocol_offers",
]

DEFAULT_TOKEN_SOURCES = (
    "query:Authorization",
    "query:token",
    "header:Authorization",
    "subprotocol",
)
"""Where tokens are looked for, in order."""

_JWT_SHAPE = r"([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"  # compiled by the first use
_MAX_HEADER_SEGMENT = 16 * 1024
_SUBPROTOCOL_HEADER = "sec-websocket-protocol"


class TokenSource:
    """One place a token may be: ``query:<name>``, ``header:<name>`` or ``subprotocol``.

    Immutable; equal when ``kind`` and ``name`` are (a plain class with slots: building
    an app never loads :mod:`dataclasses`).
    """

    __slots__ = ("kind", "name")
    kind: str
    name: str

    def __init__(self, kind: str, name: str = "") -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "name", name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"TokenSource is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"TokenSource is immutable: cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        """Copied and pickled as built: ``TokenSource(kind, name)``."""
        return TokenSource, (self.kind, self.name)

    def __eq__(self, other: object) -> bool:
        if type(other) is not TokenSource:
            return NotImplemented
        return (self.kind, self.name) == (other.kind, other.name)

    def __hash__(self) -> int:
        return hash((self.kind, self.name))

    def __repr__(self) -> str:
        return f"TokenSource(kind={self.kind!r}, name={self.name!r})"

    @property
    def label(self) -> str:
        """The source as written in ``token_sources``."""
        return f"{self.kind}:{self.name}" if self.name else self.kind


def parse_token_sources(sources: str | Iterable[str]) -> tuple[TokenSource, ...]:
    """Parse ``token_sources``; :class:`ValueError` for an unknown form.

    ``query:<name>`` reads a query parameter (exact name), ``header:<name>`` a header
    (any case; a ``Bearer`` scheme is stripped), ``subprotocol`` the
    ``Sec-WebSocket-Protocol`` offer that is a JWT (see :func:`looks_like_jwt`).
    """
    items = [sources] if isinstance(sources, str) else list(sources)
    if not items:
        raise ValueError("token_sources must name at least one source")
    parsed: list[TokenSource] = []
    for item in items:
        kind, _, name = str(item).partition(":")
        kind = kind.strip().lower()
        name = name.strip()
        if kind == "subprotocol" and not name:
            parsed.append(TokenSource("subprotocol"))
        elif kind == "query" and name:
            parsed.append(TokenSource("query", name))
        elif kind == "header" and name:
            parsed.append(TokenSource("header", name.lower()))
        else:
            raise ValueError(
                f"Unknown token source {item!r}: use 'query:<name>', 'header:<name>' "
                "or 'subprotocol'"
            )
    return tuple(parsed)


def looks_like_jwt(value: str) -> bool:
    """Whether ``value`` parses as a compact JWT.

    Three base64url segments, the first of which decodes to a JSON object with a
    string ``alg``. The signature is not checked here: this only tells a token from
    a subprotocol name.
    """
    match = re.fullmatch(_JWT_SHAPE, value)
    if match is None:
        return False
    segment = match.group(1)
    if len(segment) > _MAX_HEADER_SEGMENT:
        return False
    import base64  # only a subprotocol offer pays for it

    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        header = json.loads(raw)
    except (ValueError, RecursionError):  # binascii.Error is a ValueError
        return False
    return isinstance(header, dict) and isinstance(header.get("alg"), str)


def _credential(value: str) -> str | None:
    """The token in ``value``: as is, or after a ``Bearer`` scheme; ``None`` otherwise."""
    value = value.strip()
    if not value:
        return None
    scheme, space, rest = value.partition(" ")
    if not space:
        return value
    if scheme.lower() != "bearer":
        return None
    return rest.strip() or None


def subprotocol_offers(headers: Mapping[str, str]) -> list[str]:
    """The offers in ``Sec-WebSocket-Protocol`` (``headers`` with lower-cased names)."""
    header = headers.get(_SUBPROTOCOL_HEADER) or ""
    return [part.strip() for part in header.split(",") if part.strip()]


def find_token(
    sources: Sequence[TokenSource], query: Mapping[str, str], headers: Mapping[str, str]
) -> tuple[str | None, TokenSource | None]:
    """The first token found in ``sources`` and where it came from.

    ``headers`` must have lower-cased names. An empty value counts as absent.
    """
    for source in sources:
        if source.kind == "query":
            raw = query.get(source.name)
            token = _credential(raw) if raw else None
        elif source.kind == "header":
            raw = headers.get(source.name)
            token = _credential(raw) if raw else None
        else:
            token = next((p for p in subprotocol_offers(headers) if looks_like_jwt(p)), None)
        if token:
            return token, source
    return None, None


def pick_subprotocol(headers: Mapping[str, str], token: str) -> str | None:
    """The subprotocol to accept when the token came as one: the first other offer.

    Never the token itself, nor any other offer that is a JWT.
    """
    for offer in subprotocol_offers(headers):
        if offer != token and not looks_like_jwt(offer):
            return offer
    return None
