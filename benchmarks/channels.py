"""Publish to one channel's subscribers: listing them from DynamoDB, then delivering.

A child process serves DynamoDB (moto's server) and ``@connections`` (a local server that
adds a fixed latency to every call), as AWS would, outside the measuring process. The
channel has N subscribers in the connection table. Measured, median of repeats:

* list: reading the subscribers' ids (``store.member_ids``: the strongly consistent
  ``Query`` of the channel's subscriber index that publish makes);
* deliver: posting to those ids (``Connections.deliver``, the function publish uses);
* publish: ``Connections.publish`` (list, then deliver; nothing is kept between calls);
* broadcast: ``Connections.broadcast`` to the same ids (a caller that already has them).

The four are timed in turn within each repeat (so that a shared machine's load weighs on
each alike), after one warm-up call of each path. Target: listing adds at most 25% to the
delivery time: (publish - broadcast) / broadcast <= 0.25. The listing's own time over the
broadcast's is printed too.

    python benchmarks/channels.py [--subscribers 1000] [--latency-ms 5] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _util import start_child, stop_child

STAGE = "bench"
TABLE = "channels-bench"
REGION = "eu-west-1"
TARGET = 0.25


def serve(subscribers: int, latency: float) -> None:
    """Child process: moto's server and a ConnectionsServer with ``subscribers`` open ids."""
    import logging

    from moto.server import ThreadedMotoServer

    from lift.local.connections import ConnectionsServer, MemoryConnectionRegistry

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    registry = MemoryConnectionRegistry()
    for index in range(subscribers):
        registry.open(f"conn-{index}")
    server = ConnectionsServer(registry, stage=STAGE, latency=latency).start()
    print(
        json.dumps({"endpoint": server.endpoint, "dynamodb": f"http://{host}:{port}"}), flush=True
    )
    sys.stdin.read()  # until the parent closes our stdin
    server.stop()
    moto.stop()


def timed_in_turn(funcs: list[Callable[[], Any]], repeats: int) -> list[float]:
    """The median wall time of each of ``funcs`` (seconds), called in turn ``repeats`` times."""
    times: list[list[float]] = [[] for _ in funcs]
    for _ in range(repeats):
        for func, samples in zip(funcs, times, strict=True):
            start = time.perf_counter()
            func()
            samples.append(time.perf_counter() - start)
    return [float(statistics.median(samples)) for samples in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="100 subscribers, 3 repeats")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), float(args.serve[1]))
        return
    subscribers = 100 if args.quick else args.subscribers
    repeats = 3 if args.quick else args.repeats
    latency = args.latency_ms / 1000
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_REGION", REGION),
    ):
        os.environ.setdefault(name, value)

    import boto3

    from lift.observability import default_logger
    from lift.websocket.connection import Connection
    from lift.websocket.connections import Connections
    from lift.websocket.management import ManagementClient
    from lift.websocket.options import ChannelOptions
    from lift.websocket.stores.dynamodb import DynamoDBConnectionStore

    child, urls = start_child(__file__, "--serve", str(subscribers), str(latency))
    try:
        ddb = boto3.session.Session().client(
            "dynamodb", region_name=REGION, endpoint_url=urls["dynamodb"]
        )
        store = DynamoDBConnectionStore(TABLE, client=ddb)
        store.create_table()

        joining = [
            Connection(f"conn-{index}", user_id=f"user-{index}", tenant_id="acme")
            for index in range(subscribers)
        ]
        with ThreadPoolExecutor(8) as pool:  # setup only: not measured
            list(pool.map(store.save, joining))
        # One at a time: moto's server does not apply concurrent updates of one item
        # atomically (DynamoDB does), and subscribers share their index buckets.
        for connection in joining:
            store.subscribe(connection, "prices", {"plan": "pro"})
        client = ManagementClient(urls["endpoint"], REGION)
        connections = Connections(
            client, store, default_logger(), channels=ChannelOptions(presence_events=True)
        )
        data = {"symbol": "LIFT", "price": 42.5}
        payload = json.dumps(data).encode()
        ids = [m.connection_id for m in store.members("acme", "prices")]
        assert len(ids) == subscribers
        assert sorted(store.member_ids("acme", "prices")) == sorted(ids)
        # Warm the client, its pool and threads, and the modules each path imports.
        connections.deliver(ids[:64], payload)
        connections.broadcast(ids[:64], data)
        connections.publish("prices", data, tenant_id="acme")

        # The four are timed in turn, repeat after repeat, so that a shared machine's
        # changing load weighs on each alike.
        listing, delivery, broadcast, publish = timed_in_turn(
            [
                lambda: list(store.member_ids("acme", "prices")),
                lambda: connections.deliver(ids, payload),
                lambda: connections.broadcast(ids, data),
                lambda: connections.publish("prices", data, tenant_id="acme"),
            ],
            repeats,
        )
        result = connections.publish("prices", data, tenant_id="acme")
        assert len(result.delivered) == subscribers and result.ok, result
    finally:
        stop_child(child)

    ratio = listing / broadcast
    overhead = publish / broadcast
    added = overhead - 1.0
    checks = [
        {
            "name": "channels: listing added to delivery time",
            "value": round(added, 3),
            "comparison": "<=",
            "target": TARGET,
            "verdict": "PASS" if added <= TARGET else "FAIL",
        }
    ]
    document = {
        "subscribers": subscribers,
        "latency_ms": args.latency_ms,
        "repeats": repeats,
        "list_ms": round(listing * 1000, 3),
        "deliver_ms": round(delivery * 1000, 3),
        "publish_ms": round(publish * 1000, 3),
        "broadcast_ms": round(broadcast * 1000, 3),
        "list_over_broadcast": round(ratio, 3),
        "publish_over_broadcast": round(overhead, 3),
        "checks": checks,
    }
    if args.json:
        print(json.dumps(document))
        return
    rows: list[tuple[str, str]] = [
        ("subscribers", str(subscribers)),
        ("@connections latency per call", f"{args.latency_ms:.1f} ms"),
        ("list subscribers (DynamoDB)", f"{listing * 1000:.0f} ms"),
        ("deliver to them", f"{delivery * 1000:.0f} ms"),
        ("publish (list + deliver)", f"{publish * 1000:.0f} ms"),
        ("broadcast to the same ids", f"{broadcast * 1000:.0f} ms"),
    ]
    for name, value in rows:
        print(f"{name:<32} {value}")
    print(f"publish / broadcast: {overhead:.2f}x; list alone / broadcast: {ratio:.2f}")
    print(
        f"listing adds {added:.2f} of the delivery time (target <= {TARGET}): "
        f"{'PASS' if added <= TARGET else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
