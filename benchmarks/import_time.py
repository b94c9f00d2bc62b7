"""Cold import time of Lift, Chalice and Powertools' event handler.

Each figure is the median over fresh interpreter processes, measured two ways:
``-X importtime`` (the import's own cumulative time, startup excluded) and wall time of
``python -c "import X"`` minus that of ``python -c "pass"``. Bytecode is compiled
first (into a private cache directory), so every run is a warm-disk, cold-process import.

    .venv/bin/python benchmarks/import_time.py            # 15 runs
    .venv/bin/python benchmarks/import_time.py --quick    # 3 runs (smoke test)
    .venv/bin/python benchmarks/import_time.py --json     # one JSON object instead of a table

Target: importing ``lift`` takes at most 0.75 of importing ``chalice``. Always exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import format_table, median, verdict

TARGET = 0.75
MODULES = ("lift", "chalice", "aws_lambda_powertools.event_handler")


def child_env(cache_dir: str, *, write_bytecode: bool) -> dict[str, str]:
    """The environment of a measured interpreter: a private bytecode cache."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    env["PYTHONPYCACHEPREFIX"] = cache_dir
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run(code: str, env: dict[str, str], cwd: str, *, importtime: bool = False) -> tuple[float, str]:
    """Run ``python -c code``; return its wall time in ms and its stderr."""
    command = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", code]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=True)
    return (time.perf_counter() - start) * 1000.0, done.stderr


def top_level_imports(stderr: str) -> dict[str, float]:
    """Cumulative ms of each top-level entry of an ``-X importtime`` report."""
    result: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2][1:]
        if not name.startswith(" "):
            result[name.strip()] = result.get(name.strip(), 0.0) + int(parts[1]) / 1000.0
    return result


def measure(runs: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median import time (``-X importtime`` and wall minus baseline) per module, in ms."""
    with tempfile.TemporaryDirectory(prefix="lift-bench-") as tmp:
        cache = os.path.join(tmp, "pycache")
        writing = child_env(cache, write_bytecode=True)
        env = child_env(cache, write_bytecode=False)
        for module in MODULES:  # compile bytecode for everything each import touches
            run(f"import {module}", writing, tmp)
        run("pass", writing, tmp)
        startup = set(top_level_imports(run("pass", env, tmp, importtime=True)[1]))

        importtime: dict[str, list[float]] = {m: [] for m in MODULES}
        wall: dict[str, list[float]] = {m: [] for m in MODULES}
        baseline: list[float] = []
        for _ in range(runs):
            baseline.append(run("pass", env, tmp)[0])
            for module in MODULES:
                wall[module].append(run(f"import {module}", env, tmp)[0])
                report = top_level_imports(run(f"import {module}", env, tmp, importtime=True)[1])
                own = sum(ms for name, ms in report.items() if name not in startup)
                importtime[module].append(own)
        base = median(baseline)
        return (
            {m: median(v) for m, v in importtime.items()},
            {m: median(v) - base for m, v in wall.items()},
        )


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table and the target check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs only")
    parser.add_argument("--runs", type=int, help="processes per module (median reported)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    runs = args.runs or (3 if args.quick else 15)

    importtime, wall = measure(runs)
    if args.json:
        ratio = importtime["lift"] / importtime["chalice"]
        document = {
            "python": sys.version.split()[0],
            "runs": runs,
            "modules": [
                {
                    "name": module,
                    "importtime_ms": round(importtime[module], 3),
                    "wall_ms": round(wall[module], 3),
                }
                for module in MODULES
            ],
            "checks": [
                {
                    "name": "import time: lift / chalice",
                    "value": round(ratio, 3),
                    "comparison": "<=",
                    "target": TARGET,
                    "verdict": verdict(ratio, TARGET),
                }
            ],
        }
        print(json.dumps(document))
        return 0
    lift_it, lift_wall = importtime["lift"], wall["lift"]
    rows = [
        [
            module,
            f"{importtime[module]:.1f}",
            f"{wall[module]:.1f}",
            f"{importtime[module] / lift_it:.2f}x",
        ]
        for module in MODULES
    ]
    print(f"Python {sys.version.split()[0]}; median of {runs} fresh processes; bytecode cached")
    print()
    print(format_table(["module", "importtime ms", "wall-baseline ms", "vs lift"], rows))
    print()
    ratio = lift_it / importtime["chalice"]
    wall_ratio = lift_wall / wall["chalice"] if wall["chalice"] > 0 else float("nan")
    print(
        f"Import: lift {lift_it:.1f} ms vs chalice {importtime['chalice']:.1f} ms "
        f"-> ratio {ratio:.2f} (target <= {TARGET:.2f}): {verdict(ratio, TARGET)}"
    )
    print(f"(wall clock minus interpreter startup: ratio {wall_ratio:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
