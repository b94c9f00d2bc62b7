"""Fan-out in local runs (the test client, ``lift dev``), the codec's limits and the pacer."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

import pytest
from websockets.sync.client import connect

from lift import App, Context
from lift.local.gateway import Gateway
from lift.testing import WebSocketTestClient
from lift.websocket import FanoutOptions, FanoutResult, Listing, WebSocketOptions, fanout_worker
from lift.websocket.errors import (
    ConnectionGoneError,
    ManagementAPIError,
    ManagementTimeoutError,
    PayloadTooLargeError,
    ThrottledError,
)
from lift.websocket.fanout import register_lister
from lift.websocket.fanout_codec import (
    BATCH_BYTES,
    BATCH_ENTRIES,
    Job,
    MalformedShardError,
    decode,
    pack_batches,
    payload_field,
    payload_from_field,
    shard_messages,
)
from lift.websocket.fanout_pacer import Pacer
from lift.websocket.fanout_worker import classify

JOB = Job(
    "0123456789abcdef0123456789abcdef",
    "https://abc123.execute-api.eu-west-1.amazonaws.com/prod",
    1.0,
)


@pytest.fixture(autouse=True)
def _quick_retry_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fanout_worker, "RETRY_DELAY", 0.01)


def announcing_app(**options: Any) -> App:
    """Connections are tracked; ``announce`` broadcasts to every connection of the tenant."""
    app = App(
        websocket=WebSocketOptions(
            auto_connections=True, fanout=FanoutOptions(inline_limit=2, shard_size=2, **options)
        )
    )

    @app.websocket("$connect")
    def connect_(ctx: Context) -> None:
        ctx.set_identity(user_id=ctx.query("user") or "u", tenant_id="t1")

    @app.websocket("announce")
    def announce(ctx: Context) -> dict[str, Any]:
        result = ctx.websocket.broadcast_to_tenant("t1", {"text": ctx.json()["text"]})
        assert isinstance(result, FanoutResult)
        return {"job": result.job_id, "shards": result.shards}

    return app


def test_the_test_client_delivers_the_fanout_queue_in_process() -> None:
    app = announcing_app()
    with WebSocketTestClient(app) as client:
        sockets = [client.connect(query={"user": f"u{i}"}) for i in range(5)]
        answer = sockets[0].send_json({"action": "announce", "text": "hi"})
        assert answer is not None and answer["statusCode"] == 200
        assert sockets[0].receive_json()["shards"] == 3  # the route response
        for ws in sockets:
            assert ws.receive_json() == {"text": "hi"}
            assert ws.pending == 0
        assert client.fanout_queue is not None
        assert len(client.fanout_queue) == 0 and client.fanout_queue.dead_letters == []
    assert getattr(app, "fanout_queue", None) is None


def test_gone_test_connections_are_pruned_by_the_worker() -> None:
    app = announcing_app()
    with WebSocketTestClient(app) as client:
        sockets = [client.connect() for _ in range(4)]
        gone = sockets[3]
        client.management_api.close(gone.connection_id)  # vanished without $disconnect
        sockets[0].send_json({"action": "announce", "text": "x"})
        store = app.websocket_options.store  # type: ignore[union-attr]
        assert store.get(gone.connection_id) is None
        assert store.get(sockets[1].connection_id) is not None


def test_lift_dev_delivers_the_fanout_queue_in_process() -> None:
    app = announcing_app()
    with Gateway(app, quiet=True) as gateway, contextlib.ExitStack() as stack:
        clients = [stack.enter_context(connect(gateway.ws_url + f"?user=u{i}")) for i in range(4)]
        clients[0].send(json.dumps({"action": "announce", "text": "hello"}))
        received = [json.loads(c.recv(timeout=5)) for c in clients[1:]]
        assert received == [{"text": "hello"}] * 3
        first = [json.loads(clients[0].recv(timeout=5)) for _ in range(2)]
        assert {"text": "hello"} in first
        assert any(message.get("shards") == 2 for message in first)  # the route response


# --- listings: an audience listed page by page, also by the workers -----------------------

PEOPLE: dict[str, list[str]] = {}


def _list_people(
    connections: Any, params: Any, cursor: str | None, limit: int
) -> tuple[list[str], str | None]:
    everyone = PEOPLE[params["group"]]
    start = int(cursor or 0)
    page = everyone[start : start + min(limit, 3)]  # small pages: many listing messages
    following = start + len(page)
    return page, str(following) if following < len(everyone) else None


register_lister("test-people", _list_people)


def test_a_listing_is_paged_by_the_workers_and_delivered_once() -> None:
    app = App(websocket=WebSocketOptions(fanout=FanoutOptions(inline_limit=2, shard_size=2)))

    @app.websocket("all")
    def all_(ctx: Context) -> dict[str, Any]:
        result = ctx.websocket.connections.fan_out(Listing("test-people", {"group": "g"}), b"hey")
        assert isinstance(result, FanoutResult)
        return {"recipients": result.recipients, "listing": result.listing}

    with WebSocketTestClient(app) as client:
        sockets = [client.connect() for _ in range(11)]
        PEOPLE["g"] = [ws.connection_id for ws in sockets]
        sockets[0].send_json({"action": "all"})
        assert sockets[0].receive_json() == {"recipients": 3, "listing": True}
        for ws in sockets:
            assert ws.receive_bytes() == b"hey"
            assert ws.pending == 0


def test_a_small_listing_is_sent_inline() -> None:
    app = App(websocket=WebSocketOptions(fanout=FanoutOptions(inline_limit=10)))

    @app.websocket("all")
    def all_(ctx: Context) -> dict[str, Any]:
        result = ctx.websocket.connections.fan_out(Listing("test-people", {"group": "s"}), b"yo")
        return {"queued": isinstance(result, FanoutResult), "delivered": len(result.delivered)}

    with WebSocketTestClient(app) as client:
        sockets = [client.connect() for _ in range(4)]
        PEOPLE["s"] = [ws.connection_id for ws in sockets[1:]]
        sockets[0].send_json({"action": "all"})
        assert sockets[0].receive_json() == {"queued": False, "delivered": 3}
        assert [ws.receive_bytes() for ws in sockets[1:]] == [b"yo"] * 3


# --- a dead-letter list in memory -------------------------------------------------------------


def test_the_memory_queue_dead_letters_a_shard_after_max_attempts() -> None:
    app = announcing_app(max_attempts=2)
    with WebSocketTestClient(app) as client:
        sockets = [client.connect() for _ in range(3)]
        real = client.management_api

        class Throttled:
            def post_to_connection(self, connection_id: str, data: bytes) -> None:
                if connection_id == sockets[2].connection_id:
                    raise ThrottledError("LimitExceededException")
                real.post_to_connection(connection_id, data)

            def get_connection(self, connection_id: str) -> dict[str, Any]:
                return real.get_connection(connection_id)

            def delete_connection(self, connection_id: str) -> None:
                real.delete_connection(connection_id)

        app.management_api = Throttled()
        sockets[0].send_json({"action": "announce", "text": "t"})
        queue = client.fanout_queue
        assert queue is not None and len(queue.dead_letters) == 1
        assert sockets[2].connection_id in decode(queue.dead_letters[0]).ids
        assert sockets[1].receive_json() == {"text": "t"} and sockets[1].pending == 0
        assert sockets[2].pending == 0
        app.management_api = real


# --- the codec ----------------------------------------------------------------------------------


def test_batches_respect_ten_entries_and_256_kib() -> None:
    ids = [f"id-{i:04d}" for i in range(3000)]
    small = list(shard_messages(JOB, ids, payload_field(b"x" * 100), shard_size=100))
    batches = list(pack_batches(small))
    assert [len(b) for b in batches] == [10, 10, 10]
    big = list(shard_messages(JOB, ids[:400], payload_field(b"y" * 60_000), shard_size=100))
    batches = list(pack_batches(big))
    assert all(sum(len(body.encode()) for _, body in b) <= BATCH_BYTES for b in batches)
    assert all(len(b) <= BATCH_ENTRIES for b in batches)
    assert sum(len(b) for b in batches) == 4


def test_a_shard_too_large_for_one_message_is_split() -> None:
    ids = [f"{i:0128d}" for i in range(1000)]  # 128-character ids
    bodies = list(shard_messages(JOB, ids, payload_field(bytes(range(256)) * 400), shard_size=1000))
    assert len(bodies) > 1
    assert all(len(body) <= 256 * 1024 for _, body in bodies)
    assert [i for _, body in bodies for i in decode(body).ids] == ids


def test_binary_payloads_round_trip() -> None:
    data = bytes(range(256))
    [(_, body)] = shard_messages(JOB, ["a"], payload_field(data), shard_size=10)
    assert json.loads(body)["p"] == {"b64": base64.b64encode(data).decode()}
    assert payload_from_field(json.loads(body)["p"]) == data
    assert body.isascii()


@pytest.mark.parametrize(
    "body",
    [
        "",
        "[]",
        "not json",
        '{"v": 2}',
        '{"v":1,"t":"shard","job":"x","key":"0","ep":"","c":1,"p":{"text":""},"ids":["a"]}',
        '{"v":1,"t":"shard","job":"0123456789abcdef0123456789abcdef","key":"../x","ep":"","c":1,"p":{"text":""},"ids":["a"]}',
        '{"v":1,"t":"shard","job":"0123456789abcdef0123456789abcdef","key":"0","ep":"","c":1,"p":{"text":""},"ids":[]}',
        '{"v":1,"t":"shard","job":"0123456789abcdef0123456789abcdef","key":"0","ep":"","c":1,"p":{"text":""},"ids":[1]}',
        '{"v":1,"t":"shard","job":"0123456789abcdef0123456789abcdef","key":"0","ep":"","c":1,"p":{"b64":"!!"},"ids":["a"]}',
        '{"v":1,"t":"shard","job":"0123456789abcdef0123456789abcdef","key":"0","ep":"","c":true,"p":{"text":""},"ids":["a"]}',
        '{"v":1,"t":"list","job":"0123456789abcdef0123456789abcdef","key":"l1","ep":"","c":1,"p":{"text":""},"lister":"x","params":[],"cursor":null,"seq":1}',
    ],
)
def test_hostile_messages_are_refused(body: str) -> None:
    with pytest.raises(MalformedShardError):
        decode(body)


def test_a_hostile_message_on_the_queue_is_refused_and_sent_nowhere() -> None:
    app = announcing_app()
    evil = {
        "v": 1,
        "t": "shard",
        "job": JOB.job_id,
        "key": "0",
        "ep": "https://attacker.example/x",
        "c": 1,
        "p": {"text": "x"},
        "ids": ["a"],
    }
    from lift.testing import events

    event = events.sqs(evil, "not a shard", queue="lift-fanout")
    result = app(event)
    ids = {r["messageId"] for r in event["Records"]}
    assert {f["itemIdentifier"] for f in result["batchItemFailures"]} == ids


# --- outcomes and pacing --------------------------------------------------------------------------


def test_outcomes_that_may_have_arrived_follow_the_delivery_mode() -> None:
    assert classify(None, "at_least_once") == "delivered"
    assert classify(ConnectionGoneError("a"), "at_most_once") == "gone"
    assert classify(PayloadTooLargeError(1, 0), "at_least_once") == "failed"
    assert classify(ThrottledError("LimitExceededException"), "at_most_once") == "throttled"
    unsure = [
        ManagementTimeoutError(maybe_delivered=True),
        ManagementAPIError("x", "EndpointConnectionError", maybe_delivered=True),
        RuntimeError("?"),
        KeyboardInterrupt(),
    ]
    assert [classify(e, "at_least_once") for e in unsure] == ["retry"] * 4
    assert [classify(e, "at_most_once") for e in unsure] == ["uncertain"] * 4
    not_sent = [ThrottledError("503"), ManagementTimeoutError(maybe_delivered=False)]
    assert [classify(e, "at_most_once") for e in not_sent] == ["again"] * 2
    assert classify(ManagementAPIError("x", "BadRequestException"), "at_least_once") == "failed"


def test_the_pacer_holds_the_rate_and_halves_when_throttled() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(100.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(50):
        pacer.take(10)
    assert now[0] == pytest.approx(5.0, abs=0.11)  # 500 tokens at 100/s
    pacer.throttled()
    assert pacer.rate == 50
    start = now[0]
    for _ in range(10):
        pacer.take(10)
    assert now[0] - start == pytest.approx(2.0, abs=0.21)
    for _ in range(30):
        pacer.succeeded()
    assert pacer.rate == 100


def test_options_are_checked() -> None:
    for bad in (
        {"shard_size": 0},
        {"shard_size": 1001},
        {"rate_per_second": 0},
        {"max_attempts": 0},
        {"concurrency": 0},
        {"delivery": "exactly_once"},
        {"queue_url": "https://sqs.eu-west-1.amazonaws.com/1/q.fifo"},
    ):
        with pytest.raises(ValueError):
            FanoutOptions(**bad)


def test_a_huge_channel_publish_is_listed_by_the_workers_and_delivered_once() -> None:
    """Above ``inline_limit`` the publishing invocation lists nothing past the first
    page: the workers page through the channel's members and deliver each id once."""
    from lift.websocket import ChannelOptions, MemoryConnectionStore

    app = App(
        websocket=WebSocketOptions(
            auto_connections=True,
            store=MemoryConnectionStore(),
            channels=ChannelOptions(history=10),
            fanout=FanoutOptions(inline_limit=3, shard_size=2),
            route_responses=False,
        )
    )

    @app.websocket("join")
    def join(ctx: Context) -> None:
        ctx.websocket.subscribe("news")

    @app.websocket("shout")
    def shout(ctx: Context) -> dict[str, Any]:
        result = ctx.websocket.publish("news", {"text": "hi"}, exclude_self=True)
        return {"seq": result.seq}

    with WebSocketTestClient(app) as client:
        sockets = [client.connect() for _ in range(9)]
        for ws in sockets:
            ws.send_json({"action": "join"})
        sockets[0].send_json({"action": "shout"})
        for index, ws in enumerate(sockets):
            frames = [ws.receive_json() for _ in range(ws.pending)]
            messages = [f for f in frames if f.get("event") == "message"]
            expected = (
                []
                if index == 0
                else [{"event": "message", "channel": "news", "seq": 1, "data": {"text": "hi"}}]
            )
            assert messages == expected, (index, frames)
        assert client.fanout_queue is not None and len(client.fanout_queue) == 0
