# snippet: test_fanout_sqs.py
import json
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from lift import App
from lift.local.connections import ConnectionsServer, MemoryConnectionRegistry
from lift.websocket import DynamoDBConnectionStore, FanoutOptions, FanoutResult, WebSocketOptions
from lift.websocket.fanout_queue import SQSPoller


def make_app() -> App:
    """One Lambda instance; instances share only the queue, the table and @connections."""
    store = DynamoDBConnectionStore("connections")
    return App(websocket=WebSocketOptions(store=store, fanout=FanoutOptions(max_attempts=3)))


@pytest.fixture
def queue_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    settings = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL_SQS": f"http://{host}:{port}",
        "LIFT_DYNAMODB_ENDPOINT": f"http://{host}:{port}",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    sqs = boto3.client("sqs")
    dlq = sqs.create_queue(QueueName="fanout-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
    redrive = {"deadLetterTargetArn": arn["QueueArn"], "maxReceiveCount": "3"}
    url = sqs.create_queue(
        QueueName="fanout",
        Attributes={"VisibilityTimeout": "60", "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    monkeypatch.setenv("LIFT_FANOUT_QUEUE_URL", url)
    DynamoDBConnectionStore("connections").create_table()
    yield url
    moto.stop()


def test_a_broadcast_to_5000_goes_through_the_queue(
    queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = MemoryConnectionRegistry()
    ids = [f"conn-{i}" for i in range(5000)]
    for connection_id in ids:
        registry.open(connection_id)
    with ConnectionsServer(registry, stage="prod") as server:
        monkeypatch.setenv("LIFT_WS_MANAGEMENT_ENDPOINT", server.endpoint)
        result = make_app().connections().broadcast(ids, {"price": 42})
        assert isinstance(result, FanoutResult)
        assert (result.recipients, result.shards) == (5000, 50)

        worker = make_app()
        poller = SQSPoller(worker, queue_url, wait=0)  # Lambda's event source mapping
        while poller.poll_once():
            pass
    assert all(registry.messages(i) == [b'{"price":42}'] for i in ids)
