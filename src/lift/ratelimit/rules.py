"""Rate-limit rules: ``"20/second"``, ``"100/minute"``, ``"5/minute per source_ip"``."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["SCOPES", "Rule", "Window", "parse_rule"]

SCOPES = ("connection", "user", "tenant", "source_ip")
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RULE = re.compile(
    r"^\s*(?P<limit>\d{1,9})\s*/\s*(?P<count>\d{1,6})?\s*(?P<unit>second|minute|hour|day)s?"
    r"(?:\s+per\s+(?P<scope>[a-z_]+))?\s*$"
)


@dataclass(frozen=True)
class Window:
    """Where ``now`` falls: the window's index, its start and end (epoch seconds)."""

    index: int
    start: float
    end: float


@dataclass(frozen=True)
class Rule:
    """At most ``limit`` hits per ``seconds`` for each value of ``scope``."""

    name: str
    limit: int
    seconds: int
    scope: str
    text: str

    def window(self, now: float) -> Window:
        """The fixed window containing ``now``."""
        index = math.floor(now / self.seconds)
        start = index * self.seconds
        return Window(index, start, start + self.seconds)


def parse_rule(name: str, text: str, default_scope: str) -> Rule:
    """Parse ``"N/unit"``, ``"N/K units"`` with an optional ``" per <scope>"``."""
    if not isinstance(text, str):
        raise TypeError(f"{name}: a rate is written like '20/second', not {text!r}")
    match = _RULE.match(text.lower())
    if match is None:
        raise ValueError(f"{name}: cannot read {text!r}; write it like '20/second'")
    limit = int(match["limit"])
    seconds = int(match["count"] or 1) * _UNITS[match["unit"]]
    scope = match["scope"] or default_scope
    if scope == "ip":
        scope = "source_ip"
    if scope not in SCOPES:
        raise ValueError(f"{name}: unknown scope {scope!r}; one of {', '.join(SCOPES)}")
    if limit < 1 or seconds < 1:
        raise ValueError(f"{name}: the limit and the period must be positive")
    return Rule(name, limit, seconds, scope, text)
