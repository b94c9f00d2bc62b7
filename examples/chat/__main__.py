"""Serve the chat and its web page on the local gateway: ``python -m examples.chat``.

Open http://127.0.0.1:8000/ in two browser windows; the inspector is at ``/_lift/``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lift.local.gateway import Gateway

from .app import app

STATIC_DIR = Path(__file__).parent / "static"


def main(argv: list[str] | None = None) -> None:
    """Parse ``--host``/``--port`` and serve until Ctrl+C."""
    parser = argparse.ArgumentParser(prog="python -m examples.chat", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    gateway = Gateway(app, host=args.host, port=args.port, static_dir=STATIC_DIR)
    gateway.serve_forever(title="examples.chat")


if __name__ == "__main__":
    main()
