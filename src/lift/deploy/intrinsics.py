"""The CloudFormation intrinsic functions the templates write."""

from __future__ import annotations

from typing import Any

__all__ = ["arn_of", "ref", "sub"]


def ref(name: str) -> dict[str, Any]:
    """``{"Ref": name}``: a parameter's value or a resource's physical id."""
    return {"Ref": name}


def sub(text: str) -> dict[str, Any]:
    """``{"Fn::Sub": text}``: ``text`` with its ``${...}`` references substituted."""
    return {"Fn::Sub": text}


def arn_of(name: str) -> dict[str, Any]:
    """The ``Arn`` attribute of resource ``name``."""
    return {"Fn::GetAtt": [name, "Arn"]}
