"""Broadcast to many connections: Lift's concurrent fan-out vs a sequential loop.

The ``@connections`` server runs in its own process (as API Gateway would) and adds a
fixed latency to every call. Both subjects use the same ``ManagementClient`` (SigV4
signing, keep-alive connections, deadlines); the sequential loop is what a
hand-written handler (and the Go original) does.

    python benchmarks/broadcast.py [--connections 1000] [--latency-ms 5] [--quick]
    python benchmarks/broadcast.py --json    # one JSON object instead of the text
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from _util import start_child, stop_child
from lift.websocket.broadcast import DEFAULT_WORKERS, broadcast
from lift.websocket.management import ManagementClient

STAGE = "bench"


def serve(connections: int, latency: float) -> None:
    """Child process: a ConnectionsServer with ``connections`` open ids."""
    from lift.local.connections import ConnectionsServer, MemoryConnectionRegistry

    registry = MemoryConnectionRegistry()
    for index in range(connections):
        registry.open(f"conn-{index}")
    server = ConnectionsServer(registry, stage=STAGE, latency=latency).start()
    print(json.dumps({"endpoint": server.endpoint}), flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--quick", action="store_true", help="100 connections")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), float(args.serve[1]))
        return
    connections = 100 if args.quick else args.connections
    latency = args.latency_ms / 1000
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    child, facts = start_child(__file__, "--serve", str(connections), str(latency))
    endpoint = facts["endpoint"]
    try:
        client = ManagementClient(endpoint, "eu-west-1")
        ids = [f"conn-{index}" for index in range(connections)]
        payload = b'{"type":"update","value":42}'
        client.post_to_connection(ids[0], payload)  # warm up the client and pool

        start = time.perf_counter()
        for connection_id in ids:
            client.post_to_connection(connection_id, payload)
        sequential = time.perf_counter() - start

        broadcast(client, ids[: args.workers], payload, workers=args.workers)  # warm threads
        start = time.perf_counter()
        result = broadcast(client, ids, payload, workers=args.workers)
        concurrent = time.perf_counter() - start
        assert len(result.delivered) == connections, result
    finally:
        stop_child(child)

    floor = latency * connections / args.workers
    speedup = sequential / concurrent
    over_floor = concurrent / floor
    if args.json:
        checks = [
            {
                "name": "broadcast: speedup vs sequential",
                "value": round(speedup, 3),
                "comparison": ">=",
                "target": 10.0,
                "verdict": "PASS" if speedup >= 10 else "FAIL",
            },
            {
                "name": "broadcast: lift time / floor",
                "value": round(over_floor, 3),
                "comparison": "<=",
                "target": 3.0,
                "verdict": "PASS" if over_floor <= 3 else "FAIL",
            },
        ]
        document = {
            "connections": connections,
            "latency_ms": args.latency_ms,
            "workers": args.workers,
            "sequential_ms": round(sequential * 1000, 3),
            "lift_ms": round(concurrent * 1000, 3),
            "floor_ms": round(floor * 1000, 3),
            "speedup": round(speedup, 3),
            "checks": checks,
        }
        print(json.dumps(document))
        return
    rows: list[tuple[str, Any]] = [
        ("connections", connections),
        ("latency per call", f"{args.latency_ms:.1f} ms"),
        ("workers", args.workers),
        ("sequential loop", f"{sequential * 1000:.0f} ms"),
        ("lift broadcast", f"{concurrent * 1000:.0f} ms"),
        ("floor (latency x calls / workers)", f"{floor * 1000:.0f} ms"),
    ]
    for name, value in rows:
        print(f"{name:<36} {value}")
    print(
        f"speedup vs sequential: {speedup:.1f}x (target >= 10x): "
        f"{'PASS' if speedup >= 10 else 'FAIL'}"
    )
    print(
        f"lift / floor: {over_floor:.2f}x (target <= 3x): {'PASS' if over_floor <= 3 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
