"""The local ``@connections`` endpoint: the request handler, the registry and the HTTP server."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import pytest

from lift.local.connections import (
    MAX_PAYLOAD_BYTES,
    ConnectionRegistry,
    ConnectionsServer,
    MemoryConnectionRegistry,
    handle_connections_request,
    iso_timestamp,
    parse_connections_path,
)


@pytest.fixture
def registry() -> MemoryConnectionRegistry:
    registry = MemoryConnectionRegistry()
    registry.open("conn-1", source_ip="203.0.113.7", user_agent="Mozilla/5.0")
    return registry


@pytest.fixture
def server() -> Iterator[ConnectionsServer]:
    with ConnectionsServer(stage="prod") as running:
        yield running


def _request(method: str, url: str, body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


# --- handle_connections_request ---------------------------------------------------------


def test_post_delivers_exact_bytes_and_answers_200_empty(
    registry: MemoryConnectionRegistry,
) -> None:
    payload = bytes(range(256)) * 3
    status, headers, body = handle_connections_request(
        registry, "POST", "/prod/@connections/conn-1", payload, stage="prod"
    )
    assert (status, body) == (200, b"")
    assert headers["x-amzn-RequestId"]
    assert "x-amzn-ErrorType" not in headers
    assert registry.messages("conn-1") == [payload]


def test_path_without_stage_and_with_query_is_accepted(
    registry: MemoryConnectionRegistry,
) -> None:
    status, _, _ = handle_connections_request(
        registry, "POST", "/@connections/conn-1?x=1", b"a", stage="prod"
    )
    assert status == 200
    status, _, _ = handle_connections_request(registry, "post", "/any/@connections/conn-1", b"b")
    assert status == 200
    assert registry.messages("conn-1") == [b"a", b"b"]


def test_connection_id_is_url_decoded() -> None:
    registry = MemoryConnectionRegistry()
    registry.open("L0SM9cOFvHcCIhw=")
    status, _, _ = handle_connections_request(
        registry, "POST", "/prod/%40connections/L0SM9cOFvHcCIhw%3D", b"x", stage="prod"
    )
    assert status == 200
    assert registry.messages("L0SM9cOFvHcCIhw=") == [b"x"]


def test_get_answers_wire_json(registry: MemoryConnectionRegistry) -> None:
    status, headers, body = handle_connections_request(
        registry, "GET", "/prod/@connections/conn-1", b"", stage="prod"
    )
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    info = json.loads(body)
    assert info["identity"] == {"sourceIp": "203.0.113.7", "userAgent": "Mozilla/5.0"}
    assert set(info) == {"connectedAt", "identity", "lastActiveAt"}
    connected = datetime.fromisoformat(info["connectedAt"].replace("Z", "+00:00"))
    assert info["connectedAt"].endswith("Z")
    assert abs((datetime.now(timezone.utc) - connected).total_seconds()) < 60


def test_get_accepts_wire_named_info_from_a_registry() -> None:
    class WireRegistry:
        def post(self, connection_id: str, data: bytes) -> bool:
            return False

        def info(self, connection_id: str) -> dict[str, Any] | None:
            return {
                "connectedAt": "2024-05-01T10:00:00.000Z",
                "lastActiveAt": "2024-05-01T10:00:05.000Z",
                "identity": {"sourceIp": "198.51.100.1", "userAgent": "ua"},
            }

        def delete(self, connection_id: str) -> bool:
            return False

    registry = WireRegistry()
    assert isinstance(registry, ConnectionRegistry)
    status, _, body = handle_connections_request(registry, "GET", "/@connections/c", b"")
    assert status == 200
    assert json.loads(body) == {
        "connectedAt": "2024-05-01T10:00:00.000Z",
        "identity": {"sourceIp": "198.51.100.1", "userAgent": "ua"},
        "lastActiveAt": "2024-05-01T10:00:05.000Z",
    }


def test_delete_answers_204_then_410(registry: MemoryConnectionRegistry) -> None:
    status, _, body = handle_connections_request(registry, "DELETE", "/@connections/conn-1", b"")
    assert (status, body) == (204, b"")
    assert not registry.is_open("conn-1")
    assert registry.deleted == ["conn-1"]
    status, headers, body = handle_connections_request(
        registry, "DELETE", "/@connections/conn-1", b""
    )
    assert status == 410
    assert headers["x-amzn-ErrorType"] == "GoneException"
    assert registry.deleted == ["conn-1"]


@pytest.mark.parametrize("method", ["POST", "GET", "DELETE"])
def test_unknown_or_closed_connection_is_gone(
    registry: MemoryConnectionRegistry, method: str
) -> None:
    registry.close("conn-1")
    for connection_id in ("conn-1", "never-opened"):
        status, headers, body = handle_connections_request(
            registry, method, f"/prod/@connections/{connection_id}", b"x", stage="prod"
        )
        assert status == 410
        assert headers["x-amzn-ErrorType"] == "GoneException"
        assert headers["Content-Type"] == "application/json"
        assert json.loads(body) == {"message": "Gone"}


def test_payload_limit_is_128_kib(registry: MemoryConnectionRegistry) -> None:
    status, _, _ = handle_connections_request(
        registry, "POST", "/@connections/conn-1", b"a" * MAX_PAYLOAD_BYTES
    )
    assert status == 200
    status, headers, body = handle_connections_request(
        registry, "POST", "/@connections/conn-1", b"a" * (MAX_PAYLOAD_BYTES + 1)
    )
    assert status == 413
    assert headers["x-amzn-ErrorType"] == "PayloadTooLargeException"
    assert "message" in json.loads(body)
    assert len(registry.messages("conn-1")) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/prod",
        "/prod/@connections",
        "/prod/@connections/",
        "/prod/other/conn-1",
        "/prod/@connections/conn-1/extra",
        "/a/b/@connections/conn-1",
    ],
)
def test_other_paths_are_404(registry: MemoryConnectionRegistry, path: str) -> None:
    status, headers, _ = handle_connections_request(registry, "POST", path, b"x", stage="prod")
    assert status == 404
    assert headers["x-amzn-ErrorType"] == "NotFoundException"
    assert registry.messages("conn-1") == []


@pytest.mark.parametrize("method", ["PUT", "PATCH", "HEAD"])
def test_other_methods_are_405(registry: MemoryConnectionRegistry, method: str) -> None:
    status, headers, _ = handle_connections_request(
        registry, method, "/prod/@connections/conn-1", b"x", stage="prod"
    )
    assert status == 405
    assert headers["Allow"] == "DELETE, GET, POST"


def test_another_stage_is_forbidden(registry: MemoryConnectionRegistry) -> None:
    status, headers, _ = handle_connections_request(
        registry, "POST", "/dev/@connections/conn-1", b"x", stage="prod"
    )
    assert status == 403
    assert headers["x-amzn-ErrorType"] == "ForbiddenException"
    assert registry.messages("conn-1") == []


def test_throttled_answers_429_and_delivers_nothing(registry: MemoryConnectionRegistry) -> None:
    status, headers, body = handle_connections_request(
        registry, "POST", "/@connections/conn-1", b"x", throttled=True
    )
    assert status == 429
    assert headers["x-amzn-ErrorType"] == "LimitExceededException"
    assert json.loads(body) == {"message": "Rate exceeded"}
    assert registry.messages("conn-1") == []


def test_failing_registry_answers_500_without_internal_text() -> None:
    class Broken(MemoryConnectionRegistry):
        def post(self, connection_id: str, data: bytes) -> bool:
            raise RuntimeError("database password is hunter2")

    status, headers, body = handle_connections_request(Broken(), "POST", "/@connections/c", b"x")
    assert status == 500
    assert headers["x-amzn-ErrorType"] == "InternalServerErrorException"
    assert b"hunter2" not in body


def test_parse_connections_path() -> None:
    assert parse_connections_path("/s/@connections/a%2Fb") == "a/b"
    assert parse_connections_path("/@connections/x", "prod") == "x"
    assert parse_connections_path("/@connections") is None
    with pytest.raises(LookupError):
        parse_connections_path("/dev/@connections/x", "prod")


def test_iso_timestamp_is_utc_milliseconds_z() -> None:
    moment = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=timezone.utc)
    assert iso_timestamp(moment) == "2024-05-01T10:00:00.123Z"
    assert iso_timestamp(moment.replace(tzinfo=None)) == "2024-05-01T10:00:00.123Z"


# --- MemoryConnectionRegistry -----------------------------------------------------------


def test_memory_registry_lifecycle() -> None:
    registry = MemoryConnectionRegistry()
    assert not registry.is_open("a")
    assert registry.info("a") is None
    assert registry.post("a", b"x") is False
    registry.open("a")
    assert registry.is_open("a")
    first = registry.info("a")
    assert first is not None
    assert first["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "testclient"}
    time.sleep(0.002)
    assert registry.post("a", b"x") is True
    second = registry.info("a")
    assert second is not None
    assert second["LastActiveAt"] > first["LastActiveAt"]
    assert second["ConnectedAt"] == first["ConnectedAt"]
    registry.close("a")
    assert registry.post("a", b"y") is False
    assert registry.delete("a") is False
    assert registry.messages("a") == [b"x"]
    assert registry.deleted == []


def test_memory_registry_is_thread_safe() -> None:
    registry = MemoryConnectionRegistry()
    registry.open("a")

    def post(index: int) -> bool:
        return registry.post("a", str(index).encode())

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(post, range(2000)))
    assert all(results)
    assert sorted(int(m) for m in registry.messages("a")) == list(range(2000))


# --- ConnectionsServer over real HTTP ---------------------------------------------------


def test_server_binds_an_ephemeral_port_and_builds_urls(server: ConnectionsServer) -> None:
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.endpoint == f"http://127.0.0.1:{server.port}/prod"
    assert isinstance(server.registry, MemoryConnectionRegistry)


def test_server_post_get_delete_with_urllib(server: ConnectionsServer) -> None:
    registry = server.registry
    assert isinstance(registry, MemoryConnectionRegistry)
    registry.open("abc=", source_ip="192.0.2.10", user_agent="curl/8")
    url = f"{server.endpoint}/@connections/abc%3D"

    status, headers, body = _request("POST", url, b'{"hello": "world"}')
    assert (status, body) == (200, b"")
    assert headers["Content-Length"] == "0"
    assert registry.messages("abc=") == [b'{"hello": "world"}']

    status, headers, body = _request("GET", url)
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["identity"] == {"sourceIp": "192.0.2.10", "userAgent": "curl/8"}

    status, _, body = _request("DELETE", url)
    assert (status, body) == (204, b"")
    assert registry.deleted == ["abc="]

    status, headers, body = _request("POST", url, b"late")
    assert status == 410
    assert headers["x-amzn-ErrorType"] == "GoneException"
    assert json.loads(body) == {"message": "Gone"}

    assert server.calls == [("POST", "abc="), ("GET", "abc="), ("DELETE", "abc="), ("POST", "abc=")]
    assert server.request_count == 4


def test_server_404_405_and_413(server: ConnectionsServer) -> None:
    status, headers, _ = _request("GET", f"{server.url}/nothing/here/at/all")
    assert status == 404
    assert headers["x-amzn-ErrorType"] == "NotFoundException"
    status, headers, _ = _request("PUT", f"{server.endpoint}/@connections/x", b"x")
    assert status == 405
    status, headers, _ = _request(
        "POST", f"{server.endpoint}/@connections/x", b"a" * (MAX_PAYLOAD_BYTES + 1)
    )
    assert status == 413
    assert headers["x-amzn-ErrorType"] == "PayloadTooLargeException"
    assert server.request_count == 3
    assert server.calls == [("PUT", "x"), ("POST", "x")]


def test_server_throttle_first_then_serves(server: ConnectionsServer) -> None:
    registry = server.registry
    assert isinstance(registry, MemoryConnectionRegistry)
    registry.open("c")
    server.throttle_first = 2
    url = f"{server.endpoint}/@connections/c"
    statuses = [_request("POST", url, str(i).encode())[0] for i in range(3)]
    assert statuses == [429, 429, 200]
    assert registry.messages("c") == [b"2"]
    assert server.throttle_first == 0
    server.reset()
    assert (server.calls, server.request_count) == ([], 0)


def test_server_latency_is_added_per_request() -> None:
    with ConnectionsServer(latency=0.1) as server:
        started = time.perf_counter()
        status, _, _ = _request("POST", f"{server.endpoint}/@connections/none", b"x")
        elapsed = time.perf_counter() - started
    assert status == 410
    assert elapsed >= 0.1


def test_server_keeps_connections_alive(server: ConnectionsServer) -> None:
    registry = server.registry
    assert isinstance(registry, MemoryConnectionRegistry)
    registry.open("k")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        sockets = []
        for index in range(5):
            connection.request("POST", "/prod/@connections/k", body=str(index).encode())
            response = connection.getresponse()
            assert response.status == 200
            assert response.read() == b""
            sockets.append(connection.sock)
        connection.request("GET", "/prod/@connections/k")
        response = connection.getresponse()
        assert json.loads(response.read())["identity"]["userAgent"] == "testclient"
        assert connection.sock is sockets[0]
        assert len({id(s) for s in sockets}) == 1
    finally:
        connection.close()
    assert registry.messages("k") == [str(i).encode() for i in range(5)]


def test_server_reads_chunked_bodies(server: ConnectionsServer) -> None:
    registry = server.registry
    assert isinstance(registry, MemoryConnectionRegistry)
    registry.open("c")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request(
            "POST", "/prod/@connections/c", body=iter([b"hello ", b"chunked"]), encode_chunked=True
        )
        response = connection.getresponse()
        assert response.status == 200
        response.read()
    finally:
        connection.close()
    assert registry.messages("c") == [b"hello chunked"]


def test_server_handles_1000_concurrent_posts(server: ConnectionsServer) -> None:
    registry = server.registry
    assert isinstance(registry, MemoryConnectionRegistry)
    for index in range(10):
        registry.open(f"c{index}")

    def post(index: int) -> int:
        url = f"{server.endpoint}/@connections/c{index % 10}"
        return _request("POST", url, f"m{index}".encode())[0]

    with ThreadPoolExecutor(max_workers=64) as pool:
        statuses = list(pool.map(post, range(1000)))
    assert statuses == [200] * 1000
    assert server.request_count == 1000
    delivered = sorted(m for index in range(10) for m in registry.messages(f"c{index}"))
    assert delivered == sorted(f"m{index}".encode() for index in range(1000))


def test_server_stop_frees_the_port_and_idle_connections() -> None:
    server = ConnectionsServer().start()
    port = server.port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/test/@connections/x")
    assert connection.getresponse().read()
    server.stop()
    server.stop()  # idempotent
    kept_alive = connection.sock
    assert kept_alive is not None
    kept_alive.settimeout(2)
    assert kept_alive.recv(1) == b""  # the server closed the idle keep-alive connection
    connection.close()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/test/@connections/x", timeout=2)


def test_server_uses_a_given_registry() -> None:
    registry = MemoryConnectionRegistry()
    registry.open("given")
    with ConnectionsServer(registry, stage="dev") as server:
        assert server.registry is registry
        status, _, _ = _request("POST", f"{server.endpoint}/@connections/given", b"z")
    assert status == 200
    assert registry.messages("given") == [b"z"]


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8001"),
        ("0.0.0.0", "http://127.0.0.1:8001"),
        ("::", "http://[::1]:8001"),
        ("::1", "http://[::1]:8001"),
        ("localhost", "http://localhost:8001"),
    ],
)
def test_server_urls_are_usable_for_any_bind_address(host: str, url: str) -> None:
    server = ConnectionsServer(host=host, port=8001, stage="dev")
    assert server.url == url
    assert server.endpoint == f"{url}/dev"
