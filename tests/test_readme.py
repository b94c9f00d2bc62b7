"""The README's example is a file the suite runs, and its set-up commands exist."""

from __future__ import annotations

import importlib.util
import re
from types import ModuleType

from lift.testing import WebSocketTestClient
from tests.paths import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
SNIPPET = REPO / "docs" / "snippets" / "readme_app.py"


def load_snippet() -> ModuleType:
    spec = importlib.util.spec_from_file_location("readme_app", SNIPPET)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_example_is_the_snippet_file() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert blocks == [SNIPPET.read_text(encoding="utf-8")]
    assert len(blocks[0].splitlines()) <= 20


def test_readme_example_runs() -> None:
    app = load_snippet().app
    with WebSocketTestClient(app) as client:
        alice = client.connect(query={"user": "alice", "room": "blue"})
        bob = client.connect(query={"user": "bob", "room": "blue"})
        carol = client.connect(query={"user": "carol", "room": "green"})
        alice.send_json({"action": "say", "text": "hello"})
        frame = {"event": "message", "channel": "blue", "seq": None, "data": {"text": "hello"}}
        assert alice.receive_json() == frame
        assert alice.receive_json() == {"delivered": 2}
        assert bob.receive_json() == frame
        assert carol.pending == 0


def test_readme_names_exactly_the_two_setup_scripts() -> None:
    commands = re.findall(r"^(\./scripts/\S+)", README, re.M)
    assert commands == ["./scripts/demo", "./scripts/test"]
    for command in commands:
        assert (REPO / command).is_file()
