"""``lift dev MODULE:APP``: the app on the local WebSocket gateway."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["register"]


def register(commands: Any, app_argument: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``dev`` to ``commands``."""
    parser = commands.add_parser("dev", help="run the app on a local WebSocket gateway")
    app_argument(parser)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="local")
    parser.add_argument("--reload", action="store_true", help="restart on code changes")
    parser.add_argument("--static", metavar="DIR", help="serve this directory's files at /")
    parser.add_argument(
        "--log-format",
        choices=("pretty", "json"),
        default="pretty",
        help="pretty: one line per invocation, logs as short text (default); "
        "json: the app's raw log lines and EMF documents, as in CloudWatch",
    )
    parser.add_argument(
        "--metrics", action="store_true", help="show EMF metric documents (pretty format)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl+C."""
    try:
        from ..local.reload import DevOptions, run_dev_command
    except ImportError as exc:  # pragma: no cover - without the 'local' extra
        print(f"error: the local gateway needs the 'local' extra: {exc}", file=sys.stderr)
        return 2
    options = DevOptions(
        target=args.app,
        factory=args.factory,
        host=args.host,
        port=args.port,
        stage=args.stage,
        static_dir=args.static,
        log_format=args.log_format,
        metrics=args.metrics or args.log_format == "json",
    )
    return run_dev_command(options, reload=args.reload)
