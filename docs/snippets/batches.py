# snippet: batches.py
import base64
import json
from typing import Any

from lift import App, Context
from lift.batch import batch_failures, process_batch
from lift.testing import events

app = App()
pushed: list[Any] = []


@app.sqs("jobs")
def jobs(ctx: Context) -> dict[str, Any]:
    def run(record: Any) -> None:
        job = json.loads(record["body"])
        if job.get("fail"):
            raise ValueError("cannot run this job")
        pushed.append(job["id"])

    # Only the records that raised are retried; a FIFO queue stops at the first failure.
    return process_batch(ctx.request.records, run, logger=ctx.logger)


@app.dynamodb_stream("orders")
def orders(ctx: Context) -> dict[str, Any]:
    failed = []
    for record in ctx.request.records:
        change = record["dynamodb"]
        if "NewImage" not in change:
            continue
        try:
            pushed.append(change["NewImage"]["id"]["S"])
        except KeyError:
            failed.append(record)  # retried from this record's sequence number
    return batch_failures(failed)


@app.kinesis("clicks")
def clicks(ctx: Context) -> None:
    pushed.extend(base64.b64decode(r["kinesis"]["data"]).decode() for r in ctx.request.records)


@app.sns("alerts-*")
def alerts(ctx: Context) -> None:
    pushed.extend(json.loads(r["Sns"]["Message"])["level"] for r in ctx.request.records)


batch = events.sqs({"id": 1}, {"id": 2, "fail": True}, queue="jobs")
answer = app(batch)
assert answer == {"batchItemFailures": [{"itemIdentifier": batch["Records"][1]["messageId"]}]}

app(events.dynamodb_stream({"eventName": "INSERT", "NewImage": {"id": {"S": "o-7"}}}))
app(events.kinesis("home", stream="clicks"))
app(events.sns({"level": "high"}, topic="alerts-prod"))
assert pushed == [1, "o-7", "home", "high"]
