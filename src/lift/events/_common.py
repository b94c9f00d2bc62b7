"""Helpers shared by the event adapters: strict but forgiving field access."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ..errors import LiftError
from ..request import Request, TriggerType

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "LazyHeaders",
    "MalformedEventError",
    "decode_path",
    "headers_of",
    "http_method",
    "http_request",
    "mapping",
    "optional_str",
    "queries_of",
]

_MULTI_HEADERS = "Field 'multiValueHeaders' must hold lists"


class MalformedEventError(LiftError):
    """An event of a known kind whose fields do not have the shape AWS sends."""

    def __init__(self, trigger: TriggerType, message: str) -> None:
        super().__init__(400, "MALFORMED_EVENT", message)
        self.trigger = trigger


def http_method(value: Any, trigger: TriggerType, name: str) -> str:
    """The request method in field ``name``, upper-cased (a non-empty string)."""
    if not isinstance(value, str) or not value:
        raise MalformedEventError(trigger, f"Field '{name}' must be a non-empty string")
    return value.upper()


def http_request(
    event: dict[str, Any],
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    query: dict[str, str],
    multi_query: dict[str, list[str]],
    request_context: Mapping[str, Any],
    source_ip: str | None = None,
    cookies: list[str] | None = None,
) -> Request:
    """The HTTP :class:`Request` of ``event``: ``body`` and ``isBase64Encoded`` are read
    the same way from every HTTP source (REST, HTTP API, function URLs, ALB)."""
    body = event.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedEventError(TriggerType.HTTP, "Field 'body' must be a string")
    return Request(
        TriggerType.HTTP,
        event,
        method=method,
        path=path,
        headers=headers,
        query=query,
        multi_query=multi_query,
        body=body,
        is_base64=event.get("isBase64Encoded") is True,
        cookies=cookies,
        source_ip=source_ip,
        request_context=request_context,
    )


def mapping(value: Any, trigger: TriggerType, name: str) -> dict[str, Any]:
    """``value`` as a dict; ``None`` is an empty dict, anything else is malformed."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise MalformedEventError(trigger, f"Field '{name}' must be an object")


def optional_str(value: Any, trigger: TriggerType, name: str) -> str | None:
    """``value`` as a string or ``None``."""
    if value is None or isinstance(value, str):
        return value
    raise MalformedEventError(trigger, f"Field '{name}' must be a string")


def decode_path(path: str) -> str:
    """``path`` percent-decoded (``/capture/space%20value`` -> ``/capture/space value``).

    Every HTTP source routes on the decoded path, as Starlette and Werkzeug do; bytes
    that are not UTF-8 become U+FFFD. ``+`` stays ``+`` (it means a space only in a
    query string).
    """
    if "%" not in path:
        return path
    from urllib.parse import unquote

    return unquote(path, errors="replace")


def headers_of(event: dict[str, Any], trigger: TriggerType) -> dict[str, str]:
    """Lower-cased headers, merging ``multiValueHeaders`` (joined with ", ")."""
    result: dict[str, str] = {}
    multi: dict[str, Any] = {}
    raw_multi = event.get("multiValueHeaders")
    if raw_multi:
        multi = mapping(raw_multi, trigger, "multiValueHeaders")
        for name, values in multi.items():
            if values is None:
                continue
            if not isinstance(values, list):
                raise MalformedEventError(trigger, _MULTI_HEADERS)
            try:
                joined = ", ".join(values)  # a TypeError unless every value is a string
            except TypeError:
                raise MalformedEventError(trigger, _MULTI_HEADERS) from None
            if values:
                result[str(name).lower()] = joined
    headers = event.get("headers")
    if headers:
        for name, value in mapping(headers, trigger, "headers").items():
            if isinstance(value, str):
                # REST v1 sends every header in both maps: skip those merged already.
                if not multi.get(name):
                    result.setdefault(str(name).lower(), value)
            elif value is not None:
                raise MalformedEventError(trigger, "Field 'headers' must hold strings")
    return result


def queries_of(
    event: dict[str, Any], trigger: TriggerType
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Query parameters: last value of each, and every value."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    raw_multi = event.get("multiValueQueryStringParameters")
    if raw_multi:
        for name, values in mapping(raw_multi, trigger, "multiValueQueryStringParameters").items():
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                if values is None:
                    continue
                raise MalformedEventError(
                    trigger, "Field 'multiValueQueryStringParameters' must hold lists"
                )
            multi[name] = list(values)
            if values:
                single[name] = values[-1]
    raw = event.get("queryStringParameters")
    if raw:
        for name, value in mapping(raw, trigger, "queryStringParameters").items():
            if isinstance(value, str):
                single[name] = value
                multi.setdefault(name, [value])
            elif value is not None:
                raise MalformedEventError(
                    trigger, "Field 'queryStringParameters' must hold strings"
                )
    return single, multi


class LazyHeaders(Mapping[str, str]):
    """The event's headers, lower-cased and merged on first use.

    Most handlers never read a header, so an HTTP event pays for them only when one
    does. The containers are checked up front; a malformed value raises
    :class:`MalformedEventError` (400) when the headers are first read.
    """

    __slots__ = ("_data", "_event", "_extra", "_trigger")

    def __init__(
        self, event: dict[str, Any], trigger: TriggerType, extra: dict[str, str] | None = None
    ) -> None:
        mapping(event.get("headers"), trigger, "headers")
        mapping(event.get("multiValueHeaders"), trigger, "multiValueHeaders")
        self._event = event
        self._trigger = trigger
        self._extra = extra
        self._data: dict[str, str] | None = None

    def _build(self) -> dict[str, str]:
        data = self._data
        if data is None:
            data = headers_of(self._event, self._trigger)
            if self._extra:
                for name, value in self._extra.items():
                    data.setdefault(name, value)
            self._data = data
        return data

    def __getitem__(self, name: str) -> str:
        return self._build()[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self._build().get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._build()

    def __iter__(self) -> Iterator[str]:
        return iter(self._build())

    def __len__(self) -> int:
        return len(self._build())

    def __repr__(self) -> str:
        return f"LazyHeaders({self._build()!r})"
