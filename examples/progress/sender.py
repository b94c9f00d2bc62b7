"""Posting to WebSocket clients from code that is not handling a WebSocket event.

A WebSocket handler sends with ``ctx.websocket.send``: the event tells Lift which API
and stage the connection belongs to. The SQS worker has no such event, so the
WebSocket handler puts the Management API endpoint (``ctx.websocket.management_endpoint``)
in the job, and the worker posts through a client for that endpoint. The worker's role
needs ``execute-api:ManageConnections`` on the API.
"""

from __future__ import annotations

import json
import os
from typing import Any

from lift import App
from lift.websocket.management import ENDPOINT_ENV, ManagementAPI, client_for, resolve_region

__all__ = ["management_api", "post_json"]


def management_api(app: App, endpoint: str | None = None) -> ManagementAPI:
    """The ``@connections`` API to post through.

    ``app.management_api`` when set (the test client and the local gateway install
    one), else the process-wide signed client for ``endpoint`` (or the
    ``LIFT_WS_MANAGEMENT_ENDPOINT`` variable).
    """
    if app.management_api is not None:
        return app.management_api
    target = endpoint or os.environ.get(ENDPOINT_ENV)
    if not target:
        raise RuntimeError(f"No @connections endpoint in the job and {ENDPOINT_ENV} is not set")
    return client_for(target, resolve_region(target))


def post_json(api: ManagementAPI, connection_id: str, obj: Any) -> None:
    """Send ``obj`` as one JSON text frame; ``ConnectionGoneError`` if the client left."""
    api.post_to_connection(connection_id, json.dumps(obj, separators=(",", ":")).encode())
