"""Where the repository's parts are, for tests at any depth under ``tests/``."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "src"
TESTS = REPO / "tests"


def source_env(**extra: str) -> dict[str, str]:
    """This process's environment with ``src/`` first on ``PYTHONPATH``, for child Pythons."""
    path = str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")
    return {**os.environ, **extra, "PYTHONPATH": path}
