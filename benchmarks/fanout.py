"""Fan-out at scale: one broadcast to 20,000 connections through SQS, paced to a quota.

Processes, all on 127.0.0.1:

* moto's server (SQS and DynamoDB), in a child process;
* an ``@connections`` server (aiohttp) that adds a fixed latency to every call and
  answers 429 ``LimitExceededException`` above its quota: a token bucket at the quota
  holding half a second of it, as AWS documents the account-wide limit (10,000
  requests/s, bucket of 5,000);
* 4 worker processes, each an ``App`` pulling shards from the queue as Lambda's event
  source mapping would (``SQSPoller``, batches of up to 5 shards of 500), each paced
  at 95% of ``quota / workers`` per second.

The sender's ``broadcast`` writes the shards; the clock runs from that call until the
server has seen every recipient once. The server counts deliveries per id, so
duplicates and losses are counted where they land.

    python benchmarks/fanout.py [--recipients 20000] [--quota 2000] [--latency-ms 5]
                                [--workers 4] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from typing import Any

from _util import start_child, stop_child

STAGE = "bench"
TARGET = 1.25
HEADROOM = 0.95
"""Workers pace themselves at this share of the quota, so the quota's bucket refills."""
BATCH_SIZE = 5
"""The event source mapping's batch size."""
SHARD_SIZE = 500
"""Large shards: a worker's fixed costs per shard (a claim, a commit) are paid less often."""


# -- the @connections server with a quota --------------------------------------------------
def serve_connections(recipients: int, quota: float, latency: float) -> None:
    """Child process: POST /{stage}/@connections/{id}, counted per id; GET /stats."""
    import asyncio

    from aiohttp import web

    counts: dict[str, int] = {}
    stats = {"posts": 0, "throttled": 0}
    burst = quota / 2  # AWS: 10,000 requests/s with a bucket of 5,000
    bucket = {"tokens": burst, "stamp": time.monotonic()}

    def admit() -> bool:
        now = time.monotonic()
        bucket["tokens"] = min(burst, bucket["tokens"] + (now - bucket["stamp"]) * quota)
        bucket["stamp"] = now
        if bucket["tokens"] >= 1:
            bucket["tokens"] -= 1
            return True
        return False

    async def post(request: web.Request) -> web.Response:
        await request.read()
        connection_id = request.match_info["id"]
        stats["posts"] += 1
        allowed = admit()
        await asyncio.sleep(latency)
        if not allowed:
            stats["throttled"] += 1
            return web.json_response(
                {"message": "Rate exceeded"},
                status=429,
                headers={"x-amzn-ErrorType": "LimitExceededException"},
            )
        index = connection_id.removeprefix("conn-")
        if not index.isdigit() or int(index) >= recipients:
            return web.json_response(
                {"message": "Gone"}, status=410, headers={"x-amzn-ErrorType": "GoneException"}
            )
        counts[connection_id] = counts.get(connection_id, 0) + 1
        return web.Response(status=200)

    async def report(_: web.Request) -> web.Response:
        duplicates = sum(n - 1 for n in counts.values() if n > 1)
        return web.json_response({**stats, "unique": len(counts), "duplicates": duplicates})

    async def main() -> None:
        app = web.Application()
        app.router.add_post(f"/{STAGE}/@connections/{{id}}", post)
        app.router.add_get("/stats", report)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
        await site.start()
        port = runner.addresses[0][1]
        print(json.dumps({"endpoint": f"http://127.0.0.1:{port}/{STAGE}"}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await runner.cleanup()

    asyncio.run(main())


def serve_moto() -> None:
    """Child process: moto's server (SQS, DynamoDB) until stdin closes."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(json.dumps({"url": f"http://{host}:{port}"}), flush=True)
    sys.stdin.read()
    server.stop()


# -- a worker -------------------------------------------------------------------------------
class _Context:
    """A Lambda context with plenty of time left (a worker with a 15-minute timeout)."""

    aws_request_id = "bench"
    function_name = "fanout-worker"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def fanout_app(config: dict[str, Any]) -> Any:
    from lift import App
    from lift.observability import JSONLogger
    from lift.websocket import FanoutOptions, WebSocketOptions

    options = FanoutOptions(
        queue_url=config["queue_url"],
        table=config["table"],
        inline_limit=100,
        shard_size=SHARD_SIZE,
        rate_per_second=config["rate"],
        concurrency=100,
        max_attempts=5,
    )
    return App(
        websocket=WebSocketOptions(fanout=options),
        logger=JSONLogger(stream=sys.stderr, level="WARNING"),
    )


def work(config: dict[str, Any]) -> None:
    """Child process: poll the queue and deliver until stdin closes."""
    import threading

    from lift.websocket.fanout_queue import SQSPoller

    app = fanout_app(config)
    poller = SQSPoller(app, config["queue_url"], batch_size=BATCH_SIZE, wait=1, context=_Context)
    stopped = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stopped.set()), daemon=True).start()
    print(json.dumps({"ready": True}), flush=True)
    while not stopped.is_set():
        poller.poll_once()


# -- the coordinator ---------------------------------------------------------------------------
def _check(name: str, value: float, target: float) -> dict[str, Any]:
    verdict = "PASS" if value <= target else "FAIL"
    return {"name": name, "value": value, "target": target, "comparison": "<=", "verdict": verdict}


def _stats(endpoint: str) -> dict[str, Any]:
    import urllib.request

    base = endpoint.rsplit("/", 1)[0]
    with urllib.request.urlopen(f"{base}/stats", timeout=5) as answer:
        return dict(json.loads(answer.read()))


def run(recipients: int, quota: float, latency: float, workers: int) -> dict[str, Any]:
    import boto3

    children: list[subprocess.Popen[str]] = []
    try:
        moto, facts = start_child(__file__, "--serve-moto")
        children.append(moto)
        moto_url = facts["url"]
        server, facts = start_child(
            __file__, "--serve-connections", str(recipients), str(quota), str(latency)
        )
        children.append(server)
        endpoint = facts["endpoint"]
        env = dict(
            os.environ,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_REGION="eu-west-1",
            AWS_DEFAULT_REGION="eu-west-1",
            AWS_ENDPOINT_URL_SQS=moto_url,
            LIFT_DYNAMODB_ENDPOINT=moto_url,
            LIFT_WS_MANAGEMENT_ENDPOINT=endpoint,
        )
        os.environ.update(env)
        sqs = boto3.session.Session().client("sqs", endpoint_url=moto_url)
        name = f"fanout-{uuid.uuid4().hex[:8]}"
        dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})
        queue_url = sqs.create_queue(
            QueueName=name, Attributes={"VisibilityTimeout": "30", "RedrivePolicy": redrive}
        )["QueueUrl"]
        from lift.websocket import DynamoDBConnectionStore

        table = f"{name}-table"
        DynamoDBConnectionStore(table).create_table()
        config = {"queue_url": queue_url, "table": table, "rate": quota / workers * HEADROOM}
        for _ in range(workers):
            worker, _ = start_child(__file__, "--worker", json.dumps(config), env=env)
            children.append(worker)

        sender = fanout_app(config)
        ids = [f"conn-{index}" for index in range(recipients)]
        start = time.perf_counter()
        result = sender.connections().broadcast(ids, {"type": "update", "value": 42})
        enqueued = time.perf_counter() - start
        floor = recipients / quota
        deadline = start + max(60.0, floor * 5)
        stats = _stats(endpoint)
        while stats["unique"] < recipients and time.perf_counter() < deadline:
            time.sleep(0.02)
            stats = _stats(endpoint)
        elapsed = time.perf_counter() - start
        time.sleep(0.5)  # anything sent late still counts as a duplicate
        stats = _stats(endpoint)
        dead = int(
            sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"
            ]["ApproximateNumberOfMessages"]
        )
        ratio = elapsed / floor
        return {
            "recipients": recipients,
            "quota": quota,
            "latency_ms": latency * 1000,
            "workers": workers,
            "shards": getattr(result, "shards", 0),
            "enqueue_seconds": round(enqueued, 3),
            "delivered": stats["unique"],
            "duplicates": stats["duplicates"],
            "lost": recipients - stats["unique"],
            "throttled": stats["throttled"],
            "posts": stats["posts"],
            "dead_letters": dead,
            "seconds": round(elapsed, 3),
            "floor_seconds": round(floor, 3),
            "ratio": round(ratio, 3),
            "checks": [
                _check("fan-out lost", recipients - stats["unique"], 0),
                _check("fan-out duplicates", stats["duplicates"], 0),
                _check("fan-out time / quota floor", round(ratio, 3), TARGET),
            ],
        }
    finally:
        for child in reversed(children):  # workers first, moto last
            stop_child(child, timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--quota", type=float, default=2000.0, help="@connections calls/s")
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="2,000 recipients")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--serve-moto", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-connections", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_moto:
        serve_moto()
        return
    if args.serve_connections:
        count, quota, latency = args.serve_connections
        serve_connections(int(count), float(quota), float(latency))
        return
    if args.worker:
        work(json.loads(args.worker))
        return
    recipients = 2000 if args.quick else args.recipients
    data = run(recipients, args.quota, args.latency_ms / 1000, args.workers)
    if args.json:
        print(json.dumps(data))
        return
    print(
        f"Fan-out of one broadcast to {data['recipients']:,} connections: {data['workers']} "
        f"worker processes pulling {data['shards']} shards from moto SQS, an @connections "
        f"server with {data['latency_ms']:g} ms latency and a quota of {data['quota']:g}/s"
    )
    print(f"  enqueued in         {data['enqueue_seconds']:.3f} s")
    print(f"  delivered           {data['delivered']:,}")
    print(f"  duplicates          {data['duplicates']}")
    print(f"  lost                {data['lost']}")
    print(f"  429s seen           {data['throttled']} (of {data['posts']:,} requests)")
    print(f"  dead letters        {data['dead_letters']}")
    print(f"  time                {data['seconds']:.2f} s")
    print(f"  quota floor         {data['floor_seconds']:.2f} s (recipients / quota)")
    print(f"  time / floor        {data['ratio']:.3f}x (target <= {TARGET}x)")
    for check in data["checks"]:
        print(f"  {check['name']:<28} {check['verdict']}")


if __name__ == "__main__":
    main()
