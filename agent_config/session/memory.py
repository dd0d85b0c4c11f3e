"""The in-memory session store: the same semantics as DynamoDB, in one process, for local use.

For the CLI, the demo and tests when no session table is configured. It keeps DynamoDB's rules
that the base class relies on (conditional writes are atomic, reads are strongly consistent,
expired items linger until swept), so code that works here works against the table. State lives
as long as the process: in a Lambda each container would have its own, which is why the deployed
function always gets a table.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import ClassVar

from agent_config.session.settings import SessionSettings
from agent_config.session.store import (
    Clock,
    ItemKey,
    PreconditionFailed,
    RandomSource,
    SessionStore,
    Sleep,
    StoredItem,
)


class InMemorySessionStore(SessionStore):
    backend: ClassVar[str] = "memory"

    def __init__(
        self,
        settings: SessionSettings | None = None,
        *,
        clock: Clock = time.time,
        sleep: Sleep = time.sleep,
        rng: RandomSource = random.random,
    ) -> None:
        super().__init__(settings, clock=clock, sleep=sleep, rng=rng)
        self._items: dict[ItemKey, StoredItem] = {}
        self._lock = threading.Lock()

    def _get_item(self, key: ItemKey) -> StoredItem | None:
        with self._lock:
            return self._items.get(key)

    def _get_items(self, keys: Sequence[ItemKey]) -> list[StoredItem]:
        with self._lock:
            return [self._items[key] for key in keys if key in self._items]

    def _put_item(self, item: StoredItem, expected_version: int | None) -> None:
        with self._lock:
            current = self._items.get(item.key)
            if expected_version is None and current is not None:
                raise PreconditionFailed(f"{item.key} exists")
            if expected_version is not None and (current is None or current.version != expected_version):
                raise PreconditionFailed(f"{item.key} is not at version {expected_version}")
            self._items[item.key] = item

    def _put_items(self, items: Sequence[StoredItem]) -> None:
        with self._lock:
            for item in items:
                self._items[item.key] = item

    def _refresh_expiry(self, key: ItemKey, expires_at: int) -> bool:
        with self._lock:
            current = self._items.get(key)
            if current is None:
                return False
            self._items[key] = replace(current, expires_at=expires_at)
            return True

    def sweep_expired(self) -> int:
        """Delete expired items, as DynamoDB's TTL process eventually does; returns how many."""
        now = self._clock()
        with self._lock:
            expired = [key for key, item in self._items.items() if item.expires_at <= now]
            for key in expired:
                del self._items[key]
        return len(expired)

    def item_count(self) -> int:
        with self._lock:
            return len(self._items)
