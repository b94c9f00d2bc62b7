"""Delivering fan-out shards: the SQS route the app registers for its fan-out queue.

For each record of the batch: decode the shard, take it over (its progress record says
who works on it and how far it got), then send in steps of ``concurrency`` ids, paced by
a token bucket at ``rate_per_second`` per worker that slows down when throttled. Before
each step the progress record claims the step (one conditional write that also commits
the step before), so a redelivered shard skips every id already handled:

* ids delivered, gone (pruned from the store) or refused for good are never sent again;
* ids that failed for a reason that may pass (throttling, 5xx, no answer) are tried in
  up to three more rounds, then by the next delivery of the message (``batchItemFailures``);
  after ``max_attempts`` receives SQS moves the message to the dead-letter queue;
* a worker that raises is recorded exactly before the exception leaves; a worker that
  dies without running another line (killed, timed out) leaves its last claimed step
  uncertain, and ``FanoutOptions.delivery`` decides: re-send it (``at_least_once``) or
  skip it (``at_most_once``).

When every shard of a job is finished, one worker writes the job's line (delivered,
gone, failed, seconds) and its metrics.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from ..tracing.hook import CARRIER_KEY, shard_span
from .errors import (
    ConnectionGoneError,
    ForbiddenError,
    ManagementAPIError,
    ManagementTimeoutError,
    PayloadTooLargeError,
    ThrottledError,
)
from .fanout import DEFAULT_QUEUE_NAME, FanoutOptions, get_lister, queue_name, remaining_seconds
from .fanout_codec import MalformedShardError, Message, decode, payload_from_field
from .fanout_pacer import pacer_for
from .fanout_queue import queue_for
from .fanout_state import FanoutState, Progress, state_for
from .fanout_writer import ShardWriter

if TYPE_CHECKING:
    from ..context import Context
    from ..observability import Logger
    from .connections import Connections

__all__ = ["install", "report_job", "route_name"]

_THROTTLE_CODES = frozenset(
    {
        "LimitExceededException",
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "429",
    }
)
STEP_SECONDS = 2.0
"""Time kept free before the Lambda deadline for one more step and the bookkeeping."""
PAGE_SIZE = 1000
SHARDS_AT_ONCE = 10
RETRY_ROUNDS = 3
"""Rounds for ids that failed for now (throttled...) before the message goes back to the
queue; they start ``RETRY_DELAY`` seconds apart, doubling."""
RETRY_DELAY = 0.5
ABANDONED_AFTER = 20 * 60.0
"""A shard record unchanged this long (more than Lambda's longest invocation) belongs to no
live worker: another message with the shard (one redriven from the dead-letter queue,
under a new message id) takes it over."""


_shards: ThreadPoolExecutor | None = None
_pools_lock = threading.Lock()


def _shard_pool() -> ThreadPoolExecutor:
    """Threads for the shards of one batch (SQS batches hold at most 10), one per process."""
    global _shards
    with _pools_lock:
        if _shards is None:
            _shards = ThreadPoolExecutor(SHARDS_AT_ONCE, thread_name_prefix="lift-fanout")
        return _shards


def route_name(options: FanoutOptions) -> str:
    """The queue name the delivery route answers."""
    url = options.resolved_queue_url()
    return queue_name(url) if url else DEFAULT_QUEUE_NAME


def install(app: Any) -> None:
    """Register the delivery route for ``app``'s fan-out queue."""
    options: FanoutOptions = app.websocket_options.fanout

    def deliver_fanout_shards(ctx: Context) -> dict[str, Any]:
        return Worker(app, options, ctx.lambda_context, ctx.logger).run(ctx.request.records)

    app.sqs(route_name(options))(deliver_fanout_shards)


def classify(error: BaseException | None, delivery: str) -> str:
    """What one send's outcome means for the shard.

    ``delivered``, ``gone``, ``failed`` (refused for good), ``throttled`` and ``again``
    (certainly not delivered: sent again), and for outcomes that may or may not have
    arrived (5xx, no answer, an unexpected error, a worker killed mid-send) ``retry``
    when delivery is ``at_least_once``, else ``uncertain`` (never sent again).
    """
    if error is None:
        return "delivered"
    if isinstance(error, ConnectionGoneError):
        return "gone"
    if isinstance(error, ThrottledError) and error.aws_code in _THROTTLE_CODES:
        return "throttled"
    if isinstance(error, (PayloadTooLargeError, ForbiddenError)):
        return "failed"
    if isinstance(error, ManagementAPIError):
        unsure = isinstance(error, (ThrottledError, ManagementTimeoutError)) or (
            error.aws_code == "EndpointConnectionError"
        )
        if not unsure:
            return "failed"
        if getattr(error, "maybe_delivered", None) is False:
            return "again"
    return "retry" if delivery == "at_least_once" else "uncertain"


_senders: ThreadPoolExecutor | None = None


def _send_pool() -> ThreadPoolExecutor:
    """Threads for the sends of every shard of the process (bursts, or single calls)."""
    global _senders
    with _pools_lock:
        if _senders is None:
            _senders = ThreadPoolExecutor(64, thread_name_prefix="lift-fanout-send")
        return _senders


class Worker:
    """Delivers the shards of one SQS batch."""

    def __init__(
        self, app: Any, options: FanoutOptions, lambda_context: Any, logger: Logger
    ) -> None:
        self.app = app
        self.options = options
        self.lambda_context = lambda_context
        self.logger = logger
        self.state = state_for(app, options)
        self.pacer = pacer_for(options.rate_per_second)

    def run(self, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Handle every record, shards side by side; the ids of those to deliver again.

        The shards share the worker's pacer, so side by side they overlap their waits
        (table writes, round trips) without going faster than ``rate_per_second``.
        """
        if len(records) <= 1:
            outcomes = [self._guarded(record) for record in records]
        else:
            futures = [
                _shard_pool().submit(contextvars.copy_context().run, self._guarded, record)
                for record in records
            ]
            wait(futures)
            for future in futures:
                error = future.exception()
                if error is not None:
                    raise error  # a worker dying: its progress is recorded, SQS retries
            outcomes = [future.result() for future in futures]
        failures = [str(r["messageId"]) for r, ok in zip(records, outcomes, strict=True) if not ok]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failures]}

    def _guarded(self, record: dict[str, Any]) -> bool:
        message_id = str(record.get("messageId"))
        if self._out_of_time():
            return False
        try:
            return self._record(record)
        except MalformedShardError as exc:
            self.logger.error("Fan-out message refused", message_id=message_id, reason=str(exc))
        except Exception:
            self.logger.exception("Fan-out shard failed", message_id=message_id)
        return False

    def _out_of_time(self, wait: float = 0.0) -> bool:
        left = remaining_seconds(self.lambda_context)
        return left is not None and left - wait < STEP_SECONDS

    def _connections(self, endpoint: str) -> Connections:
        if getattr(self.app, "management_api", None) is None and not self._endpoint_ok(endpoint):
            raise MalformedShardError("the shard's endpoint is not this app's")
        connections: Connections = self.app.connections(endpoint or None)
        return connections

    def _endpoint_ok(self, endpoint: str) -> bool:
        import os

        from .management import ENDPOINT_ENV
        from .management.endpoint import _execute_api

        ws = self.app.websocket_options
        configured = (ws.management_endpoint or os.environ.get(ENDPOINT_ENV) or "").rstrip("/")
        if endpoint and endpoint.rstrip("/") == configured:
            return True
        return endpoint.startswith("https://") and _execute_api(endpoint) is not None

    def _record(self, record: dict[str, Any]) -> bool:
        message = decode(str(record.get("body", "")))
        attributes = {"lift.fanout.job": message.job.job_id, "lift.recipients": len(message.ids)}
        with shard_span({CARRIER_KEY: message.trace}, attributes):
            return self._deliver(record, message)

    def _deliver(self, record: dict[str, Any], message: Message) -> bool:
        connections = self._connections(message.job.endpoint)
        if message.kind == "list":
            return self._page(message, connections)
        payload = payload_from_field(message.payload)
        if payload is None:
            payload = self.state.payload(message.job.job_id)
            if payload is None:
                raise MalformedShardError("the job's stored payload is gone")
        attributes = record.get("attributes") or {}
        attempt = int(attributes.get("ApproximateReceiveCount") or 1)
        return Shard(
            self,
            message,
            payload=payload,
            connections=connections,
            owner=str(record["messageId"]),
            attempt=attempt,
        ).run()

    def _page(self, message: Message, connections: Connections) -> bool:
        lister = get_lister(message.lister)
        ids, cursor = lister(connections, message.params, message.cursor, PAGE_SIZE)
        queue = queue_for(self.app, self.options)
        if queue is None:
            raise MalformedShardError("no fan-out queue to write the listing's shards to")
        ShardWriter(message.job, self.state, self.options, queue).page(
            message, list(dict.fromkeys(ids)), cursor
        )
        self._job_line(message.job.job_id)
        return True

    def _job_line(self, job_id: str) -> None:
        report_job(self.app, self.state, self.logger, job_id)


def report_job(app: Any, state: FanoutState, logger: Logger, job_id: str) -> None:
    """The job's one closing log line and metrics, when it is complete (once, by whoever
    sees it complete first)."""
    totals = state.job_line(job_id)
    if totals is None:
        return
    logger.info(
        "Fan-out job finished",
        job_id=job_id,
        shards=totals.shards,
        delivered=totals.delivered,
        gone=totals.gone,
        failed=totals.failed,
        seconds=totals.seconds,
    )
    metrics = app.metrics
    for name, value in (
        ("delivered", totals.delivered),
        ("gone", totals.gone),
        ("failed", totals.failed),
    ):
        metrics.add(f"websocket.fanout.{name}", value)
    metrics.add("websocket.fanout.seconds", totals.seconds, "Seconds")


class _Recorded(Exception):
    """A first receive's claim found the shard already recorded: read it and resume."""


class Shard:
    """One shard's delivery by one receive of its message."""

    def __init__(
        self,
        worker: Worker,
        message: Message,
        *,
        payload: bytes,
        connections: Connections,
        owner: str,
        attempt: int,
    ) -> None:
        self.worker = worker
        self.options = worker.options
        self.state = worker.state
        self.job_id = message.job.job_id
        self.key = message.key
        self.ids = message.ids
        self.payload = payload
        self.connections = connections
        self.owner = owner
        self.attempt = attempt
        self.log = worker.logger

    def run(self) -> bool:
        """Deliver what is left; whether the message is done with."""
        try:
            return self._run(read=self.attempt > 1)
        except _Recorded:
            return self._run(read=True)

    def _run(self, *, read: bool) -> bool:
        progress = self._take_over(read=read)
        if progress == "final":
            # Delivered already; the job's line may still be owed (the finishing receive
            # can die between its two writes): claiming it is conditional, so once.
            self.worker._job_line(self.job_id)
            return True
        if not isinstance(progress, Progress):
            return progress == "done"
        for extra in range(RETRY_ROUNDS + 1):
            work = progress.work if progress.work is not None else self.ids
            if not self._round(progress, work):
                return False
            if not progress.retry:
                break
            pause = RETRY_DELAY * 2**extra
            if extra == RETRY_ROUNDS or self.worker._out_of_time(pause):
                self.state.save(self.job_id, self.key, progress)
                return False  # SQS delivers it again later (and to the DLQ in the end)
            time.sleep(pause)  # the quota is shared: give it time to recover
            progress.work, progress.retry = progress.retry, []
            progress.done = progress.claimed = 0
        if not self.state.finish(self.job_id, self.key, progress):
            return False  # a newer receive took the shard over: it finishes and counts it
        self.worker._job_line(self.job_id)
        return True

    def _take_over(self, *, read: bool) -> Progress | str:
        """This receive's progress; ``"done"``: nothing to do; ``"final"``: the shard is
        delivered; ``"later"``: not now.

        A first receive skips the read: its first claim is a conditional create, and only
        when that fails (the shard has a record already) is the record read.
        """
        progress = self.state.progress(self.job_id, self.key) if read else None
        if progress is None:
            return Progress(self.owner, self.attempt)
        if progress.final:
            return "final"
        if progress.owner != self.owner:
            if time.time() - progress.updated < ABANDONED_AFTER:
                self.log.info(
                    "Fan-out shard is another message's", job_id=self.job_id, shard=self.key
                )
                return "done"  # a second copy of the shard: the first one's owner delivers
            progress.owner = self.owner  # abandoned (a message redriven from the DLQ)
        elif progress.attempt >= self.attempt:
            return "later"  # this receive is not newer than the one at work
        progress.attempt = self.attempt
        work = progress.work if progress.work is not None else self.ids
        uncertain = work[progress.done : progress.claimed]
        if uncertain:
            if self.options.delivery == "at_least_once":
                progress.claimed = progress.done
            else:
                progress.unconfirmed += len(uncertain)
                progress.done = progress.claimed
            self.log.warning(
                "Fan-out shard resumed after its worker died",
                job_id=self.job_id,
                shard=self.key,
                uncertain=len(uncertain),
                delivery=self.options.delivery,
            )
        if progress.done >= len(work) and progress.retry:
            progress.work, progress.retry = progress.retry, []
            progress.done = progress.claimed = 0
        return progress

    def _round(self, progress: Progress, work: list[str]) -> bool:
        step_size = self.options.concurrency
        while progress.done < len(work):
            if self.worker._out_of_time():
                progress.claimed = progress.done
                self.state.save(self.job_id, self.key, progress)
                return False
            step = work[progress.done : progress.done + step_size]
            progress.claimed = progress.done + len(step)
            if not self.state.save(self.job_id, self.key, progress):
                if progress.version == 0:  # a first claim, but the shard has a record
                    raise _Recorded
                return False  # another receive took the shard over
            outcomes = self._send(step)
            died = self._account(progress, step, outcomes)
            progress.done = progress.claimed
            if died is not None:
                self.state.save(self.job_id, self.key, progress)
                raise died
        return True

    def _send(self, ids: list[str]) -> list[BaseException | None]:
        """Send to ``ids`` in bursts of a tenth of a second's tokens; one outcome each."""
        api = self.connections.api
        pacer = self.worker.pacer
        burst = max(1, int(self.options.rate_per_second / 10))
        pieces = [ids[start : start + burst] for start in range(0, len(ids), burst)]
        post_many = getattr(api, "post_many", None)
        if post_many is not None:
            # each burst goes out as soon as the bucket allows, without waiting for the last
            pool = _send_pool()
            batches: list[Future[list[BaseException | None]]] = []
            for piece in pieces:
                pacer.take(len(piece))
                batches.append(pool.submit(post_many, piece, self.payload, concurrency=len(piece)))
            wait(batches)
            outcomes: list[BaseException | None] = []
            for piece, batch in zip(pieces, batches, strict=True):
                error = batch.exception()
                outcomes.extend(batch.result() if error is None else [error] * len(piece))
            return outcomes
        pool = _send_pool()
        futures: list[Future[None]] = []
        for piece in pieces:
            pacer.take(len(piece))
            futures.extend(pool.submit(api.post_to_connection, i, self.payload) for i in piece)
        wait(futures)
        return [f.exception() for f in futures]

    def _account(
        self, progress: Progress, step: list[str], outcomes: list[BaseException | None]
    ) -> BaseException | None:
        """Count the step's outcomes; the exception that killed a send, if one did."""
        gone: list[str] = []
        died: BaseException | None = None
        throttled = False
        for connection_id, error in zip(step, outcomes, strict=True):
            verdict = classify(error, self.options.delivery)
            if verdict == "delivered":
                progress.delivered += 1
            elif verdict == "gone":
                progress.gone += 1
                gone.append(connection_id)
            elif verdict == "failed":
                progress.failed += 1
            elif verdict == "uncertain":
                progress.unconfirmed += 1  # may have arrived: never twice
            else:
                progress.retry.append(connection_id)
                throttled = throttled or verdict == "throttled"
            if error is not None and not isinstance(error, Exception):
                died = died or error
        if gone:
            self.connections.prune(gone)
        if throttled:
            self.worker.pacer.throttled()
        else:
            self.worker.pacer.succeeded()
        return died
