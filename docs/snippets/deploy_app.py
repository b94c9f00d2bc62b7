# snippet: deploy_app.py
import json
import os

import boto3

from lift import App, Context
from lift.websocket import WebSocketOptions

app = App(websocket=WebSocketOptions(auto_connections=True))
_sqs = None


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    ctx.set_identity(user_id=ctx.query("user"))


@app.websocket("report")
def report(ctx: Context) -> dict[str, bool]:
    global _sqs
    _sqs = _sqs or boto3.client("sqs")
    job = {"user": ctx.user_id, "endpoint": ctx.websocket.management_endpoint}
    _sqs.send_message(QueueUrl=os.environ["REPORTS_QUEUE_URL"], MessageBody=json.dumps(job))
    return {"queued": True}


@app.sqs("reports")
def build_report(ctx: Context) -> None:
    for record in ctx.request.records:
        job = json.loads(record["body"])
        app.connections(job["endpoint"]).broadcast_to_user(job["user"], {"report": "ready"})


@app.schedule("nightly-cleanup", expression="cron(0 3 * * ? *)")
def cleanup(ctx: Context) -> None:
    ctx.logger.info("Nightly cleanup")


@app.get("/health")
def health(ctx: Context) -> dict[str, str]:
    return {"status": "ok"}
