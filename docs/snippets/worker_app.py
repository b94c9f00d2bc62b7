# snippet: worker_app.py
import json

from lift import App, Context
from lift.websocket import WebSocketOptions

app = App(websocket=WebSocketOptions(auto_connections=True))


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    ctx.set_identity(user_id=ctx.query("user"))


@app.sqs("finished-jobs")
def finished(ctx: Context) -> None:
    for record in ctx.request.records:
        job = json.loads(record["body"])
        # The WebSocket handler that queued the job put ctx.websocket.management_endpoint
        # in it; without an endpoint, LIFT_WS_MANAGEMENT_ENDPOINT is used.
        connections = app.connections(job["endpoint"])
        result = connections.broadcast_to_user(job["user"], {"job": job["id"], "done": True})
        ctx.logger.info("Job reported", job=job["id"], delivered=len(result.delivered))
