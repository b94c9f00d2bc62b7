# snippet: retries.py
from botocore.credentials import Credentials

from lift.local.connections import ConnectionsServer, MemoryConnectionRegistry
from lift.websocket import ManagementClient, ThrottledError

registry = MemoryConnectionRegistry()
registry.open("conn-1")
delays: list[float] = []

# A local @connections endpoint whose first three answers are 429 LimitExceededException.
with ConnectionsServer(registry, throttle_first=3) as server:
    client = ManagementClient(
        server.endpoint,
        "us-east-1",
        credentials=Credentials("local", "local"),
        max_attempts=5,  # tries in all
        base_delay=0.05,
        max_delay=1.0,
        sleep=delays.append,  # time.sleep by default
    )
    client.post_to_connection("conn-1", b"hello")  # succeeds on the 4th try

    server.throttle_first = 5  # now every try is throttled
    try:
        client.post_to_connection("conn-1", b"again")
    except ThrottledError as error:
        assert error.aws_code == "LimitExceededException"
    else:
        raise AssertionError("expected ThrottledError")

assert registry.messages("conn-1") == [b"hello"]
# Full jitter: retry n sleeps uniform(0, min(max_delay, base_delay * 2**n)).
assert len(delays) == 3 + 4
for attempt, delay in enumerate(delays[:3]):
    assert 0 <= delay <= min(1.0, 0.05 * 2**attempt)
