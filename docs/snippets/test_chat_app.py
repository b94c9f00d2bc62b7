# snippet: test_chat_app.py
import pytest

from chat_app import app
from lift.testing import WebSocketRefused, WebSocketTestClient


def test_messages_reach_everyone_in_the_room() -> None:
    with WebSocketTestClient(app) as client:
        ana = client.connect(query={"name": "ana", "room": "books"})
        ben = client.connect(query={"name": "ben", "room": "books"})
        cy = client.connect(query={"name": "cy", "room": "films"})

        ana.send_json({"action": "chat", "text": "hello"})

        frame = {
            "event": "message",
            "channel": "books",
            "seq": None,  # numbered when the channel keeps history
            "data": {"from": "ana", "text": "hello"},
        }
        assert ben.receive_json() == frame
        assert ana.receive_json() == frame
        assert cy.pending == 0  # another room


def test_unknown_actions_get_a_hint() -> None:
    with WebSocketTestClient(app) as client, client.connect(query={"name": "ana"}) as ws:
        ws.send_json({"action": "dance"})
        assert ws.receive_json()["error"] == "unknown action"


def test_a_name_is_required() -> None:
    with WebSocketTestClient(app) as client, pytest.raises(WebSocketRefused) as refused:
        client.connect()
    assert refused.value.status_code == 400
    assert refused.value.json()["error"]["code"] == "BAD_REQUEST"
