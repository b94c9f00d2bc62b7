"""Long-running work over WebSockets: acknowledge now, report progress, then the result.

API Gateway gives a WebSocket integration 29 seconds and a Lambda invocation should not
sit waiting anyway, so the ``start`` handler only checks the request, acknowledges it
and enqueues a job. A worker (an SQS-triggered handler of the same app) does the work
and posts updates to the client through the ``@connections`` Management API.

Run it locally (jobs run in a thread instead of SQS)::

    lift dev examples.progress.app:app

The protocol:

* client: ``{"action": "start", "request_id": "r1", "steps": 5}`` (1-100 steps;
  ``"fail_at": k`` makes step ``k`` fail, to see the error path);
* server: ``{"type": "acknowledgment", "request_id"}``, then one
  ``{"type": "progress", "request_id", "percentage", "message"}`` per step (the
  percentage strictly increases and ends at 100), then
  ``{"type": "complete", "request_id", "result"}``;
* or, on failure: ``{"type": "error", "request_id", "code", "message"}``
  (``INVALID_REQUEST_ID``, ``INVALID_STEPS``, ``QUEUE_UNAVAILABLE``, ``JOB_FAILED``).
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any, NoReturn

from lift import App, Context, LiftError
from lift.websocket import ConnectionGoneError, WebSocketOptions

from .jobs import QUEUE_NAME, QUEUE_URL_ENV, JobQueue, LocalJobQueue, SQSJobQueue

__all__ = ["MAX_STEPS", "STEP_DELAY_ENV", "app", "create_app", "run_job"]

MAX_STEPS = 100
STEP_DELAY_ENV = "PROGRESS_STEP_DELAY"
"""Seconds each simulated step takes (default 0.5)."""

_REQUEST_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def _error(request_id: Any, code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "request_id": request_id, "code": code, "message": message}


def run_job(app: App, job: dict[str, Any], step_delay: float) -> None:
    """Do one job's steps, posting progress, then the result or the failure.

    A client that left (``ConnectionGoneError``) ends the job quietly.
    """
    connections = app.connections(job.get("endpoint"))
    request_id, connection_id = job["request_id"], job["connection_id"]
    steps: int = job["steps"]
    try:
        for step in range(1, steps + 1):
            time.sleep(step_delay)  # the "work"
            if step == job.get("fail_at"):
                failure = _error(request_id, "JOB_FAILED", f"Step {step} of {steps} failed")
                connections.send_json(connection_id, failure)
                return
            progress = {
                "type": "progress",
                "request_id": request_id,
                "percentage": round(step * 100 / steps),
                "message": f"Step {step} of {steps} done",
            }
            connections.send_json(connection_id, progress)
        result = {"steps": steps, "total": steps * (steps + 1) // 2}
        connections.send_json(
            connection_id, {"type": "complete", "request_id": request_id, "result": result}
        )
    except ConnectionGoneError:
        app.logger.info("The client left before its job finished", request_id=request_id)


def create_app(*, queue: JobQueue | None = None, step_delay: float | None = None) -> App:
    """Build the app. ``queue`` defaults to SQS when ``PROGRESS_QUEUE_URL`` is set, else
    a :class:`LocalJobQueue` running this app's worker in a thread.

    Every reply, errors included, is a frame sent through ``@connections``, so message
    routes have no route response (which would return each error a second time).
    """
    app = App(websocket=WebSocketOptions(route_responses=False))
    delay = step_delay if step_delay is not None else float(os.environ.get(STEP_DELAY_ENV, "0.5"))
    queue_url = os.environ.get(QUEUE_URL_ENV)
    jobs: JobQueue = queue or (SQSJobQueue(queue_url) if queue_url else LocalJobQueue(app))

    def refuse(ctx: Context, request_id: Any, status: int, code: str, message: str) -> NoReturn:
        """Tell the client why, then fail the invocation (logs and metrics count it)."""
        ctx.websocket.send(_error(request_id, code, message))
        raise LiftError(status, code, message)

    @app.websocket("start")
    def start(ctx: Context) -> None:
        body = ctx.json()  # route selection already needed a JSON object with "action"
        request_id = body.get("request_id")
        if not isinstance(request_id, str) or not _REQUEST_ID.fullmatch(request_id):
            refuse(
                ctx,
                request_id,
                400,
                "INVALID_REQUEST_ID",
                "request_id: 1-64 of A-Z a-z 0-9 _ . : -",
            )
        steps = body.get("steps")
        if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= MAX_STEPS:
            refuse(ctx, request_id, 400, "INVALID_STEPS", f"steps must be 1 to {MAX_STEPS}")
        ws = ctx.websocket
        # Acknowledge before enqueueing: the worker may post its first update at once.
        ws.send({"type": "acknowledgment", "request_id": request_id})
        job = {
            "request_id": request_id,
            "connection_id": ws.connection_id,
            "endpoint": ws.management_endpoint,  # how the worker reaches this client
            "steps": steps,
            "fail_at": body.get("fail_at"),
        }
        try:
            jobs.send(job)
        except Exception:
            ctx.logger.exception("Could not enqueue the job", request_id=request_id)
            refuse(ctx, request_id, 503, "QUEUE_UNAVAILABLE", "The job could not be started")

    @app.sqs(QUEUE_NAME)
    def worker(ctx: Context) -> dict[str, Any]:
        # Report failed records instead of failing the batch (ReportBatchItemFailures):
        # SQS retries only those.
        failures = []
        for record in ctx.request.records:
            try:
                run_job(app, json.loads(record["body"]), delay)
            except Exception:
                ctx.logger.exception("Job failed", message_id=record["messageId"])
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    @app.websocket("$default")
    def unknown(ctx: Context) -> None:
        ctx.websocket.send(_error(None, "UNKNOWN_ACTION", 'Send {"action": "start", ...}'))

    return app


app = create_app()
"""The Lambda handler of both functions: ``examples.progress.app.app``."""
