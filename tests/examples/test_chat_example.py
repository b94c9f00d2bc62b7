"""The chat example on channels: rooms, presence, typing, history and resume.

The first tests use the WebSocket test client; the last runs the chat as two separate
``App`` instances (two "Lambda instances") that share only a DynamoDB table (moto's
server) and a local ``@connections`` server.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from examples.chat import app as chat_module
from examples.chat.app import HISTORY_SIZE
from examples.chat.tokens import mint

from lift import App
from lift.local.connections import MemoryConnectionRegistry
from lift.testing import TestWebSocket, WebSocketRefused, WebSocketTestClient, events
from lift.websocket import MemoryConnectionStore
from tests.examples.conftest import Deployment, FrameReader


def drain(ws: TestWebSocket) -> list[Any]:
    """Every frame delivered to ``ws`` so far (the app runs synchronously in the client)."""
    return [ws.receive_json() for _ in range(ws.pending)]


def texts(frames: list[Any]) -> list[str]:
    return [
        f["data"]["text"]
        for f in frames
        if f.get("event") == "message" and f["data"]["type"] == "message"
    ]


def presence(frames: list[Any]) -> list[tuple[list[str], list[str]]]:
    return [
        ([m["user_id"] for m in f["joined"]], [m["user_id"] for m in f["left"]])
        for f in frames
        if f.get("event") == "presence"
    ]


class Chat:
    """A fresh chat app and a test client in front of it."""

    def __init__(self, store: Any = None) -> None:
        self.store = store if store is not None else MemoryConnectionStore()
        self.app = chat_module.create_app(store=self.store)
        # Replies go through @connections only, as deployed (no route responses).
        self.app.websocket_options.route_responses = False
        self.client = WebSocketTestClient(self.app)

    def connect(self, user: str, tenant: str) -> TestWebSocket:
        return self.client.connect(query={"token": mint(user, tenant)})

    def join(self, user: str, tenant: str, room: str) -> TestWebSocket:
        ws = self.connect(user, tenant)
        ws.send_json({"action": "join", "room": room})
        return ws


@pytest.fixture
def chat() -> Iterator[Chat]:
    harness = Chat()
    with harness.client:
        yield harness


def test_chat_module_app_is_a_tracked_authenticated_app_with_channels() -> None:
    app = chat_module.app
    assert isinstance(app, App)
    options = app.websocket_options
    assert options is not None and options.auto_connections
    assert options.channels is not None
    assert (options.channels.presence_events, options.channels.history) == (True, HISTORY_SIZE)
    assert {"$connect", "$disconnect", "$default", "join", "leave", "message", "typing"} == set(
        app.websocket_routes
    )
    assert not hasattr(chat_module, "MemoryRoomStore")


def test_chat_refuses_connections_without_a_valid_token(chat: Chat) -> None:
    refusals = {
        "missing": {},
        "wrong secret": {"token": mint("mallory", "acme", key="another-secret-" + "x" * 32)},
        "expired": {"token": mint("alice", "acme", ttl=-60)},
        "other audience": {"token": mint("alice", "acme", aud="billing")},
        "no tenant": {"token": mint("alice", "acme", tenant_id=None)},
        "garbage": {"token": "not-a-token"},
    }
    for case, query in refusals.items():
        with pytest.raises(WebSocketRefused) as refused:
            chat.client.connect(query=query)
        assert refused.value.status_code == 401, case
    assert chat.store.count_active() == 0


def test_messages_reach_only_the_same_tenant_and_room(chat: Chat) -> None:
    alice = chat.join("alice", "acme", "general")
    bob = chat.join("bob", "acme", "general")
    carol = chat.join("carol", "acme", "random")  # same tenant, other room
    dave = chat.join("dave", "globex", "general")  # other tenant, same room name
    for ws in (alice, bob, carol, dave):
        drain(ws)

    alice.send_json({"action": "message", "text": "hello acme general"})
    for ws in (alice, bob):  # the sender sees its own message too
        [frame] = drain(ws)
        assert (frame["event"], frame["channel"], frame["seq"]) == ("message", "general", 1)
        data = frame["data"]
        assert (data["type"], data["user"], data["text"]) == (
            "message",
            "alice",
            "hello acme general",
        )
        assert isinstance(data["at"], int)
    assert drain(carol) == []
    assert drain(dave) == []

    dave.send_json({"action": "message", "text": "globex only"})
    [frame] = drain(dave)
    assert frame["seq"] == 1  # numbered per tenant's room
    for ws in (alice, bob, carol):
        assert drain(ws) == []


def test_typing_reaches_the_others_in_the_room_but_not_the_sender(chat: Chat) -> None:
    alice = chat.join("alice", "acme", "general")
    bob = chat.join("bob", "acme", "general")
    carol = chat.join("carol", "acme", "random")
    for ws in (alice, bob, carol):
        drain(ws)

    alice.send_json({"action": "typing", "typing": True})
    assert drain(bob) == [
        {
            "event": "message",
            "channel": "general",
            "seq": None,  # not numbered, not kept
            "data": {"type": "typing", "user": "alice", "typing": True},
        }
    ]
    assert drain(alice) == []
    assert drain(carol) == []
    bob.send_json({"action": "typing"})
    bob.send_json({"action": "typing", "typing": False})
    assert [f["data"]["typing"] for f in drain(alice)] == [True, False]
    alice.send_json({"action": "message", "text": "hi"})
    assert drain(bob)[0]["seq"] == 1  # typing used no sequence number


def test_joining_sends_members_and_history_and_resumes_after_a_seq(chat: Chat) -> None:
    alice = chat.join("alice", "acme", "general")
    [joined] = drain(alice)
    assert joined["type"] == "joined" and joined["room"] == "general"
    assert joined["history"] == []
    assert [m["user_id"] for m in joined["members"]] == ["alice"]

    for n in range(HISTORY_SIZE + 5):
        alice.send_json({"action": "message", "text": f"message {n}"})
    drain(alice)

    bob = chat.join("bob", "acme", "general")
    [joined] = drain(bob)
    history = joined["history"]
    assert len(history) == HISTORY_SIZE  # only the last 50 are kept
    assert [m["seq"] for m in history] == list(range(6, HISTORY_SIZE + 6))
    assert texts(history[:2]) == ["message 5", "message 6"]
    assert sorted(m["user_id"] for m in joined["members"]) == ["alice", "bob"]
    assert presence(drain(alice)) == [(["bob"], [])]  # the room learns that bob arrived

    # A page that reconnects asks only for what followed the last seq it saw.
    again = chat.connect("bob", "acme")
    again.send_json({"action": "join", "room": "general", "after": HISTORY_SIZE + 3})
    [joined] = drain(again)
    assert [m["seq"] for m in joined["history"]] == [HISTORY_SIZE + 4, HISTORY_SIZE + 5]

    # History belongs to the tenant's room: globex's "general" is empty.
    eve = chat.join("eve", "globex", "general")
    assert drain(eve)[0]["history"] == []


def test_presence_follows_leave_switch_and_disconnect(chat: Chat) -> None:
    alice = chat.join("alice", "acme", "general")
    bob = chat.join("bob", "acme", "general")
    carol = chat.join("carol", "acme", "general")
    drain(alice), drain(bob), drain(carol)

    bob.send_json({"action": "join", "room": "random"})  # switching rooms leaves the first
    assert presence(drain(alice)) == [([], ["bob"])]
    [joined] = drain(bob)
    assert joined["room"] == "random"
    assert [m["user_id"] for m in joined["members"]] == ["bob"]
    assert presence(drain(carol)) == [([], ["bob"])]

    carol.send_json({"action": "leave"})
    assert presence(drain(alice)) == [([], ["carol"])]
    assert drain(carol) == []

    bob.send_json({"action": "join", "room": "general"})
    assert presence(drain(alice)) == [(["bob"], [])]
    bob.close()
    assert presence(drain(alice)) == [([], ["bob"])]
    assert chat.store.channels_of(bob.connection_id) == []


def test_errors_are_sent_to_the_sender(chat: Chat) -> None:
    alice = chat.connect("alice", "acme")
    cases = [
        ({"action": "message", "text": "hi"}, "NOT_IN_ROOM"),
        ({"action": "typing"}, "NOT_IN_ROOM"),
        ({"action": "join", "room": "Not A Room!"}, "INVALID_ROOM"),
        ({"action": "join", "room": "general", "after": -1}, "INVALID_AFTER"),
        ({"action": "join", "room": "general", "after": "1"}, "INVALID_AFTER"),
        ({"action": "join"}, "INVALID_ROOM"),
        ({"action": "dance"}, "UNKNOWN_ACTION"),
    ]
    for message, code in cases:
        response = alice.send_json(message)
        assert response is not None and response["statusCode"] >= 400
        [frame] = drain(alice)
        assert frame["type"] == "error" and frame["code"] == code, message
    alice.send_json({"action": "join", "room": "general"})
    drain(alice)
    for text in ("", "   ", "x" * (chat_module.MAX_TEXT + 1), 42):
        alice.send_json({"action": "message", "text": text})
        assert drain(alice)[0]["code"] == "INVALID_TEXT"


def test_connections_lost_without_disconnect_leave_the_room(chat: Chat) -> None:
    alice = chat.join("alice", "acme", "general")
    bob = chat.join("bob", "acme", "general")
    drain(alice)
    # Bob's network vanishes: API Gateway answers Gone, and no $disconnect has run yet.
    chat.client.management_api.close(bob.connection_id, 1006, "")
    alice.send_json({"action": "message", "text": "anyone?"})
    frames = drain(alice)
    assert texts(frames) == ["anyone?"]
    assert presence(frames) == [([], ["bob"])]
    assert chat.store.get(bob.connection_id) is None  # pruned by the publish
    assert chat.store.channels_of(bob.connection_id) == []


# -- two Lambda instances ----------------------------------------------------------------


class Instances(FrameReader):
    """Two chat apps sharing a DynamoDB table and ``@connections``; events alternate."""

    def __init__(self, apps: list[App], registry: MemoryConnectionRegistry) -> None:
        super().__init__(registry)
        self.apps = apps
        self.turn = itertools.cycle(range(len(apps)))
        self.ids = itertools.count(1)

    def invoke(self, event: dict[str, Any], instance: int | None = None) -> dict[str, Any]:
        app = self.apps[next(self.turn) if instance is None else instance]
        response: dict[str, Any] = app(event)
        return response

    def connect(self, user: str, tenant: str = "acme", instance: int | None = None) -> str:
        cid = f"{user}-{next(self.ids)}="
        self.registry.open(cid)
        event = events.websocket_connect(connection_id=cid, query={"token": mint(user, tenant)})
        assert self.invoke(event, instance)["statusCode"] == 200
        return cid

    def send(self, cid: str, instance: int | None = None, **body: Any) -> None:
        event = events.websocket_message(body, route_key=body["action"], connection_id=cid)
        assert self.invoke(event, instance)["statusCode"] == 200

    def drop(self, cid: str, instance: int | None = None) -> None:
        self.registry.close(cid)
        self.invoke(events.websocket_disconnect(connection_id=cid, status_code=1006), instance)


@pytest.fixture
def instances(deployment: Deployment) -> Instances:
    # Each instance builds its own store object: only the table is shared.
    return Instances(
        [chat_module.create_app(store=deployment.store()) for _ in range(2)], deployment.registry
    )


class Page:
    """What a chat page keeps: messages by seq (duplicates dropped), members, last seq."""

    def __init__(self) -> None:
        self.messages: dict[int, str] = {}
        self.members: dict[str, str] = {}

    @property
    def last_seq(self) -> int:
        return max(self.messages, default=0)

    def apply(self, frames: list[Any]) -> None:
        for frame in frames:
            if frame.get("type") == "joined":
                self.members = {m["connection_id"]: m["user_id"] for m in frame["members"]}
                self.apply(frame["history"])
            elif frame.get("event") == "presence":
                self.members.update({m["connection_id"]: m["user_id"] for m in frame["joined"]})
                for member in frame["left"]:
                    self.members.pop(member["connection_id"], None)
            elif frame.get("event") == "message" and frame["seq"] is not None:
                assert frame["seq"] not in self.messages or (
                    self.messages[frame["seq"]] == frame["data"]["text"]
                )
                self.messages[frame["seq"]] = frame["data"]["text"]

    def users(self) -> list[str]:
        return sorted(set(self.members.values()))


def test_two_instances_share_rooms_presence_and_history(instances: Instances) -> None:
    chat = instances
    alice = chat.connect("alice", instance=0)
    bob = chat.connect("bob", instance=1)
    carol = chat.connect("carol", instance=0)
    dave = chat.connect("dave", tenant="globex", instance=1)
    pages = {cid: Page() for cid in (alice, bob, carol, dave)}
    for cid in (alice, bob, carol, dave):
        chat.send(cid, action="join", room="general")  # alternating instances
    for cid, page in pages.items():
        page.apply(chat.frames(cid))
    for cid in (alice, bob, carol):
        assert pages[cid].users() == ["alice", "bob", "carol"], cid
    assert pages[dave].users() == ["dave"]

    # Everyone talks, through whichever instance API Gateway picks.
    said = []
    for n, cid in enumerate([alice, bob, carol, bob, alice, carol]):
        text = f"{cid.split('-')[0]} says {n}"
        chat.send(cid, action="message", text=text)
        said.append(text)
    chat.send(dave, action="message", text="globex only")
    for cid in (alice, bob, carol):
        pages[cid].apply(chat.frames(cid))
        assert [pages[cid].messages[s] for s in sorted(pages[cid].messages)] == said
        assert sorted(pages[cid].messages) == list(range(1, 7))
    pages[dave].apply(chat.frames(dave))
    assert list(pages[dave].messages.values()) == ["globex only"]

    # Bob's connection drops ($disconnect on instance 0); the room hears it.
    chat.drop(bob, instance=0)
    for cid in (alice, carol):
        pages[cid].apply(chat.frames(cid))
        assert pages[cid].users() == ["alice", "carol"]
    # Messages he misses while away.
    for n in range(3):
        chat.send(alice if n % 2 else carol, action="message", text=f"while away {n}")
        said.append(f"while away {n}")

    # He reconnects through the other instance and resumes from his last seq.
    bob_page = pages.pop(bob)
    last = bob_page.last_seq
    assert last == 6
    bob2 = chat.connect("bob", instance=1)
    chat.send(bob2, instance=1, action="join", room="general", after=last)
    frames = chat.frames(bob2)
    [joined] = [f for f in frames if f.get("type") == "joined"]
    assert [m["seq"] for m in joined["history"]] == [7, 8, 9]  # no gap, no duplicate
    bob_page.apply(frames)
    assert [bob_page.messages[s] for s in sorted(bob_page.messages)] == said
    assert bob_page.users() == ["alice", "bob", "carol"]
    pages[bob2] = bob_page
    for cid in (alice, carol):
        pages[cid].apply(chat.frames(cid))
        assert pages[cid].users() == ["alice", "bob", "carol"]

    # Carol vanishes without a $disconnect: the next publish finds her Gone.
    chat.registry.close(carol)
    chat.send(bob2, action="message", text="still here?")
    said.append("still here?")
    for cid in (alice, bob2):
        pages[cid].apply(chat.frames(cid))
        assert pages[cid].users() == ["alice", "bob"]
        assert [pages[cid].messages[s] for s in sorted(pages[cid].messages)] == said
    shared = chat.apps[1].websocket_options.store  # type: ignore[union-attr]
    assert shared.get(carol) is None and shared.channels_of(carol) == []
    assert sorted(m.user_id for m in shared.members("acme", "general")) == ["alice", "bob"]
