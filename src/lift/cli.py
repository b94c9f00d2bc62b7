"""The ``lift`` command: ``routes``, ``invoke``, ``dev``, ``template`` and ``asyncapi``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from .loading import load_app

__all__ = ["load_app", "main"]


def _routes(args: argparse.Namespace) -> int:
    app = load_app(args.app)
    routes = app.routes()
    if not routes:
        print("No routes registered.")
        return 0
    print(f"{'KIND':<11} {'METHOD':<8} {'PATH / KEY / PATTERN':<32} HANDLER")
    for route in routes:
        print(route.describe())
    return 0


def _invoke(args: argparse.Namespace) -> int:
    app = load_app(args.app)
    try:
        if args.event == "-":
            event: Any = json.load(sys.stdin)
        else:
            with open(args.event, encoding="utf-8") as handle:
                event = json.load(handle)
    except (OSError, ValueError) as exc:
        print(f"error: cannot read the event: {exc}", file=sys.stderr)
        return 2
    from .apigw.lambda_context import LambdaContext
    from .errors import LiftError

    context = LambdaContext("lift-invoke", timeout=300.0, region="local", account_id="000000000000")
    try:
        result = app(event, context)
    except LiftError as exc:
        print(json.dumps(exc.to_body(), indent=2), file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, default=str))
    return 0


def _dev(args: argparse.Namespace) -> int:
    try:
        from .local.gateway import run_dev
    except ImportError as exc:
        print(f"error: the local gateway needs the 'local' extra: {exc}", file=sys.stderr)
        return 2
    run_dev(
        args.app,
        host=args.host,
        port=args.port,
        stage=args.stage,
        reload=args.reload,
        static_dir=args.static,
    )
    return 0


def _template(args: argparse.Namespace) -> int:
    from .deploy import render_template, unwired_triggers

    app = load_app(args.app)
    try:
        template = render_template(
            app,
            args.app,
            table_name=args.table_name,
            stage=args.stage,
            authorizer=False if args.no_authorizer else None,
            authorizer_handler=args.authorizer_handler,
            identity_source=args.identity_source,
            route_responses=not args.no_route_responses,
            memory=args.memory,
            timeout=args.timeout,
            runtime=args.runtime,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for trigger in unwired_triggers(app):
        print(
            f"note: not wired by this template, add it to the function: {trigger}", file=sys.stderr
        )
    print(template)
    return 0


def _asyncapi(args: argparse.Namespace) -> int:
    from .asyncapi import asyncapi_document

    app = load_app(args.app)
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lift`` command."""
    parser = argparse.ArgumentParser(
        prog="lift", description="Lift: Lambda handlers with first-class WebSocket APIs."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    routes = commands.add_parser("routes", help="list every registered route")
    routes.add_argument("app", metavar="MODULE:APP")
    routes.set_defaults(run=_routes)

    invoke = commands.add_parser("invoke", help="run one event through the app")
    invoke.add_argument("app", metavar="MODULE:APP")
    invoke.add_argument("--event", required=True, help="JSON event file, or - for stdin")
    invoke.set_defaults(run=_invoke)

    dev = commands.add_parser("dev", help="run the app on a local WebSocket gateway")
    dev.add_argument("app", metavar="MODULE:APP")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000)
    dev.add_argument("--stage", default="local")
    dev.add_argument("--reload", action="store_true", help="restart on code changes")
    dev.add_argument("--static", metavar="DIR", help="serve this directory's files at /")
    dev.set_defaults(run=_dev)

    template = commands.add_parser(
        "template", help="print an AWS SAM template (JSON) for the app's WebSocket API"
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
        help="do not send handler results back (the app replies through @connections)",
    )
    template.add_argument("--memory", type=int, default=512, help="function memory (MB)")
    template.add_argument("--timeout", type=int, default=29, help="function timeout (s)")
    template.add_argument("--runtime", default="python3.12")
    template.set_defaults(run=_template)

    asyncapi = commands.add_parser(
        "asyncapi", help="write an AsyncAPI 3.0 document (JSON) of the app's WebSocket API"
    )
    asyncapi.add_argument("app", metavar="MODULE:APP")
    asyncapi.add_argument("-o", "--output", default="-", help="file to write (default stdout)")
    asyncapi.add_argument("--title", default=None, help="info.title (default: the module)")
    asyncapi.add_argument("--api-version", default="1.0.0", help="info.version")
    asyncapi.add_argument("--stage", default="prod", help="default of the stage variable")
    asyncapi.add_argument("--host", default=None, help="a custom domain for the server")
    asyncapi.set_defaults(run=_asyncapi)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lift`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
