"""Fixtures shared across the test suite."""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

REGION = "eu-west-1"


@pytest.fixture(scope="session")
def aws_env() -> Iterator[None]:
    """Dummy credentials and a region; no shared config files; no proxy for 127.0.0.1."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        mp.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "LIFT_DYNAMODB_ENDPOINT"):
            mp.delenv(name, raising=False)
        yield


class AtomicMotoServer:
    """moto's HTTP server, answering one request at a time, on 127.0.0.1 and a free port.

    DynamoDB applies each write to an item atomically, conditions included; moto's
    backends keep no locks, so two concurrent conditional updates can both pass their
    condition. Serialising the backend (connections are still accepted concurrently)
    gives the tests DynamoDB's guarantees, so a race found here is a race in Lift.
    """

    def __init__(self) -> None:
        inner = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        def application(environ: Any, start_response: Any) -> Any:
            with lock:
                return list(inner(environ, start_response))

        self._server = make_server(
            "127.0.0.1", 0, application, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture(scope="session")
def moto_url(aws_env: None) -> Iterator[str]:
    server = AtomicMotoServer()
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def ddb(moto_url: str) -> Any:
    return boto3.session.Session().client("dynamodb", region_name=REGION, endpoint_url=moto_url)


@pytest.fixture(autouse=True)
def _no_leaked_endpoint() -> Iterator[None]:
    """A test that points Lift at a local endpoint must put the environment back."""
    before = os.environ.get("LIFT_WS_MANAGEMENT_ENDPOINT")
    yield
    assert os.environ.get("LIFT_WS_MANAGEMENT_ENDPOINT") == before, "endpoint leaked"


class FakeClock:
    """A settable clock; starts at the current second."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def table(ddb: Any) -> Iterator[str]:
    """A fresh DynamoDB table name, its table deleted after the test."""
    name = f"table-{uuid.uuid4().hex[:12]}"
    yield name
    with contextlib.suppress(ddb.exceptions.ResourceNotFoundException):
        ddb.delete_table(TableName=name)
