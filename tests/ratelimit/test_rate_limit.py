"""rate_limit: 429 with Retry-After, frames for messages, refused handshakes, exact counts."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from lift import App, Context
from lift.ratelimit import DynamoDBCounterStore, MemoryCounterStore, parse_rule, rate_limit
from lift.testing import WebSocketRefused, WebSocketTestClient, events
from lift.websocket import DynamoDBConnectionStore, WebSocketOptions


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def limited_app(clock: Clock, *, route_responses: bool = True, **rates: Any) -> App:
    app = App(websocket=WebSocketOptions(route_responses=route_responses))
    app.use(rate_limit(clock=clock, **rates))

    @app.websocket("$default")
    def default(ctx: Context) -> None:
        ctx.websocket.send({"ok": ctx.json()})

    return app


def test_rules_are_read_and_bad_ones_refused() -> None:
    rule = parse_rule("on_connect", "5/minute per source_ip", "connection")
    assert (rule.limit, rule.seconds, rule.scope) == (5, 60, "source_ip")
    assert parse_rule("per_user", "10/5 minutes", "user").seconds == 300
    for bad in ("5", "5/fortnight", "0/second", "5/second per planet", "-1/second"):
        with pytest.raises(ValueError):
            parse_rule("per_user", bad, "user")
    with pytest.raises(ValueError):
        rate_limit()


def test_messages_over_the_limit_get_a_429_frame_with_retry_after() -> None:
    clock = Clock(1_000_000.25)
    app = limited_app(clock, per_connection="3/second", route_responses=False)
    with (
        WebSocketTestClient(app) as client,
        client.connect() as ws,
        client.connect() as other,
    ):
        for n in range(3):
            assert ws.send_json(n)["statusCode"] == 200
            assert ws.receive_json() == {"ok": n}
        refused = ws.send_json(3)
        assert refused["statusCode"] == 429
        assert refused["headers"]["Retry-After"] == "1"
        frame = ws.receive_json()
        assert frame == json.loads(refused["body"])
        assert frame["error"]["code"] == "TOO_MANY_REQUESTS"
        assert frame["error"]["details"] == {"limit": "per_connection", "retry_after": 1}
        assert other.send_json("x")["statusCode"] == 200  # its own counter
        clock.now += 1
        assert ws.send_json(4)["statusCode"] == 200


def test_a_connect_over_the_limit_is_refused_and_not_stored() -> None:
    clock = Clock(1_000_040.0)  # 20 s into a minute
    store_app = App(websocket=WebSocketOptions(auto_connections=True))
    store_app.use(rate_limit(on_connect="2/minute", clock=clock))
    store_app.websocket("$default", lambda ctx: None)
    with WebSocketTestClient(store_app) as client:
        client.connect().close()
        client.connect().close()
        with pytest.raises(WebSocketRefused) as refused:
            client.connect()
    assert refused.value.status_code == 429
    assert refused.value.headers["Retry-After"] == "40"
    store = store_app.websocket_options.store  # type: ignore[union-attr]
    assert store is not None and store.count_active() == 0
    # Another address has its own count.
    answers = [store_app(events.websocket_connect(source_ip="198.51.100.7")) for _ in range(3)]
    assert [a["statusCode"] for a in answers] == [200, 200, 429]
    assert answers[2]["headers"]["Retry-After"] == "40"
    assert store.count_active() == 2


def test_http_requests_count_per_user() -> None:
    clock = Clock()
    app = App()

    def identify(handler: Any) -> Any:  # stands in for an auth middleware
        def run(ctx: Context) -> Any:
            if ctx.header("x-user"):
                ctx.set_identity(user_id=ctx.header("x-user"))
            return handler(ctx)

        return run

    app.use(identify)
    app.use(rate_limit(per_user="2/hour", clock=clock))

    @app.get("/me")
    def me(ctx: Context) -> dict[str, Any]:
        return {"user": ctx.user_id}

    def call(user: str | None) -> dict[str, Any]:
        event = events.http_v2("GET", "/me", headers={"X-User": user} if user else None)
        result: dict[str, Any] = app(event)
        return result

    assert [call("ada")["statusCode"] for _ in range(3)] == [200, 200, 429]
    assert call("bob")["statusCode"] == 200
    assert call(None)["statusCode"] == 200  # anonymous: no user to count


def test_sliding_windows_weigh_the_previous_period() -> None:
    clock = Clock(600.0)
    store = MemoryCounterStore(clock=clock)
    app = App()
    app.use(rate_limit(per_connection="10/minute", window="sliding", store=store, clock=clock))
    app.websocket("$default", lambda ctx: None)
    event = events.websocket_message(body="{}", connection_id="c1=")
    assert [app(event)["statusCode"] for _ in range(10)] == [200] * 10
    assert app(event)["statusCode"] == 429
    clock.now = 705.0  # 45 s into the next minute: the previous 10 weigh 10 * 0.25 -> 3
    assert [app(event)["statusCode"] for _ in range(8)] == [200] * 7 + [429]
    assert app(event)["headers"]["Retry-After"] == "3"  # ceil(10 * 15/60) = 3 is 2 at 708 s
    clock.now = 708.0
    assert app(event)["statusCode"] == 200
    assert app(event)["statusCode"] == 429


def test_exact_under_eight_threads_on_dynamodb_across_two_apps(moto_url: str, ddb: Any) -> None:
    table = f"rate-{uuid.uuid4().hex[:8]}"
    connections = DynamoDBConnectionStore(table, client=ddb)
    connections.create_table()
    apps = []
    for _ in range(2):  # two instances that share only the table
        app = App(websocket=WebSocketOptions(auto_connections=True, store=connections))
        app.use(
            rate_limit(
                per_connection="1000/hour",
                per_user="37/hour",
                store=DynamoDBCounterStore(table, endpoint_url=moto_url),
                clock=Clock(1_000_800.0),  # the middle of an hour: one window
            )
        )
        app.websocket("$default", lambda ctx: None)
        apps.append(app)
    authorizer = {"user_id": "ada"}
    connect = events.websocket_connect(connection_id="conn-1=", authorizer=authorizer)
    assert apps[0](connect)["statusCode"] == 200
    message = events.websocket_message(body="{}", connection_id="conn-1=", authorizer=authorizer)
    statuses: list[int] = []
    lock = threading.Lock()

    def hit(n: int) -> None:
        status = apps[n % 2](json.loads(json.dumps(message)))["statusCode"]
        with lock:
            statuses.append(status)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(hit, range(80)))
    assert statuses.count(200) == 37
    assert statuses.count(429) == 43
    # The counters live beside the connection record without touching it or the count.
    assert connections.get("conn-1=") is not None
    assert connections.count_active() == 1
    assert [c.connection_id for c in connections.list_by_user("ada")] == ["conn-1="]


def test_a_failing_counter_store_fails_open_or_closed(moto_url: str) -> None:
    missing = DynamoDBCounterStore("no-such-table", endpoint_url=moto_url)
    for fail_open, expected in ((True, 200), (False, 503)):
        app = App()
        app.use(rate_limit(per_connection="5/second", store=missing, fail_open=fail_open))
        app.websocket("$default", lambda ctx: None)
        assert app(events.websocket_message(body="{}"))["statusCode"] == expected


def test_counters_in_a_table_keyed_by_pk_and_sk(moto_url: str, ddb: Any) -> None:
    """A table with a partition and a sort key (``pk``/``sk``) takes counters too."""
    table = f"rate-pk-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
    )
    store = DynamoDBCounterStore(
        table, endpoint_url=moto_url, key_attribute="pk", sort_key=("sk", "rate")
    )
    with ThreadPoolExecutor(max_workers=8) as pool:
        counted = list(pool.map(lambda _: store.add("k", limit=5, expires_at=2e9), range(24)))
    assert counted.count(True) == 5
    assert store.count("k") == 5
    item = ddb.get_item(TableName=table, Key={"pk": {"S": "k"}, "sk": {"S": "rate"}})["Item"]
    assert item["expires_at"] == {"N": "2000000001"}
