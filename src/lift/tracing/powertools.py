"""The Powertools for AWS Lambda ``Tracer`` backend: X-Ray subsegments with annotations.

X-Ray has no span links, so carriers are empty and links are dropped; the invocation and
its ``@connections`` and store calls still appear as subsegments of the function's trace.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = ["PowertoolsBackend"]


def _annotation_key(key: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in key)


class PowertoolsBackend:
    """Subsegments through ``tracer.provider`` (nothing is recorded when it is disabled)."""

    def __init__(self, tracer: Any) -> None:
        self.tracer = tracer

    @contextlib.contextmanager
    def span(
        self,
        name: str,
        attributes: Mapping[str, Any],
        links: Sequence[Mapping[str, str]],
        *,
        root: bool = False,
    ) -> Iterator[Any]:
        """See :meth:`lift.tracing.hook.Backend.span`."""
        if getattr(self.tracer, "disabled", False):
            yield None
            return
        with self.tracer.provider.in_subsegment(name=f"## {name}") as subsegment:
            self.set_attributes(subsegment, attributes)
            yield subsegment

    def set_attributes(self, handle: Any, attributes: Mapping[str, Any]) -> None:
        """See :meth:`lift.tracing.hook.Backend.set_attributes`."""
        if handle is None:
            return
        for key, value in attributes.items():
            if value is None:
                continue
            plain = value if isinstance(value, (str, bool, int, float)) else str(value)
            handle.put_annotation(_annotation_key(key), plain)

    def record_error(self, handle: Any, error: BaseException, *, expected: bool) -> None:
        """See :meth:`lift.tracing.hook.Backend.record_error`."""
        if handle is None:
            return
        handle.put_annotation("error_type", type(error).__name__)
        if not expected:
            handle.add_exception(error, [])

    def carrier(self) -> dict[str, str]:
        """X-Ray has no links: always ``{}``."""
        return {}
