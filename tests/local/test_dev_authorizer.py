"""``lift dev`` runs the app's REQUEST authorizer before ``$connect``, as API Gateway does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from lift.apigw.authorizer import authorizer_event, decide, method_arn, missing_identity
from lift.testing import events
from tests.cli_support import lift

ARN = "arn:aws:execute-api:eu-west-1:000000000000:abc123/local/$connect"


def policy(effect: str, resource: object = ARN, action: object = "execute-api:Invoke") -> dict:
    return {
        "principalId": "ada",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": action, "Effect": effect, "Resource": resource}],
        },
        "context": {"user_id": "ada", "tenant_id": "acme", "admin": True, "level": 3},
    }


def test_decisions_follow_api_gateway() -> None:
    allowed = decide(policy("Allow"), None, ARN, 7)
    assert allowed.allowed
    assert allowed.context == {
        "user_id": "ada",
        "tenant_id": "acme",
        "admin": "true",
        "level": "3",
        "principalId": "ada",
        "integrationLatency": 7,
    }
    stage_wide = "arn:aws:execute-api:eu-west-1:000000000000:abc123/local/*"
    assert decide(policy("Allow", [stage_wide]), None, ARN, 1).allowed
    assert decide(policy("Allow", action="execute-api:*"), None, ARN, 1).allowed
    assert decide(policy("Deny"), None, ARN, 1).status == 403
    other = ARN.replace("$connect", "sendMessage")
    assert decide(policy("Allow", other), None, ARN, 1).status == 403
    both = policy("Allow")
    both["policyDocument"]["Statement"].append(
        {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": "*"}
    )
    assert decide(both, None, ARN, 1).status == 403  # an explicit Deny wins
    assert decide(None, Exception("Unauthorized"), ARN, 1).status == 401
    assert decide(None, RuntimeError("boom"), ARN, 1).status == 500
    assert decide({"policyDocument": {}}, None, ARN, 1).status == 500
    nested = policy("Allow")
    nested["context"] = {"roles": ["a", "b"]}
    assert decide(nested, None, ARN, 1).status == 500


def test_identity_sources_and_the_event() -> None:
    connect_event = events.websocket_connect(query={"token": "t"}, headers={"X-Key": "k"})
    assert not missing_identity(["route.request.querystring.token"], connect_event)
    assert not missing_identity(["route.request.header.x-key"], connect_event)
    assert missing_identity(["route.request.querystring.auth"], connect_event)
    arn = method_arn(connect_event, region="eu-west-1", account_id="1")
    assert arn.endswith(f"{connect_event['requestContext']['apiId']}/prod/$connect")
    event = authorizer_event(connect_event, arn)
    assert event["type"] == "REQUEST" and event["methodArn"] == arn
    assert event["queryStringParameters"] == {"token": "t"}
    assert "isBase64Encoded" not in event and "authorizer" not in event["requestContext"]


APP = """
from pathlib import Path

from lift import App
from lift.middleware import JWTConfig, websocket_auth
from lift.websocket import WebSocketOptions, authorizer as request_authorizer

config = JWTConfig(secret="a-development-secret-of-32-bytes!!", algorithms=["HS256"])
app = App(websocket=WebSocketOptions(auto_connections=True))
app.use(websocket_auth(config))
authorizer = request_authorizer(config)


@app.websocket("$connect")
def connect(ctx):
    seen = ctx.websocket.authorizer.get("principalId", "none")
    Path(__file__).with_name("at_connect.txt").write_text(seen)


@app.websocket("whoami")
def whoami(ctx):
    return {
        "user": ctx.user_id,
        "tenant": ctx.tenant_id,
        "authorizer": ctx.websocket.authorizer,
        "at_connect": Path(__file__).with_name("at_connect.txt").read_text(),
    }
"""


@pytest.mark.parametrize("choice", [[], ["--no-authorizer"]])
def test_lift_dev_runs_the_module_authorizer(
    tmp_path: Path, aws_env: None, choice: list[str]
) -> None:
    (tmp_path / "authapp.py").write_text(APP, encoding="utf-8")
    token = lift(tmp_path, "token", "authapp:app", "--sub", "ada", "--tenant", "acme")
    token_text = token.stdout.strip()
    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "lift.cli", "dev", "authapp:app", "--port", str(port), *choice],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    url = f"ws://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                ws = connect(f"{url}?token={token_text}", open_timeout=2)
                break
            except (OSError, InvalidStatus):
                assert time.monotonic() < deadline, "".join(lines)
                time.sleep(0.05)
        with ws:
            ws.send(json.dumps({"action": "whoami"}))
            answer = json.loads(ws.recv(timeout=10))
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{url}?token=not-a-token", open_timeout=5)
        status = refused.value.response.status_code
        body = json.loads(refused.value.response.body or b"{}")
    finally:
        process.terminate()
        process.wait(timeout=30)
        reader.join(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    output = "".join(lines)
    assert (answer["user"], answer["tenant"]) == ("ada", "acme")
    if choice:  # no authorizer: the identity came from the token, nothing from API Gateway
        assert answer["authorizer"] == {} and answer["at_connect"] == "none"
        assert "Authorizer" not in output
        return
    assert answer["authorizer"]["principalId"] == "ada"  # as on AWS, on every event
    assert answer["at_connect"] == "ada"
    assert answer["authorizer"]["tenant_id"] == "acme"
    assert status == 401 and body == {"message": "Unauthorized"}
    assert "Authorizer    authapp.authorizer on $connect" in output
    assert "401 refused by the authorizer" in output
