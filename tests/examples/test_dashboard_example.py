"""The dashboard example: topics on DynamoDB, fed by an SQS worker and a schedule.

Two app instances share only a DynamoDB table (moto's server) and a local
``@connections`` server: pages connect through one, workers publish through the other.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from examples.chat.tokens import mint
from examples.dashboard import app as dashboard

from lift import App
from lift.local.connections import MemoryConnectionRegistry
from lift.testing import events
from tests.examples.conftest import Deployment, FrameReader

SECRET = "dashboard-test-secret-" + "x" * 32


class Dashboard(FrameReader):
    def __init__(self, pages: App, worker: App, registry: MemoryConnectionRegistry) -> None:
        super().__init__(registry)
        self.pages, self.worker = pages, worker
        self.ids = itertools.count(1)

    def connect(self, user: str, tenant: str, **claims: Any) -> str:
        cid = f"{user}-{next(self.ids)}="
        self.registry.open(cid)
        token = mint(user, tenant, key=SECRET, aud=dashboard.AUDIENCE, **claims)
        response = self.pages(events.websocket_connect(connection_id=cid, query={"token": token}))
        assert response["statusCode"] == 200, response
        return cid

    def send(self, cid: str, **body: Any) -> dict[str, Any]:
        event = events.websocket_message(body, route_key=body["action"], connection_id=cid)
        response: dict[str, Any] = self.pages(event)
        return response


@pytest.fixture
def board(deployment: Deployment) -> Dashboard:
    pages, worker = (
        dashboard.create_app(store=deployment.store(), jwt_secret=SECRET) for _ in range(2)
    )
    return Dashboard(pages, worker, deployment.registry)


def updates(frames: list[Any]) -> list[tuple[str, Any]]:
    return [(f["channel"], f["data"]["value"]) for f in frames if f.get("event") == "message"]


def test_workers_publish_to_the_topics_of_each_tenant(
    board: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana = board.connect("ana", "acme")
    ops = board.connect("oz", "acme", roles=["ops"])
    gus = board.connect("gus", "globex")
    assert board.send(ana, action="subscribe", topics=["orders", "signups"])["statusCode"] == 200
    assert (
        board.send(ops, action="subscribe", topics=["orders", "errors", "heartbeat"])["statusCode"]
        == 200
    )
    assert board.send(gus, action="subscribe", topics=["orders", "heartbeat"])["statusCode"] == 200
    assert board.frames(ana) == [
        {"type": "subscribed", "topics": ["orders", "signups"], "latest": {}}
    ]
    board.frames(ops), board.frames(gus)

    # Only the ops role sees "errors"; unknown and hostile topics are refused.
    for topics, status in ((["errors"], 403), (["secrets"], 403), (["a#b"], 400), ("x", 400)):
        assert board.send(ana, action="subscribe", topics=topics)["statusCode"] == status
    assert (
        board.send(ana, action="subscribe", topics=[f"t{n}" for n in range(9)])["statusCode"] == 400
    )

    batch = events.sqs(
        {"tenant_id": "acme", "topic": "orders", "value": 41},
        {"tenant_id": "acme", "topic": "errors", "value": "disk full"},
        {"tenant_id": "globex", "topic": "orders", "value": 7},
        {"tenant_id": "acme", "topic": "nope", "value": 1},
        "not json",
        queue=dashboard.QUEUE_NAME,
    )
    result = board.worker(batch)
    bad = [r["messageId"] for r in batch["Records"][3:]]
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == bad
    assert updates(board.frames(ana)) == [("orders", 41)]
    assert updates(board.frames(ops)) == [("orders", 41), ("errors", "disk full")]
    assert updates(board.frames(gus)) == [("orders", 7)]

    monkeypatch.setenv(dashboard.TENANTS_ENV, "acme, globex")
    board.worker(events.scheduled("dashboard-heartbeat"))
    assert updates(board.frames(ops)) == [("heartbeat", "ok")]
    assert updates(board.frames(gus)) == [("heartbeat", "ok")]
    assert board.frames(ana) == []

    # A page that opens later gets each topic's latest value at once.
    late = board.connect("lee", "acme")
    board.send(late, action="subscribe", topics=["orders", "signups"])
    [subscribed] = board.frames(late)
    assert subscribed["latest"] == {
        "orders": {"topic": "orders", "value": 41, "at": subscribed["latest"]["orders"]["at"]}
    }

    board.send(ana, action="unsubscribe", topics=["orders"])
    assert board.frames(ana) == [{"type": "subscribed", "topics": ["signups"]}]
    board.worker(
        events.sqs(
            {"tenant_id": "acme", "topic": "orders", "value": 42}, queue=dashboard.QUEUE_NAME
        )
    )
    assert board.frames(ana) == []
    assert updates(board.frames(late)) == [("orders", 42)]


def test_module_app_is_wired() -> None:
    app = dashboard.app
    options = app.websocket_options
    assert options is not None and options.channels is not None
    assert options.channels.authorize is dashboard.may_see
    assert {"subscribe", "unsubscribe", "$default"} <= set(app.websocket_routes)
