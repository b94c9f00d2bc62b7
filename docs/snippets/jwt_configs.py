# snippet: jwt_configs.py
from datetime import timedelta

from lift.middleware import JWTConfig, websocket_auth

# Amazon Cognito, Auth0, Okta...: keys from the issuer's JWKS, cached and refreshed.
cognito = JWTConfig(
    jwks_url="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example/.well-known/jwks.json",
    algorithms=["RS256"],
    issuer="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example",
    audience="my-app-client-id",
    leeway=timedelta(seconds=30),
    tenant_claim="custom:tenant_id",
    roles_claim="cognito:groups",
)
assert cognito.key_source == "jwks_url" and cognito.leeway_seconds == 30
middleware = websocket_auth(cognito)  # builds the validator now; keys are fetched on use

# Unsafe configurations are refused when the config is created.
for unsafe in (
    {"algorithms": ["none"]},  # no unsigned tokens
    {"algorithms": []},  # algorithms are required: no default
    {"algorithms": ["HS256"], "jwks_url": cognito.jwks_url},  # no HMAC with public keys
    {"algorithms": ["RS256"], "secret": "x" * 64},  # no RSA with a shared secret
    {"algorithms": ["HS256"], "secret": "too short"},  # HS256 needs 32 bytes or more
):
    try:
        JWTConfig(**unsafe)  # type: ignore[arg-type]
    except ValueError:
        pass
    else:
        raise AssertionError(f"accepted {unsafe}")
