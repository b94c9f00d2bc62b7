"""Shared helpers for the benchmark scripts: timing, a fake Lambda context, tables."""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lift.apigw.lambda_context import LambdaContext

__all__ = [
    "start_child",
    "stop_child",
    "timing_arguments",
    "FakeLambdaContext",
    "Timing",
    "format_table",
    "median",
    "time_interleaved",
    "verdict",
]


def FakeLambdaContext() -> LambdaContext:
    """The Lambda context benchmarks pass: a fixed request id and a long deadline."""
    return LambdaContext(
        "bench-fn",
        memory_limit_in_mb=512,
        timeout=900.0,
        region="eu-west-1",
        aws_request_id="5f3c8b1e-2d6a-4a0f-9b1e-7c2d4e6f8a90",
    )


@dataclass
class Timing:
    """Per-call cost of one subject: every repeat's figure and their median."""

    name: str
    per_call_ns: list[float] = field(default_factory=list)

    @property
    def median_us(self) -> float:
        """Median cost of one call, in microseconds."""
        return statistics.median(self.per_call_ns) / 1000.0


def _batch(func: Callable[[], Any], iterations: int) -> float:
    """Nanoseconds per call over ``iterations`` calls, with the collector paused."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in range(iterations):
            func()
        elapsed = time.perf_counter_ns() - start
    finally:
        gc.enable()
    return elapsed / iterations


def time_interleaved(
    subjects: Sequence[tuple[str, Callable[[], Any]]],
    *,
    iterations: int,
    repeats: int,
    warmup: int,
) -> list[Timing]:
    """Time each subject ``repeats`` times, ``iterations`` calls per repeat.

    Every subject is warmed up first. Repeats are interleaved (A, B, C, A, B, C...) so
    drift in machine load is shared between subjects, and every batch runs with a fresh
    ``gc.collect()`` and the collector disabled, the same for every framework.
    """
    for _, func in subjects:
        for _ in range(warmup):
            func()
    timings = [Timing(name) for name, _ in subjects]
    for _ in range(repeats):
        for timing, (_, func) in zip(timings, subjects, strict=True):
            timing.per_call_ns.append(_batch(func, iterations))
    return timings


def median(values: Sequence[float]) -> float:
    """The median of ``values``."""
    return float(statistics.median(values))


def verdict(ratio: float, target: float) -> str:
    """``PASS`` when ``ratio`` is at most ``target``, else ``FAIL``."""
    return "PASS" if ratio <= target else "FAIL"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table with left-aligned first column and right-aligned others."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(width) if index == 0 else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def timing_arguments(
    description: str, argv: list[str] | None, *, iterations: int, quick_iterations: int
) -> argparse.Namespace:
    """``--quick``, ``--iterations``, ``--repeats`` and ``--json``, with defaults filled in."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a few iterations only")
    parser.add_argument("--iterations", type=int, help="calls per repeat")
    parser.add_argument("--repeats", type=int, help="repeats (the median is reported)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    args.iterations = args.iterations or (quick_iterations if args.quick else iterations)
    args.repeats = args.repeats or (3 if args.quick else 9)
    return args


def start_child(
    script: str, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """Run ``python script *args``: a server that prints one JSON line of facts (its URLs)
    and serves until its stdin closes. Returns the process and those facts."""
    child = subprocess.Popen(
        [sys.executable, script, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line:
        child.kill()
        child.wait()
        raise RuntimeError(f"{script} {' '.join(args)} did not start")
    return child, json.loads(line)


def stop_child(child: subprocess.Popen[str], timeout: float = 20.0) -> None:
    """Close the child's stdin (its signal to stop) and wait; kill it after ``timeout``."""
    if child.stdin is not None:
        child.stdin.close()
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
