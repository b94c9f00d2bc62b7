"""Fixtures shared across the test suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

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


@pytest.fixture(scope="session")
def moto_url(aws_env: None) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
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
