"""Importing lift stays light: no AWS SDK, WebSocket, JWT or pydantic modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("boto3", "botocore", "websockets", "jwt", "cryptography", "pydantic", "opentelemetry")
SRC = str(Path(__file__).resolve().parents[1] / "src")


def imported_heavy_modules(statement: str) -> list[str]:
    """Run ``statement`` in a fresh interpreter; list the heavy modules it imported."""
    code = (
        "import json, sys\n"
        f"{statement}\n"
        f"heavy = {HEAVY!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_import_lift_is_light() -> None:
    assert imported_heavy_modules("import lift") == []


def test_using_the_core_stays_light() -> None:
    statement = (
        "import lift\n"
        "from lift.testing import events\n"
        "app = lift.App()\n"
        "app.get('/')(lambda ctx: {'ok': True})\n"
        "assert app(events.http_v1('GET', '/'))['statusCode'] == 200"
    )
    assert imported_heavy_modules(statement) == []


@pytest.mark.parametrize(
    "module",
    [
        "lift.websocket",
        "lift.testing",
        "lift.auth",
        "lift.middleware",
        "lift.tracing",
        "lift.ratelimit",
        "lift.typed",
    ],
)
def test_subpackages_stay_light(module: str) -> None:
    loaded = imported_heavy_modules(f"import {module}")
    assert [
        m
        for m in loaded
        if m.split(".")[0] in ("boto3", "botocore", "websockets", "jwt", "opentelemetry")
    ] == []


def test_public_names() -> None:
    import lift

    for name in ("App", "Context", "Response", "LiftError", "__version__"):
        assert hasattr(lift, name)
    from lift.testing import events

    for factory in (
        "websocket_connect",
        "websocket_message",
        "websocket_disconnect",
        "http_v1",
        "http_v2",
        "sqs",
        "s3",
        "s3_eventbridge",
        "eventbridge",
        "scheduled",
    ):
        assert callable(getattr(events, factory))
