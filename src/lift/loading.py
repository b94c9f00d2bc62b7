"""Find an app by ``module:attribute``, as uvicorn and ``flask --app`` do."""

from __future__ import annotations

import importlib
import os
import sys

from .app import App

__all__ = ["load_app"]


def load_app(target: str) -> App:
    """Import ``module:attribute`` (default attribute ``app``) from the current directory.

    Raises :class:`SystemExit` with a one-line message when it cannot.
    """
    module_name, _, attribute = target.partition(":")
    if not module_name:
        raise SystemExit(f"error: expected MODULE:APP, got {target!r}")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SystemExit(f"error: cannot import {module_name!r}: {exc}") from exc
    app = getattr(module, attribute or "app", None)
    if not isinstance(app, App):
        raise SystemExit(f"error: {target!r} is not a lift.App")
    return app
