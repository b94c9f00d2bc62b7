"""The normalised request every adapter produces, and the trigger kinds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from types import MappingProxyType

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Request", "TriggerType"]


class TriggerType(str, Enum):
    """What kind of event started the invocation."""

    HTTP = "http"
    WEBSOCKET = "websocket"
    SQS = "sqs"
    S3 = "s3"
    EVENTBRIDGE = "eventbridge"
    SCHEDULED = "scheduled"
    SNS = "sns"
    DYNAMODB_STREAM = "dynamodb_stream"
    KINESIS = "kinesis"
    AUTHORIZER = "authorizer"


_EMPTY: Mapping[str, Any] = MappingProxyType({})
_new = object.__new__


class Request:
    """A normalised view of one Lambda event.

    Header names are lower-cased. ``query`` holds the last value of each query
    parameter and ``multi_query`` all of them. ``source`` is what event routes match:
    the queue name (SQS), bucket (S3), event source (EventBridge), rule name
    (scheduled), topic name (SNS), table name (DynamoDB Streams), stream name (Kinesis)
    or the method/route ARN (authorizers). ``records`` holds every record of an SQS,
    S3, SNS, DynamoDB Streams or Kinesis batch.

    Fields an event does not have keep shared, read-only defaults, so building a
    request costs only what the event carries.
    """

    method: str = ""
    path: str = ""
    route_key: str = ""
    headers: Mapping[str, str] = _EMPTY
    query: Mapping[str, str] = _EMPTY
    multi_query: Mapping[str, list[str]] = _EMPTY
    cookies: Sequence[str] = ()
    source_ip: str | None = None
    request_context: Mapping[str, Any] = _EMPTY
    records: Sequence[dict[str, Any]] = ()
    source: str = ""
    detail_type: str = ""
    path_params: Mapping[str, str] = _EMPTY
    authorizer: Any = None
    """An :class:`~lift.authorizers.AuthorizerEvent` on an ``AUTHORIZER`` request."""
    _raw_body: str | bytes | None = None
    _is_base64: bool = False
    _body: bytes | None = None

    def __init__(
        self,
        trigger: TriggerType,
        event: dict[str, Any],
        *,
        method: str = "",
        path: str = "",
        route_key: str = "",
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        multi_query: Mapping[str, list[str]] | None = None,
        body: str | bytes | None = None,
        is_base64: bool = False,
        cookies: Sequence[str] | None = None,
        source_ip: str | None = None,
        request_context: Mapping[str, Any] | None = None,
        records: Sequence[dict[str, Any]] | None = None,
        source: str = "",
        detail_type: str = "",
    ) -> None:
        self.trigger = trigger
        self.event = event
        if method:
            self.method = method
        if path:
            self.path = path
        if route_key:
            self.route_key = route_key
        if headers is not None:  # not truthiness: lazy headers would be built here
            self.headers = headers
        if query:
            self.query = query
        if multi_query:
            self.multi_query = multi_query
        if cookies:
            self.cookies = cookies
        if source_ip is not None:
            self.source_ip = source_ip
        if request_context:
            self.request_context = request_context
        if records:
            self.records = records
        if source:
            self.source = source
        if detail_type:
            self.detail_type = detail_type
        if body is not None:
            self._raw_body = body
            if isinstance(body, bytes):
                self._body = body
        if is_base64:
            self._is_base64 = True

    @classmethod
    def bare(cls, trigger: TriggerType, event: dict[str, Any]) -> Request:
        """A request with only its trigger and event; adapters set the rest directly.

        The fast path of the hottest adapters: it skips binding every keyword of
        ``__init__``.
        """
        request = _new(cls)
        request.trigger = trigger
        request.event = event
        return request

    @property
    def body(self) -> bytes:
        """The request body as bytes (base64 bodies decoded)."""
        if self._body is None:
            raw = self._raw_body
            if not raw:
                self._body = b""
            elif self._is_base64:
                import base64  # binary bodies only

                try:
                    self._body = base64.b64decode(raw, validate=True)
                except ValueError as exc:  # binascii.Error is a ValueError
                    from .errors import LiftError

                    raise LiftError(400, "INVALID_BODY", "The body is not valid base64") from exc
            else:
                self._body = str(raw).encode("utf-8", "surrogatepass")
        return self._body

    @property
    def text(self) -> str:
        """The request body decoded as UTF-8 (invalid bytes replaced)."""
        raw = self._raw_body
        if isinstance(raw, str) and not self._is_base64:
            return raw
        return self.body.decode("utf-8", "replace")

    def header(self, name: str) -> str | None:
        """A header value by case-insensitive name."""
        return self.headers.get(name.lower())

    def __repr__(self) -> str:
        return f"<Request {self.trigger.value} {self.method} {self.path or self.route_key}>"
