"""Environment variables that point an app's ``@connections`` calls at the local gateway.

* ``LIFT_WS_MANAGEMENT_ENDPOINT`` is set to the gateway's endpoint
  (``http://host:port/{stage}``), so Lift's own Management API client reaches it;
* ``AWS_REGION`` and ``AWS_DEFAULT_REGION`` (the one boto3 reads) default to
  ``us-east-1`` when neither is set (the local endpoint accepts any region);
* ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` default to ``local`` only when no
  credentials are configured at all (no key variables, no ``AWS_PROFILE``, no
  ``~/.aws`` files), so boto3 can sign requests; real credentials are left alone.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..websocket.management import ENDPOINT_ENV

__all__ = ["apply_local_environment", "restore_environment"]

_CREDENTIAL_FILES = (
    ("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
    ("AWS_CONFIG_FILE", "~/.aws/config"),
)


def _has_credentials() -> bool:
    if os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE"):
        return True
    for variable, default in _CREDENTIAL_FILES:
        if Path(os.environ.get(variable) or default).expanduser().is_file():
            return True
    return False


def apply_local_environment(endpoint: str) -> dict[str, str | None]:
    """Set the variables above; returns their previous values for :func:`restore_environment`."""
    wanted: dict[str, str] = {ENDPOINT_ENV: endpoint}
    if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
        wanted["AWS_REGION"] = "us-east-1"
        wanted["AWS_DEFAULT_REGION"] = "us-east-1"  # the one boto3 reads
    if not _has_credentials():
        wanted["AWS_ACCESS_KEY_ID"] = "local"
        wanted["AWS_SECRET_ACCESS_KEY"] = "local"  # noqa: S105 - a placeholder, not a secret
    previous = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    return previous


def restore_environment(previous: dict[str, str | None]) -> None:
    """Put back the values :func:`apply_local_environment` replaced."""
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
