"""Channel history in the connections table (DynamoDB): a counter and the kept messages.

::

    pk = "h#<ck>"  sk = "~seq"             the channel's sequence counter
    pk = "h#<ck>"  sk = <seq, 20 digits>   one per kept message
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ..channel import ChannelMessage
from .dynamodb_calls import aws_call, batch_write
from .dynamodb_calls import item_key as _key

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["DynamoDBHistory", "channel_key", "epoch", "live"]

_COUNTER_SORT = "~seq"
_SEQ_DIGITS = 20
_SEQ_MAX = 10**_SEQ_DIGITS - 1


def channel_key(tenant_id: str | None, channel: str) -> str:
    """``"<channel>#<tenant>"``: one channel of one tenant (a channel holding ``#`` is a
    :class:`ValueError`: it could name another tenant's channel)."""
    if "#" in channel:
        raise ValueError("a channel name must not hold '#'")
    return f"{channel}#{tenant_id or ''}"


def epoch(value: datetime) -> int:
    """``value`` in whole epoch seconds (the table's TTL attribute)."""
    return math.floor(value.timestamp())


def live(item: dict[str, Any], now: int) -> bool:
    """Whether ``item``'s ``expires_at`` (if any) is after ``now``."""
    expires = item.get("expires_at")
    return expires is None or int(expires["N"]) > now


def _seq_sort(seq: int) -> str:
    return f"{seq:0{_SEQ_DIGITS}d}"


class DynamoDBHistory:
    """The history half of the channel store (provided with the table by the store)."""

    table_name: str
    _clock: Callable[[], datetime]
    client: Any

    def append_history(
        self, tenant_id: str | None, channel: str, data: Any, *, keep: int, ttl: timedelta
    ) -> ChannelMessage:
        """``ADD seq 1`` on the counter, then keep the message and drop the one N back."""
        pk = "h#" + channel_key(tenant_id, channel)
        text = json.dumps(data, separators=(",", ":"), allow_nan=False)
        client = self.client
        with aws_call("UpdateItem"):
            response = client.update_item(
                TableName=self.table_name,
                Key=_key(pk, _COUNTER_SORT),
                UpdateExpression="ADD seq :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
                ReturnValues="UPDATED_NEW",
            )
        seq = int(response["Attributes"]["seq"]["N"])
        now = self._clock()
        writes: list[dict[str, Any]] = []
        if keep > 0:
            item = {
                **_key(pk, _seq_sort(seq)),
                "seq": {"N": str(seq)},
                "published_at": {"S": now.astimezone(timezone.utc).isoformat()},
                "data": {"S": text},
                "expires_at": {"N": str(epoch(now + ttl))},
            }
            writes.append({"PutRequest": {"Item": item}})
        if seq - keep >= 1:
            writes.append({"DeleteRequest": {"Key": _key(pk, _seq_sort(seq - keep))}})
        batch_write(self.client, self.table_name, writes)
        return ChannelMessage(seq=seq, published_at=now, data=json.loads(text))

    def history(
        self, tenant_id: str | None, channel: str, *, after: int = 0, limit: int = 100
    ) -> list[ChannelMessage]:
        """Kept messages with ``seq > after``, oldest first (paged until ``limit``)."""
        if limit <= 0 or after >= _SEQ_MAX:
            return []
        now = epoch(self._clock())
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
            "ExpressionAttributeValues": {
                ":pk": {"S": "h#" + channel_key(tenant_id, channel)},
                ":low": {"S": _seq_sort(max(after, 0) + 1)},
                ":high": {"S": _seq_sort(_SEQ_MAX)},
            },
            "ConsistentRead": True,
            "Limit": limit,
        }
        out: list[ChannelMessage] = []
        while len(out) < limit:
            with aws_call("Query"):
                page = self.client.query(**params)
            for item in page.get("Items", []):
                if live(item, now) and len(out) < limit:
                    out.append(
                        ChannelMessage(
                            seq=int(item["seq"]["N"]),
                            published_at=datetime.fromisoformat(item["published_at"]["S"]),
                            data=json.loads(item["data"]["S"]),
                        )
                    )
            last_key = page.get("LastEvaluatedKey")
            if not last_key:
                break
            params["ExclusiveStartKey"] = last_key
        return out
