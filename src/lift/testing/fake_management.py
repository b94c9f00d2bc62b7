"""An in-memory ``@connections`` Management API for tests.

:class:`FakeManagementAPI` is the API Gateway model's connection table
(:class:`lift.apigw.connections.ConnectionTable`). Install it as ``app.management_api``
and every ``send``/``broadcast``/``disconnect``/``connection_info`` of the app lands
there instead of AWS. Each open connection has an :class:`Inbox` that receives what is
posted to it. Unknown and closed connections answer
:class:`~lift.websocket.errors.ConnectionGoneError`, as API Gateway answers
``GoneException`` (410). Safe to call from many threads (broadcasts post from a pool).
"""

from __future__ import annotations

from ..apigw.connections import SERVER_CLOSE_CODE, SERVER_CLOSE_REASON, ConnectionTable, Inbox

__all__ = ["SERVER_CLOSE_CODE", "SERVER_CLOSE_REASON", "FakeManagementAPI", "Inbox"]

FakeManagementAPI = ConnectionTable
"""The connection table under its testing name."""
