"""PerformanceOptimizer: the response cache with TTL and size bound, and hit/miss accounting per query class.

Query classes: a query is **frequent** when its normalised form (case-folded, whitespace collapsed,
PII already redacted) was seen at least ``frequent_min_count`` times within the last
``frequent_window_s`` seconds *before* the current request; every other query is **other**. So with
the default 3 in 600 s, the fourth sighting within ten minutes is the first frequent one. Sightings are
counted for every cacheable operation (routine, generation), also while optimisation is off, so a query
is already known as frequent when the flag comes on. The plan's gate "cache hit rate >= 80% for
frequent queries" reads the ``frequent`` class.

Cache keys are ``<operation>:<normalised redacted query>``: no raw PII ever becomes a key.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from cachetools import TTLCache

__all__ = [
    "CacheLookup",
    "CachedAnswer",
    "ClassStats",
    "FrequencyTracker",
    "PerformanceOptimizer",
    "QueryClass",
    "normalise_query",
]


class QueryClass(StrEnum):
    """The ``query_class`` label of ``support_cache_requests_total``."""

    FREQUENT = "frequent"
    OTHER = "other"


def normalise_query(text: str) -> str:
    """The form two queries share when they ask the same thing: case-folded, single-spaced, trimmed."""
    return " ".join(text.casefold().split())


class FrequencyTracker:
    """Counts sightings per key in a sliding window, keeping a bounded number of keys (LRU)."""

    def __init__(
        self, *, min_count: int, window_s: float, max_keys: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if min_count < 1 or window_s <= 0 or max_keys < 1:
            raise ValueError("min_count and max_keys must be >= 1 and window_s positive")
        self._min = min_count
        self._window = window_s
        self._max_keys = max_keys
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def observe(self, key: str) -> QueryClass:
        """Classify ``key`` by its earlier sightings, then record this one."""
        now = self._clock()
        with self._lock:
            times = self._seen.pop(key, None)
            if times is None:
                # Only the newest min_count sightings matter for the threshold.
                times = deque(maxlen=self._min)
            while times and times[0] <= now - self._window:
                times.popleft()
            frequent = len(times) >= self._min
            times.append(now)
            self._seen[key] = times
            while len(self._seen) > self._max_keys:
                self._seen.popitem(last=False)
        return QueryClass.FREQUENT if frequent else QueryClass.OTHER


@dataclass(frozen=True)
class CachedAnswer:
    """A stored answer and the route that produced it."""

    answer: str
    source_route: str


@dataclass(frozen=True)
class CacheLookup:
    """The outcome of one cache consultation (``result`` is the response's ``cache`` field)."""

    key: str
    query_class: QueryClass
    result: Literal["hit", "miss", "bypass"]
    answer: CachedAnswer | None = None

    @property
    def hit(self) -> bool:
        """Whether the cache answered."""
        return self.result == "hit"

    @property
    def consulted(self) -> bool:
        """Whether the cache was looked at (so a fresh answer should be stored)."""
        return self.result != "bypass"


@dataclass(frozen=True)
class ClassStats:
    """Hits and misses of one query class."""

    hits: int
    misses: int

    @property
    def hit_rate(self) -> float | None:
        """Hits over lookups, or None before any lookup."""
        total = self.hits + self.misses
        return self.hits / total if total else None


CountListener = Callable[[QueryClass, Literal["hit", "miss"]], None]


class PerformanceOptimizer:
    """The response cache and its accounting."""

    def __init__(
        self,
        *,
        ttl_s: float,
        max_entries: int,
        frequent_min_count: int = 3,
        frequent_window_s: float = 600.0,
        frequent_max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
        on_count: CountListener | None = None,
    ) -> None:
        self._cache: TTLCache[str, CachedAnswer] = TTLCache(maxsize=max_entries, ttl=ttl_s, timer=clock)
        self._tracker = FrequencyTracker(
            min_count=frequent_min_count, window_s=frequent_window_s, max_keys=frequent_max_keys, clock=clock
        )
        self._lock = threading.Lock()
        self._counts: dict[tuple[QueryClass, str], int] = {}
        self._on_count = on_count
        self.ttl_s = ttl_s
        self.max_entries = max_entries

    @staticmethod
    def key(operation: str, redacted_query: str) -> str:
        """The cache key of an operation (redacted text only)."""
        return f"{operation}:{normalise_query(redacted_query)}"

    def lookup(self, operation: str, redacted_query: str, *, consult: bool) -> CacheLookup:
        """Record a sighting and, when ``consult``, look the answer up and count the hit or miss."""
        key = self.key(operation, redacted_query)
        query_class = self._tracker.observe(key)
        if not consult:
            return CacheLookup(key=key, query_class=query_class, result="bypass")
        with self._lock:
            answer = self._cache.get(key)
            result: Literal["hit", "miss"] = "hit" if answer is not None else "miss"
            self._counts[(query_class, result)] = self._counts.get((query_class, result), 0) + 1
        if self._on_count is not None:
            self._on_count(query_class, result)
        return CacheLookup(key=key, query_class=query_class, result=result, answer=answer)

    def store(self, key: str, answer: CachedAnswer) -> None:
        """Keep an answer for the TTL (the least recently used entry goes when full)."""
        with self._lock:
            self._cache[key] = answer

    def clear(self) -> int:
        """Empty the cache; returns how many entries were dropped."""
        with self._lock:
            count = len(self._cache)
            self._cache.clear()
        return count

    def size(self) -> int:
        """Entries currently held (expired ones are dropped first)."""
        with self._lock:
            self._cache.expire()
            return len(self._cache)

    def stats(self) -> dict[QueryClass, ClassStats]:
        """Hits and misses per query class since start."""
        with self._lock:
            return {
                cls: ClassStats(self._counts.get((cls, "hit"), 0), self._counts.get((cls, "miss"), 0))
                for cls in QueryClass
            }
