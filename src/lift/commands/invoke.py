"""``lift invoke MODULE:APP EVENT``: run one event through the app.

Only the result goes to stdout (as JSON, so ``lift invoke ... | jq`` works); whatever
the app prints or logs while it runs goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable
from typing import Any

from ..loading import load_app

__all__ = ["read_event", "register"]


def register(commands: Any, app_argument: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``invoke`` to ``commands``."""
    parser = commands.add_parser(
        "invoke",
        help="run one event through the app (result on stdout, logs on stderr)",
        description="Run one event through the app. The result is printed on stdout as "
        "JSON; the app's logs and prints go to stderr. Sample events: lift events KIND.",
    )
    app_argument(parser)
    parser.add_argument(
        "event_path", nargs="?", metavar="EVENT", help="JSON event file, or - for stdin"
    )
    parser.add_argument("--event", dest="event_option", metavar="EVENT", help=argparse.SUPPRESS)
    parser.add_argument("--compact", action="store_true", help="print the result on one line")
    parser.set_defaults(run=run, take_extras=_take_event)


def _take_event(args: argparse.Namespace, extras: list[str]) -> bool:
    """Accept EVENT after options (``invoke main:make --factory event.json``)."""
    if len(extras) != 1 or args.event_path is not None or extras[0].startswith("--"):
        return False
    args.event_path = extras[0]
    return True


def read_event(path: str) -> Any:
    """The JSON event in ``path`` (``-``: stdin)."""
    if path == "-":
        return json.load(sys.stdin)
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def run(args: argparse.Namespace) -> int:
    """Invoke the app once."""
    if args.event_path and args.event_option and args.event_path != args.event_option:
        print("error: give the event once (EVENT or --event)", file=sys.stderr)
        return 2
    source = args.event_path or args.event_option
    if source is None:
        print("error: give an event file, or - to read it from stdin", file=sys.stderr)
        return 2
    out = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        app = load_app(args.app, factory=args.factory)
        try:
            event = read_event(source)
        except (OSError, ValueError) as exc:
            print(f"error: cannot read the event: {exc}", file=sys.stderr)
            return 2
        if not isinstance(event, dict):
            print("error: the event must be a JSON object", file=sys.stderr)
            return 2
        from ..apigw.lambda_context import LambdaContext
        from ..errors import LiftError

        context = LambdaContext(
            "lift-invoke", timeout=300.0, region="local", account_id="000000000000"
        )
        try:
            result = app(event, context)
        except LiftError as exc:
            print(json.dumps(exc.to_body(), indent=2), file=sys.stderr)
            return 1
    indent = None if args.compact else 2
    out.write(json.dumps(result, indent=indent, default=str) + "\n")
    out.flush()
    return 0
