"""Wiring one trigger of an app: the event source it reads from, or why it cannot.

A route pattern that names one queue, topic, stream, bucket or rule is wired; a glob,
a schedule without an expression or a bucket outside the template is not, and says
why. I/O-free.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from ..apigw.definition import Trigger

__all__ = ["Source", "Unwired", "arn", "logical_id", "wire"]

# Names each service accepts; a route pattern that is not one (a glob) names no resource.
_NAMES = {
    "sqs": re.compile(r"[A-Za-z0-9_-]{1,80}"),
    "sns": re.compile(r"[A-Za-z0-9_-]{1,256}"),
    "kinesis": re.compile(r"[A-Za-z0-9_.-]{1,128}"),
    "dynamodb_stream": re.compile(r"[A-Za-z0-9_.-]{3,255}"),
    "s3": re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"),
    "schedule": re.compile(r"[A-Za-z0-9_.-]{1,64}"),
}
_EVENT_PATTERN = re.compile(r"[^\x00-\x1f]{1,256}")
_HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"}
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\+?\}")
_COLON_PARAM = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Source:
    """One wired trigger. ``kind``: ``sqs``, ``sns``, ``kinesis``, ``dynamodb_stream``,
    ``s3``, ``schedule``, ``eventbridge`` or ``http``; ``logical_id`` names its event
    (and the resource it creates, if any); ``arn`` is where events come from;
    ``create`` whether the template creates the queue, topic, stream or bucket."""

    trigger: Trigger
    kind: str
    logical_id: str
    name: str
    arn: Any = None
    create: bool = False
    expression: str | None = None
    event_pattern: dict[str, Any] | None = None
    method: str = ""
    path: str = ""
    batch_size: int | None = None
    maximum_concurrency: int | None = None


@dataclass(frozen=True)
class Unwired:
    """A trigger the template does not wire, and why."""

    trigger: Trigger
    reason: str

    def describe(self) -> str:
        return f"{self.trigger.describe()}: {self.reason}"


def logical_id(prefix: str, name: str, taken: set[str]) -> str:
    """``prefix`` + the alphanumeric words of ``name``, unique among ``taken``."""
    words = re.split(r"[^A-Za-z0-9]+", name)
    base = (prefix + "".join(word[:1].upper() + word[1:] for word in words))[:200]
    candidate = base
    if candidate in taken or candidate == prefix:
        candidate = base + hashlib.sha256(name.encode()).hexdigest()[:8]
    taken.add(candidate)
    return candidate


def arn(service: str, resource: str) -> dict[str, Any]:
    return _sub(
        f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"
    )


def wire(
    trigger: Trigger,
    http: str,
    existing: set[str],
    parameters: dict[str, Any],
    ids: set[str],
) -> Source | Unwired:
    kind, pattern = trigger.kind, trigger.pattern
    if kind == "http":
        return _wire_http(trigger, http, ids)
    if kind == "eventbridge":
        if not _EVENT_PATTERN.fullmatch(pattern):
            return Unwired(trigger, "the pattern is not a source or detail-type")
        match: Any = [pattern] if not any(c in pattern for c in "*?[") else None
        if match is None:
            if any(c in pattern for c in "?["):
                return Unwired(trigger, "EventBridge wildcards know '*' only, not '?' or '['")
            match = [{"wildcard": pattern}] if pattern != "*" else [{"prefix": ""}]
        rule: dict[str, Any] = {"$or": [{"source": match}, {"detail-type": match}]}
        if pattern == "*":
            rule = {"source": match}
        return Source(
            trigger, kind, logical_id("Events", pattern, ids), pattern, event_pattern=rule
        )
    name_rule = _NAMES.get(kind)
    if name_rule is None:
        return Unwired(trigger, _UNSUPPORTED.get(kind, f"no {kind} trigger can be rendered"))
    if not name_rule.fullmatch(pattern):
        return Unwired(trigger, f"{pattern!r} is a pattern, not one {_NOUN[kind]} name to wire")
    if kind == "schedule":
        if trigger.expression is None:
            return Unwired(
                trigger,
                "no expression: use @app.schedule(name, expression='rate(5 minutes)')",
            )
        return Source(
            trigger,
            kind,
            logical_id("Schedule", pattern, ids),
            pattern,
            expression=trigger.expression,
        )
    create = f"{kind}:{pattern}" not in existing
    lid = logical_id(_PREFIX[kind], pattern, ids)
    if kind == "sqs":
        source_arn: Any = {"Fn::GetAtt": [lid, "Arn"]} if create else arn("sqs", pattern)
        return Source(trigger, kind, lid, pattern, arn=source_arn, create=create, batch_size=10)
    if kind == "sns":
        source_arn = _ref(lid) if create else arn("sns", pattern)
        return Source(trigger, kind, lid, pattern, arn=source_arn, create=create)
    if kind == "kinesis":
        source_arn = {"Fn::GetAtt": [lid, "Arn"]} if create else arn("kinesis", f"stream/{pattern}")
        return Source(trigger, kind, lid, pattern, arn=source_arn, create=create, batch_size=100)
    if kind == "dynamodb_stream":
        parameter = lid + "Arn"
        parameters[parameter] = {
            "Type": "String",
            "AllowedPattern": "arn:aws[a-z-]*:dynamodb:.+:table/.+/stream/.+",
            "Description": f"The stream ARN of the DynamoDB table {pattern}",
        }
        return Source(trigger, kind, lid, pattern, arn=_ref(parameter), batch_size=100)
    # s3
    if not create:
        return Unwired(
            trigger,
            "S3 notifies a function only from a bucket in the same template; route the "
            "bucket's events through EventBridge (@app.eventbridge('aws.s3')) instead",
        )
    return Source(trigger, kind, lid, pattern, arn={"Fn::GetAtt": [lid, "Arn"]}, create=True)


_PREFIX = {
    "sqs": "Queue",
    "sns": "Topic",
    "kinesis": "Stream",
    "dynamodb_stream": "TableStream",
    "s3": "Bucket",
}
_NOUN = {
    "sqs": "queue",
    "sns": "topic",
    "kinesis": "stream",
    "dynamodb_stream": "table",
    "s3": "bucket",
    "schedule": "rule",
}
_UNSUPPORTED = {
    "authorizer": "an API's Lambda authorizer is attached to that API; name this function "
    "as its authorizer by hand",
    "alb": "an Application Load Balancer target group is not part of this template",
}


def _wire_http(trigger: Trigger, http: str, ids: set[str]) -> Source | Unwired:
    method = trigger.method.upper()
    if method not in _HTTP_METHODS:
        return Unwired(trigger, f"{method} is not an HTTP method API Gateway routes")
    path = _COLON_PARAM.sub(r"{\1}", trigger.pattern)
    segments = [segment for segment in path.split("/") if segment]
    if not all(_PATH_SEGMENT.fullmatch(segment) for segment in segments):
        return Unwired(trigger, f"{trigger.pattern!r} is not a path API Gateway can route")
    greedy = [s for s in segments if s.endswith("+}")]
    if greedy and (len(greedy) > 1 or not segments[-1].endswith("+}")):
        return Unwired(trigger, "a greedy {name+} segment must be the last")
    path = "/" + "/".join(segments)
    name = f"{method} {path}"
    return Source(
        trigger,
        "http",
        logical_id("Http", f"{method.lower()} {path}", ids),
        name,
        method=method,
        path=path,
    )


def _sub(text: str) -> dict[str, Any]:
    return {"Fn::Sub": text}


def _ref(name: str) -> dict[str, Any]:
    return {"Ref": name}
