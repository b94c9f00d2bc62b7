"""A live dashboard: clients subscribe to topics; workers publish to them.

Each tenant's dashboard pages subscribe to topics (channels). Other services put metric
updates on an SQS queue; this app's SQS handler publishes each one to its tenant's topic
with ``app.connections().publish``. A scheduled handler publishes a heartbeat to every
tenant named in ``DASHBOARD_TENANTS``. No state lives in process memory: subscriptions
and each topic's latest value are in the connection store, so any number of Lambda
instances serve the same pages.

Run it locally::

    lift dev examples.dashboard.app:app

The protocol (JSON text frames; API Gateway routes on ``action``):

* connect with ``?token=<JWT>`` (audience ``lift-dashboard``; ``sub``, ``tenant_id``;
  ``roles`` containing ``"ops"`` to see the ``errors`` topic);
* ``{"action": "subscribe", "topics": ["orders", "signups"]}``: the sender gets
  ``{"type": "subscribed", "topics", "latest": {topic: value}}`` (each topic keeps its
  last update); a topic the connection may not see is refused with an ``error`` frame;
* ``{"action": "unsubscribe", "topics": [...]}``;
* updates arrive as ``{"event": "message", "channel": topic, "seq", "data": {"topic",
  "value", "at"}}``;
* SQS message bodies: ``{"tenant_id": "acme", "topic": "orders", "value": 42}``.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from lift import App, Context, LiftError
from lift.middleware import JWTConfig, websocket_auth
from lift.websocket import ChannelOptions, ConnectionStore, WebSocketOptions

__all__ = ["AUDIENCE", "QUEUE_NAME", "TENANTS_ENV", "TOPICS", "app", "create_app"]

AUDIENCE = "lift-dashboard"
QUEUE_NAME = "dashboard-metrics"
"""The SQS queue whose messages are published to the dashboards."""
TENANTS_ENV = "DASHBOARD_TENANTS"
"""Comma-separated tenants that get the scheduled heartbeat."""
TOPICS = ("orders", "signups", "errors", "heartbeat")
OPS_TOPICS = frozenset({"errors"})
"""Topics only connections whose token has the ``ops`` role may see."""
SECRET_ENV = "DASHBOARD_JWT_SECRET"
_DEV_SECRET = "lift-dashboard-dev-secret-not-for-production"


def may_see(ctx: Context, topic: str) -> bool:
    """``ChannelOptions.authorize``: known topics only; ops topics for the ops role."""
    if topic not in TOPICS:
        return False
    roles = ctx.claims.get("roles") or []
    return topic not in OPS_TOPICS or (isinstance(roles, list) and "ops" in roles)


def _topics(ctx: Context) -> list[str]:
    body = ctx.json()
    topics = body.get("topics") if isinstance(body, dict) else None
    if (
        not isinstance(topics, list)
        or not 0 < len(topics) <= len(TOPICS)
        or not all(isinstance(t, str) for t in topics)
    ):
        raise LiftError(400, "INVALID_TOPICS", f"'topics' is a list of up to {len(TOPICS)} names")
    return list(dict.fromkeys(topics))


def create_app(*, store: ConnectionStore | None = None, jwt_secret: str | None = None) -> App:
    """Build the dashboard app (tests build fresh ones; Lambda uses the module's ``app``)."""
    app = App(
        websocket=WebSocketOptions(
            auto_connections=True,
            store=store,
            channels=ChannelOptions(authorize=may_see, history=1),
        )
    )
    config = JWTConfig(
        secret=jwt_secret or os.environ.get(SECRET_ENV) or _DEV_SECRET,
        algorithms=["HS256"],
        audience=AUDIENCE,
        required_claims=("sub", "exp", "tenant_id"),
    )
    app.use(websocket_auth(config, token_sources=("query:token",)))

    @app.websocket("subscribe")
    def subscribe(ctx: Context) -> None:
        ws = ctx.websocket
        latest: dict[str, Any] = {}
        topics = _topics(ctx)
        for topic in topics:
            ws.subscribe(topic)  # 403 CHANNEL_FORBIDDEN / 400 INVALID_CHANNEL
        for topic in topics:
            kept = ws.history(topic, limit=1)
            if kept:
                latest[topic] = kept[-1].data
        ws.send({"type": "subscribed", "topics": ws.subscriptions(), "latest": latest})

    @app.websocket("unsubscribe")
    def unsubscribe(ctx: Context) -> None:
        for topic in _topics(ctx):
            ctx.websocket.unsubscribe(topic)
        ctx.websocket.send({"type": "subscribed", "topics": ctx.websocket.subscriptions()})

    @app.websocket("$default")
    def unknown(ctx: Context) -> None:
        raise LiftError(400, "UNKNOWN_ACTION", "Use subscribe or unsubscribe")

    @app.sqs(QUEUE_NAME)
    def metrics(ctx: Context) -> dict[str, Any]:
        """Publish each update to its tenant's topic; report bad or failed records."""
        connections = app.connections()
        failures = []
        for record in ctx.request.records:
            try:
                update = json.loads(record["body"])
                tenant, topic = update["tenant_id"], update["topic"]
                if not isinstance(tenant, str) or not tenant or topic not in TOPICS:
                    raise ValueError("tenant_id and a known topic are required")
                data = {"topic": topic, "value": update.get("value"), "at": int(time.time())}
                result = connections.publish(topic, data, tenant_id=tenant)
                if not result.ok:
                    raise RuntimeError(f"{len(result.failed)} deliveries failed")
            except Exception:
                ctx.logger.exception("Update not published", message_id=record["messageId"])
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    @app.schedule("dashboard-heartbeat", expression="rate(1 minute)")
    def heartbeat(ctx: Context) -> None:
        """Publish the time to every configured tenant's ``heartbeat`` topic."""
        connections = app.connections()
        tenants = [t.strip() for t in os.environ.get(TENANTS_ENV, "").split(",") if t.strip()]
        for tenant in tenants:
            data = {"topic": "heartbeat", "value": "ok", "at": int(time.time())}
            connections.publish("heartbeat", data, tenant_id=tenant)

    return app


app = create_app()
"""The Lambda handler: ``examples.dashboard.app.app``."""
