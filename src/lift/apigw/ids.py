"""The ids API Gateway gives connections and requests (15 letters or digits and ``=``)."""

from __future__ import annotations

import os
import random
import secrets

__all__ = ["ID_ALPHABET", "new_connection_id", "new_request_id"]

ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
"""The characters of an id before its ``=``."""

_RANDOM = random.Random(os.urandom(16))  # noqa: S311 - request ids are not secrets


def new_connection_id() -> str:
    """A fresh ``connectionId`` (unguessable: it addresses ``@connections``)."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(15)) + "="


def new_request_id() -> str:
    """A fresh ``requestId``/``messageId``. Ids that are not secrets come from a seeded
    generator, as a system call on a driver's event loop would hand the interpreter
    lock to a worker thread for milliseconds."""
    return "".join(_RANDOM.choices(ID_ALPHABET, k=15)) + "="
