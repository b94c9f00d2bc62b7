"""Lift's SigV4 signer gives the same headers as botocore's ``SigV4Auth``, request by request."""

from __future__ import annotations

import random
import string
from datetime import datetime, timezone
from urllib.parse import quote

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from lift.websocket.management.sigv4 import Credentials, environment_credentials, sign

REQUESTS = 3000
METHODS = ("GET", "POST", "DELETE", "PUT", "patch", "HEAD")
REGIONS = (
    "eu-west-1",
    "us-east-1",
    "ap-southeast-2",
    "cn-north-1",
    "us-gov-west-1",
    "il-central-1",
)
HOSTS = (
    "abc123.execute-api.eu-west-1.amazonaws.com",
    "ABC123.Execute-Api.us-east-1.amazonaws.com",
    "chat.example.com",
    "127.0.0.1",
    "localhost",
    "[::1]",
)
ODD = "~!$&'()*+,;=:@ %/?#[]éü中\u2028\t" + string.ascii_letters + string.digits + "-._"


def _segment(rng: random.Random) -> str:
    choice = rng.random()
    if choice < 0.08:
        return rng.choice(("", ".", "..", "@connections", "%2F", "%7E", "%25"))
    text = "".join(rng.choice(ODD) for _ in range(rng.randint(1, 12)))
    return quote(text, safe=rng.choice(("", "~", "@:", "=+,")))


def _url(rng: random.Random) -> str:
    scheme = rng.choice(("https", "http"))
    host = rng.choice(HOSTS)
    port = rng.choice(("", "", ":443", ":80", ":8443", f":{rng.randint(1, 65535)}"))
    path = "/" + "/".join(_segment(rng) for _ in range(rng.randint(0, 5)))
    if rng.random() < 0.2:
        path += "/"
    query = ""
    if rng.random() < 0.25:
        pairs = [
            f"{quote(_segment(rng), safe='')}={quote(_segment(rng), safe='')}"
            for _ in range(rng.randint(1, 4))
        ]
        if rng.random() < 0.2:
            pairs.append("flag")
        query = "?" + "&".join(pairs)
    return f"{scheme}://{host}{port}{path}{query}"


def _headers(rng: random.Random) -> dict[str, str]:
    names = ["Content-Type", "User-Agent", "X-Amz-Trace-Id", "X-Custom", "x-amz-meta-a", "Expect"]
    headers = {}
    for name in rng.sample(names, rng.randint(0, 3)):
        headers[name] = rng.choice(("application/json", "  spaced   out  value ", "a,b", "100"))
    return headers


def _credentials(rng: random.Random) -> Credentials:
    secret = "".join(rng.choice(string.ascii_letters + string.digits + "/+") for _ in range(40))
    token = rng.choice((None, "IQoJb3JpZ2luX2VjE" + "x" * rng.randint(0, 300), "tok with space"))
    return Credentials(
        "AKIA" + "".join(rng.choice(string.ascii_uppercase) for _ in range(16)), secret, token
    )


def test_matches_botocore_on_generated_requests() -> None:
    rng = random.Random(20261201)
    for index in range(REQUESTS):
        url = _url(rng)
        method = rng.choice(METHODS)
        body = rng.choice(
            (b"", b"{}", bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300))))
        )
        headers = _headers(rng)
        credentials = _credentials(rng)
        region = rng.choice(REGIONS)
        service = rng.choice(("execute-api", "execute-api", "dynamodb"))

        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
        boto = BotoCredentials(credentials.access_key, credentials.secret_key, credentials.token)
        SigV4Auth(boto, service, region).add_auth(request)
        expected = dict(request.headers.items())
        now = datetime.strptime(expected["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(
            tzinfo=timezone.utc
        )

        ours = sign(
            method,
            url,
            body=body,
            credentials=credentials,
            region=region,
            service=service,
            headers=headers,
            now=now,
        )
        assert ours == expected, f"request {index}: {method} {url}"


def test_environment_credentials() -> None:
    assert environment_credentials({}) is None
    assert environment_credentials({"AWS_ACCESS_KEY_ID": "AKIA"}) is None
    found = environment_credentials(
        {"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": ""}
    )
    assert found == Credentials("AKIA", "s", None)
    shown = repr(Credentials("AKIA", "secret-value", "token-value"))
    assert "secret-value" not in shown
    assert "token-value" not in shown


@pytest.mark.parametrize("timestamp", ["20261231T235959Z", "20270101T000000Z"])
def test_known_signature_at_day_boundary(timestamp: str) -> None:
    """Two instants a second apart sign with different date scopes, as botocore does."""
    now = datetime.strptime(timestamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    headers = sign(
        "POST",
        "https://a.execute-api.eu-west-1.amazonaws.com/prod/@connections/x%3D",
        body=b"hi",
        credentials=Credentials("AKIA", "secret"),
        region="eu-west-1",
        now=now,
    )
    assert headers["X-Amz-Date"] == timestamp
    assert (
        f"Credential=AKIA/{timestamp[:8]}/eu-west-1/execute-api/aws4_request"
        in headers["Authorization"]
    )
