"""Logging over stdlib ``logging``: one JSON pipeline for Lift, botocore and the app."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from lift import App, Context
from lift.observability import JSONFormatter, JSONLogger, configure_logging
from lift.observability import formatter as formatter_module
from lift.testing import events
from tests.paths import source_env


def record(created: float, message: str = "hi", name: str = "lift", **extra: Any) -> Any:
    rec = logging.LogRecord(name, logging.INFO, __file__, 1, message, (), None)
    rec.created = created
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        (1714564800.0, "2024-05-01T12:00:00.000Z"),
        (1714564800.9999, "2024-05-01T12:00:00.999Z"),
        (1714564799.9996, "2024-05-01T11:59:59.999Z"),
        (1714564801.0004, "2024-05-01T12:00:01.000Z"),
    ],
)
def test_timestamps_come_from_the_records_one_clock_read(created: float, expected: str) -> None:
    line = json.loads(JSONFormatter().format(record(created)))
    assert line["timestamp"] == expected


def test_json_logger_timestamps_never_go_back_at_a_second_boundary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ticks = iter([1714564800.9996, 1714564801.0001, 1714564801.0002])
    now = {"t": 0.0}

    def clock() -> float:
        now["t"] = next(ticks)
        return now["t"]

    monkeypatch.setattr(time, "time", clock)
    monkeypatch.setattr(time, "time_ns", lambda: int(clock() * 1e9))
    stream = io.StringIO()
    logger = JSONLogger(stream=stream)
    logger.info("first")
    logger.info("second")
    stamps = [json.loads(line)["timestamp"] for line in stream.getvalue().splitlines()]
    assert stamps[0] == "2024-05-01T12:00:00.999Z"
    assert stamps[1].startswith("2024-05-01T12:00:01.00")
    assert stamps == sorted(stamps)


def test_third_party_records_format_as_the_same_json() -> None:
    rec = record(
        1714564800.5,
        "Sending %s to %s",
        name="botocore.endpoint",
        token="abc",
        operation="PostToConnection",
    )
    rec.args = ("request", "execute-api")
    line = json.loads(JSONFormatter().format(rec))
    assert line == {
        "timestamp": "2024-05-01T12:00:00.500Z",
        "level": "INFO",
        "message": "Sending request to execute-api",
        "logger": "botocore.endpoint",
        "token": "[REDACTED]",
        "operation": "PostToConnection",
    }


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_json_logger_hands_records_to_the_applications_logger() -> None:
    target = logging.getLogger("tests.app-pipeline")
    collect = Collect()
    collect.setFormatter(JSONFormatter())
    target.addHandler(collect)
    target.propagate = False
    try:
        logger = JSONLogger(logger=target, service="chat").bind(request_id="r-1")
        logger.info("Sent", connection_id="c-1", authorization="Bearer x")
        logger.debug("not at INFO")
        (rec,) = collect.records
        assert (rec.name, rec.levelno, rec.getMessage()) == ("tests.app-pipeline", 20, "Sent")
        line = json.loads(collect.format(rec))
        assert line["service"] == "chat" and line["request_id"] == "r-1"
        assert line["connection_id"] == "c-1" and line["authorization"] == "[REDACTED]"
        assert line["logger"] == "tests.app-pipeline"
    finally:
        target.removeHandler(collect)


@pytest.fixture
def clean_logging() -> Iterator[None]:
    root = logging.getLogger()
    lift_logger = logging.getLogger("lift")
    saved = (
        list(root.handlers),
        root.level,
        list(lift_logger.handlers),
        lift_logger.propagate,
        formatter_module._configured,
    )
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    lift_logger.handlers[:] = saved[2]
    lift_logger.propagate = saved[3]
    formatter_module._configured = saved[4]


@pytest.mark.usefixtures("clean_logging")
def test_configure_logging_puts_lift_botocore_and_the_app_on_one_pipeline() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    app = App()  # the default logger: the stdlib "lift" logger

    @app.get("/")
    def index(ctx: Context) -> dict[str, bool]:
        ctx.logger.info("Handled", user_id="ana")
        logging.getLogger("botocore.credentials").info("Found credentials in environment")
        logging.getLogger("myapp").warning("Careful", extra={"order": 7})
        logging.getLogger("botocore.hooks").debug("below the level")
        return {"ok": True}

    assert app(events.http_v1("GET", "/"))["statusCode"] == 200
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line.get("logger"), line["message"]) for line in lines] == [
        (None, "Handled"),
        ("botocore.credentials", "Found credentials in environment"),
        ("myapp", "Careful"),
    ]
    assert lines[0]["user_id"] == "ana" and "request_id" in lines[0]
    assert lines[2]["order"] == 7 and lines[2]["level"] == "WARNING"


def run(code: str) -> subprocess.CompletedProcess[str]:
    env = source_env()
    env.pop("LIFT_LOG_LEVEL", None)
    env.pop("AWS_LAMBDA_LOG_LEVEL", None)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )


def test_default_output_is_one_json_line_on_stdout_even_with_a_root_handler() -> None:
    code = (
        "import logging, sys\n"
        "logging.basicConfig(stream=sys.stderr, format='ROOT %(message)s')\n"
        "from lift.observability import JSONLogger\n"
        "JSONLogger().info('Hello', n=1)\n"
    )
    result = run(code)
    (line,) = result.stdout.splitlines()
    assert json.loads(line)["message"] == "Hello" and json.loads(line)["n"] == 1
    assert "ROOT" not in result.stderr  # not printed twice through the root handler


def test_a_handler_the_application_put_on_lift_is_used_instead() -> None:
    code = (
        "import logging, sys\n"
        "from lift.observability import JSONFormatter, JSONLogger\n"
        "handler = logging.StreamHandler(sys.stderr)\n"
        "handler.setFormatter(JSONFormatter())\n"
        "logging.getLogger('lift').addHandler(handler)\n"
        "JSONLogger().warning('Mine', password='hunter2')\n"
    )
    result = run(code)
    assert result.stdout == ""
    line = json.loads(result.stderr)
    assert line["message"] == "Mine" and line["password"] == "[REDACTED]"


def test_importing_lift_and_building_an_app_does_not_import_logging() -> None:
    code = "import sys\nimport lift\nlift.App()\nprint('logging' in sys.modules)\n"
    assert run(code).stdout.strip() == "False"
