"""Where the WebSocket handler puts jobs: SQS when deployed, a thread when local.

:class:`SQSJobQueue` sends each job to the queue whose messages trigger the worker
Lambda. :class:`LocalJobQueue` needs no AWS: it builds the SQS event Lambda would
deliver (``lift.testing.events.sqs``) and runs the app with it in a background thread,
so ``lift dev`` and tests exercise the very same worker handler.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any, Protocol

from lift.testing import events, lambda_context

__all__ = ["QUEUE_NAME", "QUEUE_URL_ENV", "JobQueue", "LocalJobQueue", "SQSJobQueue"]

QUEUE_NAME = "progress-jobs"
"""The queue the worker is subscribed to (``@app.sqs(QUEUE_NAME)``)."""

QUEUE_URL_ENV = "PROGRESS_QUEUE_URL"
"""When set (deployed), jobs go to this SQS queue."""

LambdaHandler = Callable[[dict[str, Any], Any], Any]


class JobQueue(Protocol):
    """Accepts jobs for the worker."""

    def send(self, job: dict[str, Any]) -> None:
        """Enqueue one job (a JSON-serialisable dict)."""


class SQSJobQueue:
    """Jobs as SQS messages; the boto3 client is created on first use and reused."""

    def __init__(self, queue_url: str, *, client: Any = None) -> None:
        self.queue_url = queue_url
        self._client = client

    def send(self, job: dict[str, Any]) -> None:
        if self._client is None:
            import boto3

            self._client = boto3.client("sqs")
        self._client.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(job))


class LocalJobQueue:
    """Run ``handler`` (the app) on an SQS event per job, each in its own thread."""

    def __init__(self, handler: LambdaHandler, *, queue: str = QUEUE_NAME) -> None:
        self.handler = handler
        self.queue = queue
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def send(self, job: dict[str, Any]) -> None:
        thread = threading.Thread(target=self._deliver, args=(job,), daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the jobs sent so far to finish (for tests and shutdown)."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def _deliver(self, job: dict[str, Any]) -> None:
        event = events.sqs(job, queue=self.queue)
        try:
            self.handler(event, lambda_context("progress-worker", timeout=900.0))
        except Exception:  # noqa: BLE001 - the app logged it; the thread just ends
            return
