# snippet: authorizer_function.py
import os

from lift.middleware import JWTConfig
from lift.websocket import authorizer

# The Lambda REQUEST authorizer of the $connect route: Allow, or 401 before any
# connection exists. Its context (user_id, tenant_id, roles) reaches every later event.
handler = authorizer(
    JWTConfig(jwks_url=os.environ["JWKS_URL"], algorithms=["RS256"], audience="chat"),
    token_sources=("query:token", "header:Authorization", "subprotocol"),
)
