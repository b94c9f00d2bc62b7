"""Where a local server listens, written as the URLs a client on this machine uses."""

from __future__ import annotations

__all__ = ["LocalAddress"]

_WILDCARD_LOOPBACK = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


class LocalAddress:
    """The URLs of a server bound to ``host``:``port`` that serves API stage ``stage``.

    A wildcard bind address (``0.0.0.0``, ``::``) is reached through its loopback, and
    an IPv6 address is written in brackets.
    """

    host: str
    port: int
    stage: str

    @property
    def authority(self) -> str:
        """``host:port`` as a URL writes it."""
        host = _WILDCARD_LOOPBACK.get(self.host, self.host)
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """``http://host:port`` (no stage)."""
        return f"http://{self.authority}"

    @property
    def endpoint(self) -> str:
        """``http://host:port/{stage}``: the Management API endpoint (for boto3)."""
        return f"{self.url}/{self.stage}"
