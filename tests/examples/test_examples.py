"""The example apps end to end: chat, legacy vs native, and async progress."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from examples.chat import app as chat_module
from examples.chat.__main__ import STATIC_DIR
from examples.legacy import legacy_app, native_app
from examples.progress import app as progress_module
from examples.progress.jobs import QUEUE_NAME, QUEUE_URL_ENV, LocalJobQueue, SQSJobQueue

from lift import App
from lift.local.gateway import Gateway
from lift.testing import (
    TestWebSocket,
    WebSocketRefused,
    WebSocketTestClient,
    events,
    lambda_context,
)
from lift.websocket import DynamoDBConnectionStore, MemoryConnectionStore
from lift.websocket.stores import CONNECTIONS_TABLE_ENV

REGION = "eu-west-1"


def drain(ws: TestWebSocket) -> list[Any]:
    """Every frame delivered to ``ws`` so far (the app runs synchronously in the client)."""
    return [ws.receive_json() for _ in range(ws.pending)]


def of_type(frames: list[Any], kind: str) -> list[Any]:
    return [frame for frame in frames if frame.get("type") == kind]


# -- chat (more in test_chat_example.py) ------------------------------------------------
def test_chat_store_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONNECTIONS_TABLE_ENV, raising=False)
    options = chat_module.create_app().websocket_options
    assert options is not None and isinstance(options.store, MemoryConnectionStore)
    monkeypatch.setenv(CONNECTIONS_TABLE_ENV, "chat-connections")
    options = chat_module.create_app().websocket_options
    assert options is not None and isinstance(options.store, DynamoDBConnectionStore)
    assert options.store.table_name == "chat-connections"


def test_chat_page_is_served_by_the_gateway_next_to_the_inspector(aws_env: None) -> None:
    with Gateway(chat_module.create_app(), quiet=True, static_dir=STATIC_DIR) as gateway:

        def get(path: str) -> tuple[int, str, bytes]:
            try:
                with urllib.request.urlopen(gateway.url + path, timeout=5) as response:
                    return response.status, response.headers["Content-Type"], response.read()
            except urllib.error.HTTPError as error:
                return error.code, error.headers.get("Content-Type", ""), error.read()

        status, kind, body = get("/")
        assert status == 200 and kind.startswith("text/html")
        assert b'<script src="app.js">' in body
        status, kind, body = get("/app.js")
        assert status == 200 and "javascript" in kind and b"mintDevToken" in body
        assert get("/style.css")[0] == 200
        assert b"inspector" in get("/_lift/")[2].lower()
        assert get("/%2e%2e/app.py")[0] >= 400  # nothing outside static_dir
        assert get("/missing.js")[0] >= 400
        assert "Page" in gateway.describe()


# -- legacy and native -------------------------------------------------------------------
Transcript = list[tuple[str, str, Any]]


def run_script(app: App) -> Transcript:
    """Drive ``app`` through one script; record what every client saw after each step."""
    transcript: Transcript = []
    with WebSocketTestClient(app) as client:
        sockets: dict[str, TestWebSocket] = {}

        def step(name: str, action: Callable[[], Any]) -> None:
            action()
            for user, ws in sockets.items():
                for frame in drain(ws):
                    transcript.append((name, user, frame))

        def connect(user: str) -> None:
            sockets[user] = client.connect(query={"user": user})

        def refused() -> None:
            with pytest.raises(WebSocketRefused) as error:
                client.connect()
            transcript.append(("anonymous", "-", error.value.status_code))

        def close(user: str) -> None:
            sockets.pop(user).close()

        step("alice connects", lambda: connect("alice"))
        step("bob connects", lambda: connect("bob"))
        step("anonymous", refused)
        step("alice echo", lambda: sockets["alice"].send_json({"action": "echo", "text": "hi"}))
        step(
            "bob broadcast",
            lambda: sockets["bob"].send_json({"action": "broadcast", "text": "hello all"}),
        )
        step("alice who", lambda: sockets["alice"].send_json({"action": "who"}))
        step("bob dances", lambda: sockets["bob"].send_json({"action": "dance"}))
        step("bob rambles", lambda: sockets["bob"].send_text("not json"))
        step("carol connects", lambda: connect("carol"))
        step("bob leaves", lambda: close("bob"))
        step("carol who", lambda: sockets["carol"].send_json({"action": "who"}))
        step("carol broadcast", lambda: sockets["carol"].send_json({"action": "broadcast"}))
    return transcript


EXPECTED: Transcript = [
    ("bob connects", "alice", {"type": "joined", "user": "bob"}),
    ("anonymous", "-", 400),
    ("alice echo", "alice", {"type": "echo", "text": "hi"}),
    ("bob broadcast", "alice", {"type": "message", "from": "bob", "text": "hello all"}),
    ("bob broadcast", "bob", {"type": "message", "from": "bob", "text": "hello all"}),
    ("alice who", "alice", {"type": "who", "users": ["alice", "bob"]}),
    ("bob dances", "bob", legacy_app.UNKNOWN_ACTION),
    ("bob rambles", "bob", legacy_app.UNKNOWN_ACTION),
    ("carol connects", "alice", {"type": "joined", "user": "carol"}),
    ("carol connects", "bob", {"type": "joined", "user": "carol"}),
    ("bob leaves", "alice", {"type": "left", "user": "bob"}),
    ("bob leaves", "carol", {"type": "left", "user": "bob"}),
    ("carol who", "carol", {"type": "who", "users": ["alice", "carol"]}),
    ("carol broadcast", "alice", {"type": "message", "from": "carol", "text": None}),
    ("carol broadcast", "carol", {"type": "message", "from": "carol", "text": None}),
]


def test_legacy_app_uses_the_legacy_registration() -> None:
    app = legacy_app.create_app()
    assert set(app.websocket_routes) == {"$connect", "$default", "$disconnect"}
    native = native_app.create_app()
    assert {"echo", "broadcast", "who"} <= set(native.websocket_routes)


def test_legacy_and_native_apps_give_clients_the_same_transcript() -> None:
    legacy = run_script(legacy_app.create_app())
    native = run_script(native_app.create_app())
    assert legacy == EXPECTED
    assert native == EXPECTED


def who_from_a_second_container(first: App, second: App) -> list[Any]:
    """Connect alice and bob through ``first``; ask ``who`` through ``second``."""
    with WebSocketTestClient(first) as client:
        alice = client.connect(query={"user": "alice"})
        client.connect(query={"user": "bob"})
        drain(alice)
        # Later events land in another Lambda container: another App instance.
        client.app = second
        second.management_api = client.management_api
        alice.send_json({"action": "who"})
        return drain(alice)


def test_native_app_keeps_no_state_of_its_own() -> None:
    """Two containers sharing a store serve one conversation; the legacy app cannot."""
    store = MemoryConnectionStore()
    native = who_from_a_second_container(native_app.create_app(store), native_app.create_app(store))
    assert native == [{"type": "who", "users": ["alice", "bob"]}]
    legacy = who_from_a_second_container(legacy_app.create_app(), legacy_app.create_app())
    assert legacy == [{"type": "who", "users": []}]  # its hand-kept dict is elsewhere


# -- progress ------------------------------------------------------------------------------
class RecordingQueue:
    """A JobQueue that keeps the jobs, so a test decides when the worker runs."""

    def __init__(self) -> None:
        self.jobs: list[dict[str, Any]] = []

    def send(self, job: dict[str, Any]) -> None:
        self.jobs.append(job)


class BrokenQueue:
    def send(self, job: dict[str, Any]) -> None:
        raise ConnectionError("queue unreachable")


def run_worker(app: App, *bodies: Any) -> Any:
    """Invoke the app with the SQS event Lambda delivers for ``bodies``."""
    return app(events.sqs(*bodies, queue=QUEUE_NAME, region=REGION), lambda_context())


def assert_progress_then_complete(frames: list[Any], request_id: str, steps: int) -> None:
    *progress, complete = frames
    assert len(progress) == steps
    assert all(f["type"] == "progress" and f["request_id"] == request_id for f in progress)
    percentages = [f["percentage"] for f in progress]
    assert percentages == sorted(set(percentages)), "strictly increasing"
    assert percentages[-1] == 100 and percentages[0] > 0
    assert progress[0]["message"] == f"Step 1 of {steps} done"
    assert complete == {
        "type": "complete",
        "request_id": request_id,
        "result": {"steps": steps, "total": steps * (steps + 1) // 2},
    }


def test_progress_acknowledges_and_the_sqs_worker_reports_progress() -> None:
    queue = RecordingQueue()
    app = progress_module.create_app(queue=queue, step_delay=0)
    with WebSocketTestClient(app) as client:
        ws = client.connect()
        ws.send_json({"action": "start", "request_id": "r-1", "steps": 4})
        assert drain(ws) == [{"type": "acknowledgment", "request_id": "r-1"}]
        [job] = queue.jobs
        assert job["connection_id"] == ws.connection_id
        assert job["endpoint"] == f"https://{client.domain_name}/test"

        assert run_worker(app, job) == {"batchItemFailures": []}
        frames = drain(ws)
        assert [f["percentage"] for f in frames[:-1]] == [25, 50, 75, 100]
        assert_progress_then_complete(frames, "r-1", 4)


def test_progress_refuses_bad_requests_with_an_error_frame() -> None:
    queue = RecordingQueue()
    app = progress_module.create_app(queue=queue, step_delay=0)
    with WebSocketTestClient(app) as client:
        ws = client.connect()
        for steps in (0, progress_module.MAX_STEPS + 1, "3", True, None, 2.5):
            response = ws.send_json({"action": "start", "request_id": "r-2", "steps": steps})
            assert response is not None and response["statusCode"] == 400
            [frame] = drain(ws)
            assert frame["type"] == "error" and frame["code"] == "INVALID_STEPS"
            assert frame["request_id"] == "r-2" and frame["message"]
        for request_id in (None, "", "x" * 65, "with space", 7):
            ws.send_json({"action": "start", "request_id": request_id, "steps": 2})
            [frame] = drain(ws)
            assert frame["code"] == "INVALID_REQUEST_ID"
            assert frame["request_id"] == request_id
        ws.send_json({"action": "stop"})
        assert drain(ws)[0]["code"] == "UNKNOWN_ACTION"
        assert queue.jobs == []


def test_progress_reports_a_queue_outage_after_the_ack() -> None:
    app = progress_module.create_app(queue=BrokenQueue(), step_delay=0)
    with WebSocketTestClient(app) as client:
        ws = client.connect()
        response = ws.send_json({"action": "start", "request_id": "r-3", "steps": 2})
        assert response is not None and response["statusCode"] == 503
        assert [f["type"] for f in drain(ws)] == ["acknowledgment", "error"]
        assert "queue unreachable" not in response.get("body", "")


def test_progress_worker_failure_is_reported_to_the_client() -> None:
    queue = RecordingQueue()
    app = progress_module.create_app(queue=queue, step_delay=0)
    with WebSocketTestClient(app) as client:
        ws = client.connect()
        ws.send_json({"action": "start", "request_id": "r-4", "steps": 5, "fail_at": 3})
        drain(ws)
        assert run_worker(app, *queue.jobs) == {"batchItemFailures": []}
        frames = drain(ws)
        assert [f["type"] for f in frames] == ["progress", "progress", "error"]
        assert frames[-1] == {
            "type": "error",
            "request_id": "r-4",
            "code": "JOB_FAILED",
            "message": "Step 3 of 5 failed",
        }


def test_progress_worker_batch_reports_only_the_bad_records() -> None:
    queue = RecordingQueue()
    app = progress_module.create_app(queue=queue, step_delay=0)
    with WebSocketTestClient(app) as client:
        a, b = client.connect(), client.connect()
        a.send_json({"action": "start", "request_id": "a", "steps": 2})
        b.send_json({"action": "start", "request_id": "b", "steps": 3})
        b.close()  # b leaves before its job runs: the job ends quietly
        event = events.sqs(*queue.jobs, "not json", queue=QUEUE_NAME, region=REGION)
        bad = event["Records"][2]["messageId"]
        assert app(event, lambda_context()) == {"batchItemFailures": [{"itemIdentifier": bad}]}
        assert_progress_then_complete(drain(a)[1:], "a", 2)


def test_progress_local_queue_runs_the_worker_in_a_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(QUEUE_URL_ENV, raising=False)
    app = progress_module.create_app(step_delay=0.01)  # the default queue when local
    with WebSocketTestClient(app) as client:
        ws = client.connect()
        ws.send_json({"action": "start", "request_id": "r-5", "steps": 10})
        frames = [ws.receive_json(timeout=5) for _ in range(12)]
        assert frames[0] == {"type": "acknowledgment", "request_id": "r-5"}
        assert_progress_then_complete(frames[1:], "r-5", 10)


def test_progress_jobs_travel_through_sqs(moto_url: str) -> None:
    sqs = boto3.session.Session().client("sqs", region_name=REGION, endpoint_url=moto_url)
    queue_url = sqs.create_queue(QueueName=f"progress-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    app = progress_module.create_app(queue=SQSJobQueue(queue_url, client=sqs), step_delay=0)
    with WebSocketTestClient(app) as client:
        ws = client.connect()
        ws.send_json({"action": "start", "request_id": "r-6", "steps": 3})
        assert drain(ws) == [{"type": "acknowledgment", "request_id": "r-6"}]
        [message] = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
        assert run_worker(app, message["Body"]) == {"batchItemFailures": []}
        assert_progress_then_complete(drain(ws), "r-6", 3)


def test_progress_worker_posts_over_http_without_a_websocket_event(
    aws_env: None,
) -> None:
    """On the local gateway with boto3-style HTTP calls: the worker signs its own posts."""
    from websockets.sync.client import connect

    queue = RecordingQueue()
    app = progress_module.create_app(queue=queue, step_delay=0)
    with Gateway(app, quiet=True, direct_management=False, stream=io.StringIO()) as gateway:
        assert app.management_api is None
        with connect(gateway.ws_url, open_timeout=5) as ws:
            ws.send(json.dumps({"action": "start", "request_id": "r-7", "steps": 3}))
            ack = json.loads(ws.recv(timeout=5))
            assert ack == {"type": "acknowledgment", "request_id": "r-7"}
            deadline = time.monotonic() + 5  # the ack is sent just before the enqueue
            while not queue.jobs and time.monotonic() < deadline:
                time.sleep(0.01)
            [job] = queue.jobs
            assert job["endpoint"] == gateway.endpoint
            assert run_worker(app, job) == {"batchItemFailures": []}
            frames = [json.loads(ws.recv(timeout=5)) for _ in range(4)]
            assert_progress_then_complete(frames, "r-7", 3)


def test_local_job_queue_survives_a_failing_handler() -> None:
    calls: list[dict[str, Any]] = []

    def failing(event: dict[str, Any], context: Any) -> None:
        calls.append(event)
        raise RuntimeError("boom")

    queue = LocalJobQueue(failing)
    queue.send({"n": 1})
    queue.join(timeout=5)
    [event] = calls
    record = event["Records"][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(f":{QUEUE_NAME}")
    assert json.loads(record["body"]) == {"n": 1}
