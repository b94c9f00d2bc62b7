"""An AsyncAPI 3.0 document of an app's WebSocket API (``lift asyncapi module:app``).

Built from :class:`~lift.apigw.ApiDefinition` (the deployed route keys, the selection
expression, route responses, the ``$connect`` authorizer) and the app's routes (message
models, reply models, handler docstrings). The document describes the application: a
route is an operation the application *receives* on the one channel of the API (the
stage URL), a ``reply`` model or a validated model adds the reply messages (the reply
and the error frame). ``$connect``'s query and header parameters and the ways to pass a
token come from ``websocket_auth``'s token sources.
"""

from __future__ import annotations

import re
from typing import Any

from .apigw import ApiDefinition

__all__ = ["ERROR_SCHEMA", "asyncapi_document"]

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "examples": ["VALIDATION_ERROR"]},
                "message": {"type": "string"},
                "details": {
                    "description": "For VALIDATION_ERROR, one entry per field.",
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {"type": "string"},
                            "message": {"type": "string"},
                            "type": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}
"""The one error shape: error frames and error responses."""

_SIMPLE_FIELD = re.compile(r"^\$request\.body\.([A-Za-z0-9_]+)$")
_KEY_CHARS = re.compile(r"[^A-Za-z0-9_.-]")
_REF_NAME = "#/components/schemas/{model}"


def _component_name(key: str) -> str:
    """A component key (``^[a-zA-Z0-9.\\-_]+$``) for a route key such as ``$default``."""
    return _KEY_CHARS.sub("_", key.lstrip("$")) or "route"


class _Schemas:
    """JSON Schemas of models, with shared definitions in ``components.schemas``."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, model: type[Any]) -> dict[str, Any]:
        name = _component_name(model.__name__)
        if name not in self.components:
            schema = self._schema(model)
            for key, definition in schema.pop("$defs", {}).items():
                self.components.setdefault(_component_name(key), definition)
            self.components[name] = schema
        return {"$ref": f"#/components/schemas/{name}"}

    def _schema(self, model: type[Any]) -> dict[str, Any]:
        try:
            from pydantic import TypeAdapter
        except ImportError:  # dataclasses without pydantic: a schema from type hints
            return _dataclass_schema(model)
        if hasattr(model, "model_json_schema"):
            schema: dict[str, Any] = model.model_json_schema(ref_template=_REF_NAME)
            return schema
        adapted: dict[str, Any] = TypeAdapter(model).json_schema(ref_template=_REF_NAME)
        return adapted


def _dataclass_schema(model: type[Any]) -> dict[str, Any]:
    import dataclasses
    import typing

    names: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
    names.update({list: "array", dict: "object"})
    hints = typing.get_type_hints(model)
    properties: dict[str, Any] = {}
    required = []
    for field in dataclasses.fields(model):
        annotation = hints.get(field.name)
        kind = names.get(typing.get_origin(annotation) or annotation)
        properties[field.name] = {"type": kind} if kind else {}
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            required.append(field.name)
    return {
        "type": "object",
        "title": model.__name__,
        "properties": properties,
        "required": required,
    }


def _summary(handler: Any) -> str | None:
    doc = getattr(handler, "__doc__", None)
    if not isinstance(doc, str) or not doc.strip():
        return None
    return doc.strip().splitlines()[0].strip()


def _auth(app: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``(query, headers, security schemes)`` of ``$connect`` from ``websocket_auth``."""
    query: dict[str, Any] = {}
    headers: dict[str, Any] = {}
    schemes: dict[str, Any] = {}
    for middleware in getattr(app, "middleware", ()):
        cls = type(middleware)
        if cls.__name__ != "WebSocketAuth" or not cls.__module__.startswith("lift."):
            continue
        if "$connect" in tuple(getattr(middleware, "skip_routes", ())):
            continue
        for source in getattr(middleware, "sources", ()):
            name = str(getattr(source, "name", ""))
            if source.kind == "query":
                query[name] = {"type": "string", "description": "A JWT."}
                schemes[f"query_{_component_name(name)}"] = {
                    "type": "httpApiKey",
                    "in": "query",
                    "name": name,
                    "description": f"A JWT in the query parameter {name}.",
                }
            elif source.kind == "header":
                header = "-".join(part.capitalize() for part in name.split("-"))
                headers[header] = {"type": "string", "description": "A JWT, `Bearer ` optional."}
                if header == "Authorization":
                    schemes["bearer"] = {
                        "type": "http",
                        "scheme": "bearer",
                        "bearerFormat": "JWT",
                        "description": "A JWT in the Authorization header.",
                    }
                else:
                    schemes[f"header_{_component_name(header)}"] = {
                        "type": "httpApiKey",
                        "in": "header",
                        "name": header,
                        "description": f"A JWT in the {header} header.",
                    }
            elif source.kind == "subprotocol":
                headers["Sec-WebSocket-Protocol"] = {
                    "type": "string",
                    "description": "Subprotocols offered; one offer may be a JWT.",
                }
                schemes["subprotocol"] = {
                    "type": "httpApiKey",
                    "in": "header",
                    "name": "Sec-WebSocket-Protocol",
                    "description": "A JWT offered as a WebSocket subprotocol.",
                }
    return query, headers, schemes


def _selected(selection: str, key: str) -> dict[str, Any] | None:
    """The payload schema that routes a message to ``key``, when the selection is simple."""
    match = _SIMPLE_FIELD.match(selection)
    if match is None or key == "$default":
        return None
    field = match.group(1)
    return {"type": "object", "required": [field], "properties": {field: {"const": key}}}


def _server(host: str | None, stage: str, schemes: dict[str, Any]) -> dict[str, Any]:
    server: dict[str, Any] = {
        "host": host or "{apiId}.execute-api.{region}.amazonaws.com",
        "pathname": "/{stage}",
        "protocol": "wss",
        "description": "The API Gateway WebSocket API stage.",
        "variables": {"stage": {"default": stage, "description": "The API stage."}},
    }
    if host is None:
        server["variables"]["apiId"] = {"description": "The WebSocket API's id."}
        server["variables"]["region"] = {"description": "The AWS region of the API."}
    if schemes:
        server["security"] = [{"$ref": f"#/components/securitySchemes/{n}"} for n in schemes]
    return server


class _Builder:
    """Messages, channel messages and operations, one route at a time."""

    def __init__(self, definition: ApiDefinition) -> None:
        self.definition = definition
        self.schemas = _Schemas()
        self.messages: dict[str, Any] = {}
        self.channel_messages: dict[str, Any] = {}
        self.operations: dict[str, Any] = {}
        self.error_used = False

    def message(self, name: str, message: dict[str, Any]) -> dict[str, str]:
        self.messages[name] = message
        self.channel_messages[name] = {"$ref": f"#/components/messages/{name}"}
        return {"$ref": f"#/channels/api/messages/{name}"}

    def route(self, key: str, route: Any) -> None:
        name = _component_name(key)
        model = getattr(route, "model", None)
        reply = getattr(route, "reply", None)
        message: dict[str, Any] = {
            "name": key,
            "title": f"{key} message",
            "contentType": "application/json",
        }
        selected = _selected(self.definition.route_selection, key)
        if model is not None:
            payload = self.schemas.ref(model)
            message["payload"] = {"allOf": [selected, payload]} if selected else payload
        elif selected is not None:
            message["payload"] = selected
        operation: dict[str, Any] = {
            "action": "receive",
            "channel": {"$ref": "#/channels/api"},
            "messages": [self.message(name, message)],
            "x-lift-route-key": key,
        }
        summary = _summary(getattr(route, "handler", None))
        if summary:
            operation["summary"] = summary
        replies = []
        if reply is not None:
            reply_message = {
                "name": f"{key} reply",
                "contentType": "application/json",
                "payload": self.schemas.ref(reply),
            }
            replies.append(self.message(f"{name}.reply", reply_message))
        if model is not None:
            self.error_used = True
            replies.append({"$ref": "#/channels/api/messages/error"})
        if replies:
            operation["reply"] = {"channel": {"$ref": "#/channels/api"}, "messages": replies}
        if self.definition.returns_response(key):
            operation["x-lift-route-response"] = True
        self.operations[f"receive_{name}"] = operation

    def error(self) -> None:
        self.message(
            "error",
            {
                "name": "error",
                "title": "Error frame",
                "summary": "The one error shape, sent when a message is refused.",
                "contentType": "application/json",
                "payload": ERROR_SCHEMA,
            },
        )


def asyncapi_document(
    app: Any,
    *,
    title: str = "WebSocket API",
    version: str = "1.0.0",
    stage: str = "prod",
    host: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of ``app``'s WebSocket API, as JSON-ready data.

    ``host``: a custom domain; by default the ``execute-api`` host with ``apiId`` and
    ``region`` server variables. ``stage`` is the default of the ``stage`` variable.
    """
    definition = ApiDefinition.from_app(app)
    routes = getattr(app, "websocket_routes", {})
    query, headers, schemes = _auth(app)
    builder = _Builder(definition)
    for key in definition.routes:
        if key not in ("$connect", "$disconnect"):
            builder.route(key, routes.get(key))
    if builder.error_used or schemes:
        builder.error()

    channel: dict[str, Any] = {
        "address": "/",
        "title": "The WebSocket connection",
        "description": f"Messages are routed by the selection expression "
        f"`{definition.route_selection}`.",
        "messages": builder.channel_messages,
        "servers": [{"$ref": "#/servers/production"}],
    }
    binding: dict[str, Any] = {"bindingVersion": "0.1.0"}
    if query:
        binding["query"] = {"type": "object", "properties": query}
    if headers:
        binding["headers"] = {"type": "object", "properties": headers}
    if len(binding) > 1:
        channel["bindings"] = {"ws": binding}

    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description
    components: dict[str, Any] = {"messages": builder.messages}
    if builder.schemas.components:
        components["schemas"] = builder.schemas.components
    if schemes:
        components["securitySchemes"] = schemes
    return {
        "asyncapi": "3.0.0",
        "info": info,
        "defaultContentType": "application/json",
        "servers": {"production": _server(host, stage, schemes)},
        "channels": {"api": channel},
        "operations": builder.operations,
        "components": components,
    }
