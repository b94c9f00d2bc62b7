"""``lift events KIND``: print a sample event, shaped as AWS sends it.

The events come from :mod:`lift.testing.events`; pipe one into ``lift invoke``::

    lift events websocket-message --body '{"action": "chat"}' | lift invoke main:app -
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["KINDS", "make_event", "register"]

KINDS: dict[str, str] = {
    "websocket-connect": "API Gateway WebSocket $connect",
    "websocket-message": "API Gateway WebSocket message (route from the body's action)",
    "websocket-disconnect": "API Gateway WebSocket $disconnect",
    "http-v1": "API Gateway REST API (payload 1.0)",
    "http-v2": "API Gateway HTTP API / function URL (payload 2.0)",
    "sqs": "SQS batch (one record per --body)",
    "s3": "S3 notification (one record per --key)",
    "eventbridge": "EventBridge event",
    "scheduled": "EventBridge scheduled rule",
}


def register(commands: Any) -> None:
    """Add ``events`` to ``commands``."""
    listing = "\n".join(f"  {name:<22}{what}" for name, what in KINDS.items())
    parser = commands.add_parser(
        "events",
        help="print a sample event (lift events --list)",
        description="Print a sample event as AWS sends it.\n\nKinds:\n" + listing,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("kind", nargs="?", choices=sorted(KINDS), metavar="KIND")
    parser.add_argument("--list", action="store_true", help="list the kinds")
    parser.add_argument(
        "--body",
        action="append",
        help="message body: JSON or text (repeatable for sqs; EventBridge detail as JSON)",
    )
    parser.add_argument("--route", help="WebSocket route key (default: from the body)")
    parser.add_argument("--connection-id", help="WebSocket connection id")
    parser.add_argument("--query", action="append", metavar="NAME=VALUE", help="query string")
    parser.add_argument("--header", action="append", metavar="NAME=VALUE", help="header")
    parser.add_argument("--method", default="GET", help="HTTP method")
    parser.add_argument("--path", default="/", help="HTTP path")
    parser.add_argument("--queue", default="orders", help="SQS queue name")
    parser.add_argument("--bucket", default="uploads", help="S3 bucket")
    parser.add_argument("--key", action="append", help="S3 object key (repeatable)")
    parser.add_argument("--rule", default="nightly", help="schedule rule name")
    parser.add_argument("--source", default="com.example.orders", help="EventBridge source")
    parser.add_argument("--detail-type", default="OrderPlaced", help="EventBridge detail-type")
    parser.add_argument("--stage", default=None, help="API stage")
    parser.add_argument("--compact", action="store_true", help="print on one line")
    parser.set_defaults(run=run)


def _body(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    pairs = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--{what} takes NAME=VALUE, got {item!r}")
        pairs[name] = value
    return pairs


def make_event(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """The sample event of ``kind`` with the options of ``args``."""
    from ..testing import events

    bodies = [_body(text) for text in args.body or ()]
    body = bodies[0] if bodies else None
    stage: dict[str, Any] = {"stage": args.stage} if args.stage else {}
    query = _pairs(args.query, "query") or None
    headers = _pairs(args.header, "header") or None
    builders: dict[str, Callable[[], dict[str, Any]]] = {
        "websocket-connect": lambda: events.websocket_connect(
            connection_id=args.connection_id, query=query, headers=headers, **stage
        ),
        "websocket-message": lambda: events.websocket_message(
            body if body is not None else {"action": "ping"},
            route_key=args.route,
            connection_id=args.connection_id,
            **stage,
        ),
        "websocket-disconnect": lambda: events.websocket_disconnect(
            connection_id=args.connection_id, **stage
        ),
        "http-v1": lambda: events.http_v1(
            args.method.upper(), args.path, body=body, query=query, headers=headers, **stage
        ),
        "http-v2": lambda: events.http_v2(
            args.method.upper(), args.path, body=body, query=query, headers=headers, **stage
        ),
        "sqs": lambda: events.sqs(*(bodies or [{"hello": "world"}]), queue=args.queue),
        "s3": lambda: events.s3(*(args.key or ["uploads/example.txt"]), bucket=args.bucket),
        "eventbridge": lambda: events.eventbridge(
            body if isinstance(body, dict) else None,
            source=args.source,
            detail_type=args.detail_type,
        ),
        "scheduled": lambda: events.scheduled(args.rule),
    }
    return builders[kind]()


def run(args: argparse.Namespace) -> int:
    """Print the event (or the list of kinds)."""
    if args.list or args.kind is None:
        for name, what in KINDS.items():
            print(f"{name:<22}{what}")
        return 0 if args.list else 2
    try:
        event = make_event(args.kind, args)
    except (TypeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(event, indent=None if args.compact else 2))
    return 0
