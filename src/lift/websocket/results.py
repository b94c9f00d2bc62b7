"""What a broadcast reports for each connection it addressed (no I/O, light to import)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BroadcastResult"]


@dataclass
class BroadcastResult:
    """What happened to each connection of a broadcast."""

    delivered: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    failed: dict[str, Exception] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether nothing failed (gone connections are not failures)."""
        return not self.failed

    @property
    def total(self) -> int:
        """How many connections were addressed."""
        return len(self.delivered) + len(self.gone) + len(self.failed)
