"""The ``lift`` command: ``routes``, ``invoke``, ``events``, ``token``, ``new``, ``dev``
``template`` and ``asyncapi``.

Each subcommand is added to the parser by one function; the commands that need more
than a few lines live in :mod:`lift.commands`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from .loading import load_app

__all__ = ["load_app", "main"]


def _routes(args: argparse.Namespace) -> int:
    app = load_app(args.app, factory=args.factory)
    routes = app.routes()
    if not routes:
        print("No routes registered.")
        return 0
    print(f"{'KIND':<11} {'METHOD':<8} {'PATH / KEY / PATTERN':<32} HANDLER")
    for route in routes:
        print(route.describe())
    return 0


def _template(args: argparse.Namespace) -> int:
    from .deploy import build_plan, dump
    from .deploy.sam import render_sam

    app = load_app(args.app)
    try:
        plan = build_plan(
            app,
            args.app,
            table_name=args.table_name,
            stage=args.stage,
            authorizer=False if args.no_authorizer else None,
            authorizer_handler=args.authorizer_handler,
            identity_source=args.identity_source,
            route_responses=False if args.no_route_responses else None,
            memory=args.memory,
            timeout=args.timeout,
            runtime=args.runtime,
            http=args.http_api,
            existing=args.existing or (),
            throttle_rate=args.throttle_rate,
            throttle_burst=args.throttle_burst,
            queue_env=dict(item.partition("=")[::2] for item in args.queue_env or ()),
        )
        text = dump(render_sam(plan), args.format)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for item in plan.unwired:
        print(f"warning: not wired: {item.describe()}", file=sys.stderr)
    if not plan.routes and not plan.sources:
        print("warning: the app has no route or trigger to deploy", file=sys.stderr)
    print(text)
    return 1 if args.strict and plan.unwired else 0


def _asyncapi(args: argparse.Namespace) -> int:
    from .asyncapi import asyncapi_document

    app = load_app(args.app, factory=args.factory)
    document = asyncapi_document(
        app,
        title=args.title or args.app.partition(":")[0],
        version=args.api_version,
        stage=args.stage,
        host=args.host,
    )
    text = json.dumps(document, indent=2) + "\n"
    if args.output and args.output != "-":
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


def _app_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "app", metavar="MODULE:APP", help="the app, e.g. main:app or main:create_app()"
    )
    parser.add_argument(
        "--factory", action="store_true", help="APP is a factory: call it to make the app"
    )


def _add_routes(commands: Any) -> None:
    routes = commands.add_parser("routes", help="list every registered route")
    _app_argument(routes)
    routes.set_defaults(run=_routes)


def _add_invoke(commands: Any) -> None:
    from .commands import invoke

    invoke.register(commands, _app_argument)


def _add_events(commands: Any) -> None:
    from .commands import sample_events

    sample_events.register(commands)


def _add_token(commands: Any) -> None:
    from .commands import dev_token

    dev_token.register(commands, _app_argument)


def _add_new(commands: Any) -> None:
    from .commands import new

    new.register(commands)


def _add_dev(commands: Any) -> None:
    from .commands import dev

    dev.register(commands, _app_argument)


def _add_template(commands: Any) -> None:
    template = commands.add_parser(
        "template", help="print an AWS SAM template deploying the whole app"
    )
    template.add_argument("app", metavar="MODULE:APP")
    template.add_argument("--table-name", default=None, help="DynamoDB connections table")
    template.add_argument("--stage", default="prod")
    template.add_argument(
        "--authorizer-handler",
        "--authorizer",
        default=None,
        metavar="MODULE:FUNC",
        help="REQUEST authorizer for $connect (default with websocket_auth: MODULE.authorizer)",
    )
    template.add_argument("--no-authorizer", action="store_true", help="no Lambda authorizer")
    template.add_argument(
        "--identity-source",
        action="append",
        default=None,
        help="authorizer identity source, e.g. route.request.querystring.token (repeatable)",
    )
    template.add_argument(
        "--no-route-responses",
        action="store_true",
        help="no route responses; must agree with WebSocketOptions(route_responses=False)",
    )
    template.add_argument("--memory", type=int, default=512, help="function memory (MB)")
    template.add_argument("--timeout", type=int, default=29, help="function timeout (s)")
    template.add_argument("--runtime", default="python3.12")
    template.add_argument("--format", choices=("json", "yaml"), default="json")
    template.add_argument(
        "--http-api",
        choices=("http", "rest"),
        default="http",
        help="HTTP routes behind an HTTP API (default) or a REST API",
    )
    template.add_argument(
        "--existing",
        action="append",
        default=None,
        metavar="KIND:NAME",
        help="reference this queue/topic/stream/bucket instead of creating it, "
        "e.g. sqs:orders (repeatable)",
    )
    template.add_argument(
        "--queue-env",
        action="append",
        default=None,
        metavar="VAR=QUEUE",
        help="set VAR to the URL of the app's queue QUEUE in every function (repeatable)",
    )
    template.add_argument("--throttle-rate", type=float, default=1000.0, help="stage req/s")
    template.add_argument("--throttle-burst", type=int, default=500, help="stage burst")
    template.add_argument(
        "--strict", action="store_true", help="exit 1 when a trigger cannot be wired"
    )
    template.set_defaults(run=_template)


def _add_asyncapi(commands: Any) -> None:
    asyncapi = commands.add_parser(
        "asyncapi", help="write an AsyncAPI 3.0 document (JSON) of the app's WebSocket API"
    )
    _app_argument(asyncapi)
    asyncapi.add_argument("-o", "--output", default="-", help="file to write (default stdout)")
    asyncapi.add_argument("--title", default=None, help="info.title (default: the module)")
    asyncapi.add_argument("--api-version", default="1.0.0", help="info.version")
    asyncapi.add_argument("--stage", default="prod", help="default of the stage variable")
    asyncapi.add_argument("--host", default=None, help="a custom domain for the server")
    asyncapi.set_defaults(run=_asyncapi)


SUBCOMMANDS = (
    _add_routes,
    _add_invoke,
    _add_events,
    _add_token,
    _add_new,
    _add_dev,
    _add_template,
    _add_asyncapi,
)
"""One function per subcommand, in the order ``lift --help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lift`` command."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="lift", description="Lift: Lambda handlers with first-class WebSocket APIs."
    )
    parser.add_argument("--version", action="version", version=f"lift {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lift`` console script."""
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    take = getattr(args, "take_extras", None)
    if extras and (take is None or not take(args, extras)):
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
