"""Find an app by ``module:attribute``, as uvicorn and ``flask --app`` do.

``module`` alone means ``module:app``. ``module:create_app()`` (or ``module:create_app``
with ``factory=True``, the CLI's ``--factory``) calls an app factory without arguments.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from .app import App

__all__ = ["AppNotFoundError", "load_app", "resolve_app"]


class AppNotFoundError(SystemExit):
    """The target cannot be turned into an :class:`App`; the message is one line."""


def _split(target: str) -> tuple[str, str, bool]:
    module_name, _, attribute = target.strip().partition(":")
    attribute = attribute.strip() or "app"
    call = attribute.endswith("()")
    if call:
        attribute = attribute[:-2].strip()
    if not module_name or not _dotted(attribute):
        raise AppNotFoundError(f"error: expected MODULE:APP or MODULE:FACTORY(), got {target!r}")
    return module_name, attribute, call


def _dotted(name: str) -> bool:
    return all(part.isidentifier() for part in name.split("."))


def resolve_app(module: Any, target: str, *, factory: bool = False) -> App:
    """The :class:`App` that ``target`` names in the imported ``module``."""
    module_name, attribute, call = _split(target)
    value: Any = module
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise AppNotFoundError(
                f"error: module {module_name!r} has no attribute {attribute!r}"
                + _suggestion(module)
            )
        value = getattr(value, part)
    if call or factory:
        if not callable(value):
            raise AppNotFoundError(f"error: {module_name}:{attribute} is not callable")
        try:
            value = value()
        except TypeError as exc:
            raise AppNotFoundError(
                f"error: the factory {module_name}:{attribute} must take no arguments: {exc}"
            ) from exc
    if not isinstance(value, App):
        hint = ""
        if callable(value) and not call and not factory:
            hint = f" (an app factory? use {module_name}:{attribute}() or --factory)"
        raise AppNotFoundError(
            f"error: {module_name}:{attribute} is a {type(value).__name__}, not a lift.App{hint}"
        )
    return value


def _suggestion(module: Any) -> str:
    apps = sorted(name for name, value in vars(module).items() if isinstance(value, App))
    return f" (apps in it: {', '.join(apps)})" if apps else ""


def load_app(target: str, *, factory: bool = False) -> App:
    """Import ``module:attribute`` (default attribute ``app``) from the current directory.

    ``module:factory()`` or ``factory=True`` calls the attribute to make the app.
    Raises :class:`AppNotFoundError` (a :class:`SystemExit`) with a one-line message
    when it cannot.
    """
    module_name, _, _ = _split(target)
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise AppNotFoundError(
                f"error: cannot import {module_name!r}: no module named {exc.name!r} "
                f"(run lift from the directory that holds it)"
            ) from exc
        raise AppNotFoundError(f"error: cannot import {module_name!r}: {exc}") from exc
    except ImportError as exc:
        raise AppNotFoundError(f"error: cannot import {module_name!r}: {exc}") from exc
    return resolve_app(module, target, factory=factory)
