# snippet: auth_app.py
import os
from typing import Any

import lift.websocket
from lift import App, Context
from lift.middleware import JWTConfig, websocket_auth
from lift.websocket import WebSocketOptions

config = JWTConfig(
    secret=os.environ["JWT_SECRET"],  # at least 32 bytes for HS256
    algorithms=["HS256"],
    issuer="https://auth.example.com/",
    audience="chat",
)
app = App(websocket=WebSocketOptions(auto_connections=True))
app.use(websocket_auth(config, skip_routes=("health",)))

# Optional: the Lambda REQUEST authorizer of $connect (`lift template` deploys it).
authorizer = lift.websocket.authorizer(config)


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    # Only reached with a valid token; the identity is saved with the connection.
    ctx.logger.info("Welcome", user_id=ctx.user_id, tenant_id=ctx.tenant_id)


@app.websocket("whoami")
def whoami(ctx: Context) -> dict[str, Any]:
    # A message carries no headers and no token: the identity comes back from the
    # authorizer context, else from the connection store.
    return {"user": ctx.user_id, "tenant": ctx.tenant_id, "roles": ctx.claims.get("roles")}


@app.websocket("health")
def health(ctx: Context) -> dict[str, bool]:
    return {"ok": True, "authenticated": ctx.is_authenticated}
