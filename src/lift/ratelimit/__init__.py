"""Rate limits per connection, user, tenant or source IP (:func:`rate_limit`)."""

from __future__ import annotations

from .counters import (
    CounterStore,
    CounterStoreError,
    DynamoDBCounterStore,
    MemoryCounterStore,
)
from .limiter import RateLimit, rate_limit, too_many_requests
from .rules import Rule, parse_rule

__all__ = [
    "CounterStore",
    "CounterStoreError",
    "DynamoDBCounterStore",
    "MemoryCounterStore",
    "RateLimit",
    "Rule",
    "parse_rule",
    "rate_limit",
    "too_many_requests",
]
