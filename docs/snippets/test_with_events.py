# snippet: test_with_events.py
import json

import pytest

from lift.testing import events
from overview_app import app


def test_orders_round_trip() -> None:
    created = app(events.http_v2("POST", "/orders", body={"item": "pen", "quantity": 2}))
    assert created["statusCode"] == 201
    order_id = json.loads(created["body"])["id"]

    fetched = app(events.http_v1("GET", f"/orders/{order_id}"))  # REST API shape works too
    assert json.loads(fetched["body"]) == {"item": "pen", "quantity": 2}


def test_bad_input_names_the_fields() -> None:
    response = app(events.http_v2("POST", "/orders", body={"quantity": "two"}))
    assert response["statusCode"] == 422
    details = json.loads(response["body"])["error"]["details"]
    assert [d["field"] for d in details] == ["item", "quantity"]


def test_websocket_echo_posts_back() -> None:
    from lift.testing import FakeManagementAPI

    app.management_api = api = FakeManagementAPI()  # where @connections calls go
    api.open("conn-1")
    app(events.websocket_message("hi", connection_id="conn-1"))
    assert api.inbox("conn-1").get() == b"hi"


def test_every_record_of_an_sqs_batch(capsys: pytest.CaptureFixture[str]) -> None:
    app(events.sqs({"order": 1}, {"order": 2}, queue="orders-eu"))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["message"] for line in lines] == ["Shipping", "Shipping"]


def test_scheduled_rules_match_by_name() -> None:
    assert app(events.scheduled("nightly-report")) is None  # event handlers return as is
