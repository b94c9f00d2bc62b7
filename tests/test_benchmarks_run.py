"""The benchmark scripts run end to end in quick mode and print their figures.

These are smoke tests: no timing threshold is asserted, only that each script works
and reports every figure and target check.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.paths import REPO

BENCHMARKS = REPO / "benchmarks"
NUMBER = r"\d+\.\d+"
VERDICT = r"(PASS|FAIL)"


def run_quick(script: str) -> str:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def table_row(output: str, name: str) -> re.Match[str] | None:
    return re.search(rf"^{re.escape(name)}\s+({NUMBER})\s+({NUMBER})x$", output, re.MULTILINE)


def test_dispatch_benchmark_reports_every_framework_and_both_targets() -> None:
    output = run_quick("dispatch.py")
    rest, websocket = output.split("WebSocket MESSAGE", 1)
    for name in ("lift", "chalice", "powertools"):
        row = table_row(rest, name)
        assert row is not None, f"no REST row for {name}:\n{output}"
        assert float(row.group(1)) > 0
    lift_row = table_row(rest, "lift")
    assert lift_row is not None and lift_row.group(2) == "1.00"
    for name in ("lift", "chalice"):
        assert table_row(websocket, name) is not None, f"no WebSocket row for {name}:\n{output}"
    assert re.search(
        rf"^REST: lift {NUMBER} µs vs fastest peer \((chalice|powertools)\) {NUMBER} µs "
        rf"-> ratio {NUMBER} \(target <= 0\.50\): {VERDICT}$",
        output,
        re.MULTILINE,
    ), output
    assert re.search(
        rf"^WebSocket: lift {NUMBER} µs vs chalice {NUMBER} µs "
        rf"-> ratio {NUMBER} \(target <= 2\.00\): {VERDICT}$",
        output,
        re.MULTILINE,
    ), output


def test_import_time_benchmark_reports_each_module_and_the_target() -> None:
    output = run_quick("import_time.py")
    for module in ("lift", "chalice", "aws_lambda_powertools.event_handler"):
        row = re.search(
            rf"^{re.escape(module)}\s+({NUMBER})\s+(-?{NUMBER})\s+({NUMBER})x$",
            output,
            re.MULTILINE,
        )
        assert row is not None, f"no row for {module}:\n{output}"
        assert float(row.group(1)) > 0
    match = re.search(
        rf"^Import: lift ({NUMBER}) ms vs chalice ({NUMBER}) ms -> ratio ({NUMBER}) "
        rf"\(target <= 0\.75\): {VERDICT}$",
        output,
        re.MULTILINE,
    )
    assert match is not None, output
    lift_ms, chalice_ms, ratio = (float(match.group(i)) for i in (1, 2, 3))
    assert abs(ratio - lift_ms / chalice_ms) < 0.02


def test_coldstart_benchmark_reports_every_scenario_and_the_three_targets() -> None:
    output = run_quick("coldstart.py")
    assert re.search(r"median of 3 fresh processes each.* (\d+) frames reached", output), output
    frames = int(re.search(r"(\d+) frames reached", output).group(1))  # type: ignore[union-attr]
    assert frames == 3 * 3 + 3  # 3 runs x 3 subjects, plus the bytecode warm-up runs
    for scenario, subjects in (
        ("send", ("lift", "chalice", "boto3")),
        ("auth", ("lift", "chalice", "boto3")),
        ("dynamodb", ("lift", "chalice", "boto3")),
        ("import", ("lift", "chalice")),
    ):
        for subject in subjects:
            row = re.search(
                rf"^{scenario}\s+{subject}\s+({NUMBER})\s+({NUMBER})\s+({NUMBER})x$",
                output,
                re.MULTILINE,
            )
            assert row is not None, f"no row for {scenario} {subject}:\n{output}"
            assert float(row.group(1)) > 0 and float(row.group(2)) > 0
    for name in (
        "cold start to first send: lift / chalice",
        "import of an auth + auto_connections app: lift / chalice",
        "peak memory, send: lift / chalice",
    ):
        # A ratio of differences: on a busy machine a cheap import can measure below zero.
        figure = rf"-?{NUMBER}"
        assert re.search(rf"^{re.escape(name)}\s+{figure}\s+<= \S+\s+{VERDICT}$", output, re.M), (
            output
        )
