"""The bench's own arithmetic (bench/stats.py): percentiles, the plan's floor, the results schema."""

from __future__ import annotations

import pytest
from bench import stats
from bench.compare import compare

LOCAL = {  # inventories/local with the roles' defaults, as the bench reads them
    "release_time_scale": 0.05,
    "traffic_canary_steps": [5, 25, 50, 100],
    "traffic_bake_s": 120,
    "feature_flags_names": ["A", "B", "C", "D", "E"],
    "rollback_stability_watch_s": 60,
}


def test_percentiles_interpolate_between_closest_ranks() -> None:
    samples = [float(v) for v in range(1, 101)]  # 1..100
    assert stats.percentile(samples, 50) == pytest.approx(50.5)
    assert stats.percentile(samples, 95) == pytest.approx(95.05)
    assert stats.percentile(samples, 0) == 1.0
    assert stats.percentile(samples, 100) == 100.0
    assert stats.percentile([7.0], 99) == 7.0
    assert stats.quantiles([3.0, 1.0, 2.0]) == {"n": 3, "p50": 2.0, "p95": 2.9, "p99": 2.98}


def test_percentile_refuses_nothing_and_out_of_range() -> None:
    with pytest.raises(ValueError, match="no samples"):
        stats.percentile([], 50)
    with pytest.raises(ValueError, match="outside"):
        stats.percentile([1.0], 101)


def test_median_of_even_and_odd_counts_and_of_nothing() -> None:
    assert stats.median([4.0, 1.0, 3.0]) == 3.0
    assert stats.median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert stats.median([]) is None


def test_deploy_floor_is_the_plans_waits_at_the_time_scale() -> None:
    real = stats.deploy_floor(LOCAL, suite_waits=True)
    assert real == {"canary_bakes_s": 24.0, "flag_windows_s": 30.0, "slo_load_s": 30.0, "total_s": 84.0}
    standin = stats.deploy_floor(LOCAL, suite_waits=False)  # the stand-in checks wait for nothing
    assert standin == {"canary_bakes_s": 24.0, "flag_windows_s": 0.0, "slo_load_s": 0.0, "total_s": 24.0}


def test_deploy_floor_follows_the_inventory_values() -> None:
    values = {**LOCAL, "release_time_scale": 1.0, "traffic_canary_steps": [10, 100], "traffic_bake_s": 60}
    assert stats.deploy_floor(values, suite_waits=True)["total_s"] == 2 * 60 + 5 * 120 + 600


def test_rollback_floor_is_the_watch_plus_the_reenabled_windows() -> None:
    assert stats.rollback_floor("immediate", LOCAL, reenabled=0, suite_waits=True) == 3.0
    assert stats.rollback_floor("full", LOCAL, reenabled=0, suite_waits=True) == 3.0
    assert stats.rollback_floor("partial", LOCAL, reenabled=2, suite_waits=True) == 15.0
    assert stats.rollback_floor("partial", LOCAL, reenabled=2, suite_waits=False) == 3.0


def test_ratio_is_none_without_a_floor() -> None:
    assert stats.ratio(36.0, 24.0) == 1.5
    assert stats.ratio(36.0, 0.0) is None
    assert stats.ratio(None, 24.0) is None


def _complete() -> dict:
    rollback = dict.fromkeys(stats.ROLLBACK_KEYS, 1)
    results = {section: dict.fromkeys(keys, 1) for section, keys in stats.SCHEMA.items()}
    results["rollbacks"] = {
        "immediate": dict(rollback),
        "full": dict(rollback),
        "partial": {"skipped": "quick"},
    }
    return results


def test_a_complete_results_document_has_no_problems() -> None:
    assert stats.schema_problems(_complete()) == []


def test_missing_sections_keys_and_unknown_tiers_are_named() -> None:
    results = _complete()
    del results["memory"]
    del results["deploy"]["floor"]
    del results["rollbacks"]["full"]["verified"]
    results["rollbacks"]["sideways"] = {}
    results["service"] = {"skipped": "no locust"}  # skipped on purpose is not a problem
    assert stats.schema_problems(results) == [
        "deploy.floor missing",
        "missing section memory",
        "rollbacks.full.verified missing",
        "rollbacks.sideways is not a tier",
    ]


def test_compare_puts_before_and_after_side_by_side() -> None:
    before = {
        "deploy": {"median_s": 300.0},
        "service": {"added_latency_ms": {"cache": {"added_ms": {"p50": 1, "p95": 2, "p99": 3}}}},
    }
    after = {"deploy": {"median_s": 150.0}}
    table = compare(before, after).splitlines()
    assert "| happy-path deploy, median (s) | 300.0 | 150.0 |" in table
    assert "| service-added latency, cache p50 / p95 / p99 (ms) | 1 / 2 / 3 | - |" in table


def _drill(share: float | None) -> dict:
    return {
        "gate": "error-rate",
        "verdict": "fail",
        "decided_after_s": None if share is None else share * 15,
        "share_of_window": share,
        "fault_to_gate_failed_s": 17.7,
        "window": "the rolling window (15 s)",
        "target_share": 0.2,
        "flagger_s": 15.0,
        "argo_rollouts_s": 45.0,
    }


def test_a_drill_row_says_met_within_a_fifth_of_the_window_and_adds_the_rollback() -> None:
    value, detail = stats.detection_row(_drill(0.1), 14.7, "full")
    assert value == "17.7 s"
    assert "(target <= 0.2: met)" in detail
    assert "+ full rollback 14.7 s = 32.4 s to verified" in detail
    assert "Flagger 15.0 s, Argo Rollouts 45.0 s" in detail
    _, late = stats.detection_row(_drill(0.22), None, "full")
    assert "(target <= 0.2: not met)" in late
    assert "full rollback not measured" in late
    _, unknown = stats.detection_row(_drill(None), None, "partial")  # known only at the window's end
    assert "not met" in unknown
