"""The ``@connections`` Management API: endpoint resolution, a retrying client, its transport.

- :mod:`.endpoint`: where calls go and which region signs them;
- :mod:`.policy`: what is retried, how long to wait, when to stop (no I/O);
- :mod:`.transport`: keep-alive HTTP connections (``http.client``) under a hard deadline;
- :mod:`.client`: :class:`ManagementClient`, signed with botocore's SigV4.

botocore and urllib3 are imported on first use, so importing this package stays light.
"""

from __future__ import annotations

from ..payload import MAX_PAYLOAD_BYTES
from .client import ManagementAPI, ManagementClient, clear_clients, client_for
from .endpoint import ENDPOINT_ENV, resolve_endpoint, resolve_region
from .policy import ManagementHTTPError, RetryPolicy, lambda_deadline

__all__ = [
    "ENDPOINT_ENV",
    "MAX_PAYLOAD_BYTES",
    "ManagementAPI",
    "ManagementClient",
    "ManagementHTTPError",
    "RetryPolicy",
    "clear_clients",
    "client_for",
    "lambda_deadline",
    "resolve_endpoint",
    "resolve_region",
]
