"""The one stand-in for the ``context`` object the Lambda Python runtime passes."""

from __future__ import annotations

import time
import uuid
from typing import Any

__all__ = ["LambdaContext"]


class LambdaContext:
    """An object shaped like the Lambda runtime's context.

    ``memory_limit_in_mb`` is a string, as the runtime gives it. The deadline starts
    when the object is made: ``timeout`` seconds later ``get_remaining_time_in_millis``
    is 0, unless ``deadline`` (a ``time.monotonic()`` value) is given.
    ``aws_request_id`` is fresh unless given.
    """

    def __init__(
        self,
        function_name: str = "lift-app",
        *,
        memory_limit_in_mb: int = 128,
        timeout: float = 3.0,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        aws_request_id: str | None = None,
        deadline: float | None = None,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.memory_limit_in_mb = str(memory_limit_in_mb)
        self.aws_request_id = aws_request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        day = time.strftime("%Y/%m/%d", time.gmtime())
        self.log_stream_name = f"{day}/[$LATEST]{uuid.uuid4().hex}"
        self.identity: Any = None
        self.client_context: Any = None
        self._deadline = deadline if deadline is not None else time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation would time out."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return f"<LambdaContext {self.function_name} {self.aws_request_id}>"
