"""Turn parsed JSON into a pydantic model or a dataclass, with 422 on bad input."""

from __future__ import annotations

import functools
from typing import Any, TypeVar, Union, get_args, get_origin

from .errors import LiftError

__all__ = ["bind_model"]

T = TypeVar("T")
_SIMPLE = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "object",
}


def _invalid(details: list[dict[str, str]]) -> LiftError:
    return LiftError(422, "VALIDATION_ERROR", "The request body is invalid", details)


def bind_model(model: type[T], data: Any) -> T:
    """Validate ``data`` into ``model``; 422 ``VALIDATION_ERROR`` with field details."""
    if hasattr(model, "model_validate"):
        bound: T = _bind_pydantic(model, data)
        return bound
    import dataclasses

    if dataclasses.is_dataclass(model):
        instance: T = _bind_dataclass(model, data)
        return instance
    raise TypeError(f"bind() takes a pydantic model or a dataclass, not {model!r}")


def _bind_pydantic(model: Any, data: Any) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [
            {
                "field": ".".join(str(part) for part in error["loc"]) or "body",
                "message": error["msg"],
                "type": error["type"],
            }
            for error in exc.errors(include_url=False, include_input=False)
        ]
        raise _invalid(details) from None


def _matches(value: Any, annotation: Any) -> bool:
    if annotation is Any or isinstance(annotation, str):
        return True
    origin = get_origin(annotation)
    if origin is Union or type(annotation).__name__ == "UnionType":
        return any(_matches(value, arg) for arg in get_args(annotation))
    if annotation is type(None):
        return value is None
    target = origin or annotation
    if target is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if target is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(target, type):
        return isinstance(value, target)
    return True


@functools.lru_cache(maxsize=256)
def _dataclass_fields(model: Any) -> tuple[tuple[str, Any, bool], ...]:
    """``(name, annotation, required)`` of each init field, read once per class."""
    import dataclasses
    import typing

    hints = typing.get_type_hints(model)
    return tuple(
        (
            field.name,
            hints.get(field.name, Any),
            field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING,
        )
        for field in dataclasses.fields(model)
        if field.init
    )


def _bind_dataclass(model: Any, data: Any) -> Any:
    if not isinstance(data, dict):
        raise _invalid([{"field": "body", "message": "Expected a JSON object", "type": "object"}])
    details: list[dict[str, str]] = []
    values: dict[str, Any] = {}
    for name, annotation, required in _dataclass_fields(model):
        if name not in data:
            if required:
                details.append({"field": name, "message": "Field required", "type": "missing"})
            continue
        value = data[name]
        if not _matches(value, annotation):
            expected = _SIMPLE.get(get_origin(annotation) or annotation, str(annotation))
            details.append({"field": name, "message": f"Expected {expected}", "type": "type_error"})
            continue
        values[name] = value
    if details:
        raise _invalid(details)
    return model(**values)
