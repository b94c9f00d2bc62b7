# snippet: context_facts.py
import json
from typing import Any

from lift import App, Context
from lift.testing import events

app = App()


@app.websocket("$default")
def facts(ctx: Context) -> dict[str, Any]:
    ws = ctx.websocket
    return {
        "connection_id": ws.connection_id,
        "route_key": ws.route_key,
        "event_type": ws.event_type,  # CONNECT, MESSAGE or DISCONNECT
        "is_message": ws.is_message,
        "stage": ws.stage,
        "domain_name": ws.domain_name,
        "api_id": ws.api_id,
        "connected_at": ws.connected_at.isoformat() if ws.connected_at else None,
        "source_ip": ws.source_ip,
        "authorizer": ws.authorizer,
        "management_endpoint": ws.management_endpoint,
        "region": ws.region,
    }


event = events.websocket_message(
    "hello",
    connection_id="L0SM9cOFvHcCIhw=",
    connected_at=1_700_000_000_000,
    authorizer={"user_id": "ana"},
)
assert json.loads(app(event)["body"]) == {
    "connection_id": "L0SM9cOFvHcCIhw=",
    "route_key": "$default",
    "event_type": "MESSAGE",
    "is_message": True,
    "stage": "prod",
    "domain_name": "abc123.execute-api.us-east-1.amazonaws.com",
    "api_id": "abc123",
    "connected_at": "2023-11-14T22:13:20+00:00",
    "source_ip": "203.0.113.10",
    "authorizer": {"principalId": "ana", "user_id": "ana", "integrationLatency": 0},
    "management_endpoint": "https://abc123.execute-api.us-east-1.amazonaws.com/prod",
    "region": "us-east-1",
}
