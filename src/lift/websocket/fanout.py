"""Fan-out beyond one invocation: options, results and the one entry point, :func:`fan_out`.

A send to more recipients than ``FanoutOptions.inline_limit`` is split into shards that
go to an SQS queue; the same app delivers them (:mod:`lift.websocket.fanout_worker`).
Smaller sends, and every send when no queue is configured, go out inline, after a check
that they can finish in the invocation's remaining time.

Shard messages are JSON text (:mod:`lift.websocket.fanout_codec`). Progress and payloads
too large to repeat in every shard live in a table (:mod:`lift.websocket.fanout_state`).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..errors import LiftError
from .broadcast import DEFAULT_WORKERS, BroadcastResult

if TYPE_CHECKING:
    from .connections import Connections
    from .fanout_state import FanoutState
    from .fanout_writer import Written

__all__ = [
    "DEFAULT_QUEUE_NAME",
    "QUEUE_ENV",
    "TABLE_ENV",
    "FanoutOptions",
    "FanoutResult",
    "Listing",
    "Lister",
    "check_time_left",
    "fan_out",
    "queue_name",
    "register_lister",
]

QUEUE_ENV = "LIFT_FANOUT_QUEUE_URL"
"""Names the fan-out queue when ``FanoutOptions.queue_url`` is not set."""
TABLE_ENV = "LIFT_FANOUT_TABLE"
"""Names the DynamoDB table for progress records when ``FanoutOptions.table`` is not set."""
DEFAULT_QUEUE_NAME = "lift-fanout"
"""The queue name the delivery route answers when no queue URL is known (local runs)."""
MAX_SHARD_SIZE = 1000
SAFETY_SECONDS = 1.0
"""Time kept free at the end of an invocation (for the response, logs and metrics)."""

Delivery = Literal["at_least_once", "at_most_once"]


@dataclass(frozen=True)
class FanoutOptions:
    """How sends to many connections leave one invocation.

    * ``queue_url``: the SQS queue shards go to (else env ``LIFT_FANOUT_QUEUE_URL``).
      Without one, every send is inline and refused when it cannot finish in time.
    * ``inline_limit``: sends to at most this many connections stay inline.
    * ``shard_size``: connection ids per shard (one SQS message), at most 1000.
    * ``rate_per_second``: ``@connections`` calls per second per worker (token bucket).
      Size it so ``rate_per_second x`` the queue's maximum concurrency stays under the
      account's quota.
    * ``max_attempts``: receives of one shard before SQS moves it to the dead-letter
      queue (the queue's redrive policy ``maxReceiveCount``; ``lift template`` sets it).
    * ``concurrency``: sends in flight per shard (a worker delivers the shards of a batch
      side by side); also the progress step, so the most a worker killed mid-step can
      re-send (``at_least_once``) or skip (``at_most_once``).
    * ``delivery``: what happens to the sends in flight when a worker dies without a
      chance to record them (see docs/fanout.md): re-send them or skip them.
    * ``table``: DynamoDB table for progress records and large payloads (else env
      ``LIFT_FANOUT_TABLE``, then ``LIFT_CONNECTIONS_TABLE``, then the store's table).
    * ``send_seconds``: the estimated time of one ``@connections`` call, for the
      time-left check of inline sends.
    """

    queue_url: str | None = None
    inline_limit: int = 1000
    shard_size: int = 100
    rate_per_second: float = 500.0
    max_attempts: int = 5
    concurrency: int = 16
    delivery: Delivery = "at_least_once"
    table: str | None = None
    send_seconds: float = 0.02

    def __post_init__(self) -> None:
        if self.inline_limit < 0:
            raise ValueError("inline_limit must not be negative")
        if not 1 <= self.shard_size <= MAX_SHARD_SIZE:
            raise ValueError(f"shard_size must be between 1 and {MAX_SHARD_SIZE}")
        if not self.rate_per_second > 0:
            raise ValueError("rate_per_second must be positive")
        if not 1 <= self.max_attempts <= 1000:
            raise ValueError("max_attempts must be between 1 and 1000 (SQS maxReceiveCount)")
        if not 1 <= self.concurrency <= 256:
            raise ValueError("concurrency must be between 1 and 256")
        if self.delivery not in ("at_least_once", "at_most_once"):
            raise ValueError("delivery must be 'at_least_once' or 'at_most_once'")
        if not self.send_seconds > 0:
            raise ValueError("send_seconds must be positive")
        url = self.queue_url
        if url is not None and queue_name(url).endswith(".fifo"):
            raise ValueError("The fan-out queue must be a standard queue, not FIFO")

    def resolved_queue_url(self) -> str | None:
        """``queue_url``, else env ``LIFT_FANOUT_QUEUE_URL``, else ``None``."""
        return self.queue_url or os.environ.get(QUEUE_ENV) or None


def queue_name(queue_url: str) -> str:
    """``https://sqs.eu-west-1.amazonaws.com/123456789012/fanout`` -> ``fanout``."""
    return queue_url.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class FanoutResult(BroadcastResult):
    """A send handed to the fan-out queue: nothing is delivered yet.

    ``job_id`` appears on every log line of the job's delivery, ending with one line
    (and metrics) with its totals. ``recipients`` counts the ids known when the call
    returned (a listing still being paged adds to it in the workers); ``shards`` the
    shard messages queued. ``delivered`` and ``gone`` stay empty.

    When SQS took only some of the messages, the others are not retried by the workers:
    ``failed`` maps the ids of the shards not queued to the error (``not_queued`` lists
    those shards with SQS's reason), and ``rest`` is the part of a listed audience whose
    listing message was not queued. The queued shards are delivered; send again only to
    ``failed`` (and ``rest``), or those already queued get the payload twice.
    """

    job_id: str = ""
    recipients: int = 0
    shards: int = 0
    listing: bool = False
    """Whether a listing continues in the workers (the audience is larger still)."""
    not_queued: dict[str, str] = field(default_factory=dict)
    """Shard key -> why SQS did not queue it."""
    rest: Listing | None = None
    """The rest of a listed audience, not handed to the workers (its message failed)."""

    @property
    def ok(self) -> bool:
        """Whether every message was queued."""
        return not self.failed and not self.not_queued and self.rest is None

    @property
    def total(self) -> int:
        """How many connections were addressed (so far)."""
        return self.recipients


@dataclass(frozen=True)
class Listing:
    """An audience listed page by page, so a huge one is listed by the workers too.

    ``lister`` names a function registered with :func:`register_lister`; ``params``
    (JSON values) and ``cursor`` (``None``: the first page) are passed to it.
    """

    lister: str
    params: Mapping[str, Any] = field(default_factory=dict)
    cursor: str | None = None


Lister = Callable[
    ["Connections", Mapping[str, Any], "str | None", int], "tuple[list[str], str | None]"
]
"""``(connections, params, cursor, limit) -> (ids, next_cursor)``; ``None``: no more pages."""

_LISTERS: dict[str, Lister] = {}


def register_lister(name: str, lister: Lister) -> None:
    """Make ``lister`` available to :class:`Listing` under ``name`` (in every process).

    Register at import time of the module that defines it, so every worker has it.
    """
    if not name or not isinstance(name, str):
        raise ValueError("A lister needs a non-empty name")
    _LISTERS[name] = lister


CHANNEL_LISTER = "lift.channel"
"""The lister of a channel's subscribers, registered by :mod:`lift.websocket.channels`."""


def get_lister(name: str) -> Lister:
    """The lister registered as ``name`` (``KeyError`` when none)."""
    if name == CHANNEL_LISTER and name not in _LISTERS:
        from . import channels  # noqa: F401 - registers the channel lister
    return _LISTERS[name]


def remaining_seconds(lambda_context: Any) -> float | None:
    """Seconds left in the invocation, from the Lambda context (``None``: unknown)."""
    method = getattr(lambda_context, "get_remaining_time_in_millis", None)
    if method is None:
        return None
    try:
        return float(method()) / 1000
    except (TypeError, ValueError):
        return None


def check_time_left(
    recipients: int, options: FanoutOptions, lambda_context: Any, *, workers: int
) -> None:
    """Refuse an inline send that cannot finish in the invocation's remaining time.

    The estimate is ``recipients x send_seconds / workers`` plus one second kept free.
    Raises 503 ``FANOUT_NEEDS_QUEUE`` before anything is sent.
    """
    left = remaining_seconds(lambda_context)
    if left is None or recipients <= workers:
        return
    needed = recipients * options.send_seconds / max(1, workers)
    if needed + SAFETY_SECONDS > left:
        raise LiftError(
            503,
            "FANOUT_NEEDS_QUEUE",
            f"Sending to {recipients} connections would take about {needed:.1f} s but "
            f"{left:.1f} s remain in this invocation; configure "
            "WebSocketOptions(fanout=FanoutOptions(queue_url=...)) to deliver through a queue",
        )


def fan_out(
    connections: Connections,
    audience: Iterable[str] | Listing,
    payload: bytes,
    *,
    options: FanoutOptions,
    lambda_context: Any = None,
    workers: int = DEFAULT_WORKERS,
) -> BroadcastResult:
    """Send ``payload`` (encoded) to ``audience``: inline, or sharded through the queue.

    ``audience`` is connection ids, or a :class:`Listing` whose pages are read until
    more than ``inline_limit`` ids are known; the rest is listed by the workers. Returns
    the inline :class:`BroadcastResult`, or a :class:`FanoutResult` when queued.
    """
    from .fanout_queue import queue_for

    queue = queue_for(connections.app, options)
    limit = options.inline_limit if queue is not None else None
    cursor: str | None = None
    listing = audience if isinstance(audience, Listing) else None
    if listing is None:
        ids = list(dict.fromkeys(audience))  # type: ignore[arg-type]
    else:
        ids, cursor = _list_until(connections, listing, limit)
    if queue is None or (len(ids) <= options.inline_limit and cursor is None):
        check_time_left(len(ids), options, lambda_context, workers=workers)
        return connections.broadcast_now(ids, payload, workers=workers)
    from .fanout_codec import Job
    from .fanout_state import state_for
    from .fanout_writer import ShardWriter

    job = Job(
        job_id=uuid.uuid4().hex,
        endpoint=connections.endpoint or "",
        created=time.time(),
    )
    state = state_for(connections.app, options)
    writer = ShardWriter(job, state, options, queue)
    written = writer.start(
        payload,
        ids,
        listing=None if listing is None else (listing, cursor),
        deadline=_send_deadline(lambda_context),
    )
    result = FanoutResult(
        job_id=job.job_id,
        recipients=len(ids),
        shards=written.shards,
        listing=written.listing,
        not_queued=dict(written.send.failed),
    )
    if written.send.failed:
        _partly_queued(connections, state, job.job_id, written, result)
        if listing is not None and written.listing_lost:
            result.rest = Listing(listing.lister, dict(listing.params), cursor)
    connections.logger.info(
        "Fan-out queued",
        job_id=job.job_id,
        recipients=len(ids),
        shards=written.shards,
        listing=written.listing,
        not_queued=len(written.send.failed),
    )
    return result


def _send_deadline(lambda_context: Any) -> float:
    """When writing shards stops trying again: in ``SEND_SECONDS``, sooner near the end
    of the invocation."""
    from .fanout_queue import SEND_SECONDS

    seconds = SEND_SECONDS
    left = remaining_seconds(lambda_context)
    if left is not None:
        seconds = max(0.0, min(seconds, left - SAFETY_SECONDS))
    return time.monotonic() + seconds


def _partly_queued(
    connections: Connections,
    state: FanoutState,
    job_id: str,
    written: Written,
    result: FanoutResult,
) -> None:
    """Report the shards SQS did not take and take them out of the job's totals."""
    error = LiftError(503, "FANOUT_QUEUE_ERROR", "The fan-out queue did not take this shard")
    result.failed = dict.fromkeys(written.missed, error)
    connections.logger.warning(
        "Fan-out partly queued",
        job_id=job_id,
        not_queued=sorted(written.send.failed),
        reasons=sorted(set(written.send.failed.values())),
        recipients_missed=len(written.missed),
    )
    try:
        state.drop_shards(job_id, written.lost, close_listing=written.listing_lost)
    except Exception:  # the queued shards are delivered all the same
        connections.logger.exception("Fan-out totals not cut down", job_id=job_id)
        return
    from .fanout_worker import report_job

    report_job(connections.app, state, connections.logger, job_id)


def _list_until(
    connections: Connections, listing: Listing, limit: int | None
) -> tuple[list[str], str | None]:
    """Pages of ``listing`` until more than ``limit`` ids (all of them when ``None``)."""
    lister = get_lister(listing.lister)
    ids: dict[str, None] = {}
    cursor = listing.cursor
    page = 1000 if limit is None else max(1, min(1000, limit + 1))
    while True:
        found, cursor = lister(connections, listing.params, cursor, page)
        ids.update(dict.fromkeys(found))
        if cursor is None or (limit is not None and len(ids) > limit):
            return list(ids), cursor
