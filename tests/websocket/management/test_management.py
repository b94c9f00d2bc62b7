"""ManagementClient (SigV4-signed HTTP) against the local @connections server."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from lift.errors import LiftError
from lift.local.connections import ConnectionsServer, MemoryConnectionRegistry
from lift.websocket.errors import (
    ConnectionGoneError,
    ForbiddenError,
    ManagementAPIError,
    PayloadTooLargeError,
    ThrottledError,
)
from lift.websocket.management import (
    ENDPOINT_ENV,
    MAX_PAYLOAD_BYTES,
    ManagementAPI,
    ManagementClient,
    ManagementHTTPError,
    clear_clients,
    client_for,
    resolve_endpoint,
    resolve_region,
)

REGION = "eu-west-1"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", ENDPOINT_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[ConnectionsServer]:
    with ConnectionsServer(stage="prod") as running:
        yield running


@pytest.fixture
def registry(server: ConnectionsServer) -> MemoryConnectionRegistry:
    registry = server.registry
    assert isinstance(registry, MemoryConnectionRegistry)
    return registry


class Sleeps:
    """A sleep that records delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(server: ConnectionsServer, sleeps: Sleeps) -> ManagementClient:
    return ManagementClient(server.endpoint, REGION, sleep=sleeps)


# --- the operations against a real HTTP endpoint ---------------------------------------


def test_client_satisfies_the_protocol(client: ManagementClient) -> None:
    assert isinstance(client, ManagementAPI)


def test_post_arrives_with_exact_bytes(
    client: ManagementClient, registry: MemoryConnectionRegistry, server: ConnectionsServer
) -> None:
    registry.open("L0SM9cOFvHcCIhw=")
    payloads = [
        b'{"action":"chat","text":"h\xc3\xa9"}',
        bytes(range(256)),
        b"a" * MAX_PAYLOAD_BYTES,
    ]
    for payload in payloads:
        client.post_to_connection("L0SM9cOFvHcCIhw=", payload)
    assert registry.messages("L0SM9cOFvHcCIhw=") == payloads
    assert server.calls == [("POST", "L0SM9cOFvHcCIhw=")] * 3


def test_get_connection_parses_aware_datetimes(
    client: ManagementClient, registry: MemoryConnectionRegistry
) -> None:
    registry.open("c1", source_ip="203.0.113.9", user_agent="Mozilla/5.0 (X11)")
    client.post_to_connection("c1", b"touch")
    info = client.get_connection("c1")
    assert info["Identity"] == {"SourceIp": "203.0.113.9", "UserAgent": "Mozilla/5.0 (X11)"}
    connected, last_active = info["ConnectedAt"], info["LastActiveAt"]
    assert isinstance(connected, datetime)
    assert connected.utcoffset() == timedelta(0)
    assert last_active.utcoffset() == timedelta(0)
    assert connected <= last_active
    assert abs(datetime.now(timezone.utc) - connected) < timedelta(minutes=1)
    assert set(info) == {"ConnectedAt", "LastActiveAt", "Identity"}


def test_delete_closes_then_second_delete_is_gone(
    client: ManagementClient, registry: MemoryConnectionRegistry
) -> None:
    registry.open("c1")
    client.delete_connection("c1")
    assert not registry.is_open("c1")
    assert registry.deleted == ["c1"]
    with pytest.raises(ConnectionGoneError) as caught:
        client.delete_connection("c1")
    assert caught.value.connection_id == "c1"
    assert registry.deleted == ["c1"]


@pytest.mark.parametrize("operation", ["post", "get", "delete"])
def test_gone_connection_raises_connection_gone(
    client: ManagementClient, server: ConnectionsServer, operation: str
) -> None:
    with pytest.raises(ConnectionGoneError) as caught:
        if operation == "post":
            client.post_to_connection("nobody", b"x")
        elif operation == "get":
            client.get_connection("nobody")
        else:
            client.delete_connection("nobody")
    error = caught.value
    assert (error.status_code, error.code, error.connection_id) == (
        410,
        "CONNECTION_GONE",
        "nobody",
    )
    assert isinstance(error.__cause__, ManagementHTTPError)
    assert error.__cause__.aws_code == "GoneException"
    assert error.__cause__.status == 410
    assert "GoneException" not in error.message
    assert len(server.calls) == 1  # gone is final: never retried


def test_closed_connection_is_gone(
    client: ManagementClient, registry: MemoryConnectionRegistry
) -> None:
    registry.open("c1")
    client.post_to_connection("c1", b"before")
    registry.close("c1")
    with pytest.raises(ConnectionGoneError):
        client.post_to_connection("c1", b"after")
    assert registry.messages("c1") == [b"before"]


def test_oversize_payload_is_refused_before_any_call(
    client: ManagementClient, registry: MemoryConnectionRegistry, server: ConnectionsServer
) -> None:
    registry.open("c1")
    with pytest.raises(PayloadTooLargeError) as caught:
        client.post_to_connection("c1", b"a" * (MAX_PAYLOAD_BYTES + 1))
    assert (caught.value.size, caught.value.limit) == (MAX_PAYLOAD_BYTES + 1, MAX_PAYLOAD_BYTES)
    assert caught.value.status_code == 413
    assert server.request_count == 0
    assert registry.messages("c1") == []


def test_server_payload_too_large_maps_to_payload_too_large(
    server: ConnectionsServer, registry: MemoryConnectionRegistry
) -> None:
    class Lenient(ManagementClient):
        """Skips the local size check so the server's 413 is exercised."""

        def post_to_connection(self, connection_id: str, data: bytes) -> None:
            self._call("POST", connection_id, data, time.monotonic() + 5, None)

    registry.open("c1")
    oversize = b"a" * (MAX_PAYLOAD_BYTES + 1)
    with pytest.raises(PayloadTooLargeError) as caught:
        Lenient(server.endpoint, REGION).post_to_connection("c1", oversize)
    assert caught.value.size == MAX_PAYLOAD_BYTES + 1
    assert isinstance(caught.value.__cause__, ManagementHTTPError)
    assert caught.value.__cause__.status == 413
    assert registry.messages("c1") == []


def test_forbidden_raises_forbidden_without_retry(
    server: ConnectionsServer, registry: MemoryConnectionRegistry, sleeps: Sleeps
) -> None:
    registry.open("c1")
    wrong_stage = ManagementClient(f"{server.url}/dev", REGION, sleep=sleeps)
    with pytest.raises(ForbiddenError) as caught:
        wrong_stage.post_to_connection("c1", b"x")
    assert caught.value.aws_code == "Forbidden"
    assert server.request_count == 1
    assert sleeps.delays == []
    assert registry.messages("c1") == []


def test_throttling_is_retried_with_full_jitter_then_succeeds(
    client: ManagementClient,
    registry: MemoryConnectionRegistry,
    server: ConnectionsServer,
    sleeps: Sleeps,
) -> None:
    registry.open("c1")
    server.throttle_first = 2
    client.post_to_connection("c1", b"finally")
    assert registry.messages("c1") == [b"finally"]
    assert server.calls == [("POST", "c1")] * 3
    assert len(sleeps.delays) == 2
    for attempt, delay in enumerate(sleeps.delays):
        assert 0 <= delay <= min(client.max_delay, client.base_delay * 2**attempt)


def test_throttling_exhausts_retries(
    server: ConnectionsServer, registry: MemoryConnectionRegistry, sleeps: Sleeps
) -> None:
    registry.open("c1")
    server.throttle_first = 100
    client = ManagementClient(server.endpoint, REGION, sleep=sleeps, max_attempts=3)
    with pytest.raises(ThrottledError) as caught:
        client.post_to_connection("c1", b"x")
    assert caught.value.aws_code == "LimitExceededException"
    assert isinstance(caught.value.__cause__, ManagementHTTPError)
    assert caught.value.__cause__.status == 429
    assert server.request_count == 3  # exactly max_attempts requests
    assert len(sleeps.delays) == 2
    assert registry.messages("c1") == []


def test_server_errors_are_retried_then_throttled_error(sleeps: Sleeps) -> None:
    class Flaky(MemoryConnectionRegistry):
        failures = 2

        def post(self, connection_id: str, data: bytes) -> bool:
            if self.failures > 0:
                self.failures -= 1
                raise RuntimeError("backend hiccup")
            return super().post(connection_id, data)

    flaky = Flaky()
    flaky.open("c1")
    with ConnectionsServer(flaky) as server:
        client = ManagementClient(server.endpoint, REGION, sleep=sleeps)
        client.post_to_connection("c1", b"ok")
        assert flaky.messages("c1") == [b"ok"]
        assert server.request_count == 3
        flaky.failures = 10
        few = ManagementClient(server.endpoint, REGION, sleep=sleeps, max_attempts=2)
        with pytest.raises(ThrottledError) as caught:
            few.post_to_connection("c1", b"never")
    assert caught.value.aws_code == "InternalServerErrorException"
    assert flaky.messages("c1") == [b"ok"]


def test_unreachable_endpoint_is_retried_then_management_error(sleeps: Sleeps) -> None:
    server = ConnectionsServer().start()
    endpoint = server.endpoint
    server.stop()
    client = ManagementClient(endpoint, REGION, sleep=sleeps, max_attempts=3)
    with pytest.raises(ManagementAPIError) as caught:
        client.post_to_connection("c1", b"x")
    assert not isinstance(caught.value, ThrottledError)
    assert caught.value.aws_code == "EndpointConnectionError"
    assert caught.value.status_code == 502
    assert str(endpoint) not in caught.value.message
    assert len(sleeps.delays) == 2


def test_backoff_is_bounded_full_jitter(server: ConnectionsServer) -> None:
    client = ManagementClient(server.endpoint, REGION, base_delay=0.05, max_delay=1.0)
    for attempt in range(10):
        ceiling = min(1.0, 0.05 * 2**attempt)
        delays = [client.backoff(attempt) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # spread over the whole range, not a fixed step


def test_max_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ManagementClient("http://127.0.0.1:1/prod", REGION, max_attempts=0)


def test_requests_are_sigv4_signed_for_execute_api(server: ConnectionsServer) -> None:
    seen: list[dict[str, str]] = []

    class Recording(MemoryConnectionRegistry):
        pass

    registry = Recording()
    registry.open("c1")
    import http.server
    import socketserver

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append({k.lower(): v for k, v in self.headers.items()})
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    with socketserver.TCPServer(("127.0.0.1", 0), Handler) as httpd:
        thread = threading.Thread(target=httpd.handle_request, daemon=True)
        thread.start()
        port = httpd.server_address[1]
        client = ManagementClient(f"http://127.0.0.1:{port}/prod", REGION)
        client.post_to_connection("L0SM9cOFvHcCIhw=", b"x")
        thread.join(timeout=5)
        client.close()
    (headers,) = seen
    authorization = headers["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert f"/{REGION}/execute-api/aws4_request" in authorization
    assert "SignedHeaders=" in authorization and "Signature=" in authorization
    assert headers["x-amz-security-token"] == "testing"
    assert "x-amz-date" in headers


def test_keep_alive_connection_is_reused(
    client: ManagementClient, registry: MemoryConnectionRegistry, server: ConnectionsServer
) -> None:
    registry.open("c1")
    for _ in range(5):
        client.post_to_connection("c1", b"x")
    assert client.idle_connections == 1  # one kept-alive connection served all five
    client.close()
    assert client.idle_connections == 0
    client.post_to_connection("c1", b"after close")
    assert registry.messages("c1")[-1] == b"after close"


def test_one_client_serves_1000_concurrent_posts(
    registry: MemoryConnectionRegistry, server: ConnectionsServer
) -> None:
    for index in range(20):
        registry.open(f"c{index}")
    client = client_for(server.endpoint, REGION)
    try:

        def post(index: int) -> None:
            client.post_to_connection(f"c{index % 20}", f"m{index}".encode())

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=50) as pool:
            list(pool.map(post, range(1000)))
        elapsed = time.perf_counter() - started
    finally:
        clear_clients()
    assert server.request_count == 1000
    delivered = sorted(m for index in range(20) for m in registry.messages(f"c{index}"))
    assert delivered == sorted(f"m{index}".encode() for index in range(1000))
    assert elapsed < 30


# --- the per-process client cache -------------------------------------------------------


def test_client_for_caches_per_endpoint_and_region() -> None:
    clear_clients()
    try:
        first = client_for("https://abc.execute-api.eu-west-1.amazonaws.com/prod", REGION)
        assert client_for("https://abc.execute-api.eu-west-1.amazonaws.com/prod/", REGION) is first
        assert (
            client_for("https://abc.execute-api.eu-west-1.amazonaws.com/dev", REGION) is not first
        )
        assert client_for(first.endpoint, "us-west-2") is not first
        clear_clients()
        assert client_for(first.endpoint, REGION) is not first
    finally:
        clear_clients()


def test_client_for_is_thread_safe() -> None:
    clear_clients()
    barrier = threading.Barrier(16)

    def get(_: int) -> ManagementClient:
        barrier.wait()
        return client_for("https://xyz.execute-api.us-west-2.amazonaws.com/prod", "us-west-2")

    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            clients = list(pool.map(get, range(16)))
    finally:
        clear_clients()
    assert len({id(c) for c in clients}) == 1


def test_import_does_not_load_boto3() -> None:
    code = (
        "import sys, lift, lift.websocket.management, lift.local.connections\n"
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules\n"
        "print('ok')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.stdout.strip() == "ok", result.stderr


# --- endpoint and region resolution -----------------------------------------------------


def _context(domain: str, stage: str = "prod", api_id: str = "a1b2c3d4e5") -> dict[str, str]:
    return {
        "routeKey": "$default",
        "eventType": "MESSAGE",
        "connectionId": "L0SM9cOFvHcCIhw=",
        "domainName": domain,
        "stage": stage,
        "apiId": api_id,
    }


def test_endpoint_from_execute_api_domain() -> None:
    context = _context("a1b2c3d4e5.execute-api.ap-southeast-2.amazonaws.com")
    assert (
        resolve_endpoint(context)
        == "https://a1b2c3d4e5.execute-api.ap-southeast-2.amazonaws.com/prod"
    )


def test_endpoint_for_custom_domain_uses_api_id_and_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    context = _context("ws.example.com", stage="live")
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    assert (
        resolve_endpoint(context) == "https://a1b2c3d4e5.execute-api.us-west-2.amazonaws.com/live"
    )
    assert (
        resolve_endpoint(context, region="eu-central-1")
        == "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/live"
    )


def test_endpoint_for_custom_domain_in_china(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "cn-north-1")
    assert (
        resolve_endpoint(_context("ws.example.cn"))
        == "https://a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn/prod"
    )


def test_endpoint_for_custom_domain_without_region_is_a_config_error() -> None:
    with pytest.raises(LiftError) as caught:
        resolve_endpoint(_context("ws.example.com"))
    error = caught.value
    assert (error.status_code, error.code) == (500, "WEBSOCKET_CONFIG_ERROR")
    assert "AWS_REGION" not in error.message
    assert "AWS_REGION" in str(error.__cause__)  # the specifics are for the log


def test_endpoint_option_and_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    context = _context("a1b2c3d4e5.execute-api.us-east-2.amazonaws.com")
    monkeypatch.setenv(ENDPOINT_ENV, "http://127.0.0.1:3001/local/")
    assert resolve_endpoint(context) == "http://127.0.0.1:3001/local"
    assert resolve_endpoint(context, option="https://mgmt.example.com/prod") == (
        "https://mgmt.example.com/prod"
    )
    assert resolve_endpoint(context, option="abc.execute-api.us-east-2.amazonaws.com/prod") == (
        "https://abc.execute-api.us-east-2.amazonaws.com/prod"
    )


def test_endpoint_without_stage_or_api_id_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    for context in (_context("ws.example.com", stage=""), _context("ws.example.com", api_id="")):
        with pytest.raises(LiftError) as caught:
            resolve_endpoint(context)
        assert caught.value.code == "WEBSOCKET_CONFIG_ERROR"


def test_region_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    execute_api = "https://a1b2c3d4e5.execute-api.sa-east-1.amazonaws.com/prod"
    assert resolve_region(execute_api) == "sa-east-1"
    assert resolve_region("a1b2c3d4e5.execute-api.us-gov-west-1.amazonaws.com") == "us-gov-west-1"
    assert resolve_region(execute_api, option="eu-north-1") == "eu-north-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ca-central-1")
    assert resolve_region("http://127.0.0.1:3001/local") == "ca-central-1"
    monkeypatch.setenv("AWS_REGION", "me-south-1")
    assert resolve_region("ws.example.com") == "me-south-1"
    # the endpoint's own region is what its signature must name
    assert resolve_region(execute_api) == "sa-east-1"


def test_region_is_never_a_silent_default() -> None:
    for where in ("http://127.0.0.1:3001/local", "ws.example.com", ""):
        with pytest.raises(LiftError) as caught:
            resolve_region(where)
        assert caught.value.code == "WEBSOCKET_CONFIG_ERROR"
        assert caught.value.message == "The WebSocket management region is not configured"


# --- fan-out on the event loop ------------------------------------------------------------


def test_post_many_reports_each_outcome(server: ConnectionsServer, sleeps: Sleeps) -> None:
    class Partly(MemoryConnectionRegistry):
        def post(self, connection_id: str, data: bytes) -> bool:
            if connection_id.startswith("broken"):
                raise RuntimeError("backend failure")
            return super().post(connection_id, data)

    registry = Partly()
    for connection_id in ("a", "b", "c"):
        registry.open(connection_id)
    with ConnectionsServer(registry, stage="prod") as running:
        client = ManagementClient(running.endpoint, REGION, max_attempts=2, base_delay=0.001)
        try:
            outcomes = client.post_many(["a", "gone", "b", "broken-1", "c"], b"hi", concurrency=2)
        finally:
            client.close()
    assert outcomes[0] is None and outcomes[2] is None and outcomes[4] is None
    assert isinstance(outcomes[1], ConnectionGoneError)
    assert isinstance(outcomes[3], ThrottledError)
    assert isinstance(outcomes[3].__cause__, ManagementHTTPError)
    assert [registry.messages(c) for c in ("a", "b", "c")] == [[b"hi"]] * 3


def test_post_many_retries_throttling(
    server: ConnectionsServer, registry: MemoryConnectionRegistry
) -> None:
    ids = [f"c{index}" for index in range(10)]
    for connection_id in ids:
        registry.open(connection_id)
    server.throttle_first = 4
    client = ManagementClient(server.endpoint, REGION, base_delay=0.001)
    try:
        assert client.post_many(ids, b"x", concurrency=4) == [None] * 10
    finally:
        client.close()
    assert server.request_count == 14
    assert all(registry.messages(c) == [b"x"] for c in ids)


def test_post_many_reuses_connections_and_survives_a_server_restart(
    registry: MemoryConnectionRegistry, server: ConnectionsServer
) -> None:
    ids = [f"c{index}" for index in range(50)]
    for connection_id in ids:
        registry.open(connection_id)
    client = ManagementClient(server.endpoint, REGION)
    try:
        assert client.post_many(ids, b"1", concurrency=8) == [None] * 50
        assert 1 <= client.idle_connections <= 8  # kept alive for the next call
        server.stop()  # every kept-alive connection is closed by the server
        with ConnectionsServer(registry, port=server.port, stage="prod"):
            assert client.post_many(ids, b"2", concurrency=8) == [None] * 50
    finally:
        client.close()
    assert all(registry.messages(c) == [b"1", b"2"] for c in ids)


def test_post_many_refuses_oversize_before_any_call(server: ConnectionsServer) -> None:
    client = ManagementClient(server.endpoint, REGION)
    with pytest.raises(PayloadTooLargeError):
        client.post_many(["a", "b"], b"z" * (MAX_PAYLOAD_BYTES + 1))
    assert client.post_many([], b"x") == []
    assert server.request_count == 0
    assert client.idle_connections == 0
