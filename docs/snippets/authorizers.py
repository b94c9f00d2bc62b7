# snippet: authorizers.py
from lift import App, Context, unauthorized
from lift.authorizers import AuthorizerResult, allow, deny
from lift.testing import events

app = App()
TOKENS = {"t-alice": ("alice", "acme")}  # stand-in for a real token check


@app.authorizer()
def authorize(ctx: Context) -> AuthorizerResult:
    facts = ctx.request.authorizer  # type, api, payload_version, arn, token
    token = facts.token or ctx.header("authorization") or ctx.query("token")
    if not token:
        raise unauthorized()  # API Gateway answers 401
    if token not in TOKENS:
        return deny()  # API Gateway answers 403
    user, tenant = TOKENS[token]
    # arn_for() covers the whole stage, so a cached decision holds for every route.
    return allow(user, context={"user_id": user, "tenant_id": tenant}, resources=[facts.arn_for()])


# A WebSocket $connect authorizer: the decision is an IAM policy, never a $connect.
answer = app(events.authorizer_request("websocket", query={"token": "t-alice"}))
assert answer["principalId"] == "alice"
assert answer["context"] == {"user_id": "alice", "tenant_id": "acme"}
statement = answer["policyDocument"]["Statement"][0]
assert statement["Effect"] == "Allow" and statement["Resource"][0].endswith("/prod/*")

# A REST TOKEN authorizer with an unknown token is denied.
denied = app(events.authorizer_token("t-mallory"))
assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"

# Without a token: the error message API Gateway turns into 401.
try:
    app(events.authorizer_request("rest"))
except Exception as exc:  # noqa: BLE001 - the documented outcome
    assert str(exc) == "Unauthorized"
else:
    raise AssertionError("expected Unauthorized")

# An HTTP API authorizer with simple responses enabled answers {"isAuthorized": ...}.
simple = App()
simple.authorizer(simple_responses=True)(authorize)
headers = {"authorization": "t-alice"}
event = events.authorizer_request("http", payload_version="2.0", headers=headers)
assert simple(event)["isAuthorized"] is True
