"""Run every benchmark and write ``docs/performance.md`` and ``docs/performance.png``.

Each benchmark script runs in its own process with ``--json``; its figures are
collected into tables (printed, and written as Markdown with the date, the machine's
facts and every target's PASS/FAIL) and a three-panel plot: dispatch cost against
Chalice and Powertools, broadcast time against the number of connections, and the
local gateway's echo round-trip distribution. A script that is missing or fails is
reported as "not measured" and the rest still run. Run from the repository root::

    .venv/bin/python benchmarks/report.py                      # full run, writes docs/
    .venv/bin/python benchmarks/report.py --quick --out /tmp/p # smoke run elsewhere

The script always exits 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import format_table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BROADCAST_SIZES = (100, 250, 500, 1000)
QUICK_BROADCAST_SIZES = (25, 50)
SCRIPT_TIMEOUT = 1200.0
Table = tuple[list[str], list[list[str]]]
_NUMERIC = re.compile(r"^[<>=]*\s*[+-]?\d[\d.,/]*\s*(x|ms|s|µs)?$")


@dataclass
class Run:
    """The outcome of one benchmark invocation: its JSON document or why there is none."""

    label: str
    data: dict[str, Any] | None = None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class Results:
    """Every run of a report."""

    quick: bool
    started: dt.datetime
    load_before: tuple[float, float, float] | None
    load_after: tuple[float, float, float] | None = None
    dispatch: Run | None = None
    import_time: Run | None = None
    broadcast: list[Run] = field(default_factory=list)
    lift_style: Run | None = None
    auth: Run | None = None
    gateway: Run | None = None
    fanout: Run | None = None
    coldstart: Run | None = None
    channels: Run | None = None

    def runs(self) -> list[Run]:
        """Every run, in report order."""
        single = [
            self.dispatch,
            self.import_time,
            self.lift_style,
            self.auth,
            self.gateway,
            self.fanout,
            self.coldstart,
            self.channels,
        ]
        return [run for run in single if run is not None] + self.broadcast


# -- running the scripts ------------------------------------------------------------------
def run_script(script: str, args: Sequence[str], label: str | None = None) -> Run:
    """Run ``benchmarks/<script> --json <args>``; parse the last JSON line it prints."""
    label = label or script
    path = HERE / script
    if not path.exists():
        return Run(label, error=f"benchmarks/{script} not found")
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    print(f"running {label} ...", flush=True)
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, str(path), "--json", *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=env,
            cwd=ROOT,
            timeout=SCRIPT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Run(label, error=f"timed out after {SCRIPT_TIMEOUT:.0f} s")
    seconds = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Run(label, error=f"exit status {done.returncode}: {tail}", seconds=seconds)
    try:
        data = json.loads(lines[-1])
    except ValueError:
        return Run(label, error="its output is not JSON", seconds=seconds)
    return Run(label, data=data, seconds=seconds)


def run_all(quick: bool) -> Results:
    """Run every benchmark script, in quick or full mode."""
    mode = ["--quick"] if quick else []
    results = Results(quick=quick, started=dt.datetime.now(dt.timezone.utc), load_before=load())
    results.dispatch = run_script("dispatch.py", mode)
    results.import_time = run_script("import_time.py", mode)
    for size in QUICK_BROADCAST_SIZES if quick else BROADCAST_SIZES:
        args = ["--connections", str(size)]
        results.broadcast.append(run_script("broadcast.py", args, f"broadcast.py ({size})"))
    results.lift_style = run_script("lift_style.py", mode)
    results.auth = run_script("auth.py", mode)
    results.gateway = run_script("gateway.py", mode)
    results.fanout = run_script("fanout.py", mode)
    results.coldstart = run_script("coldstart.py", mode)
    results.channels = run_script("channels.py", mode)
    results.load_after = load()
    return results


# -- machine facts ------------------------------------------------------------------------
def load() -> tuple[float, float, float] | None:
    """The 1, 5 and 15 minute load averages, where the platform has them."""
    try:
        return os.getloadavg()
    except (AttributeError, OSError):
        return None


def cpu_model() -> str:
    """The CPU's model name (Linux ``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def version_of(distribution: str) -> str:
    """The installed version of ``distribution``, or ``not installed``."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_facts(results: Results) -> list[tuple[str, str]]:
    """What the figures were measured on."""
    import lift

    def loads(value: tuple[float, float, float] | None) -> str:
        return " / ".join(f"{v:.2f}" for v in value) if value else "n/a"

    return [
        ("date", results.started.strftime("%Y-%m-%d %H:%M UTC")),
        ("mode", "quick (smoke run, few iterations)" if results.quick else "full"),
        ("CPU", cpu_model()),
        ("CPU count", str(os.cpu_count())),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("platform", platform.platform()),
        ("lift", lift.__version__),
        ("chalice", version_of("chalice")),
        ("aws-lambda-powertools", version_of("aws-lambda-powertools")),
        ("PyJWT", version_of("PyJWT")),
        ("boto3", version_of("boto3")),
        ("load average before (1/5/15 min)", loads(results.load_before)),
        ("load average after (1/5/15 min)", loads(results.load_after)),
    ]


# -- tables -------------------------------------------------------------------------------
def _num(value: Any, digits: int = 2) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{value:.{digits}f}" if isinstance(value, float) else "n/a"


def checks_table(results: Results) -> Table:
    """Every target the scripts check, with the measured value and PASS/FAIL."""
    rows: list[list[str]] = []
    sources: list[tuple[Run | None, str, str]] = [
        (results.dispatch, "dispatch", ""),
        (results.import_time, "import time", ""),
        *((run, "broadcast", f" ({_size(run)} connections)") for run in results.broadcast),
        (results.gateway, "gateway", ""),
        (results.fanout, "fan-out", ""),
        (results.coldstart, "cold start", ""),
        (results.channels, "channels", ""),
    ]
    for run, source, suffix in sources:
        if run is None or run.data is None:
            rows.append([f"{source}{suffix}", "not measured", "", "-"])
            continue
        for check in run.data.get("checks", []):
            target = f"{check['comparison']} {check['target']:g}"
            name = f"{check['name']}{suffix}"
            rows.append([name, _num(check["value"]), target, check["verdict"]])
    return ["check", "measured", "target", "result"], rows


def _size(run: Run) -> str:
    return run.label.split("(")[-1].rstrip(")") if "(" in run.label else "?"


def dispatch_table(run: Run) -> Table:
    """µs per event of each framework, REST and WebSocket, and the ratio against Lift."""
    assert run.data is not None
    rows: list[list[str]] = []
    for kind, title in (("rest", "REST v1 GET /users/{id}"), ("websocket", "WebSocket MESSAGE")):
        entries = run.data[kind]
        lift_us = entries[0]["us"]
        for entry in entries:
            rows.append([title, entry["name"], _num(entry["us"]), f"{entry['us'] / lift_us:.2f}x"])
    return ["event", "framework", "µs/event", "vs lift"], rows


def import_table(run: Run) -> Table:
    """Cold import time of each module."""
    assert run.data is not None
    modules = run.data["modules"]
    lift_ms = modules[0]["importtime_ms"]
    rows = [
        [
            m["name"],
            _num(m["importtime_ms"], 1),
            _num(m["wall_ms"], 1),
            f"{m['importtime_ms'] / lift_ms:.2f}x",
        ]
        for m in modules
    ]
    return ["module", "-X importtime ms", "wall - startup ms", "vs lift"], rows


def broadcast_table(runs: list[Run]) -> Table:
    """Sequential loop against Lift's concurrent broadcast, per number of connections."""
    rows: list[list[str]] = []
    for run in runs:
        if run.data is None:
            rows.append([_size(run), "not measured", "", "", "", ""])
            continue
        d = run.data
        rows.append(
            [
                str(d["connections"]),
                _num(d["sequential_ms"], 0),
                _num(d["lift_ms"], 0),
                _num(d["floor_ms"], 0),
                f"{d['speedup']:.1f}x",
                f"{d['lift_ms'] / d['floor_ms']:.2f}x",
            ]
        )
    return ["connections", "sequential ms", "lift ms", "floor ms", "speedup", "lift / floor"], rows


def timings_table(run: Run, baseline: str | None = None) -> Table:
    """µs per call of each subject (``lift_style`` and ``auth``)."""
    assert run.data is not None
    entries = run.data["results"]
    if baseline is None:
        rows = [[e["name"], _num(e["us"]), f"{e.get('extra_us', 0.0):+.2f}"] for e in entries]
        return ["subject", "µs/event", "vs no middleware"], rows
    base = next((e["us"] for e in entries if e["name"] == baseline), entries[0]["us"])
    rows = [[e["name"], _num(e["us"]), f"{e['us'] / base:.2f}x"] for e in entries]
    return ["subject", "µs/call", "vs handler execution"], rows


def channels_table(run: Run) -> Table:
    """Listing a channel's subscribers, delivering, publishing, against broadcast."""
    assert run.data is not None
    d = run.data
    broadcast = d["broadcast_ms"]
    rows = [
        [name, _num(d[key], 0), f"{d[key] / broadcast:.2f}x"]
        for name, key in (
            ("list subscribers (DynamoDB query)", "list_ms"),
            ("deliver to them", "deliver_ms"),
            ("publish (list + deliver)", "publish_ms"),
            ("broadcast to the same ids", "broadcast_ms"),
        )
    ]
    return [f"{d['subscribers']} subscribers", "ms", "vs broadcast"], rows


def gateway_table(run: Run) -> Table:
    """The gateway load figures."""
    assert run.data is not None
    d = run.data
    rate = d["connected"] / d["connect_seconds"] if d["connect_seconds"] else 0.0
    rows = [
        ["clients connected", f"{d['connected']}/{d['clients']}"],
        ["connect rate", f"{rate:.0f} connections/s"],
        ["echoes", f"{len(d['round_trips_ms'])} ({d['failed_echoes']} failed)"],
        ["echo round trip p50", f"{_num(d['p50_ms'])} ms"],
        ["echo round trip p99", f"{_num(d['p99_ms'])} ms"],
        ["echo round trip max", f"{_num(d['max_ms'])} ms"],
        ["gateway CPU (user + system)", f"{_num(d['gateway_cpu_s'], 1)} s"],
        ["load", f"{d['clients']} clients x {d['echoes']} echoes over {d['spread_s']:g} s"],
        ["transport", str(d["transport"])],
    ]
    return ["figure", "value"], rows


def fanout_table(run: Run) -> Table:
    """One broadcast through SQS shards against the quota floor."""
    assert run.data is not None
    d = run.data
    rows = [
        ["recipients", f"{d['recipients']}"],
        ["shards", f"{d['shards']}"],
        ["workers", f"{d['workers']}"],
        ["delivered", f"{d['delivered']}"],
        ["duplicates", f"{d['duplicates']}"],
        ["lost", f"{d['lost']}"],
        ["429s seen", f"{d['throttled']}"],
        ["dead letters", f"{d['dead_letters']}"],
        ["enqueue time", f"{_num(d['enqueue_seconds'])} s"],
        ["time", f"{_num(d['seconds'])} s"],
        ["quota floor (recipients / quota)", f"{_num(d['floor_seconds'])} s"],
        ["time / floor", f"{_num(d['ratio'])}x"],
    ]
    return ["figure", "value"], rows


def coldstart_table(run: Run) -> Table:
    """Whole fresh processes per scenario: wall time and peak memory, against Lift."""
    assert run.data is not None
    lift_ms = {s["scenario"]: s["wall_ms"] for s in run.data["scenarios"] if s["subject"] == "lift"}
    rows = [
        [
            f"{s['scenario']} / {s['subject']}",
            _num(s["wall_ms"], 1),
            _num(s["peak_mib"], 1),
            f"{s['wall_ms'] / lift_ms[s['scenario']]:.2f}x",
        ]
        for s in run.data["scenarios"]
    ]
    return ["scenario / subject", "wall ms", "peak MiB", "vs lift"], rows


def _numeric(cell: str) -> bool:
    return bool(_NUMERIC.match(cell)) or cell in ("", "n/a", "-")


def markdown_table(table: Table) -> str:
    """A GitHub Markdown table; columns of figures are right-aligned."""
    headers, rows = table
    align = [
        "---:" if index and all(_numeric(row[index]) for row in rows) else "---"
        for index in range(len(headers))
    ]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# -- the report -----------------------------------------------------------------------------
def sections(results: Results) -> list[tuple[str, str, Table | None, str | None]]:
    """(title, description, table or None, reason it is missing) for each section."""

    def section(
        title: str, text: str, run: Run | None, build: Any
    ) -> tuple[str, str, Table | None, str | None]:
        if run is None or run.data is None:
            reason = run.error if run is not None else "not run"
            return title, text, None, f"not measured ({reason})"
        return title, text, build(run), None

    lift_style_baseline = (
        results.lift_style.data.get("baseline")
        if results.lift_style and results.lift_style.data
        else None
    )
    broadcast_ok = any(run.data is not None for run in results.broadcast)
    latency = next((r.data["latency_ms"] for r in results.broadcast if r.data), None)
    workers = next((r.data["workers"] for r in results.broadcast if r.data), None)
    return [
        section(
            "Dispatch cost per event",
            "One Lambda invocation of the same event through each framework "
            "(`benchmarks/dispatch.py`): REST v1 `GET /users/{id}` returning a small JSON "
            "object, and a WebSocket `$default` message with a handler that does nothing. "
            "Median of interleaved repeats, garbage collector paused.",
            results.dispatch,
            dispatch_table,
        ),
        section(
            "Cold import time",
            "Median over fresh interpreter processes with bytecode already compiled "
            "(`benchmarks/import_time.py`).",
            results.import_time,
            import_table,
        ),
        (
            "Broadcast",
            "Posting one message to N connections through a local `@connections` server "
            f"in another process that adds {_num(latency, 1)} ms to every call "
            f"(`benchmarks/broadcast.py`): a sequential loop against Lift's `broadcast` "
            f"({workers} workers). The floor is latency x calls / workers.",
            broadcast_table(results.broadcast) if broadcast_ok else None,
            None if broadcast_ok else "not measured",
        ),
        section(
            "Lift-style benchmarks",
            "The Go Lift project's benchmark set, per call (`benchmarks/lift_style.py`): "
            "route lookup alone, full handler execution, automatic connection management "
            '(memory store), the legacy `handle("MESSAGE", "/message")` pattern and '
            "five-middleware stacks (logs and EMF metrics written to a null stream).",
            results.lift_style,
            lambda run: timings_table(run, lift_style_baseline or ""),
        ),
        section(
            "WebSocket authentication",
            "Per-event cost of `websocket_auth` (`benchmarks/auth.py`): identity from the "
            "authorizer context or the connection store on messages, and token validation "
            "on `$connect`.",
            results.auth,
            timings_table,
        ),
        section(
            "Fan-out at scale",
            "One broadcast through SQS shards (`benchmarks/fanout.py`): the sender writes "
            "the shards to moto's SQS, worker processes deliver them to a local "
            "`@connections` server that adds latency and answers 429 above its quota; "
            "deliveries are counted per connection on the server. The floor is "
            "recipients / quota.",
            results.fanout,
            fanout_table,
        ),
        section(
            "Cold start to first message",
            "Whole fresh interpreters (`benchmarks/coldstart.py`), interleaved Lift / "
            "Chalice / hand-written boto3: import the app, handle one event, exit. `send` "
            "answers a MESSAGE by sending one frame through `@connections` to a local "
            "server; `auth` is a `$connect` with an HS256 token; `dynamodb` saves the "
            "connection through moto's server; `import` only imports an app using "
            "`websocket_auth` and `auto_connections`.",
            results.coldstart,
            coldstart_table,
        ),
        section(
            "Local gateway under load",
            "Many concurrent WebSocket clients echoing through the local gateway "
            "(`benchmarks/gateway.py`), each sending messages at random moments; the "
            "round trip is measured by the client.",
            results.gateway,
            gateway_table,
        ),
        section(
            "Channels",
            "Publishing to every subscriber of one channel (`benchmarks/channels.py`): the "
            "subscribers' ids read from the channel's subscriber index (DynamoDB, served by "
            "moto in another process, with a local `@connections` server adding the same "
            "latency as the broadcast runs), then delivered; against `broadcast` to the same "
            "ids.",
            results.channels,
            channels_table,
        ),
    ]


def print_report(results: Results) -> None:
    """Print every table and the target checks."""
    print()
    for name, value in machine_facts(results):
        print(f"{name:<34} {value}")
    for title, _, table, missing in sections(results):
        print()
        print(title)
        print(format_table(*table) if table else f"  {missing}")
    print()
    print("Targets")
    print(format_table(*checks_table(results)))
    errors = [run for run in results.runs() if run.error]
    for run in errors:
        print(f"  {run.label}: {run.error}")


def write_markdown(results: Results, path: Path, plot_name: str) -> None:
    """Write the Markdown report."""
    facts = markdown_table((["fact", "value"], [list(f) for f in machine_facts(results)]))
    parts = [
        "# Performance",
        "",
        f"Measured on {results.started.strftime('%Y-%m-%d')} by `python benchmarks/report.py`"
        + (" in quick mode (figures are rough)" if results.quick else "")
        + ". Every figure below comes from that run; rerun it to refresh this page.",
        "",
        "## Machine",
        "",
        facts,
        "",
        "Figures are wall-clock timings on a shared machine; the load averages show how "
        "busy it was. Ratios between frameworks are measured with interleaved repeats, so "
        "they are steadier than the absolute figures.",
        "",
        "## Targets",
        "",
        markdown_table(checks_table(results)),
        "",
        f"![Dispatch cost, broadcast time and gateway echo latency]({plot_name})",
        "",
    ]
    for title, text, table, missing in sections(results):
        parts += [f"## {title}", "", text, ""]
        parts += [markdown_table(table) if table else f"_{missing}_", ""]
    parts += [
        "## How to reproduce",
        "",
        "From the repository root, with the development dependencies installed "
        "(`pip install -e '.[dev]'`):",
        "",
        "```",
        "python benchmarks/report.py                          # rewrites this page and the plot",
        "python benchmarks/report.py --quick --out /tmp/perf  # a quick smoke run elsewhere",
        "```",
        "",
        "Each benchmark also runs alone and prints its own table "
        "(`--quick` for a short run, `--json` for machine-readable output): "
        "`benchmarks/dispatch.py`, `benchmarks/import_time.py`, `benchmarks/broadcast.py "
        "--connections N`, `benchmarks/lift_style.py`, `benchmarks/auth.py`, "
        "`benchmarks/gateway.py`, `benchmarks/fanout.py`, `benchmarks/channels.py`, "
        "`benchmarks/coldstart.py`.",
        "",
    ]
    path.write_text("\n".join(parts), encoding="utf-8")


# -- the plot -----------------------------------------------------------------------------
def _not_measured(ax: Any, title: str, reason: str) -> None:
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, f"not measured\n{reason}", ha="center", va="center", wrap=True)


def plot_dispatch(ax: Any, run: Run | None) -> None:
    """Grouped bars: µs per event of each framework, REST and WebSocket."""
    title = "Dispatch cost per event (lower is better)"
    if run is None or run.data is None:
        _not_measured(ax, title, run.error if run and run.error else "no data")
        return
    colours = {"lift": "#2b6cb0", "chalice": "#dd6b20", "powertools": "#718096"}
    groups = [
        ("REST v1\nGET /users/{id}", run.data["rest"]),
        ("WebSocket\nMESSAGE", run.data["websocket"]),
    ]
    width = 0.26
    labelled: set[str] = set()
    for index, (_, entries) in enumerate(groups):
        for offset, entry in enumerate(entries):
            name = entry["name"]
            x = index + (offset - (len(entries) - 1) / 2) * width
            colour = colours.get(name, "#999999")
            label = None if name in labelled else name
            labelled.add(name)
            bar = ax.bar(x, entry["us"], width, color=colour, label=label)
            ax.bar_label(bar, labels=[f"{entry['us']:.1f}"], padding=2, fontsize=8)
    ax.set_xticks(range(len(groups)), [name for name, _ in groups])
    ax.set_ylabel("µs per event (median)")
    ax.set_title(title)
    ax.legend(frameon=False)
    ax.margins(y=0.15)


def plot_broadcast(ax: Any, runs: list[Run]) -> None:
    """Lines: sequential loop and Lift broadcast time against the number of connections."""
    title = "Broadcast time vs connections"
    points = sorted((r.data for r in runs if r.data is not None), key=lambda d: d["connections"])
    if not points:
        _not_measured(ax, title, "no broadcast run succeeded")
        return
    sizes = [d["connections"] for d in points]
    ax.plot(
        sizes, [d["sequential_ms"] for d in points], "o-", color="#dd6b20", label="sequential loop"
    )
    ax.plot(
        sizes,
        [d["lift_ms"] for d in points],
        "o-",
        color="#2b6cb0",
        label="lift broadcast (speedup vs sequential)",
    )
    ax.plot(
        sizes,
        [d["floor_ms"] for d in points],
        "--",
        color="#a0aec0",
        label="floor (latency x calls / workers)",
    )
    for d in points:
        ax.annotate(
            f"{d['speedup']:.0f}x",
            (d["connections"], d["lift_ms"]),
            textcoords="offset points",
            xytext=(0, -14),
            ha="center",
            fontsize=8,
            color="#2b6cb0",
        )
    ax.set_yscale("log")
    ax.set_xlabel(f"connections ({points[0]['latency_ms']:g} ms per @connections call)")
    ax.set_ylabel("ms to reach every connection (log)")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    ax.grid(True, which="both", alpha=0.3)


def plot_gateway(ax: Any, run: Run | None) -> None:
    """The empirical CDF of the gateway's echo round trips, with p50, p99 and the target."""
    title = "Local gateway echo round trip"
    if run is None or run.data is None:
        reason = run.error if run is not None and run.error else "benchmarks/gateway.py not run"
        _not_measured(ax, title, reason)
        return
    trips = sorted(run.data["round_trips_ms"])
    if not trips:
        _not_measured(ax, title, "no echo completed")
        return
    n = len(trips)
    ax.plot(trips, [(i + 1) / n * 100 for i in range(n)], color="#2b6cb0", drawstyle="steps-post")
    for value, label, style in (
        (run.data["p50_ms"], "p50", ":"),
        (run.data["p99_ms"], "p99", "--"),
        (100.0, "target p99 < 100 ms", "-"),
    ):
        if value is not None:
            colour = "#c53030" if label.startswith("target") else "#4a5568"
            ax.axvline(
                value,
                linestyle=style,
                color=colour,
                linewidth=1,
                label=f"{label} ({value:.1f} ms)" if not label.startswith("target") else label,
            )
    ax.set_xscale("log")
    ax.set_xlabel("round trip, ms (log)")
    ax.set_ylabel("% of echoes at or below")
    ax.set_title(f"{title}\n{run.data['clients']} clients, {n} echoes")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.grid(True, which="both", alpha=0.3)


def plot_coldstart(ax: Any, run: Run | None) -> None:
    """Cold start wall time per scenario, one bar per framework."""
    if run is None or run.data is None:
        _not_measured(ax, "Cold start", run.error if run else "not run")
        return
    scenarios = list(dict.fromkeys(s["scenario"] for s in run.data["scenarios"]))
    subjects = list(dict.fromkeys(s["subject"] for s in run.data["scenarios"]))
    walls = {(s["scenario"], s["subject"]): s["wall_ms"] for s in run.data["scenarios"]}
    width = 0.8 / len(subjects)
    for index, subject in enumerate(subjects):
        xs = [i + index * width for i in range(len(scenarios))]
        ys = [walls.get((scenario, subject), 0.0) for scenario in scenarios]
        ax.bar(xs, ys, width, label=subject)
    ax.set_xticks([i + width * (len(subjects) - 1) / 2 for i in range(len(scenarios))])
    ax.set_xticklabels(scenarios)
    ax.set_ylabel("wall time of a fresh process (ms)")
    ax.set_title("Cold start to first message")
    ax.legend()


def write_plot(results: Results, path: Path) -> None:
    """Write the four-panel PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(24, 5.6), layout="constrained")
    plot_dispatch(axes[0], results.dispatch)
    plot_broadcast(axes[1], results.broadcast)
    plot_gateway(axes[2], results.gateway)
    plot_coldstart(axes[3], results.coldstart)
    stamp = results.started.strftime("%Y-%m-%d")
    mode = " (quick mode)" if results.quick else ""
    fig.suptitle(
        f"Lift for Python performance{mode} — {stamp}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, print the tables and write the report and plot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every script in quick mode")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="output directory")
    args = parser.parse_args(argv)
    results = run_all(args.quick)
    args.out.mkdir(parents=True, exist_ok=True)
    markdown, plot = args.out / "performance.md", args.out / "performance.png"
    write_plot(results, plot)
    write_markdown(results, markdown, plot.name)
    print_report(results)
    print()
    print(f"wrote {markdown} and {plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
