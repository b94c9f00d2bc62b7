"""Lazy imports: a package's names imported from their modules on first use."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at run time
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any


def import_relative(name: str, package: str) -> ModuleType:
    """``importlib.import_module(name, package)`` without loading :mod:`importlib`.

    ``name`` is absolute or relative to ``package`` (``.module``, ``..sibling.module``).
    """
    level = len(name) - len(name.lstrip("."))
    if level:
        parts = package.split(".")
        if level > len(parts):
            raise ImportError(f"{name!r} reaches above the top-level package of {package!r}")
        name = ".".join([*parts[: len(parts) - level + 1], name[level:]])
    module = sys.modules.get(name)
    if module is None:
        __import__(name)
        module = sys.modules[name]
    return module


def lazy_attributes(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: each name of ``exports`` is imported from
    its module (relative to ``package``) on first use, then kept as a plain attribute.

    Use as ``__getattr__ = lazy_attributes(__name__, {"Name": ".module"})``.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_relative(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
