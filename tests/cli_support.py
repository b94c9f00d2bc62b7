"""Run the ``lift`` command line as a user does: a child Python, output captured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def lift(
    cwd: Path,
    *args: str,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """``python -m lift.cli *args`` in ``cwd`` (never raises on a non-zero exit)."""
    return subprocess.run(
        [sys.executable, "-m", "lift.cli", *args],
        cwd=cwd,
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
