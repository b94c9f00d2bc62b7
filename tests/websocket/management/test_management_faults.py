"""The @connections client against an endpoint that hangs, drips, resets and answers garbage.

Every call ends by its deadline; a POST that may have arrived is never sent twice by
itself (the server counts what it received); one bad answer in a broadcast is that
id's failure only; sending from many threads leaves no socket or thread behind.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lift import App
from lift.observability import default_logger
from lift.testing import events, lambda_context
from lift.websocket import (
    Connection,
    MemoryConnectionStore,
)
from lift.websocket.broadcast import MAX_WORKERS, broadcast
from lift.websocket.connections import Connections
from lift.websocket.errors import (
    ConnectionGoneError,
    ManagementAPIError,
    ManagementTimeoutError,
    ThrottledError,
)
from lift.websocket.management import ENDPOINT_ENV, ManagementClient, clear_clients, transport
from tests.fault_server import FaultServer, self_signed_certificate, wait_until

REGION = "eu-west-1"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", ENDPOINT_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


def _client(server: FaultServer, **options: float) -> ManagementClient:
    settings: dict[str, float] = {"timeout": 0.5, "call_timeout": 2.0, "base_delay": 0.01}
    settings.update(options)
    return ManagementClient(server.endpoint, REGION, **settings)  # type: ignore[arg-type]


# --- a POST that may have arrived is sent once ---------------------------------------------


@pytest.mark.timeout(30)
def test_post_that_times_out_is_sent_once_and_reported(server: FaultServer) -> None:
    client = _client(server)
    started = time.monotonic()
    with pytest.raises(ManagementTimeoutError) as caught:
        client.post_to_connection("hang-1", b"hello")
    elapsed = time.monotonic() - started
    assert caught.value.maybe_delivered is True
    assert (caught.value.status_code, caught.value.code) == (504, "MANAGEMENT_API_TIMEOUT")
    assert elapsed < 3.0  # one 0.5 s request, not ten
    time.sleep(0.3)  # a resend, if any, would have arrived by now
    assert server.count("hang-1") == 1


@pytest.mark.timeout(30)
def test_post_reset_after_sending_is_reported_not_resent(server: FaultServer) -> None:
    client = _client(server)
    with pytest.raises(ManagementAPIError) as caught:
        client.post_to_connection("reset-1", b"hello")
    assert caught.value.aws_code == "ConnectionReset"
    assert caught.value.maybe_delivered is True
    assert caught.value.status_code == 502
    assert server.count("reset-1") == 1


@pytest.mark.timeout(30)
def test_retry_unsafe_opts_in_to_resending(server: FaultServer) -> None:
    client = _client(server, max_attempts=3)
    with pytest.raises(ManagementAPIError):
        client.post_to_connection("reset-2", b"hello", retry_unsafe=True)
    assert server.count("reset-2") == 3
    everywhere = ManagementClient(server.endpoint, REGION, retry_unsafe=True, max_attempts=2)
    with pytest.raises(ManagementAPIError):
        everywhere.post_to_connection("reset-3", b"hello")
    assert server.count("reset-3") == 2


@pytest.mark.timeout(30)
def test_idempotent_calls_are_retried_after_a_reset(server: FaultServer) -> None:
    client = _client(server, max_attempts=3)
    with pytest.raises(ManagementAPIError) as caught:
        client.get_connection("reset-4")
    assert caught.value.aws_code == "ConnectionReset"
    assert server.count("reset-4") == 3
    with pytest.raises(ManagementAPIError):
        client.delete_connection("reset-5")
    assert server.count("reset-5") == 3


@pytest.mark.timeout(30)
def test_connect_failures_are_retried_because_nothing_was_sent() -> None:
    with FaultServer() as gone:
        endpoint = gone.endpoint
    sleeps: list[float] = []
    client = ManagementClient(endpoint, REGION, max_attempts=4, sleep=sleeps.append)
    with pytest.raises(ManagementAPIError) as caught:
        client.post_to_connection("ok-1", b"x")
    assert caught.value.aws_code == "EndpointConnectionError"
    assert caught.value.maybe_delivered is False
    assert len(sleeps) == 3  # four tries in all


# --- every call ends by its deadline -----------------------------------------------------


@pytest.mark.timeout(30)
def test_a_dripping_answer_is_cut_at_the_deadline(server: FaultServer) -> None:
    # Each byte comes well within the 0.5 s socket timeout; only a hard deadline ends it.
    client = _client(server, timeout=0.8, call_timeout=0.8)
    started = time.monotonic()
    with pytest.raises(ManagementTimeoutError) as caught:
        client.post_to_connection("drip-1", b"x")
    elapsed = time.monotonic() - started
    assert 0.7 < elapsed < 3.0
    assert caught.value.maybe_delivered is True
    assert server.count("drip-1") == 1


@pytest.mark.timeout(30)
def test_throttling_stops_at_the_call_deadline(server: FaultServer) -> None:
    client = _client(server, max_attempts=1000, base_delay=0.05, max_delay=0.1, call_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(ManagementAPIError) as caught:
        client.post_to_connection("throttle-1", b"x")
    # ThrottledError, or a timeout when the last try had too little time to finish
    assert isinstance(caught.value, (ThrottledError, ManagementTimeoutError))
    assert time.monotonic() - started < 2.5
    assert 2 < server.count("throttle-1") < 1000


@pytest.mark.timeout(30)
def test_a_deadline_already_past_sends_nothing(server: FaultServer) -> None:
    client = _client(server)
    with pytest.raises(ManagementTimeoutError) as caught:
        client.post_to_connection("ok-1", b"x", deadline=time.monotonic() - 1)
    assert caught.value.maybe_delivered is False
    assert server.count("ok-1") == 0


@pytest.mark.timeout(30)
def test_a_send_never_outlives_the_lambda(
    server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENDPOINT_ENV, server.endpoint)
    monkeypatch.setenv("AWS_REGION", REGION)
    app = App()
    took: list[float] = []

    @app.websocket("$default")
    def send(ctx: object) -> None:
        started = time.monotonic()
        try:
            ctx.websocket.post_to("hang-lambda", {"hi": 1})  # type: ignore[attr-defined]
        finally:
            took.append(time.monotonic() - started)

    try:
        response = app(
            events.websocket_message(body='{"action":"x"}', domain_name="localhost", stage="prod"),
            lambda_context(timeout=1.5),  # 1.5 s left; the client's own limit is 10 s
        )
    finally:
        clear_clients()
    assert response["statusCode"] == 504
    assert "MANAGEMENT_API_TIMEOUT" in response["body"]
    assert took[0] < 1.5  # within the Lambda's remaining time
    assert server.count("hang-lambda") == 1


# --- broadcasts: a deadline, and one result per id -------------------------------------------


@pytest.mark.timeout(30)
def test_broadcast_with_a_stalled_answer_ends_by_its_deadline(server: FaultServer) -> None:
    client = _client(server, timeout=5.0, call_timeout=5.0, broadcast_timeout=1.0)
    ids = ["hang-b", "ok-1", "ok-2", "drip-b", "ok-3"]
    started = time.monotonic()
    result = broadcast(client, ids, b"news")
    elapsed = time.monotonic() - started
    assert elapsed < 3.5
    assert sorted(result.delivered) == ["ok-1", "ok-2", "ok-3"]
    assert set(result.failed) == {"hang-b", "drip-b"}
    for error in result.failed.values():
        assert isinstance(error, ManagementTimeoutError)
        assert error.maybe_delivered is True
    assert server.count("hang-b") == 1 and server.count("drip-b") == 1


@pytest.mark.timeout(30)
def test_broadcast_ids_not_started_by_the_deadline_are_failed_unsent(server: FaultServer) -> None:
    client = _client(server, timeout=5.0, call_timeout=5.0, broadcast_timeout=0.6)
    ids = [f"hang-q{index}" for index in range(4)] + [f"ok-q{index}" for index in range(4)]
    result = client.post_many(ids, b"x", concurrency=2)
    assert all(isinstance(outcome, ManagementTimeoutError) for outcome in result)
    unsent = [ids[i] for i, outcome in enumerate(result) if not outcome.maybe_delivered]  # type: ignore[union-attr]
    assert len(unsent) == 6  # two workers, each stuck on its first id
    assert all(server.count(connection_id) == 0 for connection_id in unsent)


@pytest.mark.timeout(30)
def test_malformed_answers_are_per_id_failures_and_gone_ids_are_pruned(
    server: FaultServer,
) -> None:
    store = MemoryConnectionStore()
    ids = [
        "ok-1",
        "garbage-1",
        "gone-1",
        "nostatus-1",
        "bigheader-1",
        "bigbody-1",
        "reset-1",
        "ok-2",
        "gone-2",
    ]
    for connection_id in ids:
        store.save(Connection(connection_id=connection_id))
    client = _client(server)
    connections = Connections(client, store, default_logger(), deadline=time.monotonic() + 5)
    result = connections.broadcast(ids, {"type": "update"})
    assert sorted(result.delivered) == ["ok-1", "ok-2"]
    assert sorted(result.gone) == ["gone-1", "gone-2"]
    assert set(result.failed) == {"garbage-1", "nostatus-1", "bigheader-1", "bigbody-1", "reset-1"}
    for connection_id in ("garbage-1", "nostatus-1", "bigheader-1", "bigbody-1"):
        error = result.failed[connection_id]
        assert isinstance(error, ManagementAPIError)
        assert error.aws_code == "MalformedResponse"
        assert error.maybe_delivered is True
    assert store.get("gone-1") is None and store.get("gone-2") is None
    assert store.get("garbage-1") is not None  # a failure is not a gone connection
    assert server.counts() == {connection_id: 1 for connection_id in ids}  # nothing resent


@pytest.mark.timeout(30)
def test_a_gone_answer_is_final_and_typed(server: FaultServer) -> None:
    client = _client(server)
    with pytest.raises(ConnectionGoneError):
        client.post_to_connection("gone-x", b"x")
    assert server.count("gone-x") == 1


@pytest.mark.timeout(30)
def test_broadcast_through_any_api_is_bounded_too() -> None:
    release = threading.Event()

    class Stalling:
        """A ManagementAPI whose sends to ``stuck`` never return on their own."""

        def post_to_connection(self, connection_id: str, data: bytes) -> None:
            if connection_id == "stuck":
                release.wait(10)

        def get_connection(self, connection_id: str) -> dict[str, object]:
            return {}

        def delete_connection(self, connection_id: str) -> None:
            pass

    started = time.monotonic()
    try:
        result = broadcast(Stalling(), ["a", "stuck", "b"], b"x", deadline=time.monotonic() + 0.5)
    finally:
        release.set()
    assert time.monotonic() - started < 2.5
    assert sorted(result.delivered) == ["a", "b"]
    assert isinstance(result.failed["stuck"], ManagementTimeoutError)


@pytest.mark.timeout(30)
def test_keep_alive_connections_are_reused_but_not_when_idle_too_long(
    server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _client(server)
    for _ in range(3):
        client.post_to_connection("ok-keep", b"x")
    assert server.connections == 1
    monkeypatch.setattr(transport, "MAX_IDLE_SECONDS", 0.0)
    client.post_to_connection("ok-keep", b"x")
    assert server.connections == 2  # a connection that idled too long is not trusted
    assert server.count("ok-keep") == 4


# --- the same over TLS ----------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_tls_sends_verify_the_certificate_and_keep_their_deadlines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed_certificate(tmp_path)
    with FaultServer(tls=(cert, key)) as tls_server:
        untrusting = _client(tls_server, max_attempts=1)
        with pytest.raises(ManagementAPIError) as caught:
            untrusting.post_to_connection("ok-untrusted", b"x")
        assert caught.value.maybe_delivered is False  # the handshake failed: nothing sent
        assert tls_server.count("ok-untrusted") == 0

        monkeypatch.setenv("AWS_CA_BUNDLE", cert)
        client = _client(tls_server, timeout=0.8, call_timeout=0.8)
        client.post_to_connection("ok-tls", b"hello")
        client.post_to_connection("ok-tls", b"again")
        assert client.idle_connections == 1
        started = time.monotonic()
        with pytest.raises(ManagementTimeoutError) as timed_out:
            client.post_to_connection("drip-tls", b"x")
        assert time.monotonic() - started < 3.0
        assert timed_out.value.maybe_delivered is True
        with pytest.raises(ManagementAPIError) as reset:
            client.post_to_connection("reset-tls", b"x")
        assert reset.value.maybe_delivered is True
        assert [tls_server.count(name) for name in ("ok-tls", "drip-tls", "reset-tls")] == [
            2,
            1,
            1,
        ]


# --- nothing leaks -------------------------------------------------------------------------


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _client_threads() -> int:
    """Live threads, leaving out the test server's one thread per connection."""
    return sum(1 for t in threading.enumerate() if "process_request" not in t.name)


@pytest.mark.timeout(60)
def test_sends_from_many_threads_leave_no_socket_or_thread(server: FaultServer) -> None:
    client = _client(server)
    client.post_to_connection("ok-warm", b"x")  # starts the deadline watchdog once
    client.post_many(["ok-w1", "ok-w2"], b"x")
    fds, threads = _open_fds(), _client_threads()
    for round_ in range(10):  # 100 short-lived threads, ten at a time
        with ThreadPoolExecutor(max_workers=10) as pool:
            names = [f"ok-{round_}-{index}" for index in range(50)]
            list(pool.map(lambda name: client.post_to_connection(name, b"x"), names))
    assert wait_until(lambda: _client_threads() == threads)
    # At most one idle connection per concurrent sender (two descriptors each: the
    # server runs in this process); sending from dead threads kept none open.
    assert client.idle_connections <= 10
    assert _open_fds() - fds <= 2 * 10
    client.close()
    assert wait_until(lambda: _open_fds() <= fds)
    assert server.count("ok-9-49") == 1


@pytest.mark.timeout(60)
def test_broadcasts_reuse_a_bounded_set_of_threads_and_sockets(server: FaultServer) -> None:
    client = _client(server)
    ids = [f"ok-{index}" for index in range(200)]
    client.post_many(ids, b"x", concurrency=MAX_WORKERS)
    fds, threads = _open_fds(), _client_threads()
    for _ in range(5):
        assert client.post_many(ids, b"x", concurrency=MAX_WORKERS) == [None] * len(ids)
    assert _client_threads() == threads
    # 1000 sends; connections stay within the pool's bound (two descriptors each here).
    assert client.idle_connections <= MAX_WORKERS
    assert _open_fds() - fds <= 2 * MAX_WORKERS
    assert server.count("ok-0") == 6
