"""The bench's own arithmetic: medians and percentiles, the plan's floor, the results schema.

Pure functions (no clock, no I/O) so that tests/unit/bench checks them without timing anything.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

# The plan's waits in plan seconds (docs/deployment-plan.md); the sandbox multiplies them by its time scale.
FLAG_MONITORING_S = 120.0  # monitoring window after each flag (bedrock_release.load.runner.FLAG_MONITORING_S)
SLO_ROLLING_WINDOW_S = 300.0  # rolling window of the SLO gates; the phase-3 load lasts two of them
STABILITY_WATCH_S = 60.0  # rollback_stability_watch_s default
# The plan's wall-clock rollback targets (never scaled, docs/pipeline.md "Rollbacks").
ROLLBACK_PLAN_TARGET_S = {"immediate": 300.0, "partial": 600.0, "full": 1800.0}
# This sandbox targets (issue 7).
SANDBOX_TARGETS = {
    "deploy_ratio_max": 1.5,
    "rollback_immediate_s": 5.0,
    "rollback_full_s": 30.0,
    "flag_propagation_p95_intervals": 2.0,
    "cached_added_p95_ms": 5.0,
}


def median(samples: Sequence[float]) -> float | None:
    """Median of the samples, None for none."""
    return round(statistics.median(samples), 3) if samples else None


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks (numpy's default)."""
    if not samples:
        raise ValueError("no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside 0..100")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def quantiles(samples: Sequence[float], digits: int = 3) -> dict[str, float]:
    """p50, p95, p99 and the sample count."""
    return {
        "n": len(samples),
        "p50": round(percentile(samples, 50), digits),
        "p95": round(percentile(samples, 95), digits),
        "p99": round(percentile(samples, 99), digits),
    }


def deploy_floor(values: Mapping[str, Any], *, suite_waits: bool) -> dict[str, float]:
    """The waits a deploy must spend at the sandbox's time scale, from the inventory values of the run.

    ``values``: release_time_scale, traffic_canary_steps, traffic_bake_s, feature_flags_names.
    ``suite_waits``: whether the suite used performs the plan's load windows (the real suite does:
    the SLO load and a monitoring window per flag; the pipeline tests' stand-in checks do not wait).
    """
    scale = float(values["release_time_scale"])
    bakes = len(values["traffic_canary_steps"]) * float(values["traffic_bake_s"]) * scale
    windows = len(values["feature_flags_names"]) * FLAG_MONITORING_S * scale
    slo_load = 2 * SLO_ROLLING_WINDOW_S * scale
    parts = {"canary_bakes_s": bakes, "flag_windows_s": windows, "slo_load_s": slo_load}
    if not suite_waits:
        parts["flag_windows_s"] = parts["slo_load_s"] = 0.0
    parts = {k: round(v, 3) for k, v in parts.items()}
    parts["total_s"] = round(sum(parts.values()), 3)
    return parts


def rollback_floor(tier: str, values: Mapping[str, Any], *, reenabled: int, suite_waits: bool) -> float:
    """Waits inside a rollback of ``tier``: the stability watch, plus a window per re-enabled flag."""
    scale = float(values["release_time_scale"])
    watch = float(values.get("rollback_stability_watch_s", STABILITY_WATCH_S)) * scale
    windows = reenabled * FLAG_MONITORING_S * scale if tier == "partial" and suite_waits else 0.0
    return round(watch + windows, 3)


def ratio(value: float | None, floor: float | None) -> float | None:
    """value / floor, None when either is missing or the floor is zero."""
    if value is None or not floor:
        return None
    return round(value / floor, 2)


def detection_row(drill: Mapping[str, Any], rollback_s: float | None, tier: str) -> tuple[str, str]:
    """The table row of one drill: fault -> gate failed, when the test knew against its window (met or
    not met: within ``target_share`` of it), then + the tier's rollback = verified, and Flagger / Argo."""
    known, share = drill.get("decided_after_s"), drill.get("share_of_window")
    met = "met" if share is not None and share <= drill["target_share"] else "not met"
    verified = f"; {tier} rollback not measured"
    if isinstance(rollback_s, int | float):
        total = round(drill["fault_to_gate_failed_s"] + rollback_s, 1)
        verified = f"; + {tier} rollback {rollback_s} s = {total} s to verified"
    return (
        f"{drill['fault_to_gate_failed_s']} s",
        f"{drill['gate']} {drill['verdict']}, known {known} s into the load = {share} of {drill['window']} "
        f"(target <= {drill['target_share']}: {met}){verified}; Flagger {drill['flagger_s']} s, "
        f"Argo Rollouts {drill['argo_rollouts_s']} s",
    )


# results.json: top-level keys and, for each section, the keys it must carry.
SCHEMA: dict[str, tuple[str, ...]] = {
    "meta": ("started_at", "quick", "machine", "git_commit", "time_scale"),
    "deploy": ("runs_s", "median_s", "floor", "ratio", "suite"),
    "rollbacks": (),
    "flag_propagation": ("samples", "poll_interval_s", "p50_s", "p95_s", "p95_intervals"),
    "traffic_shift": ("samples", "median_s"),
    "gate_overhead": (),
    "service": ("added_latency_ms", "cached_through_caddy", "locust_one_core"),
    "memory": ("slot_peak_rss_mb", "sandbox_peak_rss_mb"),
    "detection": ("load_rps", "drills"),
}
ROLLBACK_KEYS = ("runs_s", "median_s", "floor_s", "plan_target_s", "sandbox_target_s", "verified")


def schema_problems(results: Mapping[str, Any]) -> list[str]:
    """What results.json lacks (empty when complete); a section skipped on purpose carries "skipped"."""
    problems = []
    for section, keys in SCHEMA.items():
        if section not in results:
            problems.append(f"missing section {section}")
            continue
        body = results[section]
        if not isinstance(body, Mapping):
            problems.append(f"{section} is not an object")
            continue
        if "skipped" in body:
            continue
        problems += [f"{section}.{key} missing" for key in keys if key not in body]
    for tier, body in (results.get("rollbacks") or {}).items():
        if tier not in ROLLBACK_PLAN_TARGET_S:
            problems.append(f"rollbacks.{tier} is not a tier")
        elif isinstance(body, Mapping) and "skipped" not in body:
            problems += [f"rollbacks.{tier}.{key} missing" for key in ROLLBACK_KEYS if key not in body]
    return problems
