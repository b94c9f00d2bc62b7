# snippet: jwt_configs.py
import os
from datetime import timedelta

from lift.middleware import JWTConfig

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

# A PEM public key (or certificate) for RS*, PS*, ES* or EdDSA tokens.
pem_file = os.environ.get("JWT_PUBLIC_KEY_FILE")
if pem_file:
    with open(pem_file, encoding="utf-8") as handle:
        JWTConfig(public_key=handle.read(), algorithms=["ES256"])

# Unsafe configurations are refused when the config is created.
for unsafe in (
    {"algorithms": ["none"]},  # no unsigned tokens
    {"algorithms": []},  # algorithms are required: no default
    {"algorithms": ["HS256"], "jwks_url": cognito.jwks_url},  # no HMAC with public keys
    {"algorithms": ["HS256"], "secret": "too short"},  # HS256 needs 32 bytes or more
):
    try:
        JWTConfig(**unsafe)  # type: ignore[arg-type]
    except ValueError:
        pass
    else:
        raise AssertionError(f"accepted {unsafe}")
