"""Property tests: malformed events never crash the app nor leak internal error text.

Thousands of events are thrown at ``App.__call__``: random JSON values, dicts built from
the keys real events use, and mutations of every real event shape (fields deleted, set
to ``None``, to the wrong type or to random values). The only exception allowed out is
a :class:`LiftError` with a clear message, and a response body never carries the text
of a Python exception.
"""

from __future__ import annotations

import copy
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lift import App, Context, LiftError
from lift.authorizers import allow
from lift.batch import batch_failures
from lift.observability import JSONLogger, MemoryMetrics
from lift.testing import events

LEAKS = (
    "Traceback",
    "KeyError",
    "TypeError",
    "AttributeError",
    "ValueError",
    "IndexError",
    "RecursionError",
    "NoneType",
    "object has no attribute",
    "not subscriptable",
    "unhashable",
    'File "',
)

SETTINGS = settings(
    max_examples=1000,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@dataclass
class Item:
    name: str
    qty: int = 1


def build_app() -> App:
    app = App(logger=JSONLogger(stream=io.StringIO()), metrics=MemoryMetrics())

    def mw(handler: Callable[[Context], Any]) -> Callable[[Context], Any]:
        def wrapped(ctx: Context) -> Any:
            ctx.set("seen", ctx.header("x-forwarded-for"))
            return handler(ctx)

        return wrapped

    app.use(mw)

    @app.websocket("$connect")
    def connect(ctx: Context) -> Any:
        return {"token": ctx.query("token"), "ua": ctx.header("User-Agent"), "ip": ctx.method}

    @app.websocket("$disconnect")
    def disconnect(ctx: Context) -> None:
        ctx.set("code", ctx.request.request_context.get("disconnectStatusCode"))

    @app.websocket("$default")
    def default(ctx: Context) -> Any:
        return {"echo": ctx.text, "size": len(ctx.body)}

    @app.websocket("chat")
    def chat(ctx: Context) -> Any:
        return {"got": ctx.json()}

    @app.get("/")
    def root(ctx: Context) -> str:
        return ctx.text + (ctx.query("q") or "")

    @app.get("/items/{id}")
    def get_item(ctx: Context) -> Any:
        return {"id": ctx.param("id"), "cookies": ctx.request.cookies}

    @app.post("/items")
    def create_item(ctx: Context) -> Any:
        item = ctx.bind(Item)
        return ctx.status(201).json({"name": item.name})

    @app.get("/files/{path+}")
    def files(ctx: Context) -> bytes:
        return ctx.body

    @app.sqs("*")
    def on_sqs(ctx: Context) -> int:
        return sum(len(str(r.get("body"))) for r in ctx.request.records)

    @app.s3("*")
    def on_s3(ctx: Context) -> list[str]:
        return [r["key"] for r in ctx.request.records]

    @app.eventbridge("*")
    def on_eventbridge(ctx: Context) -> str:
        return ctx.request.source

    @app.schedule("*")
    def on_schedule(ctx: Context) -> str:
        return ctx.request.source

    @app.sns("*")
    @app.dynamodb_stream("*")
    @app.kinesis("*")
    def on_batch(ctx: Context) -> Any:
        if ctx.request.trigger.value == "sns":
            return [r["Sns"]["Message"] for r in ctx.request.records]
        return batch_failures(ctx.request.records)  # every record has its identifier

    @app.authorizer()
    def on_authorizer(ctx: Context) -> Any:
        info = ctx.request.authorizer
        return allow("user", context={"api": info.api, "q": ctx.query("q") or ""})

    return app


APP = build_app()


def check(event: Any) -> None:
    """Call the app and hold it to the contract."""
    try:
        result = APP(event)
    except LiftError as exc:
        assert isinstance(exc.message, str) and exc.message.strip()
        assert isinstance(exc.code, str) and exc.code.isupper()
        for leak in LEAKS:
            assert leak not in exc.message
        return
    except Exception as exc:  # pragma: no cover - this is the failure being looked for
        raise AssertionError(f"{type(exc).__name__} escaped for event {event!r}") from exc
    if isinstance(result, dict) and "statusCode" in result:
        assert isinstance(result["statusCode"], int)
        # Every handler above only raises LiftError: a 500 means the core crashed.
        assert result["statusCode"] != 500, result
        body = result.get("body", "")
        assert isinstance(body, str)
        for leak in LEAKS:
            assert leak not in body, (leak, body)
        if result["statusCode"] >= 400:
            error = json.loads(body)["error"]
            assert set(error) <= {"code", "message", "details"}


# -- strategies ----------------------------------------------------------------------
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "",
            "/",
            "2.0",
            "CONNECT",
            "MESSAGE",
            "DISCONNECT",
            "$connect",
            "$default",
            "chat",
            "GET",
            "POST",
            "aws:sqs",
            "aws:s3",
            "aws.s3",
            "aws:sns",
            "aws:dynamodb",
            "aws:kinesis",
            "TOKEN",
            "REQUEST",
            "aws.events",
            "Scheduled Event",
            "Object Created",
            "/items/1",
            "/prod/items",
            "prod",
            "{}",
            "[[[",
            "bm90IGpzb24=",
        ]
    )
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=8,
)

KNOWN_KEYS = [
    "version",
    "routeKey",
    "rawPath",
    "rawQueryString",
    "cookies",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "requestContext",
    "body",
    "isBase64Encoded",
    "httpMethod",
    "path",
    "resource",
    "Records",
    "source",
    "detail-type",
    "detail",
    "resources",
    "methodArn",
    "routeArn",
    "type",
    "authorizationToken",
    "identitySource",
]
RC_KEYS = [
    "eventType",
    "routeKey",
    "connectionId",
    "http",
    "stage",
    "identity",
    "requestId",
    "domainName",
    "authorizer",
    "elb",
]
flat_values = (
    scalars
    | st.lists(scalars, max_size=3)
    | st.dictionaries(
        st.text(max_size=6) | st.sampled_from(["method", "name"]), scalars, max_size=3
    )
)
request_contexts = st.dictionaries(st.sampled_from(RC_KEYS), flat_values, max_size=6)
known_shaped = st.dictionaries(
    st.sampled_from(KNOWN_KEYS), flat_values | request_contexts, max_size=6
)

FACTORIES: list[Callable[[], dict[str, Any]]] = [
    lambda: events.websocket_connect(query={"token": "t", "tag": ["a", "b"]}, subprotocols=["v1"]),
    lambda: events.websocket_connect(http_method="GET", path="/"),
    lambda: events.websocket_message({"action": "chat", "text": "hi"}),
    lambda: events.websocket_message("plain text"),
    lambda: events.websocket_message(b"\x00\x01binary"),
    lambda: events.websocket_disconnect(status_code=1006, reason="Going away"),
    lambda: events.http_v1("GET", "/items/7", path_params={"id": "7"}, query={"q": ["1", "2"]}),
    lambda: events.http_v1("POST", "/items", body={"name": "pen", "qty": 2}),
    lambda: events.http_v1("GET", "/files/a/b.txt", body=b"\x89PNG"),
    lambda: events.http_v2("GET", "/items/7", stage="prod", cookies=["a=1"], query={"x": "y"}),
    lambda: events.http_v2("POST", "/items", body={"name": "pen"}),
    lambda: events.sqs({"order": 1}, "second", queue="orders"),
    lambda: events.s3("dir/my file.txt", "b.txt"),
    lambda: events.s3_eventbridge("dir/key.txt"),
    lambda: events.eventbridge({"id": 1}),
    lambda: events.scheduled("nightly"),
    lambda: events.alb("GET", "/items/a%20b", query={"q": "x y"}),
    lambda: events.alb("POST", "/items", body={"name": "pen"}, multi_value=True),
    lambda: events.function_url("GET", "/items/7", cookies=["a=1"]),
    lambda: events.authorizer_token("t"),
    lambda: events.authorizer_request("rest", query={"q": "1"}),
    lambda: events.authorizer_request("http", headers={"authorization": "t"}),
    lambda: events.authorizer_request("http", payload_version="2.0", query={"q": "1"}),
    lambda: events.authorizer_request("websocket", query={"token": "t"}),
    lambda: events.sns({"a": 1}),
    lambda: events.dynamodb_stream({"eventName": "INSERT", "Keys": {"id": {"S": "1"}}}),
    lambda: events.kinesis("a", b"b"),
    lambda: events.cloudtrail_eventbridge("DeleteObject"),
]
TEMPLATES = [factory() for factory in FACTORIES]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a field inside ``value`` (dict keys and list indexes)."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((*prefix, key))
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((*prefix, index))
            found.extend(_paths(item, (*prefix, index)))
    return found


TEMPLATE_PATHS = [_paths(template) for template in TEMPLATES]
WRONG_TYPES: list[Any] = [None, 0, 1, -1, 3.5, True, False, "", "x", [], [1], {}, {"a": None}]


@st.composite
def mutated_events(draw: st.DrawFn) -> dict[str, Any]:
    index = draw(st.integers(min_value=0, max_value=len(TEMPLATES) - 1))
    event = copy.deepcopy(TEMPLATES[index])
    paths = TEMPLATE_PATHS[index]
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        path = draw(st.sampled_from(paths))
        parent: Any = event
        try:
            for part in path[:-1]:
                parent = parent[part]
            last = path[-1]
            parent[last]  # the path may be gone after an earlier mutation
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(parent, (dict, list)):
            continue
        action = draw(st.sampled_from(["delete", "none", "wrong", "random"]))
        if action == "delete":
            del parent[last]
        elif action == "none":
            parent[last] = None
        elif action == "wrong":
            # A copy: a later mutation in this event must not change WRONG_TYPES itself.
            parent[last] = copy.deepcopy(draw(st.sampled_from(WRONG_TYPES)))
        else:
            parent[last] = draw(json_values)
    return event


# -- properties ----------------------------------------------------------------------
@SETTINGS
@given(json_values)
def test_random_json_values_never_crash(event: Any) -> None:
    check(event)


@settings(SETTINGS, max_examples=1500)
@given(known_shaped)
def test_dicts_with_real_keys_never_crash(event: dict[str, Any]) -> None:
    check(event)


@settings(SETTINGS, max_examples=2500)
@given(mutated_events())
def test_mutated_real_events_never_crash(event: dict[str, Any]) -> None:
    check(event)


def test_every_template_is_served() -> None:
    """The unmutated templates all succeed, so mutations start from working events."""
    for template in TEMPLATES:
        result = APP(copy.deepcopy(template))
        if isinstance(result, dict) and "statusCode" in result:
            assert result["statusCode"] < 300, (template, result)


def test_deeply_nested_json_body_is_a_400() -> None:
    body = "[" * 100_000
    result = APP(events.websocket_message(body, route_key="chat"))
    assert result["statusCode"] == 400
    assert json.loads(result["body"])["error"]["code"] == "INVALID_JSON"


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 2 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.randint(-(2**31), 2**31)
    if kind == 3:
        return rng.uniform(-1e6, 1e6)
    if kind == 4:
        return "".join(rng.choice('aZ09 /{}[]%+=:$.\\"\x00\u00e9\ud800') for _ in range(8))
    if kind == 5:
        return rng.choice(WRONG_TYPES)
    if kind == 6:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(3))]
    return {
        rng.choice(["", "a", "eventType", "http", "name", "key"]): _random_value(rng, depth + 1)
        for _ in range(rng.randrange(3))
    }


def test_random_mutation_sweep() -> None:
    """A fast seeded sweep: 12,000 mutated real events, on top of the hypothesis runs."""
    rng = random.Random(20260501)
    for _ in range(12_000):
        index = rng.randrange(len(TEMPLATES))
        event = copy.deepcopy(TEMPLATES[index])
        for _ in range(rng.randint(1, 4)):
            path = rng.choice(TEMPLATE_PATHS[index])
            parent: Any = event
            try:
                for part in path[:-1]:
                    parent = parent[part]
                parent[path[-1]]
            except (KeyError, IndexError, TypeError):
                continue
            if not isinstance(parent, (dict, list)):
                continue
            action = rng.randrange(4)
            if action == 0:
                del parent[path[-1]]
            elif action == 1:
                parent[path[-1]] = None
            else:
                parent[path[-1]] = _random_value(rng)
        check(event)
