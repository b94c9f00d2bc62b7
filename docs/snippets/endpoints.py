# snippet: endpoints.py
import json
import os
from typing import Any

from lift import App, Context
from lift.testing import events
from lift.websocket import WebSocketOptions


def where(ctx: Context) -> dict[str, str]:
    return {"endpoint": ctx.websocket.management_endpoint, "region": ctx.websocket.region}


def ask(app: App, **event_fields: Any) -> Any:
    return json.loads(app(events.websocket_message("where?", **event_fields))["body"])


app = App()
app.websocket("$default", where)

# An execute-api domain: the endpoint is https://{domainName}/{stage}, the region its own.
assert ask(app, domain_name="a1b2c3.execute-api.eu-west-1.amazonaws.com", stage="live") == {
    "endpoint": "https://a1b2c3.execute-api.eu-west-1.amazonaws.com/live",
    "region": "eu-west-1",
}

# A custom domain cannot take @connections calls: the endpoint is rebuilt from the apiId.
# The region comes from WebSocketOptions.region, else AWS_REGION / AWS_DEFAULT_REGION.
custom = App(websocket=WebSocketOptions(region="eu-central-1"))
custom.websocket("$default", where)
assert ask(custom, domain_name="ws.example.com", api_id="a1b2c3", stage="live") == {
    "endpoint": "https://a1b2c3.execute-api.eu-central-1.amazonaws.com/live",
    "region": "eu-central-1",
}

# Without any region there is no silent us-east-1: the handler gets a 500.
for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
    os.environ.pop(name, None)
response = app(events.websocket_message("where?", domain_name="ws.example.com"))
assert response["statusCode"] == 500
assert json.loads(response["body"])["error"]["code"] == "WEBSOCKET_CONFIG_ERROR"

# An explicit endpoint (option, else LIFT_WS_MANAGEMENT_ENDPOINT) wins over the event.
pinned = App(
    websocket=WebSocketOptions(
        management_endpoint="https://a1b2c3.execute-api.eu-west-1.amazonaws.com/live"
    )
)
pinned.websocket("$default", where)
assert ask(pinned, domain_name="ws.example.com")["endpoint"].endswith("/live")
