"""An app with every trigger kind ``lift template`` and ``LiftApp`` wire."""

from __future__ import annotations

from typing import Any

from lift import App, Context
from lift.middleware import JWTConfig, websocket_auth
from lift.websocket import WebSocketOptions
from lift.websocket import authorizer as make_authorizer

CONFIG = JWTConfig(secret="deploy-tests-secret-" + "x" * 40, algorithms=["HS256"])


def ok(ctx: Context) -> Any:
    return {"ok": True}


def every_trigger_app() -> App:
    app = App(websocket=WebSocketOptions(auto_connections=True))
    app.use(websocket_auth(CONFIG, token_sources="query:token"))
    app.websocket("$connect", ok)
    app.websocket("$default", ok)
    app.websocket("chat", ok)
    app.websocket("send-message", ok)
    app.get("/items/{id}")(ok)
    app.post("/items")(ok)
    app.route("ANY", "/files/{path+}")(ok)
    app.sqs("orders")(ok)
    app.sqs("legacy-orders")(ok)
    app.sns("alerts")(ok)
    app.kinesis("clicks")(ok)
    app.dynamodb_stream("users")(ok)
    app.s3("lift-uploads-example")(ok)
    app.schedule("nightly", expression="cron(0 3 * * ? *)")(ok)
    app.schedule("heartbeat", expression="rate(5 minutes)")(ok)
    app.eventbridge("orders.service")(ok)
    app.eventbridge("Order *")(ok)
    return app


EVERY_TRIGGER_OPTIONS: dict[str, Any] = {
    "existing": ["sqs:legacy-orders"],
    "queue_env": {"ORDERS_URL": "orders"},
}

app = every_trigger_app()
authorizer = make_authorizer(CONFIG)
