"""AsyncAPI 3.0 documents of every example, validated against the official JSON Schema.

The schema is the one the AsyncAPI initiative ships in the npm package
``@asyncapi/specs`` (``schemas/3.0.0.json``: draft-07, each definition under its own
``$id``), installed into ``.npm/`` by ``./scripts/install``.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from pydantic import BaseModel, Field
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from lift import App, Context
from lift.asyncapi import asyncapi_document
from lift.cli import main
from lift.loading import load_app
from lift.middleware import JWTConfig, websocket_auth
from lift.ratelimit import rate_limit
from tests.paths import REPO

SCHEMA = REPO / ".npm" / "node_modules" / "@asyncapi" / "specs" / "schemas" / "3.0.0.json"
EXAMPLES = [
    "examples.chat.app:app",
    "examples.progress.app:app",
    "examples.legacy.legacy_app:app",
    "examples.legacy.native_app:app",
]


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    if not SCHEMA.is_file():
        pytest.fail(f"{SCHEMA} is missing: run ./scripts/install (it installs @asyncapi/specs)")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    resource = Resource.from_contents(schema, default_specification=DRAFT7)
    registry: Registry[Any] = Registry().with_resource(schema["$id"], resource).crawl()
    return Draft7Validator(schema, registry=registry)


def errors(validator: Draft7Validator, document: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


class ChatMessage(BaseModel):
    """A message to a room."""

    action: str = "chat"
    room: str = Field(min_length=1, max_length=64)
    text: str = Field(max_length=500)


class Author(BaseModel):
    user_id: str
    name: str | None = None


class ChatReply(BaseModel):
    room: str
    text: str
    author: Author


@dataclass
class Typing:
    room: str
    active: bool = True


def typed_app() -> App:
    app = App()
    app.use(
        websocket_auth(
            JWTConfig(secret="s" * 32, algorithms=["HS256"]),
            token_sources=("query:token", "header:Authorization", "subprotocol"),
        )
    )
    app.use(rate_limit(per_connection="20/second"))

    @app.websocket("chat", model=ChatMessage, reply=ChatReply)
    def chat(ctx: Context, message: ChatMessage) -> dict[str, Any]:
        """Post a message to a room."""
        return {"room": message.room, "text": message.text, "author": {"user_id": "u"}}

    @app.websocket("typing", model=Typing)
    def typing(ctx: Context) -> None:
        """Say that the user is typing."""

    @app.websocket("$default")
    def default(ctx: Context) -> None:
        return None

    return app


@pytest.mark.parametrize("target", EXAMPLES)
def test_every_example_document_is_valid(validator: Draft7Validator, target: str) -> None:
    document = asyncapi_document(load_app(target), title=target)
    assert errors(validator, document) == []
    assert document["operations"]  # every example has message routes


def test_the_typed_document_is_valid_and_complete(validator: Draft7Validator) -> None:
    document = asyncapi_document(typed_app(), title="Chat", stage="live")
    assert errors(validator, document) == []
    server = document["servers"]["production"]
    assert (server["protocol"], server["pathname"]) == ("wss", "/{stage}")
    assert server["host"] == "{apiId}.execute-api.{region}.amazonaws.com"
    assert server["variables"]["stage"]["default"] == "live"
    assert set(document["components"]["securitySchemes"]) == {
        "query_token",
        "bearer",
        "subprotocol",
    }
    binding = document["channels"]["api"]["bindings"]["ws"]
    assert set(binding["query"]["properties"]) == {"token"}
    assert set(binding["headers"]["properties"]) == {"Authorization", "Sec-WebSocket-Protocol"}
    chat = document["operations"]["receive_chat"]
    assert chat["action"] == "receive"
    assert chat["summary"] == "Post a message to a room."
    assert chat["reply"]["messages"] == [
        {"$ref": "#/channels/api/messages/chat.reply"},
        {"$ref": "#/channels/api/messages/error"},
    ]
    messages = document["components"]["messages"]
    payload = messages["chat"]["payload"]
    assert payload["allOf"][0] == {
        "type": "object",
        "required": ["action"],
        "properties": {"action": {"const": "chat"}},
    }
    assert payload["allOf"][1] == {"$ref": "#/components/schemas/ChatMessage"}
    schemas = document["components"]["schemas"]
    assert schemas["ChatMessage"]["properties"]["room"]["maxLength"] == 64
    assert schemas["ChatReply"]["properties"]["author"] == {"$ref": "#/components/schemas/Author"}
    assert "Author" in schemas
    assert schemas["Typing"]["required"] == ["room"]
    assert messages["error"]["payload"]["required"] == ["error"]
    assert "payload" not in messages["default"]  # $default takes anything


def test_the_validator_refuses_broken_documents(validator: Draft7Validator) -> None:
    document = asyncapi_document(typed_app())
    broken = copy.deepcopy(document)
    broken["operations"]["receive_chat"]["action"] = "listen"
    assert errors(validator, broken)
    broken = copy.deepcopy(document)
    broken["servers"]["production"].pop("protocol")
    assert errors(validator, broken)
    broken = copy.deepcopy(document)
    broken["asyncapi"] = "2.6.0"
    assert errors(validator, broken)


def test_the_cli_writes_the_document(
    tmp_path: Path, validator: Draft7Validator, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "asyncapi.json"
    assert main(["asyncapi", "examples.progress.app:app", "-o", str(out), "--title", "P"]) == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["info"] == {"title": "P", "version": "1.0.0"}
    assert errors(validator, document) == []
    assert main(["asyncapi", "examples.legacy.native_app:app", "--host", "ws.example.com"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["servers"]["production"]["host"] == "ws.example.com"
    assert set(printed["servers"]["production"]["variables"]) == {"stage"}
    assert errors(validator, printed) == []


def test_the_document_in_the_docs_is_the_one_lift_writes(validator: Draft7Validator) -> None:
    page = (REPO / "docs" / "typed-routes.md").read_text(encoding="utf-8")
    (shown,) = re.findall(r"^```json\n(.*?)^```$", page, re.M | re.S)
    snippet = REPO / "docs" / "snippets" / "asyncapi_app.py"
    spec = importlib.util.spec_from_file_location("asyncapi_app_snippet", snippet)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    document = asyncapi_document(module.app, title="Chat")
    assert json.loads(shown) == document
    assert errors(validator, document) == []
