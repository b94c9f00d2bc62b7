"""``lift dev --reload``: run the gateway in a child process restarted on code changes."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["run_with_reload"]


def _serve(target: str, host: str, port: int, stage: str, static_dir: str | None) -> None:
    """The child process: import the app afresh and serve it."""
    from .gateway import run_dev

    run_dev(target, host=host, port=port, stage=stage, reload=False, static_dir=static_dir)


def _changed(changes: set[tuple[Any, str]]) -> None:
    paths = sorted({os.path.relpath(path) for _, path in changes})
    shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    print(f"Changes in {shown}: restarting the gateway", flush=True)


def run_with_reload(
    target: str, *, host: str, port: int, stage: str, static_dir: str | None = None
) -> None:
    """Serve ``target`` and restart it whenever a ``.py`` file under the cwd changes."""
    import watchfiles

    root = os.getcwd()
    print(f"Watching {root} for changes (Python files)", flush=True)
    watchfiles.run_process(
        root,
        target=_serve,
        args=(target, host, port, stage, static_dir),
        watch_filter=watchfiles.PythonFilter(),
        callback=_changed,
    )
