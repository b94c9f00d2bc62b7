# snippet: http_sources.py
import json
from typing import Any

from lift import App, Context
from lift.testing import events

app = App(strip_prefixes=["/v1"])  # the base path of a custom domain mapping


@app.get("/files/{name}")
def file(ctx: Context) -> dict[str, Any]:
    return {"name": ctx.param("name"), "q": ctx.query("q")}


def body(answer: dict[str, Any]) -> Any:
    return json.loads(answer["body"])


# REST, HTTP API, function URL and ALB events reach the same route, decoded the same way.
for event in (
    events.http_v1("GET", "/v1/files/annual%20report", query={"q": "a b"}),
    events.http_v2("GET", "/files/annual%20report", query={"q": "a b"}),
    events.function_url("GET", "/files/annual%20report", query={"q": "a b"}),
    events.alb("GET", "/files/annual%20report", query={"q": "a b"}),
):
    assert body(app(event)) == {"name": "annual report", "q": "a b"}

# ALB answers carry a status description, and use multi-value headers when the
# target group does.
answer = app(events.alb("GET", "/files/x", multi_value=True))
assert answer["statusDescription"] == "200 OK"
assert answer["multiValueHeaders"]["Content-Type"] == ["application/json"]
