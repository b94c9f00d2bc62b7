"""Writing one fan-out job's messages: the job record, its shards and listing pages."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .fanout_codec import (
    INLINE_PAYLOAD_BYTES,
    Job,
    Message,
    decode,
    encode,
    payload_field,
    shard_messages,
)
from .fanout_queue import FanoutQueue, SendResult, _queue_error

if TYPE_CHECKING:
    from .fanout import FanoutOptions, Listing
    from .fanout_state import FanoutState

__all__ = ["ShardWriter", "Written"]


@dataclass
class Written:
    """A job's first messages, as queued: ``shards`` queued, ``missed`` the connection
    ids of the shards not queued, ``listing`` whether the listing goes on in the workers,
    ``send`` the queue's answer; ``lost`` the shards not queued and ``listing_lost``
    whether the listing's message was not (the job record still counts them)."""

    shards: int
    missed: list[str]
    listing: bool
    send: SendResult
    lost: int = 0
    listing_lost: bool = False


class ShardWriter:
    """Writes one job's messages: the job record first, then shards and listing pages."""

    def __init__(
        self, job: Job, state: FanoutState, options: FanoutOptions, queue: FanoutQueue
    ) -> None:
        self.job = job
        self.state = state
        self.options = options
        self.queue = queue

    def start(
        self,
        payload: bytes,
        ids: list[str],
        listing: tuple[Listing, str | None] | None,
        *,
        deadline: float | None = None,
    ) -> Written:
        """Write the job and its first shards (and listing page): what was queued.

        Raises 503 ``FANOUT_QUEUE_ERROR`` when nothing was queued (nothing will be
        delivered, so sending again is safe). When only some messages were queued, the
        job record is cut down to them, so its totals close once they are delivered.
        """
        field = payload_field(payload)
        stored: bytes | None = None
        if self.state.shared and len(json.dumps(field)) > INLINE_PAYLOAD_BYTES:
            stored, field = payload, {"ref": 1}
        bodies = list(shard_messages(self.job, ids, field, shard_size=self.options.shard_size))
        cursor = listing[1] if listing is not None else None
        try:
            self.state.create_job(
                self.job.job_id,
                shards=len(bodies),
                listing=cursor is not None,
                payload=stored,
                created=self.job.created,
            )
        except Exception as exc:  # the table failed: told as the queue being unavailable
            raise _queue_error(exc) from exc
        if listing is not None and cursor is not None:
            page = Message(
                "list",
                self.job,
                "l1",
                field,
                lister=listing[0].lister,
                params=dict(listing[0].params),
                cursor=cursor,
                seq=1,
            )
            bodies.append(("l1", encode(page)))
        sent = self.queue.send(bodies, deadline=deadline)
        if not sent.queued:
            reasons = ", ".join(sorted(set(sent.failed.values()))[:3])
            raise _queue_error(ValueError(f"no message queued ({reasons})"))
        listing_on = cursor is not None and "l1" not in sent.failed
        missed = [
            connection_id
            for key, body in bodies
            if key in sent.failed and key != "l1"
            for connection_id in decode(body).ids
        ]
        lost = sum(1 for key in sent.failed if key != "l1")
        queued = len(bodies) - (1 if cursor is not None else 0) - lost
        return Written(
            shards=queued,
            missed=missed,
            listing=listing_on,
            send=sent,
            lost=lost,
            listing_lost=cursor is not None and not listing_on,
        )

    def page(self, message: Message, ids: list[str], cursor: str | None) -> int:
        """Write the shards of listing page ``message.seq`` and the next page's message."""
        prefix = f"l{message.seq}."
        bodies = list(
            shard_messages(
                self.job, ids, message.payload, shard_size=self.options.shard_size, prefix=prefix
            )
        )
        ids, cursor = self.state.record_page(self.job.job_id, message.seq, ids, cursor, len(bodies))
        bodies = list(
            shard_messages(
                self.job, ids, message.payload, shard_size=self.options.shard_size, prefix=prefix
            )
        )
        if cursor is not None:
            seq = message.seq + 1
            following = Message(
                "list",
                self.job,
                f"l{seq}",
                message.payload,
                lister=message.lister,
                params=message.params,
                cursor=cursor,
                seq=seq,
            )
            bodies.append((following.key, encode(following)))
        if bodies:
            sent = self.queue.send(bodies)
            if sent.failed:
                # SQS delivers this page's message again; copies of the shards that were
                # queued are recognised by their keys and delivered once.
                raise _queue_error(ValueError(f"{len(sent.failed)} messages not queued"))
        return len(bodies)
