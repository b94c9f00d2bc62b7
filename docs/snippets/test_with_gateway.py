# snippet: test_with_gateway.py
import json

import boto3
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from chat_app import app
from lift.local.gateway import Gateway


def test_chat_over_real_sockets() -> None:
    with (
        Gateway(app, quiet=True) as gateway,  # an ephemeral port on 127.0.0.1
        connect(gateway.ws_url + "?name=ana") as ana,
        connect(gateway.ws_url + "?name=ben") as ben,
    ):
        ana.send(json.dumps({"action": "chat", "text": "hi"}))
        assert json.loads(ben.recv(timeout=5))["data"] == {"from": "ana", "text": "hi"}

        # Any process can post through the gateway's @connections endpoint.
        (record,) = app.websocket_options.store.list_by_user("ben")
        management = boto3.client("apigatewaymanagementapi", endpoint_url=gateway.endpoint)
        management.post_to_connection(ConnectionId=record.connection_id, Data=b"psst")
        assert ben.recv(timeout=5) == "psst"


def test_a_refused_connect_is_a_refused_handshake() -> None:
    with Gateway(app, quiet=True) as gateway, pytest.raises(InvalidStatus) as refused:
        connect(gateway.ws_url)  # no ?name=: $connect answers 400
    assert refused.value.response.status_code == 400
