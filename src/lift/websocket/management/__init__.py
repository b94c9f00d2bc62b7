"""The ``@connections`` Management API: endpoint resolution, a retrying client, its transport.

- :mod:`.endpoint`: where calls go and which region signs them;
- :mod:`.policy`: what is retried, how long to wait, when to stop (no I/O);
- :mod:`.transport`: keep-alive HTTP connections (``http.client``) under a hard deadline;
- :mod:`.sigv4`: AWS Signature Version 4, the same signature as botocore's, without it;
- :mod:`.client`: :class:`ManagementClient`, which signs and sends through the above.

botocore is imported only when the environment holds no credentials, so importing this
package, and a Lambda's first send, stay light.
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
