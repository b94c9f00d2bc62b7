# snippet: deadlines.py
import time

from botocore.credentials import Credentials

from lift.local.connections import ConnectionsServer, MemoryConnectionRegistry
from lift.websocket import ManagementClient, ManagementTimeoutError
from lift.websocket.broadcast import broadcast

registry = MemoryConnectionRegistry()
for connection_id in ("a", "b", "c"):
    registry.open(connection_id)

# A local @connections endpoint that takes a whole second to answer each call.
with ConnectionsServer(registry, latency=1.0) as server:
    client = ManagementClient(
        server.endpoint,
        "us-east-1",
        credentials=Credentials("local", "local"),
        timeout=0.3,  # one HTTP request
        call_timeout=2.0,  # one call, retries included
        broadcast_timeout=0.5,  # one broadcast, every recipient included
    )
    try:
        client.post_to_connection("a", b"hello")
    except ManagementTimeoutError as error:
        # The request had left when time ran out: it may still arrive, so it is
        # reported instead of being sent again.
        assert error.maybe_delivered
        assert (error.status_code, error.code) == (504, "MANAGEMENT_API_TIMEOUT")
    else:
        raise AssertionError("expected ManagementTimeoutError")

    started = time.monotonic()
    result = broadcast(client, ["a", "b", "c"], b"news")
    assert time.monotonic() - started < 1.0  # ended by the broadcast's deadline
    assert sorted(result.failed) == ["a", "b", "c"]
    for error in result.failed.values():
        assert isinstance(error, ManagementTimeoutError) and error.maybe_delivered

    time.sleep(1.2)  # the slow endpoint finishes what it received

# Each message arrived exactly once.
assert registry.messages("a") == [b"hello", b"news"]
assert registry.messages("b") == registry.messages("c") == [b"news"]
