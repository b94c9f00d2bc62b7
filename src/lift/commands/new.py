"""``lift new NAME``: a project skeleton whose tests pass out of the box.

The files come from the ``skeleton`` templates shipped with Lift: an app, its tests,
a README, a ``pyproject.toml`` and the app's SAM template (rendered by ``lift template``).
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

__all__ = ["FILES", "create_project", "register"]

FILES = {
    "app.py.tmpl": "app.py",
    "test_app.py.tmpl": "tests/test_app.py",
    "conftest.py.tmpl": "tests/conftest.py",
    "README.md.tmpl": "README.md",
    "pyproject.toml.tmpl": "pyproject.toml",
    "gitignore.tmpl": ".gitignore",
}
"""Template name → path in the new project."""

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


def register(commands: Any) -> None:
    """Add ``new`` to ``commands``."""
    parser = commands.add_parser("new", help="create a project: app, tests, template, README")
    parser.add_argument("name", help="the project's directory (letters, digits, - and _)")
    parser.set_defaults(run=run)


def create_project(name: str, parent: Path) -> Path:
    """Write the skeleton into ``parent / name`` (which must not exist); returns it."""
    if not _NAME.match(name):
        raise ValueError(
            f"{name!r} is not a project name: start with a letter; letters, digits, - and _"
        )
    target = parent / name
    if target.exists():
        raise FileExistsError(f"{target} already exists")
    skeleton = resources.files(__package__ or "lift.commands").joinpath("skeleton")
    contents = {
        path: Template(skeleton.joinpath(template).read_text(encoding="utf-8")).substitute(
            name=name
        )
        for template, path in FILES.items()
    }
    target.mkdir(parents=True)
    for path, text in contents.items():
        file = target / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")
    (target / "template.json").write_text(_template(target) + "\n", encoding="utf-8")
    return target


def _template(project: Path) -> str:
    """The SAM template of the new project's app."""
    import importlib.util

    from ..deploy import render_template

    spec = importlib.util.spec_from_file_location(f"_lift_new_{id(project)}", project / "app.py")
    if spec is None or spec.loader is None:  # pragma: no cover - the file was just written
        raise RuntimeError("cannot load the new app")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return render_template(module.app, "app:app")


def run(args: argparse.Namespace) -> int:
    """Create the project and say what to do next."""
    try:
        target = create_project(args.name, Path.cwd())
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Created {target}")
    for path in sorted([*FILES.values(), "template.json"]):
        print(f"  {path}")
    print(f"\nNext:\n  cd {args.name}\n  python -m pytest\n  lift dev app:app --reload")
    return 0
