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
    parser.add_argument(
        "--authorizer",
        default="auto",
        metavar="MODULE:FUNC",
        help="REQUEST authorizer run before $connect, as API Gateway does (default: the "
        "module's authorizer when websocket_auth checks $connect, else @app.authorizer "
        "routes)",
    )
    parser.add_argument(
        "--no-authorizer",
        dest="authorizer",
        action="store_const",
        const="none",
        help="run no authorizer",
    )
    parser.add_argument(
        "--fire",
        nargs="+",
        metavar=("sqs:QUEUE", "BODY"),
        help="run the app's SQS handler on the running lift dev (at --host/--port) with "
        "these message bodies (JSON or text), then exit",
    )
    parser.add_argument(
        "--schedule",
        metavar="RULE",
        help="run the app's scheduled handler of RULE on the running lift dev, then exit",
    )
    parser.set_defaults(run=run)


def _post(url: str, payload: dict[str, Any]) -> bytes | None:
    """POST ``payload`` to the gateway; its answer, or ``None`` (reported) when none."""
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 - an http:// URL built here
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=40) as response:
            answer: bytes = response.read()
    except urllib.error.HTTPError as error:
        answer = error.read()
        error.close()
        if error.code not in (400, 502):
            print(f"error: the gateway at {url} answered {error.code}", file=sys.stderr)
            return None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        print(
            f"error: no lift dev gateway at {url} ({reason}); start one with lift dev",
            file=sys.stderr,
        )
        return None
    return answer


def _fire(args: argparse.Namespace) -> int:
    """Post a worker event to a running gateway and print the outcome."""
    import json

    from ..local.fire import FireError, parse_spec

    if args.fire and args.schedule:
        print("error: give --fire or --schedule, not both", file=sys.stderr)
        return 2
    try:
        if args.schedule:
            source, name, raw = "schedule", args.schedule, []
        else:
            source, name = parse_spec(args.fire[0])
            raw = args.fire[1:]
            if source == "schedule" and raw:
                raise FireError("a scheduled event has no body")
    except FireError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if source == "sqs" and not raw:
        raw = ["{}"]
    bodies = []
    for text in raw:
        try:
            bodies.append(json.loads(text))
        except ValueError:
            bodies.append(text)
    host = "127.0.0.1" if args.host in ("", "0.0.0.0") else args.host
    host = f"[{host}]" if ":" in host else host
    url = f"http://{host}:{args.port}/_lift/fire"
    answer = _post(url, {"source": source, "name": name, "bodies": bodies})
    if answer is None:
        return 2
    try:
        outcome = json.loads(answer)
    except ValueError:
        print(f"error: unexpected answer from {url}", file=sys.stderr)
        return 2
    if "error" in outcome:
        print(f"error: {outcome['error']}", file=sys.stderr)
        return 2
    print(json.dumps(outcome.get("result"), indent=2, default=str))
    if outcome.get("outcome") != "ok":
        print(
            f"error: the handler {outcome.get('outcome')} (see the lift dev terminal)",
            file=sys.stderr,
        )
        return 1
    return 0


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl+C (or, with --fire/--schedule, run a worker on a running one)."""
    if args.fire or args.schedule:
        return _fire(args)
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
        authorizer=args.authorizer,
    )
    return run_dev_command(options, reload=args.reload)
