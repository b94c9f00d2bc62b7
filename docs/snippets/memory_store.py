# snippet: memory_store.py
from datetime import datetime, timedelta, timezone

from lift.websocket import Connection, ConnectionStore, MemoryConnectionStore

now = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
clock = [now]
store = MemoryConnectionStore(clock=lambda: clock[0])  # the clock is for tests
assert isinstance(store, ConnectionStore)  # the protocol is runtime-checkable

store.save(Connection("c1", user_id="ana", tenant_id="acme", connected_at=now))
store.save(Connection("c2", user_id="ana", tenant_id="acme", connected_at=now))
store.save(Connection("c3", expires_at=now + timedelta(hours=2)))  # anonymous

assert [c.connection_id for c in store.list_by_user("ana")] == ["c1", "c2"]
assert [c.connection_id for c in store.list_by_tenant("acme")] == ["c1", "c2"]
assert store.count_active() == 3

store.delete("c2")
store.delete("c2")  # deleting an absent record is not an error
assert store.get("c2") is None

clock[0] = now + timedelta(hours=3)  # c3 expired: never returned nor counted again
assert store.get("c3") is None
assert store.count_active() == 1
