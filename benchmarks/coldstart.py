"""Cold start to first message: Lift, Chalice and a hand-written boto3 handler.

Every figure is a whole fresh interpreter, as a Lambda cold start is: the process starts,
imports the app module, builds an event shaped as API Gateway sends it and calls the
handler once, then exits. Wall time is measured from spawn to exit; peak memory is the
child's own maximum resident set size (``wait4``). Subjects are interleaved (Lift,
Chalice, boto3, Lift, ...) so drift in machine load is shared, and the median of the runs
is reported. Bytecode is compiled first into a private cache, so every run is a
warm-disk, cold-process start.

Scenarios:

- ``send``: one MESSAGE whose handler sends one frame through ``@connections`` to a
  local HTTP server (credentials from the environment, as Lambda provides them);
- ``auth``: a ``$connect`` with an HS256 JWT in the query string (Lift: ``websocket_auth``;
  the peers decode it with PyJWT by hand);
- ``dynamodb``: a ``$connect`` saved to DynamoDB through moto's server (Lift:
  ``auto_connections``; the peers call ``put_item``);
- ``import``: importing an app module that uses ``websocket_auth`` and ``auto_connections``
  (Chalice: import plus app creation), minus a bare interpreter's start (measured before
  every subject's run). When the import costs little next to the noise of a busy machine
  the difference, and so the ratio, can come out at or below zero; more runs settle it.

    .venv/bin/python benchmarks/coldstart.py            # 11 runs per subject
    .venv/bin/python benchmarks/coldstart.py --quick    # 3 runs (smoke test)
    .venv/bin/python benchmarks/coldstart.py --json     # one JSON object

Targets: send <= 0.6x Chalice; import <= 0.75x Chalice; peak memory of the send
scenario no higher than Chalice's. Always exits 0.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import format_table, median, verdict

ROOT = Path(__file__).resolve().parent.parent
SUBJECTS = ("lift", "chalice", "boto3")
SCENARIOS = ("send", "auth", "dynamodb", "import")
SECRET = "cold-start-benchmark-secret-of-32+bytes"
TABLE = "coldstart-connections"
PEER_TABLE = "coldstart-peer-connections"  # the peers' hand-written table: one key
REGION = "eu-west-1"
SEND_TARGET = 0.6
IMPORT_TARGET = 0.75

# -- the apps ------------------------------------------------------------------------------
LIFT_SEND = """
from lift import App
app = App()
@app.websocket("$default")
def echo(ctx):
    ctx.websocket.send({"echo": ctx.text})
handler = app
"""

LIFT_AUTH = f"""
from lift import App
from lift.middleware import JWTConfig, websocket_auth
app = App()
app.use(websocket_auth(JWTConfig(secret={SECRET!r}, algorithms=["HS256"])))
@app.websocket("$connect")
def connect(ctx):
    return None
handler = app
"""

LIFT_DYNAMODB = """
from lift import App
from lift.websocket import WebSocketOptions
app = App(websocket=WebSocketOptions(auto_connections=True))
@app.websocket("$connect")
def connect(ctx):
    ctx.set_identity(user_id=ctx.query("user"), tenant_id="acme")
handler = app
"""

LIFT_IMPORT = f"""
from lift import App
from lift.middleware import JWTConfig, websocket_auth
from lift.websocket import WebSocketOptions
app = App(websocket=WebSocketOptions(auto_connections=True))
app.use(websocket_auth(JWTConfig(secret={SECRET!r}, algorithms=["HS256"])))
@app.websocket("$default")
def echo(ctx):
    ctx.websocket.send({{"echo": ctx.text}})
handler = app
"""

CHALICE_HEAD = """
import os
import boto3
from chalice import Chalice
from chalice.app import WebsocketAPI
WebsocketAPI._WEBSOCKET_ENDPOINT_TEMPLATE = "http://{domain_name}/{stage}"  # local server
app = Chalice(app_name="coldstart")
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.websocket_api.session = boto3.session.Session()
app.websocket_api.configure(os.environ["BENCH_DOMAIN"], "local")
"""

CHALICE_SEND = (
    CHALICE_HEAD
    + """
import json
@app.on_ws_message()
def echo(event):
    app.websocket_api.send(event.connection_id, json.dumps({"echo": event.body}))
handler = echo  # Chalice deploys each WebSocket handler as its own function
"""
)

CHALICE_AUTH = f"""
import jwt
from chalice import Chalice
app = Chalice(app_name="coldstart")
app.experimental_feature_flags.update(["WEBSOCKETS"])
@app.on_ws_connect()
def connect(event):
    token = (event.to_dict()["queryStringParameters"] or {{}}).get("token", "")
    jwt.decode(token, {SECRET!r}, algorithms=["HS256"])
handler = connect
"""

CHALICE_DYNAMODB = (
    CHALICE_HEAD
    + f"""
import os
dynamodb = boto3.client("dynamodb")
@app.on_ws_connect()
def connect(event):
    dynamodb.put_item(TableName={PEER_TABLE!r}, Item={{
        "connection_id": {{"S": event.connection_id}},
        "user_id": {{"S": "alice"}},
    }})
handler = connect
"""
)

CHALICE_IMPORT = """
from chalice import Chalice
app = Chalice(app_name="coldstart")
app.experimental_feature_flags.update(["WEBSOCKETS"])
@app.on_ws_message()
def echo(event):
    app.websocket_api.send(event.connection_id, event.body)
handler = echo
"""

BOTO3_SEND = """
import json, os
import boto3
client = boto3.client(
    "apigatewaymanagementapi", endpoint_url=os.environ["LIFT_WS_MANAGEMENT_ENDPOINT"]
)
def handler(event, context):
    connection_id = event["requestContext"]["connectionId"]
    client.post_to_connection(ConnectionId=connection_id, Data=json.dumps({"echo": event["body"]}))
    return {"statusCode": 200}
"""

BOTO3_AUTH = f"""
import jwt
def handler(event, context):
    token = (event.get("queryStringParameters") or {{}}).get("token", "")
    try:
        jwt.decode(token, {SECRET!r}, algorithms=["HS256"])
    except jwt.InvalidTokenError:
        return {{"statusCode": 401}}
    return {{"statusCode": 200}}
"""

BOTO3_DYNAMODB = f"""
import boto3
dynamodb = boto3.client("dynamodb")
def handler(event, context):
    connection_id = event["requestContext"]["connectionId"]
    dynamodb.put_item(TableName={PEER_TABLE!r}, Item={{
        "connection_id": {{"S": connection_id}},
        "user_id": {{"S": "alice"}},
    }})
    return {{"statusCode": 200}}
"""

APPS: dict[tuple[str, str], str] = {
    ("lift", "send"): LIFT_SEND,
    ("chalice", "send"): CHALICE_SEND,
    ("boto3", "send"): BOTO3_SEND,
    ("lift", "auth"): LIFT_AUTH,
    ("chalice", "auth"): CHALICE_AUTH,
    ("boto3", "auth"): BOTO3_AUTH,
    ("lift", "dynamodb"): LIFT_DYNAMODB,
    ("chalice", "dynamodb"): CHALICE_DYNAMODB,
    ("boto3", "dynamodb"): BOTO3_DYNAMODB,
    ("lift", "import"): LIFT_IMPORT,
    ("chalice", "import"): CHALICE_IMPORT,
}

# The child: import the app, read the event, call the handler once, check the answer.
RUNNER = """
import json, sys
sys.path.insert(0, sys.argv[1])
module = __import__(sys.argv[2])
if sys.argv[3] != "-":
    with open(sys.argv[3]) as file:
        event = json.load(file)
    result = module.handler(event, None)
    status = result.get("statusCode") if isinstance(result, dict) else None
    if status != 200:
        raise SystemExit(f"unexpected answer {result!r}")
with open("/proc/self/status") as file:  # this process image's own high-water mark
    print(next(line.split()[1] for line in file if line.startswith("VmHWM:")))
"""


# -- events --------------------------------------------------------------------------------
def _token() -> str:
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"sub": "alice", "tenant_id": "acme", "exp": int(time.time()) + 3600}
    payload = b64(json.dumps(claims).encode())
    signature = hmac.new(SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha256)
    return f"{header}.{payload}.{b64(signature.digest())}"


def _events(domain: str) -> dict[str, dict[str, Any]]:
    from lift.testing import events

    query = {"token": _token(), "user": "alice"}
    return {
        "send": events.websocket_message(
            body="hello", route_key="$default", domain_name=domain, stage="local"
        ),
        "auth": events.websocket_connect(query=query, domain_name=domain, stage="local"),
        "dynamodb": events.websocket_connect(query=query, domain_name=domain, stage="local"),
    }


# -- servers -------------------------------------------------------------------------------
class _Connections(BaseHTTPRequestHandler):
    """A minimal ``@connections`` endpoint: every POST is answered 200 and counted."""

    posts = 0

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        type(self).posts += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def connections_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Connections)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def moto_server() -> Iterator[str]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def create_table(endpoint: str) -> None:
    import boto3

    from lift.websocket import DynamoDBConnectionStore

    client = boto3.client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    DynamoDBConnectionStore(TABLE, client=client).create_table()
    client.create_table(
        TableName=PEER_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "connection_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "connection_id", "KeyType": "HASH"}],
    )


# -- measuring -----------------------------------------------------------------------------
def child_env(cache: str, domain: str, moto: str) -> dict[str, str]:
    """Lambda's environment: credentials and region in variables, no config files."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "LIFT_", "PYTHON"))
    }
    env.update(
        AWS_ACCESS_KEY_ID="ASIAEXAMPLEEXAMPLE00",
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        AWS_SESSION_TOKEN="IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE="/nonexistent/config",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
        AWS_ENDPOINT_URL_DYNAMODB=moto,
        LIFT_WS_MANAGEMENT_ENDPOINT=f"http://{domain}/local",
        BENCH_DOMAIN=domain,
        LIFT_CONNECTIONS_TABLE=TABLE,
        NO_PROXY="127.0.0.1,localhost",
        PYTHONPYCACHEPREFIX=cache,
        PYTHONPATH=str(ROOT / "src"),
    )
    return env


def run_once(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run one child; return its wall time in ms and its peak RSS in MiB.

    The child reports ``VmHWM`` itself: ``ru_maxrss`` would count the memory of the
    forked benchmark process before ``exec``.
    """
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, check=False
    )
    elapsed = (time.perf_counter() - start) * 1000.0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[-2:])} failed: {done.stderr.strip()[-400:]}")
    lines = done.stdout.split()
    return elapsed, (int(lines[-1]) / 1024.0 if lines else 0.0)


def measure(runs: int) -> dict[str, Any]:
    """Median wall ms and peak MiB for every (subject, scenario), plus the bare start."""
    with (
        tempfile.TemporaryDirectory(prefix="lift-coldstart-") as tmp,
        connections_server() as domain,
        moto_server() as moto,
    ):
        create_table(moto)
        env = child_env(os.path.join(tmp, "pycache"), domain, moto)
        event_files: dict[str, str] = {}
        for name, event in _events(domain).items():
            event_files[name] = os.path.join(tmp, f"{name}.json")
            Path(event_files[name]).write_text(json.dumps(event))
        commands: dict[tuple[str, str], list[str]] = {}
        for (subject, scenario), source in APPS.items():
            module = f"{subject}_{scenario}_app"
            Path(tmp, f"{module}.py").write_text(source)
            event_file = event_files.get(scenario, "-")
            commands[(subject, scenario)] = ["-c", RUNNER, tmp, module, event_file]
        bare = ["-c", "pass"]
        for command in [*commands.values(), bare]:  # compile bytecode, warm the disk
            run_once(command, env)

        wall: dict[tuple[str, str], list[float]] = {key: [] for key in commands}
        memory: dict[tuple[str, str], list[float]] = {key: [] for key in commands}
        baseline: list[float] = []
        for _ in range(runs):
            for key, command in commands.items():
                # A bare start beside every run: the baseline sees the same drift in load
                # as the subjects, and its median rests on many samples.
                baseline.append(run_once(bare, env)[0])
                ms, mib = run_once(command, env)
                wall[key].append(ms)
                memory[key].append(mib)
        posts = _Connections.posts
    return {
        "startup_ms": median(baseline),
        "wall_ms": {key: median(values) for key, values in wall.items()},
        "peak_mib": {key: median(values) for key, values in memory.items()},
        "posts": posts,
    }


def checks(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The three targets of the cold-start benchmark."""
    wall, peak, startup = figures["wall_ms"], figures["peak_mib"], figures["startup_ms"]
    send = wall[("lift", "send")] / wall[("chalice", "send")]
    lift_import = wall[("lift", "import")] - startup
    chalice_import = wall[("chalice", "import")] - startup
    imported = lift_import / chalice_import if chalice_import > 0 else float("inf")
    memory = peak[("lift", "send")] / peak[("chalice", "send")]
    return [
        {"name": "cold start to first send: lift / chalice", "value": send, "target": SEND_TARGET},
        {
            "name": "import of an auth + auto_connections app: lift / chalice",
            "value": imported,
            "target": IMPORT_TARGET,
        },
        {"name": "peak memory, send: lift / chalice", "value": memory, "target": 1.0},
    ]


def main(argv: list[str] | None = None) -> int:
    """Measure, then print a table (or one JSON object) and the target checks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs per subject")
    parser.add_argument("--runs", type=int, help="processes per subject (median reported)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    runs = args.runs or (3 if args.quick else 11)
    figures = measure(runs)
    results = checks(figures)
    for check in results:
        check["verdict"] = verdict(check["value"], check["target"])
    wall, peak = figures["wall_ms"], figures["peak_mib"]
    if args.json:
        document = {
            "python": sys.version.split()[0],
            "runs": runs,
            "startup_ms": round(figures["startup_ms"], 2),
            "scenarios": [
                {
                    "scenario": scenario,
                    "subject": subject,
                    "wall_ms": round(wall[(subject, scenario)], 2),
                    "peak_mib": round(peak[(subject, scenario)], 2),
                }
                for (subject, scenario) in wall
            ],
            "checks": [
                {
                    "name": c["name"],
                    "value": round(c["value"], 3),
                    "comparison": "<=",
                    "target": c["target"],
                    "verdict": c["verdict"],
                }
                for c in results
            ],
        }
        print(json.dumps(document))
        return 0
    rows = []
    for scenario in SCENARIOS:
        lift_ms = wall[("lift", scenario)]
        for subject in SUBJECTS:
            if (subject, scenario) not in wall:
                continue
            ms = wall[(subject, scenario)]
            rows.append(
                [
                    f"{scenario:<9}{subject}",
                    f"{ms:.1f}",
                    f"{peak[(subject, scenario)]:.1f}",
                    f"{ms / lift_ms:.2f}x",
                ]
            )
    print(
        f"Python {sys.version.split()[0]}; median of {runs} fresh processes each, interleaved; "
        f"bare interpreter start {figures['startup_ms']:.1f} ms; "
        f"{figures['posts']} frames reached @connections"
    )
    print()
    print(format_table(["scenario subject", "wall ms", "peak MiB", "vs lift"], rows))
    print()
    for c in results:
        print(f"{c['name']:<58} {c['value']:6.2f}  <= {c['target']:<5} {c['verdict']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
