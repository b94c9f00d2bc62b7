"""Smoke tests: ``benchmarks/lift_style.py`` and ``benchmarks/report.py`` in quick mode.

They check that the scripts run and print (or write) every figure; no timing threshold
is ever asserted.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import REPO

BENCHMARKS = REPO / "benchmarks"
NUMBER = r"\d+\.\d+"
LIFT_STYLE_SUBJECTS = (
    "route lookup: HTTPRouter.match /users/{id}/posts/{post_id}",
    "route lookup: WebSocket route key (dict)",
    "handler execution: MESSAGE $default",
    "auto connections: $connect + $disconnect pair",
    "auto connections: MESSAGE reading ctx.websocket.connection",
    "legacy pattern: handle('MESSAGE', '/message') + as_websocket()",
    "5 middleware: pass-through",
    "5 middleware: request_logging + websocket_metrics + 3",
)


def run(script: str, *args: str, timeout: float = 110) -> str:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_lift_style_prints_a_figure_for_every_subject() -> None:
    output = run("lift_style.py", "--quick")
    assert re.search(r"^Python \d+\.\d+\.\d+; 3 repeats x 200 calls; median$", output, re.M)
    for subject in LIFT_STYLE_SUBJECTS:
        row = re.search(rf"^{re.escape(subject)}\s+({NUMBER})\s+({NUMBER})x$", output, re.M)
        assert row is not None, f"no row for {subject}:\n{output}"
        assert float(row.group(1)) > 0
    baseline = re.search(r"^handler execution: MESSAGE \$default\s+\S+\s+(\S+)x$", output, re.M)
    assert baseline is not None and baseline.group(1) == "1.00"


def test_lift_style_json_has_every_subject() -> None:
    document = json.loads(run("lift_style.py", "--quick", "--json"))
    assert document["baseline"] == "handler execution: MESSAGE $default"
    assert document["iterations"] == 200 and document["repeats"] == 3
    names = [entry["name"] for entry in document["results"]]
    assert names == list(LIFT_STYLE_SUBJECTS)
    assert all(entry["us"] > 0 for entry in document["results"])


@pytest.mark.timeout(400)
def test_report_writes_markdown_and_plot_from_every_script(tmp_path: Path) -> None:
    output = run("report.py", "--quick", "--out", str(tmp_path), timeout=380)

    markdown = (tmp_path / "performance.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Performance\n")
    assert "not measured" not in markdown, markdown
    for heading in (
        "## Machine",
        "## Targets",
        "## Dispatch cost per event",
        "## Cold import time",
        "## Broadcast",
        "## Lift-style benchmarks",
        "## WebSocket authentication",
        "## Local gateway under load",
        "## Channels",
        "## Cold start to first message",
        "## Fan-out at scale",
        "## How to reproduce",
    ):
        assert f"\n{heading}\n" in markdown, heading
    assert f"| CPU count | {os.cpu_count()} |" in markdown
    assert re.search(r"^\| Python \| CPython|^\| Python \| \w+ \d+\.\d+", markdown, re.M)
    assert "python benchmarks/report.py" in markdown
    assert "![Dispatch cost, broadcast time and gateway echo latency](performance.png)" in markdown
    checks = re.findall(r"^\| (.+?) \| (\S+) \| ([<>=]+ \S+) \| (PASS|FAIL) \|$", markdown, re.M)
    names = [name for name, *_ in checks]
    for expected in (
        "dispatch: WebSocket, lift / chalice",
        "import time: lift / chalice",
        "broadcast: speedup vs sequential (25 connections)",
        "broadcast: lift time / floor (50 connections)",
        "gateway: clients connected",
        "gateway: p99 echo round trip (ms)",
        "channels: listing added to delivery time",
        "cold start to first send: lift / chalice",
    ):
        assert expected in names, f"{expected} missing from {names}"
    for subject in LIFT_STYLE_SUBJECTS:
        assert re.search(rf"^\| {re.escape(subject)} \| {NUMBER} \| {NUMBER}x \|$", markdown, re.M)
    assert re.search(r"^\| 25 \| \d+ \| \d+ \| \d+ \| \d+\.\dx \| \d+\.\d\dx \|$", markdown, re.M)
    assert re.search(rf"^\| REST v1 GET /users/{{id}} \| powertools \| {NUMBER} \|", markdown, re.M)
    assert re.search(r"^\| clients connected \| 100/100 \|$", markdown, re.M)

    png = (tmp_path / "performance.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (2400, 560)  # four panels

    assert re.search(r"^Targets$", output, re.M)
    assert re.search(
        rf"^dispatch: WebSocket, lift / chalice\s+{NUMBER}\s+<= 2\s+(PASS|FAIL)$", output, re.M
    ), output
    assert f"wrote {tmp_path / 'performance.md'} and {tmp_path / 'performance.png'}" in output
