"""Fan-out queues: SQS (deployed) and in memory (``lift dev``, the test client).

:class:`SQSFanoutQueue` writes with ``SendMessageBatch`` through one boto3 client per
process, created on first use, honouring the SDK's settings (``AWS_REGION``,
``AWS_ENDPOINT_URL_SQS``...). :class:`MemoryFanoutQueue` keeps messages in process and
delivers them by invoking the app with SQS events, as the Lambda event source mapping
does (receive counts, ``batchItemFailures``, a dead-letter list after ``max_attempts``).
:class:`SQSPoller` is that event source mapping for a real queue, for tests and
benchmarks.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import LiftError
from .fanout_codec import pack_batches

if TYPE_CHECKING:
    from .fanout import FanoutOptions

__all__ = [
    "FanoutQueue",
    "MemoryFanoutQueue",
    "SQSFanoutQueue",
    "SQSPoller",
    "SendResult",
    "queue_for",
    "sqs_client",
    "sqs_record",
]

_SQS_HOST = re.compile(r"^(?:sqs\.)?([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:queue\.)?amazonaws\.com")
_SEND_ATTEMPTS = 4
_PARALLEL_BATCHES = 8
SEND_SECONDS = 10.0
"""The longest a send goes on retrying the entries SQS did not accept."""


@dataclass
class SendResult:
    """What one send put on the queue: the keys accepted, and the others with why."""

    queued: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    """Key -> the reason (SQS's error code): not queued, so never delivered."""

    def merge(self, other: SendResult) -> None:
        """Add ``other``'s keys to this result."""
        self.queued.extend(other.queued)
        self.failed.update(other.failed)


class FanoutQueue(Protocol):
    """Where fan-out messages go."""

    name: str

    def send(self, bodies: list[tuple[str, str]], *, deadline: float | None = None) -> SendResult:
        """Enqueue every ``(key, body)``: which were queued, which not (never raises for
        entries the queue refuses). ``deadline``: ``time.monotonic()`` by which to stop
        trying again."""


def _queue_error(reason: BaseException | None = None) -> LiftError:
    error = LiftError(503, "FANOUT_QUEUE_ERROR", "The fan-out queue is unavailable")
    error.__cause__ = reason
    return error


_clients: dict[tuple[str | None, str | None], Any] = {}
_clients_lock = threading.Lock()


def _region_of(queue_url: str) -> str | None:
    host = queue_url.split("://", 1)[-1].split("/", 1)[0].lower()
    match = _SQS_HOST.match(host)
    if match:
        return match.group(1)
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def sqs_client(queue_url: str) -> Any:
    """The process-wide boto3 SQS client for ``queue_url``'s region.

    The endpoint is boto3's own choice, so ``AWS_ENDPOINT_URL_SQS`` (moto, LocalStack,
    a VPC endpoint) applies. Calls time out (2 s to connect, 10 s to read) and are retried
    in botocore's standard mode.
    """
    region = _region_of(queue_url)
    key = (region, os.environ.get("AWS_ENDPOINT_URL_SQS") or os.environ.get("AWS_ENDPOINT_URL"))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            import boto3
            from botocore.config import Config

            client = _clients[key] = boto3.session.Session().client(
                "sqs",
                region_name=region,
                config=Config(
                    connect_timeout=2,
                    read_timeout=10,
                    retries={"mode": "standard", "max_attempts": 3},
                ),
            )
        return client


class SQSFanoutQueue:
    """A standard SQS queue, written with ``SendMessageBatch``."""

    def __init__(
        self, queue_url: str, client: Any = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        from .fanout import queue_name

        self.queue_url = queue_url
        self.name = queue_name(queue_url)
        self._client = client
        self._sleep = sleep

    @property
    def client(self) -> Any:
        """The boto3 SQS client."""
        if self._client is None:
            self._client = sqs_client(self.queue_url)
        return self._client

    def send(self, bodies: list[tuple[str, str]], *, deadline: float | None = None) -> SendResult:
        """Send in batches, several at once; which entries were queued and which not.

        Only the entries SQS answers as failed on its side (not the sender's fault) are
        sent again, at most four times in all and not after ``deadline`` (default: in
        :data:`SEND_SECONDS`); an accepted entry is never sent again. A call that fails
        as a whole (after the SDK's own retries) leaves its entries not queued: whether
        SQS took them is unknown, and sending them again could queue them twice.
        """
        if deadline is None:
            deadline = time.monotonic() + SEND_SECONDS
        batches = list(pack_batches(bodies))
        result = SendResult()
        if len(batches) == 1:
            result.merge(self._send_batch(batches[0], deadline))
            return result
        with ThreadPoolExecutor(min(_PARALLEL_BATCHES, len(batches))) as pool:
            futures = [pool.submit(self._send_batch, batch, deadline) for batch in batches]
            for future in futures:
                result.merge(future.result())
        return result

    def _send_batch(self, batch: list[tuple[str, str]], deadline: float) -> SendResult:
        from botocore.exceptions import BotoCoreError, ClientError

        keys = {f"e{index}": key for index, (key, _) in enumerate(batch)}
        entries = {f"e{index}": body for index, (_, body) in enumerate(batch)}
        result = SendResult()
        for attempt in range(_SEND_ATTEMPTS):
            try:
                answer = self.client.send_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{"Id": i, "MessageBody": b} for i, b in entries.items()],
                )
            except (BotoCoreError, ClientError) as exc:
                reason = _error_code(exc)
                result.failed.update((keys[i], reason) for i in entries)
                return result
            retry: dict[str, str] = {}
            reasons: dict[str, str] = {}
            for entry in answer.get("Failed") or []:
                entry_id = entry.get("Id")
                if entry_id not in entries:
                    continue
                reason = str(entry.get("Code") or "Failed")
                if entry.get("SenderFault"):
                    result.failed[keys[entry_id]] = reason  # it would fail again
                else:
                    retry[entry_id], reasons[entry_id] = entries[entry_id], reason
            accepted = {str(entry.get("Id")) for entry in answer.get("Successful") or []}
            for entry_id in entries:
                if entry_id in accepted:
                    result.queued.append(keys[entry_id])
                elif entry_id not in retry and keys[entry_id] not in result.failed:
                    result.failed[keys[entry_id]] = "NotAnswered"  # unknown: not sent again
            entries = retry
            if not entries:
                return result
            pause = random.uniform(0, 0.1 * 2**attempt)  # noqa: S311 - jitter
            if attempt == _SEND_ATTEMPTS - 1 or time.monotonic() + pause >= deadline:
                break
            self._sleep(pause)
        result.failed.update((keys[i], reasons[i]) for i in entries)
        return result


def _error_code(exc: BaseException) -> str:
    """SQS's error code of a failed call, else the exception's type."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if isinstance(code, str) and code:
            return code
    return type(exc).__name__


def sqs_record(
    body: str, *, message_id: str, receipt: str, receive_count: int, sent_ms: int, arn: str
) -> dict[str, Any]:
    """One record of the SQS event Lambda's event source mapping delivers."""
    return {
        "messageId": message_id,
        "receiptHandle": receipt,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": str(sent_ms),
            "SenderId": "AROAEXAMPLEFANOUT:lift",
            "ApproximateFirstReceiveTimestamp": str(sent_ms),
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": arn.split(":")[3],
    }


def _failures(result: Any) -> set[str]:
    if not isinstance(result, dict):
        return set()
    items = result.get("batchItemFailures") or []
    return {str(i.get("itemIdentifier")) for i in items if isinstance(i, dict)}


class MemoryFanoutQueue:
    """A fan-out queue in process that delivers through ``app`` like Lambda would.

    ``drain()`` runs every message (batches of up to ``batch_size``) until the queue is
    empty; a message in ``batchItemFailures`` (or of a batch whose handler raised) comes
    back with its receive count raised, and goes to :attr:`dead_letters` after
    ``max_attempts`` receives. ``context`` makes the Lambda context of each invocation.
    """

    def __init__(
        self,
        app: Any,
        *,
        name: str,
        max_attempts: int,
        batch_size: int = 10,
        context: Callable[[], Any] | None = None,
        region: str = "us-east-1",
        account_id: str = "123456789012",
    ) -> None:
        self.app = app
        self.name = name
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self.arn = f"arn:aws:sqs:{region}:{account_id}:{name}"
        self._context = context or (lambda: None)
        self._lock = threading.Lock()
        self._drain_lock = threading.Lock()
        self._messages: deque[tuple[str, str, int, int]] = deque()
        self.dead_letters: list[str] = []
        self.sent = 0
        self.on_send: Callable[[], None] | None = None
        """Called after messages are enqueued (``lift dev`` schedules a drain)."""
        self._previous: tuple[Any, Any] = (None, None)

    def send(self, bodies: list[tuple[str, str]], *, deadline: float | None = None) -> SendResult:
        """Enqueue (every entry is queued)."""
        now = int(time.time() * 1000)
        with self._lock:
            for _, body in bodies:
                self._messages.append((str(uuid.uuid4()), body, 0, now))
                self.sent += 1
        if self.on_send is not None:
            self.on_send()
        return SendResult(queued=[key for key, _ in bodies])

    @classmethod
    def attach(
        cls, app: Any, *, context: Callable[[], Any] | None = None
    ) -> MemoryFanoutQueue | None:
        """Deliver ``app``'s fan-out in process (``None`` when it has no ``FanoutOptions``).

        Sets ``app.fanout_queue`` and ``app.fanout_state`` (records in memory) until
        :meth:`detach`.
        """
        options = getattr(getattr(app, "websocket_options", None), "fanout", None)
        if options is None:
            return None
        from .fanout_state import MemoryFanoutState
        from .fanout_worker import route_name

        queue = cls(
            app, name=route_name(options), max_attempts=options.max_attempts, context=context
        )
        queue._previous = (getattr(app, "fanout_queue", None), getattr(app, "fanout_state", None))
        app.fanout_queue = queue
        app.fanout_state = MemoryFanoutState()
        return queue

    def detach(self) -> None:
        """Put back what :meth:`attach` replaced."""
        if getattr(self.app, "fanout_queue", None) is self:
            self.app.fanout_queue, self.app.fanout_state = self._previous

    def __len__(self) -> int:
        with self._lock:
            return len(self._messages)

    def drain(self) -> int:
        """Deliver until empty; returns how many messages were handled."""
        handled = 0
        with self._drain_lock:
            while True:
                with self._lock:
                    batch = [
                        self._messages.popleft()
                        for _ in range(min(self.batch_size, len(self._messages)))
                    ]
                if not batch:
                    return handled
                handled += len(batch)
                records = [
                    sqs_record(
                        body,
                        message_id=mid,
                        receipt=uuid.uuid4().hex,
                        receive_count=count + 1,
                        sent_ms=sent,
                        arn=self.arn,
                    )
                    for mid, body, count, sent in batch
                ]
                try:
                    failed = _failures(self.app({"Records": records}, self._context()))
                except Exception:  # noqa: BLE001 - the whole batch comes back, as on AWS
                    failed = {mid for mid, *_ in batch}
                with self._lock:
                    for mid, body, count, sent in batch:
                        if mid not in failed:
                            continue
                        if count + 1 >= self.max_attempts:
                            self.dead_letters.append(body)
                        else:
                            self._messages.append((mid, body, count + 1, sent))


class SQSPoller:
    """Lambda's SQS event source mapping, locally: receive, invoke ``app``, delete.

    Messages the app lists in ``batchItemFailures`` (or all of a batch whose handler
    raised) are left for SQS to deliver again after their visibility timeout.
    """

    def __init__(
        self,
        app: Any,
        queue_url: str,
        *,
        batch_size: int = 10,
        wait: int = 1,
        context: Callable[[], Any] | None = None,
        client: Any = None,
    ) -> None:
        self.app = app
        self.queue_url = queue_url
        self.batch_size = batch_size
        self.wait = wait
        self.client = client or sqs_client(queue_url)
        self._context = context or (lambda: None)
        self.arn = str(
            self.client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
        )

    def poll_once(self) -> int:
        """One receive and invocation; how many messages it got."""
        messages = self.receive()
        self.handle(messages)
        return len(messages)

    def receive(self) -> list[dict[str, Any]]:
        """One ``ReceiveMessage`` (long polling for ``wait`` seconds)."""
        answer = self.client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait,
            MessageSystemAttributeNames=["All"],
        )
        return list(answer.get("Messages") or [])

    def handle(self, messages: list[dict[str, Any]]) -> None:
        """Invoke the app with ``messages`` as one SQS event; delete what succeeded."""
        if not messages:
            return
        records = [
            sqs_record(
                m["Body"],
                message_id=m["MessageId"],
                receipt=m["ReceiptHandle"],
                receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
                sent_ms=int(m.get("Attributes", {}).get("SentTimestamp", "0")),
                arn=self.arn,
            )
            for m in messages
        ]
        try:
            failed = _failures(self.app({"Records": records}, self._context()))
        except Exception:  # noqa: BLE001 - the whole batch is retried, as on AWS
            return
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.client.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )


def queue_for(app: Any, options: FanoutOptions) -> FanoutQueue | None:
    """``app.fanout_queue`` (local runs), else SQS at the resolved URL, else ``None``."""
    override = getattr(app, "fanout_queue", None)
    if override is not None:
        return override  # type: ignore[no-any-return]
    url = options.resolved_queue_url()
    if not url:
        return None
    with _clients_lock:
        queue = _queues.get(url)
        if queue is None:
            queue = _queues[url] = SQSFanoutQueue(url)
        return queue


_queues: dict[str, SQSFanoutQueue] = {}
