"""Load on the local gateway: many concurrent WebSocket clients echoing through `lift dev`.

The gateway runs in a child process, as ``lift dev`` runs it, with an echo app (a
``$default`` handler doing ``ctx.websocket.send(ctx.text)``). This process opens every
client at once (asyncio ``websockets`` clients), reports the connect rate, then has
each client send a few messages at random moments spread over a window and times
each echo's round trip. Run from the repository root::

    .venv/bin/python benchmarks/gateway.py                    # 1,000 clients
    .venv/bin/python benchmarks/gateway.py --quick            # 100 clients (smoke test)
    .venv/bin/python benchmarks/gateway.py --transport http   # the app's sends over boto3
    .venv/bin/python benchmarks/gateway.py --json             # JSON, with every round trip

Targets: every client connects; p99 echo round trip under 100 ms. ``--transport
direct`` (the default, what ``lift dev`` does) gives the app the gateway's in-process
Management API; ``http`` makes the app's sends go through boto3 and the HTTP
``@connections`` endpoint. The script always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
P99_TARGET_MS = 100.0
WARM_UP_ECHOES = 5


# -- the child process: the gateway and its echo app ------------------------------------
def serve(port: int, transport: str) -> None:
    """Run the gateway with the echo app until SIGINT/SIGTERM (child mode)."""
    from lift import App, Context
    from lift.local.gateway import Gateway
    from lift.websocket import WebSocketOptions

    def echo(ctx: Context) -> None:
        ctx.websocket.send(ctx.text)

    app = App(websocket=WebSocketOptions(auto_connections=True))
    app.websocket("$default", echo)
    gateway = Gateway(app, port=port, direct_management=transport == "direct")
    gateway.serve_forever(title="the echo benchmark app")


# -- the load generator -------------------------------------------------------------------
@dataclass
class Results:
    connected: int = 0
    refused: list[str] = field(default_factory=list)
    connect_seconds: float = 0.0
    round_trips_ms: list[float] = field(default_factory=list)
    failed_echoes: list[str] = field(default_factory=list)


def raise_fd_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gateway(port: int, transport: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LIFT_LOG_LEVEL": "ERROR"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--port", str(port), "--transport", transport],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if child.poll() is not None:
            error = child.stderr.read().decode() if child.stderr else ""
            raise SystemExit(f"the gateway exited early:\n{error}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_lift/", timeout=1):
                return child
        except OSError:
            time.sleep(0.1)
    child.kill()
    raise SystemExit("the gateway did not start within 30 s")


def stop_gateway(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    if child.stderr is not None:
        child.stderr.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_clients(url: str, clients: int, echoes: int, spread: float) -> Results:
    from websockets.asyncio.client import connect

    results = Results()
    loop = asyncio.get_running_loop()
    async with connect(url, ping_interval=None, compression=None) as warm:
        for _ in range(WARM_UP_ECHOES):  # first sends build the app's clients; not timed
            await warm.send("warm-up")
            await warm.recv()
    attempts_done = 0
    all_attempted = asyncio.Event()
    echo_start = asyncio.Event()
    window_start = 0.0

    async def client(index: int) -> None:
        nonlocal attempts_done
        try:
            ws = await connect(url, open_timeout=60, ping_interval=None, compression=None)
        except Exception as exc:
            results.refused.append(f"{type(exc).__name__}: {exc}")
            ws = None
        else:
            results.connected += 1
        attempts_done += 1
        if attempts_done == clients:
            all_attempted.set()
        if ws is None:
            return
        try:
            await echo_start.wait()
            moments = sorted(random.uniform(0, spread) for _ in range(echoes))
            for number, moment in enumerate(moments):
                await asyncio.sleep(max(0.0, window_start + moment - loop.time()))
                payload = f"client {index} echo {number}"
                sent = time.perf_counter()
                await ws.send(payload)
                reply = await asyncio.wait_for(ws.recv(), timeout=30)
                elapsed = (time.perf_counter() - sent) * 1000
                if reply == payload:
                    results.round_trips_ms.append(elapsed)
                else:
                    results.failed_echoes.append(f"client {index}: unexpected {reply!r}")
        except Exception as exc:
            results.failed_echoes.append(f"client {index}: {type(exc).__name__}: {exc}")
        finally:
            await ws.close()

    started = time.perf_counter()
    tasks = [asyncio.create_task(client(i)) for i in range(clients)]
    await all_attempted.wait()
    results.connect_seconds = time.perf_counter() - started
    window_start = loop.time()
    echo_start.set()
    await asyncio.gather(*tasks)
    return results


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def report(
    results: Results, *, clients: int, echoes: int, spread: float, transport: str, cpu: float
) -> None:
    rate = results.connected / results.connect_seconds if results.connect_seconds else 0.0
    trips = results.round_trips_ms
    print(f"Python {sys.version.split()[0]}; {os.cpu_count()} CPUs; transport {transport}")
    print(
        f"{clients} clients, {echoes} echoes each at random moments over {spread:g} s "
        f"(~{clients * echoes / spread:.0f} messages/s)"
    )
    print()
    print(f"connected         {results.connected}/{clients}")
    print(f"connect rate      {rate:.0f} connections/s ({results.connect_seconds:.2f} s for all)")
    if trips:
        print(
            f"echo round trip   p50 {statistics.median(trips):.2f} ms   "
            f"p99 {percentile(trips, 0.99):.2f} ms   max {max(trips):.2f} ms   "
            f"({len(trips)} echoes, {len(results.failed_echoes)} failed)"
        )
    print(f"gateway CPU       {cpu:.1f} s (user + system, whole run)")
    for problem in (results.refused + results.failed_echoes)[:5]:
        print(f"  problem: {problem}")
    print()
    all_in = results.connected == clients
    print(f"{'PASS' if all_in else 'FAIL'}  all {clients} clients connected")
    p99 = percentile(trips, 0.99) if trips else float("inf")
    ok = p99 < P99_TARGET_MS and not results.failed_echoes
    print(f"{'PASS' if ok else 'FAIL'}  p99 echo round trip {p99:.2f} ms < {P99_TARGET_MS:g} ms")


def as_json(
    results: Results, *, clients: int, echoes: int, spread: float, transport: str, cpu: float
) -> dict[str, object]:
    """The figures, the target checks and every echo round trip (ms) as a JSON object."""
    trips = results.round_trips_ms
    p99 = percentile(trips, 0.99) if trips else None
    ok = p99 is not None and p99 < P99_TARGET_MS and not results.failed_echoes
    return {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "transport": transport,
        "clients": clients,
        "echoes": echoes,
        "spread_s": spread,
        "connected": results.connected,
        "connect_seconds": round(results.connect_seconds, 4),
        "p50_ms": round(statistics.median(trips), 3) if trips else None,
        "p99_ms": round(p99, 3) if p99 is not None else None,
        "max_ms": round(max(trips), 3) if trips else None,
        "failed_echoes": len(results.failed_echoes),
        "refused": len(results.refused),
        "gateway_cpu_s": round(cpu, 3),
        "round_trips_ms": [round(trip, 3) for trip in trips],
        "checks": [
            {
                "name": "gateway: clients connected",
                "value": results.connected,
                "comparison": ">=",
                "target": clients,
                "verdict": "PASS" if results.connected == clients else "FAIL",
            },
            {
                "name": "gateway: p99 echo round trip (ms)",
                "value": round(p99, 3) if p99 is not None else None,
                "comparison": "<",
                "target": P99_TARGET_MS,
                "verdict": "PASS" if ok else "FAIL",
            },
        ],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with ``--serve``, the gateway child)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000, help="concurrent clients")
    parser.add_argument("--echoes", type=int, default=5, help="echoes per client")
    parser.add_argument("--spread", type=float, default=10.0, help="echo window, seconds")
    parser.add_argument("--quick", action="store_true", help="100 clients, 2 echoes, 2 s")
    parser.add_argument("--transport", choices=("direct", "http"), default="direct")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.port, args.transport)
        return 0
    if args.quick:
        args.clients, args.echoes, args.spread = min(args.clients, 100), 2, 2.0
    raise_fd_limit(2 * args.clients + 512)
    port = free_port()
    child = start_gateway(port, args.transport)
    try:
        before = cpu_seconds(child.pid)
        results = asyncio.run(
            run_clients(f"ws://127.0.0.1:{port}/", args.clients, args.echoes, args.spread)
        )
        cpu = cpu_seconds(child.pid) - before
    finally:
        stop_gateway(child)
    if args.json:
        document = as_json(
            results,
            clients=args.clients,
            echoes=args.echoes,
            spread=args.spread,
            transport=args.transport,
            cpu=cpu,
        )
        print(json.dumps(document))
        return 0
    report(
        results,
        clients=args.clients,
        echoes=args.echoes,
        spread=args.spread,
        transport=args.transport,
        cpu=cpu,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
