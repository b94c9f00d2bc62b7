# snippet: test_channels_app.py
from channels_app import app
from lift.testing import WebSocketTestClient, events


def test_members_presence_and_messages() -> None:
    with WebSocketTestClient(app) as client:
        ana = client.connect(query={"user": "ana", "org": "acme"})
        ben = client.connect(query={"user": "ben", "org": "acme"})
        ana.send_json({"action": "join", "room": "general"})
        assert ana.receive_json() == {"members": ["ana"], "missed": []}
        ben.send_json({"action": "join", "room": "general"})
        assert ben.receive_json() == {"members": ["ana", "ben"], "missed": []}

        joined = ana.receive_json()  # presence event: ben joined
        assert joined["event"] == "presence" and joined["channel"] == "general"
        assert [m["user_id"] for m in joined["joined"]] == ["ben"]
        assert joined["joined"][0]["metadata"] == {"status": "here"}

        ben.send_json({"action": "say", "room": "general", "text": "hi"})
        assert ben.receive_json() == {"seq": 1, "delivered": 1}  # the route's answer
        assert ana.receive_json() == {
            "event": "message",
            "channel": "general",
            "seq": 1,
            "data": {"text": "hi"},
        }
        assert ben.pending == 0  # exclude_self: ben did not get his own message

        ben.close()  # $disconnect: ben leaves every channel, and the room hears it
        assert [m["user_id"] for m in ana.receive_json()["left"]] == ["ben"]


def test_a_client_that_reconnects_gets_what_it_missed() -> None:
    with WebSocketTestClient(app) as client:
        ana = client.connect(query={"user": "ana", "org": "acme"})
        ana.send_json({"action": "join", "room": "books"})
        ana.receive_json()
        for text in ("one", "two", "three"):
            ana.send_json({"action": "say", "room": "books", "text": text})

        # A new connection (API Gateway closed the old one) resumes after seq 1.
        again = client.connect(query={"user": "ana", "org": "acme"})
        again.send_json({"action": "join", "room": "books", "after": 1})
        assert again.receive_json()["missed"] == [
            {"seq": 2, "data": {"text": "two"}},
            {"seq": 3, "data": {"text": "three"}},
        ]


def test_tenants_and_authorization() -> None:
    with WebSocketTestClient(app) as client:
        ana = client.connect(query={"user": "ana", "org": "acme"})
        gus = client.connect(query={"user": "gus", "org": "globex"})
        for ws, user in ((ana, "ana"), (gus, "gus")):
            ws.send_json({"action": "join", "room": "general"})
            assert ws.receive_json()["members"] == [user]  # each tenant's own "general"

        refused = ana.send_json({"action": "join", "room": "staff:ops"})
        assert refused["statusCode"] == 403
        assert ana.receive_json()["error"]["code"] == "CHANNEL_FORBIDDEN"
        sam = client.connect(query={"user": "sam", "org": "acme"})
        assert sam.send_json({"action": "join", "room": "staff:ops"})["statusCode"] == 200

        ana.send_json({"action": "join", "room": "news"})
        ana.receive_json()
        app(events.scheduled("daily-digest"))  # the worker
        assert ana.receive_json()["data"] == {"text": "Today's digest"}
        assert gus.pending == 0  # another tenant
