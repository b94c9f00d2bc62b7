"""./scripts/demo: the README's main command serves the chat app on the local gateway."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

from examples.chat.tokens import mint
from websockets.sync.client import connect

from tests.paths import REPO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        body: bytes = response.read()
        return body.decode("utf-8")


def test_demo_serves_the_chat_app() -> None:
    port = free_port()
    env = {**os.environ, "LIFT_PORT": str(port), "LIFT_HOST": "127.0.0.1"}
    process = subprocess.Popen(
        [str(REPO / "scripts" / "demo")],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                page = fetch(f"{base}/")
                break
            except OSError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "the demo did not start"
                time.sleep(0.2)
        assert "<html" in page.lower()
        assert "inspector" in fetch(f"{base}/_lift/").lower()
        token = mint("alice", "acme")
        with connect(f"ws://127.0.0.1:{port}/?token={token}") as ws:
            ws.send(json.dumps({"action": "join", "room": "general"}))
            reply = json.loads(ws.recv(timeout=5))
            assert reply["type"] in {"joined", "history", "presence"}
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
