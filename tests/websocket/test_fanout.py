"""Fan-out through SQS against moto's HTTP server, DynamoDB and a local @connections server.

Every app below is a separate ``App`` instance: the sender and each worker share only
the queue, the table and the @connections endpoint, as Lambda instances do. Deliveries
are counted on the server side, per connection id.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from lift import App, Context, LiftError
from lift.local.connections import ConnectionsServer, MemoryConnectionRegistry
from lift.observability import JSONLogger, MemoryMetrics
from lift.testing import events
from lift.testing.client import lambda_context
from lift.websocket import (
    BroadcastResult,
    DynamoDBConnectionStore,
    FanoutOptions,
    FanoutResult,
    Listing,
    WebSocketOptions,
    fanout_worker,
)
from lift.websocket.connection import Connection
from lift.websocket.errors import ThrottledError
from lift.websocket.fanout import register_lister
from lift.websocket.fanout_codec import Job, decode, shard_messages
from lift.websocket.fanout_queue import SQSFanoutQueue, SQSPoller
from lift.websocket.fanout_state import state_for
from lift.websocket.management import ManagementClient, clear_clients
from tests.conftest import REGION
from tests.sqs_faults import SQSFaultProxy

PAYLOAD = {"type": "update", "value": 42}


class WorkerDied(BaseException):
    """A worker process dying in the middle of a send (not an ordinary error)."""


class DyingAPI:
    """A ManagementAPI that sends through ``inner`` and dies on send number ``after + 1``."""

    def __init__(self, inner: Any, after: int) -> None:
        self.inner = inner
        self.after = after
        self.sent = 0
        self.lock = threading.Lock()

    def post_to_connection(self, connection_id: str, data: bytes) -> None:
        with self.lock:
            if self.sent >= self.after:
                raise WorkerDied
            self.sent += 1
        self.inner.post_to_connection(connection_id, data)

    def get_connection(self, connection_id: str) -> dict[str, Any]:
        return dict(self.inner.get_connection(connection_id))

    def delete_connection(self, connection_id: str) -> None:
        self.inner.delete_connection(connection_id)


class ThrottledFor:
    """A ManagementAPI that answers ``ids`` with throttling, always."""

    def __init__(self, inner: Any, ids: set[str]) -> None:
        self.inner = inner
        self.ids = ids

    def post_to_connection(self, connection_id: str, data: bytes) -> None:
        if connection_id in self.ids:
            raise ThrottledError("LimitExceededException")
        self.inner.post_to_connection(connection_id, data)

    def get_connection(self, connection_id: str) -> dict[str, Any]:
        return dict(self.inner.get_connection(connection_id))

    def delete_connection(self, connection_id: str) -> None:
        self.inner.delete_connection(connection_id)


@pytest.fixture(autouse=True)
def _quick_retry_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fanout_worker, "RETRY_DELAY", 0.01)


@pytest.fixture
def registry() -> MemoryConnectionRegistry:
    return MemoryConnectionRegistry()


@pytest.fixture
def server(
    registry: MemoryConnectionRegistry, monkeypatch: pytest.MonkeyPatch, moto_url: str
) -> Iterator[ConnectionsServer]:
    with ConnectionsServer(registry, stage="prod") as running:
        monkeypatch.setenv("LIFT_WS_MANAGEMENT_ENDPOINT", running.endpoint)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", moto_url)
        monkeypatch.setenv("LIFT_DYNAMODB_ENDPOINT", moto_url)
        monkeypatch.setenv("AWS_REGION", REGION)
        yield running
        clear_clients()


@pytest.fixture
def sqs(moto_url: str) -> Any:
    return boto3.session.Session().client("sqs", region_name=REGION, endpoint_url=moto_url)


def create_queues(sqs: Any, visibility: int) -> tuple[str, str]:
    """A fan-out queue whose dead-letter queue takes shards after 3 tries, and that DLQ."""
    name = f"fanout-{uuid.uuid4().hex[:8]}"
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(visibility),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
        },
    )["QueueUrl"]
    return url, dlq


@pytest.fixture
def queues(sqs: Any) -> tuple[str, str]:
    """Queues with a 1 s visibility timeout: for tests of what a second receive does."""
    return create_queues(sqs, 1)


@pytest.fixture
def steady_queues(sqs: Any) -> tuple[str, str]:
    """Queues whose messages are not received again while a worker holds them (60 s, as
    deployed: longer than an invocation). A job's totals are exact only then: a shard
    received again while in hand may send its last step twice (``at_least_once``)."""
    return create_queues(sqs, 60)


@pytest.fixture
def table(server: ConnectionsServer) -> str:
    name = f"conns-{uuid.uuid4().hex[:8]}"
    DynamoDBConnectionStore(name).create_table()
    return name


def make_app(queue_url: str, table: str, **options: Any) -> tuple[App, io.StringIO]:
    log = io.StringIO()
    settings: dict[str, Any] = {
        "queue_url": queue_url,
        "inline_limit": 10,
        "shard_size": 25,
        "rate_per_second": 10_000,
        "max_attempts": 3,
        "concurrency": 8,
    }
    settings.update(options)
    app = App(
        websocket=WebSocketOptions(
            store=DynamoDBConnectionStore(table), fanout=FanoutOptions(**settings)
        ),
        logger=JSONLogger(stream=log),
        metrics=MemoryMetrics(),
    )
    return app, log


def open_ids(registry: MemoryConnectionRegistry, count: int, prefix: str = "c") -> list[str]:
    ids = [f"{prefix}{index:05d}" for index in range(count)]
    for connection_id in ids:
        registry.open(connection_id)
    return ids


def deliveries(registry: MemoryConnectionRegistry, ids: list[str]) -> Counter[str]:
    return Counter({i: len(registry.messages(i)) for i in ids})


def drain(app: App, queue_url: str, *, until: float = 60.0) -> None:
    """Poll like Lambda's event source mapping until the queue is empty (in flight too)."""
    poller = SQSPoller(app, queue_url, wait=0, context=lambda: lambda_context(timeout=60))
    deadline = time.monotonic() + until
    while time.monotonic() < deadline:
        if poller.poll_once():
            continue
        attributes = poller.client.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        if attributes == {
            "ApproximateNumberOfMessages": "0",
            "ApproximateNumberOfMessagesNotVisible": "0",
        }:
            return
        time.sleep(0.2)
    raise AssertionError("the queue did not drain")


def job_lines(log: io.StringIO) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    return [line for line in lines if line["message"] == "Fan-out job finished"]


# --- shards written and delivered -------------------------------------------------------


def test_shards_are_written_and_delivered_once_by_another_instance(
    server: ConnectionsServer,
    registry: MemoryConnectionRegistry,
    steady_queues: tuple[str, str],
    table: str,
    sqs: Any,
) -> None:
    ids = open_ids(registry, 230)
    sender, _ = make_app(steady_queues[0], table)
    result = sender.connections().broadcast(ids, PAYLOAD)

    assert isinstance(result, FanoutResult)
    assert (result.recipients, result.shards) == (230, 10)
    assert result.delivered == [] and server.calls == []  # nothing sent by the sender
    waiting = sqs.get_queue_attributes(
        QueueUrl=steady_queues[0], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert waiting == "10"

    worker, log = make_app(steady_queues[0], table)
    drain(worker, steady_queues[0])

    assert deliveries(registry, ids) == Counter(dict.fromkeys(ids, 1))
    assert all(registry.messages(i) == [b'{"type":"update","value":42}'] for i in ids)
    [line] = job_lines(log)
    assert line["job_id"] == result.job_id
    assert (line["shards"], line["delivered"], line["gone"], line["failed"]) == (10, 230, 0, 0)
    assert line["seconds"] >= 0
    assert isinstance(worker.metrics, MemoryMetrics)
    assert worker.metrics.total("websocket.fanout.delivered") == 230
    assert DynamoDBConnectionStore(table).count_active() == 0  # fan-out records are not connections


def test_a_large_payload_is_stored_once_and_referenced(
    server: ConnectionsServer,
    registry: MemoryConnectionRegistry,
    queues: tuple[str, str],
    table: str,
    sqs: Any,
) -> None:
    ids = open_ids(registry, 60)
    big = "x" * (100 * 1024)
    sender, _ = make_app(queues[0], table)
    result = sender.connections().broadcast(ids, big)
    assert isinstance(result, FanoutResult) and result.shards == 3

    bodies = []
    for _ in range(3):
        got = sqs.receive_message(QueueUrl=queues[0], MaxNumberOfMessages=10, VisibilityTimeout=0)
        bodies.extend(m["Body"] for m in got.get("Messages", []))
        if len({decode(b).key for b in bodies}) == 3:
            break
    assert all(len(body) < 2048 for body in bodies)  # the payload is not in the shards
    assert all(decode(body).payload == {"ref": 1} for body in bodies)

    worker, _ = make_app(queues[0], table)
    drain(worker, queues[0])
    assert all(registry.messages(i) == [big.encode()] for i in ids)


def test_sends_up_to_the_inline_limit_stay_inline(
    server: ConnectionsServer,
    registry: MemoryConnectionRegistry,
    queues: tuple[str, str],
    table: str,
) -> None:
    ids = open_ids(registry, 10)
    app, _ = make_app(queues[0], table)
    result = app.connections().broadcast(ids, PAYLOAD)
    assert type(result) is BroadcastResult
    assert sorted(result.delivered) == ids
    assert deliveries(registry, ids) == Counter(dict.fromkeys(ids, 1))


def test_a_websocket_handler_gets_the_fanout_result(
    server: ConnectionsServer,
    registry: MemoryConnectionRegistry,
    queues: tuple[str, str],
    table: str,
) -> None:
    ids = open_ids(registry, 40)
    store = DynamoDBConnectionStore(table)
    for connection_id in ids:
        store.save(Connection(connection_id, tenant_id="t1"))
    app, _ = make_app(queues[0], table)

    @app.websocket("announce")
    def announce(ctx: Context) -> dict[str, Any]:
        result = ctx.websocket.broadcast_to_tenant("t1", PAYLOAD)
        assert isinstance(result, FanoutResult)
        return {"job": result.job_id, "recipients": result.recipients}

    response = app(
        events.websocket_message('{"action":"announce"}', route_key="announce"),
        lambda_context(timeout=29),
    )
    assert json.loads(response["body"])["recipients"] == 40
    worker, _ = make_app(queues[0], table)
    drain(worker, queues[0])
    assert deliveries(registry, ids) == Counter(dict.fromkeys(ids, 1))


# --- a worker that dies halfway ------------------------------------------------------------


def test_a_worker_that_dies_halfway_leaves_only_the_rest_to_the_next(
    server: ConnectionsServer,
    registry: MemoryConnectionRegistry,
    queues: tuple[str, str],
    table: str,
) -> None:
    ids = open_ids(registry, 100)
    sender, _ = make_app(queues[0], table)
    sender.connections().broadcast(ids, PAYLOAD)

    doomed, _ = make_app(queues[0], table)
    real = ManagementClient(server.endpoint, REGION)
    doomed.management_api = DyingAPI(real, after=37)
    with pytest.raises(WorkerDied):
        drain(doomed, queues[0])
    assert sum(deliveries(registry, ids).values()) == 37

    server.reset()
    survivor, _ = make_app(queues[0], table)
    drain(survivor, queues[0])

    assert deliveries(registry, ids) == Counter(dict.fromkeys(ids, 1))
    posted = [connection_id for method, connection_id in server.calls if method == "POST"]
    assert len(posted) == 100 - 37  # only the rest was sent again


# --- gone connections -------------------------------------------------------------------------


def test_gone_connections_are_pruned_from_the_store(
    server: ConnectionsServer,
    registry: MemoryConnectionRegistry,
    steady_queues: tuple[str, str],
    table: str,
) -> None:
    ids = open_ids(registry, 50)
    store = DynamoDBConnectionStore(table)
    for connection_id in ids:
        store.save(Connection(connection_id, user_id="u"))
    gone = ids[5:50:5]
    for connection_id in gone:
        registry.close(connection_id)

    sender, _ = make_app(steady_queues[0], table)
    sender.connections().broadcast(ids, PAYLOAD)
    worker, log = make_app(steady_queues[0], table)
    drain(worker, steady_queues[0])

    assert all(store.get(i) is None for i in gone)
    assert all(store.get(i) is not None for i in ids if i not in gone)
    assert deliveries(registry, ids) == Counter({i: 0 if i in gone else 1 for i in ids})
    [line] = job_lines(log)
    assert (line["delivered"], line["gone"], line["failed"]) == (41, 9, 0)


# --- a job's line owed by a receive that died -------------------------------------------------


def test_a_job_line_lost_with_its_worker_is_written_by_the_next_receive(
    server: ConnectionsServer,
    registry: MemoryConnectionRegistry,
    queues: tuple[str, str],
    table: str,
) -> None:
    ids = open_ids(registry, 30)  # shards: 25 + 5
    sender, _ = make_app(queues[0], table)
    sender.connections().broadcast(ids, PAYLOAD)

    # The worker delivers both shards and records them final, then dies before the job's
    # line: its messages are received again once their visibility timeout is over.
    doomed, doomed_log = make_app(queues[0], table)
    fanout = doomed.websocket_options.fanout
    assert fanout is not None
    state = state_for(doomed, fanout)

    def dies(job_id: str) -> None:
        raise WorkerDied

    with pytest.MonkeyPatch.context() as patch, pytest.raises(WorkerDied):
        patch.setattr(state, "job_line", dies)
        drain(doomed, queues[0])
    assert job_lines(doomed_log) == []
    assert deliveries(registry, ids) == Counter(dict.fromkeys(ids, 1))

    survivor, log = make_app(queues[0], table)
    drain(survivor, queues[0])
    assert deliveries(registry, ids) == Counter(dict.fromkeys(ids, 1))  # nothing again
    [line] = job_lines(log)
    assert (line["shards"], line["delivered"], line["gone"], line["failed"]) == (2, 30, 0, 0)


# --- a shard that keeps failing -----------------------------------------------------------------


def test_a_shard_that_keeps_failing_ends_in_the_dead_letter_queue(
    server: ConnectionsServer,
    registry: MemoryConnectionRegistry,
    queues: tuple[str, str],
    table: str,
    sqs: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = open_ids(registry, 30)  # shards: 25 + 5
    stuck = {ids[3], ids[20]}
    sender, _ = make_app(queues[0], table)
    sender.connections().broadcast(ids, PAYLOAD)

    worker, _ = make_app(queues[0], table)
    worker.management_api = ThrottledFor(ManagementClient(server.endpoint, REGION), stuck)
    drain(worker, queues[0], until=30)

    dead = sqs.receive_message(QueueUrl=queues[1], MaxNumberOfMessages=10)["Messages"]
    assert len(dead) == 1
    assert set(decode(dead[0]["Body"]).ids) >= stuck
    assert deliveries(registry, ids) == Counter({i: 0 if i in stuck else 1 for i in ids})

    # Redriven later (a new message id): only the ids never delivered are sent.
    monkeypatch.setattr(fanout_worker, "ABANDONED_AFTER", 0.0)
    sqs.send_message(QueueUrl=queues[0], MessageBody=dead[0]["Body"])
    healthy, _ = make_app(queues[0], table)
    drain(healthy, queues[0])
    assert deliveries(registry, ids) == Counter(dict.fromkeys(ids, 1))


def test_two_copies_of_a_shard_deliver_once(
    server: ConnectionsServer,
    registry: MemoryConnectionRegistry,
    queues: tuple[str, str],
    table: str,
    sqs: Any,
) -> None:
    ids = open_ids(registry, 20)
    sender, _ = make_app(queues[0], table)
    sender.connections().broadcast(ids, PAYLOAD)
    [message] = sqs.receive_message(QueueUrl=queues[0], VisibilityTimeout=0)["Messages"]
    sqs.send_message(QueueUrl=queues[0], MessageBody=message["Body"])  # SQS's duplicate
    worker, _ = make_app(queues[0], table)
    drain(worker, queues[0])
    assert deliveries(registry, ids) == Counter(dict.fromkeys(ids, 1))


# --- no queue -------------------------------------------------------------------------------------


def test_without_a_queue_a_send_that_cannot_finish_in_time_is_refused_before_sending(
    server: ConnectionsServer, registry: MemoryConnectionRegistry
) -> None:
    ids = open_ids(registry, 5000)
    app = App(websocket=WebSocketOptions(fanout=FanoutOptions(inline_limit=10)))

    @app.websocket("announce")
    def announce(ctx: Context) -> None:
        ctx.websocket.broadcast(ids, PAYLOAD)

    response = app(
        events.websocket_message('{"action":"announce"}', route_key="announce"),
        lambda_context(timeout=3),
    )
    assert response["statusCode"] == 503
    error = json.loads(response["body"])["error"]
    assert error["code"] == "FANOUT_NEEDS_QUEUE"
    assert "FanoutOptions" in error["message"]
    assert server.calls == []


def test_without_fanout_options_the_time_check_still_applies(
    server: ConnectionsServer, registry: MemoryConnectionRegistry
) -> None:
    ids = open_ids(registry, 5000)
    app = App()

    @app.websocket("announce")
    def announce(ctx: Context) -> None:
        ctx.websocket.broadcast(ids, PAYLOAD)

    response = app(
        events.websocket_message('{"action":"announce"}', route_key="announce"),
        lambda_context(timeout=2),
    )
    assert json.loads(response["body"])["error"]["code"] == "FANOUT_NEEDS_QUEUE"
    assert server.calls == []


# --- a worker killed mid-step: the delivery mode decides ------------------------------------

KILLED_WORKER = """
import os, sys, threading
from lift import App
from lift.websocket import DynamoDBConnectionStore, FanoutOptions, WebSocketOptions
from lift.websocket.fanout_queue import SQSPoller
from lift.websocket.management import ManagementClient

queue_url, table, endpoint, delivery, after = sys.argv[1:]
app = App(websocket=WebSocketOptions(store=DynamoDBConnectionStore(table), fanout=FanoutOptions(
    queue_url=queue_url, shard_size=60, concurrency=8, rate_per_second=10_000,
    max_attempts=3, inline_limit=1, delivery=delivery)))
real = ManagementClient(endpoint, "eu-west-1")
lock = threading.Lock()
sent = [0]

class Killed:
    def post_to_connection(self, connection_id, data):
        with lock:
            if sent[0] >= int(after):
                os._exit(3)  # no finally, no except: the process is gone
            sent[0] += 1
        real.post_to_connection(connection_id, data)
    def get_connection(self, connection_id):
        return real.get_connection(connection_id)
    def delete_connection(self, connection_id):
        real.delete_connection(connection_id)

app.management_api = Killed()
SQSPoller(app, queue_url, wait=1).poll_once()
"""


@pytest.mark.parametrize("delivery", ["at_least_once", "at_most_once"])
def test_a_killed_worker_leaves_only_its_last_step_uncertain(
    delivery: str,
    server: ConnectionsServer,
    registry: MemoryConnectionRegistry,
    queues: tuple[str, str],
    table: str,
) -> None:
    ids = open_ids(registry, 60)
    sender, _ = make_app(queues[0], table, shard_size=60, concurrency=8, delivery=delivery)
    sender.connections().broadcast(ids, PAYLOAD)

    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    done = subprocess.run(
        [sys.executable, "-c", KILLED_WORKER, queues[0], table, server.endpoint, delivery, "20"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    before = deliveries(registry, ids)
    assert 16 <= sum(before.values()) <= 24

    survivor, log = make_app(queues[0], table, shard_size=60, concurrency=8, delivery=delivery)
    drain(survivor, queues[0])
    after = deliveries(registry, ids)
    last_step = set(ids[16:24])  # the step the worker had claimed when it died
    assert all(after[i] == 1 for i in ids if i not in last_step)
    if delivery == "at_least_once":
        assert all(after[i] >= 1 for i in ids)  # nothing lost...
        assert {i for i in ids if after[i] > 1} <= last_step  # ...twice at most in that step
    else:
        assert all(after[i] <= 1 for i in ids)  # nothing twice...
        assert {i for i in ids if after[i] == 0} <= last_step  # ...lost at most in that step
    assert "Fan-out shard resumed after its worker died" in log.getvalue()


# --- a listing paged by the workers, with the records in DynamoDB -----------------------------

AUDIENCES: dict[str, list[str]] = {}


def _page_of(
    connections: Any, params: Any, cursor: str | None, limit: int
) -> tuple[list[str], str | None]:
    everyone = AUDIENCES[params["audience"]]
    start = int(cursor or 0)
    page = everyone[start : start + min(limit, 7)]
    end = start + len(page)
    return page, (str(end) if end < len(everyone) else None)


register_lister("test-audience", _page_of)


def test_a_listing_is_paged_by_the_workers_through_sqs(
    server: ConnectionsServer,
    registry: MemoryConnectionRegistry,
    steady_queues: tuple[str, str],
    table: str,
) -> None:
    ids = open_ids(registry, 45)
    AUDIENCES["a"] = ids
    sender, _ = make_app(steady_queues[0], table, shard_size=5)
    result = sender.connections().fan_out(Listing("test-audience", {"audience": "a"}), "hi")
    assert isinstance(result, FanoutResult) and result.listing
    assert result.recipients == 14  # two pages read by the sender, the rest by the workers

    worker, log = make_app(steady_queues[0], table, shard_size=5)
    drain(worker, steady_queues[0])
    assert deliveries(registry, ids) == Counter(dict.fromkeys(ids, 1))
    [line] = job_lines(log)
    # 14 ids in 3 shards; the workers list pages of 7 ids (2 shards each) and a last of 3
    assert (line["delivered"], line["shards"]) == (45, 3 + 4 * 2 + 1)


# --- a send that SQS takes only in part ------------------------------------------------------


class Faults:
    """Which shard keys the SQS proxy fails: key -> (code, sender_fault, how many tries)."""

    def __init__(self) -> None:
        self.plan: dict[str, tuple[str, bool, int]] = {}

    def __call__(self, body: str, tries: int) -> tuple[str, bool] | None:
        found = self.plan.get(decode(body).key)
        if found is None or tries > found[2]:
            return None
        return found[0], found[1]


@pytest.fixture
def faults(
    server: ConnectionsServer, moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Faults, SQSFaultProxy]]:
    """Every SQS call of the apps goes through a proxy that fails the planned entries."""
    plan = Faults()
    with SQSFaultProxy(moto_url, plan) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", proxy.url)
        yield plan, proxy


def shard_ids(ids: list[str], *shards: int, size: int = 25) -> set[str]:
    return {i for shard in shards for i in ids[shard * size : (shard + 1) * size]}


def test_entries_sqs_failed_on_its_side_are_sent_again_alone(
    faults: tuple[Faults, SQSFaultProxy],
    registry: MemoryConnectionRegistry,
    steady_queues: tuple[str, str],
    table: str,
) -> None:
    plan, proxy = faults
    plan.plan = {"2": ("InternalError", False, 1), "7": ("ServiceUnavailable", False, 2)}
    ids = open_ids(registry, 230)
    sender, _ = make_app(steady_queues[0], table)
    result = sender.connections().broadcast(ids, PAYLOAD)

    assert isinstance(result, FanoutResult) and result.ok
    assert (result.shards, result.failed, result.not_queued) == (10, {}, {})
    tries = {decode(body).key: count for body, count in proxy.tries.items()}
    assert tries == {**{str(n): 1 for n in range(10)}, "2": 2, "7": 3}  # only those again
    assert sorted(proxy.accepted.values()) == [1] * 10  # each queued once

    worker, log = make_app(steady_queues[0], table)
    drain(worker, steady_queues[0])
    assert deliveries(registry, ids) == Counter(dict.fromkeys(ids, 1))
    [line] = job_lines(log)
    assert (line["shards"], line["delivered"]) == (10, 230)


def test_a_partly_queued_send_says_which_ids_were_not_and_only_they_are_sent_again(
    faults: tuple[Faults, SQSFaultProxy],
    registry: MemoryConnectionRegistry,
    steady_queues: tuple[str, str],
    table: str,
) -> None:
    plan, proxy = faults
    # shard 3 keeps failing on SQS's side; shard 8 is refused as the sender's fault
    plan.plan = {"3": ("InternalError", False, 99), "8": ("InvalidMessageContents", True, 99)}
    ids = open_ids(registry, 230)
    sender, sender_log = make_app(steady_queues[0], table)
    result = sender.connections().broadcast(ids, PAYLOAD)  # no 503: most of it is queued

    assert isinstance(result, FanoutResult) and not result.ok
    assert result.not_queued == {"3": "InternalError", "8": "InvalidMessageContents"}
    assert set(result.failed) == shard_ids(ids, 3, 8)
    assert all(
        isinstance(e, LiftError) and e.code == "FANOUT_QUEUE_ERROR" for e in result.failed.values()
    )
    assert (result.recipients, result.shards) == (230, 8)
    tries = {decode(body).key: count for body, count in proxy.tries.items()}
    assert (tries["3"], tries["8"]) == (4, 1)  # bounded; a sender fault is not tried again
    assert sorted(proxy.accepted.values()) == [1] * 8
    warning = [json.loads(line) for line in sender_log.getvalue().splitlines()]
    assert [w["not_queued"] for w in warning if w["message"] == "Fan-out partly queued"] == [
        ["3", "8"]
    ]

    worker, log = make_app(steady_queues[0], table)
    drain(worker, steady_queues[0])
    missed = shard_ids(ids, 3, 8)
    assert deliveries(registry, ids) == Counter({i: 0 if i in missed else 1 for i in ids})
    [line] = job_lines(log)  # the job closes on the shards that were queued
    assert (line["shards"], line["delivered"], line["failed"]) == (8, 180, 0)

    plan.plan = {}
    again = sender.connections().broadcast(sorted(result.failed), PAYLOAD)
    assert isinstance(again, FanoutResult) and again.ok
    drain(worker, steady_queues[0])
    assert deliveries(registry, ids) == Counter(dict.fromkeys(ids, 1))  # nobody twice


def test_a_send_that_queues_nothing_is_a_503_and_can_be_repeated(
    faults: tuple[Faults, SQSFaultProxy],
    registry: MemoryConnectionRegistry,
    queues: tuple[str, str],
    table: str,
) -> None:
    plan, proxy = faults
    plan.plan = {str(n): ("InternalError", False, 99) for n in range(2)}
    ids = open_ids(registry, 40)
    sender, _ = make_app(queues[0], table)
    with pytest.raises(LiftError) as refused:
        sender.connections().broadcast(ids, PAYLOAD)
    assert (refused.value.status_code, refused.value.code) == (503, "FANOUT_QUEUE_ERROR")
    assert proxy.accepted == Counter()


def test_retries_stop_at_the_deadline(
    faults: tuple[Faults, SQSFaultProxy],
    registry: MemoryConnectionRegistry,
    queues: tuple[str, str],
) -> None:
    plan, proxy = faults
    plan.plan = {"0": ("InternalError", False, 99)}
    queue = SQSFanoutQueue(queues[0])
    endpoint = "https://abc123defg.execute-api.us-east-1.amazonaws.com/prod"
    job = Job(job_id=uuid.uuid4().hex, endpoint=endpoint, created=time.time())
    bodies = list(shard_messages(job, ["a", "b", "c"], {"text": "hi"}, shard_size=2))
    sent = queue.send(bodies, deadline=time.monotonic())  # no time left for a retry
    assert (sent.queued, sent.failed) == (["1"], {"0": "InternalError"})
    assert sorted(proxy.tries.values()) == [1, 1]


def test_a_publish_whose_listing_was_not_queued_is_not_reported_ok(
    faults: tuple[Faults, SQSFaultProxy],
    registry: MemoryConnectionRegistry,
    steady_queues: tuple[str, str],
    table: str,
) -> None:
    """A channel publish through the queue keeps what the fan-out said: when the message
    that lists the rest of the subscribers was not queued, the publish is not ``ok``."""
    from lift.websocket import ChannelOptions

    plan, _ = faults
    plan.plan = {"l1": ("InternalError", False, 99)}
    ids = open_ids(registry, 30)
    store = DynamoDBConnectionStore(table)
    for connection_id in ids:
        connection = Connection(connection_id, tenant_id="acme")
        store.save(connection)
        store.subscribe(connection, "room", {})
    sender = App(
        websocket=WebSocketOptions(
            auto_connections=True,
            store=store,
            channels=ChannelOptions(),
            fanout=FanoutOptions(queue_url=steady_queues[0], inline_limit=10, shard_size=25),
        ),
        logger=JSONLogger(stream=io.StringIO()),
        metrics=MemoryMetrics(),
    )
    result = sender.connections().publish("room", PAYLOAD, tenant_id="acme")
    assert not result.ok
    assert result.fanout is not None and result.fanout.rest is not None
    assert result.fanout.recipients == 11 and result.fanout.shards == 1
