"""Response and its serialisation to the shapes API Gateway expects."""

from __future__ import annotations

import json
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Response", "error_response", "json_default", "json_dumps", "to_response"]

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


def json_default(obj: Any) -> Any:
    """What JSON cannot encode itself, made encodable.

    Dataclasses become objects of their fields (nested ones too), pydantic models their
    ``model_dump(mode="json")``, dates, times and datetimes ISO 8601 strings, sets lists,
    enums their value; anything else (UUID, Decimal...) its ``str``. Nothing is imported
    here: a type's module is loaded already when one of its values exists.
    """
    cls = type(obj)
    fields = getattr(cls, "__dataclass_fields__", None)
    if fields is not None and not isinstance(obj, type):
        import dataclasses

        return {field.name: getattr(obj, field.name) for field in dataclasses.fields(obj)}
    datetime = sys.modules.get("datetime")
    if datetime is not None and isinstance(obj, (datetime.date, datetime.time)):
        return obj.isoformat()
    dump = getattr(obj, "model_dump", None)
    if dump is not None and callable(dump) and not isinstance(obj, type):
        return dump(mode="json")
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    enum = sys.modules.get("enum")
    if enum is not None and isinstance(obj, enum.Enum):
        return obj.value
    return str(obj)


# Built once: json.dumps with non-default options builds a new encoder on every call.
# allow_nan=False: NaN and Infinity are not JSON, and clients' parsers reject them.
_ENCODER = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=json_default
)


def json_dumps(obj: Any) -> str:
    """Compact, standard JSON (see :func:`json_default` for non-JSON types).

    Raises ``ValueError`` for NaN or Infinity: the app answers such a result with a
    logged, generic 500 rather than send what a client cannot parse.
    """
    return _ENCODER.encode(obj)


def _is_text(content_type: str | None) -> bool:
    if not content_type:
        return False
    lowered = content_type.lower()
    return lowered.startswith(_TEXT_TYPES) or lowered.endswith("+json")


class Response:
    """An HTTP or WebSocket response.

    ``body`` is text or bytes. Bytes with a textual ``Content-Type`` that decode as UTF-8
    are sent as text; other bytes are base64-encoded (``isBase64Encoded``).
    """

    __slots__ = ("body", "cookies", "headers", "status_code")

    def __init__(
        self,
        body: str | bytes | None = None,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        cookies: list[str] | None = None,
    ) -> None:
        self.body = body
        self.status_code = status_code
        self.headers = headers if headers is not None else {}
        self.cookies = cookies if cookies is not None else []

    @classmethod
    def json(
        cls, obj: Any, status_code: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        """A JSON response."""
        merged = {"Content-Type": "application/json"}
        if headers:
            merged.update(headers)
        return cls(json_dumps(obj), status_code, merged)

    @classmethod
    def text(
        cls, text: str, status_code: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        """A plain-text response."""
        merged = {"Content-Type": "text/plain; charset=utf-8"}
        if headers:
            merged.update(headers)
        return cls(text, status_code, merged)

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status_code < 300

    def header(self, name: str) -> str | None:
        """A response header by case-insensitive name."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    def _encoded_body(self) -> tuple[str, bool]:
        body = self.body
        if body is None:
            return "", False
        if isinstance(body, str):
            return body, False
        if _is_text(self.header("content-type")):
            try:
                return body.decode("utf-8"), False
            except UnicodeDecodeError:
                pass
        import base64  # binary bodies only

        return base64.b64encode(body).decode("ascii"), True

    def to_rest(self) -> dict[str, Any]:
        """The REST API (payload 1.0) shape; cookies go to ``multiValueHeaders``."""
        body, is_base64 = self._encoded_body()
        result: dict[str, Any] = {
            "statusCode": self.status_code,
            "headers": dict(self.headers),
            "body": body,
            "isBase64Encoded": is_base64,
        }
        if self.cookies:
            result["multiValueHeaders"] = {"Set-Cookie": list(self.cookies)}
        return result

    def to_http_api(self) -> dict[str, Any]:
        """The HTTP API (payload 2.0) shape; cookies go to ``cookies``."""
        result = self.to_rest()
        result.pop("multiValueHeaders", None)
        if self.cookies:
            result["cookies"] = list(self.cookies)
        return result

    def to_alb(self, *, multi_value: bool = False) -> dict[str, Any]:
        """The ALB target group shape, in the event's header mode.

        With ``multi_value`` (the target group sent ``multiValueHeaders``) every header and
        each cookie goes to ``multiValueHeaders``; otherwise to ``headers``, where only one
        ``Set-Cookie`` fits (the last is kept: use multi-value mode for several).
        """
        from http import HTTPStatus

        body, is_base64 = self._encoded_body()
        try:
            phrase = HTTPStatus(self.status_code).phrase
        except ValueError:
            phrase = ""
        result: dict[str, Any] = {
            "statusCode": self.status_code,
            "statusDescription": f"{self.status_code} {phrase}".rstrip(),
        }
        if multi_value:
            multi = {name: [value] for name, value in self.headers.items()}
            if self.cookies:
                multi["Set-Cookie"] = list(self.cookies)
            result["multiValueHeaders"] = multi
        else:
            headers = dict(self.headers)
            if self.cookies:
                headers["Set-Cookie"] = self.cookies[-1]
            result["headers"] = headers
        result["body"] = body
        result["isBase64Encoded"] = is_base64
        return result

    def to_websocket(self) -> dict[str, Any]:
        """The WebSocket integration shape: status, and body/headers only when set."""
        result: dict[str, Any] = {"statusCode": self.status_code}
        if self.headers:
            result["headers"] = dict(self.headers)
        if self.body is not None:
            body, is_base64 = self._encoded_body()
            result["body"] = body
            if is_base64:
                result["isBase64Encoded"] = True
        return result

    def __repr__(self) -> str:
        return f"<Response {self.status_code}>"


def error_response(error: Any) -> Response:
    """The response for a :class:`~lift.errors.LiftError`: its status and error body."""
    headers = {"Content-Type": "application/json"}
    if error.headers:
        headers.update(error.headers)
    return Response(json_dumps(error.to_body()), error.status_code, headers)


def to_response(result: Any, written: Response | None = None) -> Response:
    """Turn a handler's result into a :class:`Response`.

    ``None`` gives ``written`` (what the handler wrote through the context) or an empty
    200; ``dict``/``list`` give JSON; ``str`` text; ``bytes`` a binary body; anything
    else (a dataclass, a pydantic model, a number) JSON through :func:`json_default`.
    """
    if result is None:
        return written if written is not None else Response(None, 200)
    if isinstance(result, Response):
        return result
    if isinstance(result, (dict, list)):
        return Response(json_dumps(result), 200, {"Content-Type": "application/json"})
    if isinstance(result, str):
        return Response(result, 200, {"Content-Type": "text/plain; charset=utf-8"})
    if isinstance(result, (bytes, bytearray, memoryview)):
        return Response(bytes(result), 200, {"Content-Type": "application/octet-stream"})
    return Response(json_dumps(result), 200, {"Content-Type": "application/json"})
