"""PerformanceOptimizer: hits and misses per query class, TTL expiry, size bound, normalisation."""

from __future__ import annotations

from svc_fakes import ManualClock

from support_service.cache import (
    CachedAnswer,
    FrequencyTracker,
    PerformanceOptimizer,
    QueryClass,
    normalise_query,
)


def optimizer(clock: ManualClock, counted: list | None = None, **kwargs) -> PerformanceOptimizer:
    settings = {"ttl_s": 60.0, "max_entries": 100, "frequent_min_count": 3, "frequent_window_s": 600.0}
    settings.update(kwargs)
    return PerformanceOptimizer(
        clock=clock, on_count=None if counted is None else (lambda c, r: counted.append((c, r))), **settings
    )


def test_miss_then_hit_after_store() -> None:
    clock = ManualClock()
    counted: list = []
    opt = optimizer(clock, counted)
    first = opt.lookup("routine", "How do I rotate keys?", consult=True)
    assert first.result == "miss"
    assert first.answer is None
    opt.store(first.key, CachedAnswer("rotate them", "mcp"))
    second = opt.lookup("routine", "  how do i   ROTATE keys? ", consult=True)
    assert second.hit
    assert second.answer == CachedAnswer("rotate them", "mcp")
    assert counted == [(QueryClass.OTHER, "miss"), (QueryClass.OTHER, "hit")]


def test_frequent_class_starts_at_the_fourth_sighting_in_the_window() -> None:
    clock = ManualClock()
    opt = optimizer(clock)
    classes = []
    for _ in range(5):
        lookup = opt.lookup("routine", "q", consult=True)
        classes.append(lookup.query_class)
        opt.store(lookup.key, CachedAnswer("a", "mcp"))
        clock.advance(1)
    assert classes == [QueryClass.OTHER] * 3 + [QueryClass.FREQUENT] * 2
    stats = opt.stats()
    assert (stats[QueryClass.OTHER].hits, stats[QueryClass.OTHER].misses) == (2, 1)
    assert (stats[QueryClass.FREQUENT].hits, stats[QueryClass.FREQUENT].misses) == (2, 0)
    assert stats[QueryClass.FREQUENT].hit_rate == 1.0


def test_sightings_outside_the_window_do_not_count() -> None:
    clock = ManualClock()
    tracker = FrequencyTracker(min_count=2, window_s=10, max_keys=10, clock=clock)
    tracker.observe("k")
    clock.advance(6)
    tracker.observe("k")
    clock.advance(5)  # the first sighting is now 11 s old
    assert tracker.observe("k") is QueryClass.OTHER
    assert tracker.observe("k") is QueryClass.FREQUENT


def test_tracker_forgets_the_least_recent_key_when_full() -> None:
    tracker = FrequencyTracker(min_count=1, window_s=100, max_keys=2, clock=ManualClock())
    tracker.observe("a")
    tracker.observe("b")
    tracker.observe("c")  # evicts "a"
    assert tracker.observe("a") is QueryClass.OTHER
    assert tracker.observe("c") is QueryClass.FREQUENT


def test_ttl_expiry() -> None:
    clock = ManualClock()
    opt = optimizer(clock)
    key = opt.lookup("generation", "q", consult=True).key
    opt.store(key, CachedAnswer("a", "direct"))
    clock.advance(59.9)
    assert opt.lookup("generation", "q", consult=True).hit
    clock.advance(0.2)
    assert opt.lookup("generation", "q", consult=True).result == "miss"
    assert opt.size() == 0


def test_size_bound_evicts() -> None:
    opt = optimizer(ManualClock(), max_entries=2)
    for query in ("a", "b", "c"):
        opt.store(opt.key("routine", query), CachedAnswer(query, "mcp"))
    assert opt.size() == 2
    assert opt.lookup("routine", "a", consult=True).result == "miss"
    assert opt.lookup("routine", "c", consult=True).hit


def test_bypass_is_not_counted_but_is_observed() -> None:
    clock = ManualClock()
    counted: list = []
    opt = optimizer(clock, counted)
    for _ in range(3):
        assert opt.lookup("routine", "q", consult=False).result == "bypass"
    assert counted == []
    assert opt.lookup("routine", "q", consult=True).query_class is QueryClass.FREQUENT


def test_keys_separate_operations_and_clear_empties() -> None:
    opt = optimizer(ManualClock())
    assert opt.key("routine", "Q") != opt.key("generation", "Q")
    opt.store(opt.key("routine", "q"), CachedAnswer("a", "mcp"))
    assert opt.clear() == 1
    assert opt.size() == 0


def test_normalisation() -> None:
    assert normalise_query("  Hello\tWORLD \n") == "hello world"


def test_hit_rate_none_before_lookups() -> None:
    assert optimizer(ManualClock()).stats()[QueryClass.FREQUENT].hit_rate is None
