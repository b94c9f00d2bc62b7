"""Route selection: which route key API Gateway gives a message.

One implementation for everything that emulates API Gateway (the test client and the
local gateway). Understands ``$request.body.a.b`` and templates such as
``${request.body.type}`` or ``${request.body.kind}.${request.body.op}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Container
from typing import Any

__all__ = ["DEFAULT_ROUTE_SELECTION", "route_for", "select_route"]

DEFAULT_ROUTE_SELECTION = "$request.body.action"
_TEMPLATE_PART = re.compile(r"\$\{request\.body\.([^}]+)\}")
_LIFECYCLE_KEYS = frozenset({"$connect", "$disconnect"})


def _body_value(body: Any, path: str) -> str | None:
    value = body
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    return None


def select_route(expression: str, body: str) -> str | None:
    """Evaluate a route selection expression against a message body.

    Understands ``$request.body.a.b`` and templates such as ``${request.body.type}`` or
    ``${request.body.kind}.${request.body.op}``. Returns ``None`` when the body is not a
    JSON object or a selected value is missing, empty or not a scalar.
    """
    expression = expression.strip()
    is_template = "${" in expression
    if not is_template and not expression.startswith("$request.body."):
        return expression if expression and "$" not in expression else None
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
        return None
    if not isinstance(parsed, dict):
        return None
    if not is_template:
        value = _body_value(parsed, expression[len("$request.body.") :])
        return value or None
    missing = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal missing
        value = _body_value(parsed, match.group(1))
        if value is None:
            missing = True
            return ""
        return value

    result = _TEMPLATE_PART.sub(substitute, expression)
    return None if missing or not result or "${" in result else result


def route_for(expression: str, body: str, routes: Container[str] | None) -> str:
    """The route key a message is delivered to: the selected key when ``routes`` has it
    (``None``: any key), never ``$connect``/``$disconnect``; else ``$default``."""
    selected = select_route(expression, body)
    if selected is None or selected in _LIFECYCLE_KEYS:
        return "$default"
    return selected if routes is None or selected in routes else "$default"
