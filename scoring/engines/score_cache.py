"""LRU cache of cross-encoder logits keyed by (model, query, passage hash): agent loops re-ask the
same query over the same passages, and a cached pair costs no transformer pass."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict


def pair_key(model: str, query: str, passage: str) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for part in (model, query, passage):
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.digest()


class ScoreCache:
    def __init__(self, capacity: int):
        self.capacity = capacity
        self._data: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: bytes) -> float | None:
        if self.capacity <= 0:
            return None
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: bytes, value: float) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.capacity:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)
