"""`python -m bench.compare BEFORE.json AFTER.json`: a markdown table of two results.json side by side."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _get(results: dict[str, Any], path: str) -> Any:
    node: Any = results
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


ROWS = (
    ("happy-path deploy, median (s)", "deploy.median_s"),
    ("deploy floor (s)", "deploy.floor.total_s"),
    ("deploy / floor", "deploy.ratio"),
    ("immediate rollback, failure -> verified (s)", "rollbacks.immediate.median_s"),
    ("full rollback, failure -> verified (s)", "rollbacks.full.median_s"),
    ("partial rollback, failure -> verified (s)", "rollbacks.partial.median_s"),
    ("flag propagation p50 (s)", "flag_propagation.p50_s"),
    ("flag propagation p95 (s)", "flag_propagation.p95_s"),
    ("flag propagation p95 (poll intervals)", "flag_propagation.p95_intervals"),
    ("traffic shift, median (s)", "traffic_shift.median_s"),
    ("suite phase 2 without load (s)", "gate_overhead.phase2.overhead_s"),
    ("suite phase 3 without load (s)", "gate_overhead.phase3.overhead_s"),
    ("suite phase 4 without load (s)", "gate_overhead.phase4.overhead_s"),
    ("suite phase 7 without load (s)", "gate_overhead.phase7.overhead_s"),
    ("service-added latency, direct p50 / p95 / p99 (ms)", "service.added_latency_ms.direct.added_ms"),
    ("service-added latency, cache p50 / p95 / p99 (ms)", "service.added_latency_ms.cache.added_ms"),
    ("cached route through Caddy (req/s)", "service.cached_through_caddy.max_rps"),
    ("one core of locust (req/s)", "service.locust_one_core.rps_per_core"),
    ("SLO load, 1 locust worker (req/s)", "detection.load_rps.1.rps"),
    ("SLO load, 2 locust workers (req/s)", "detection.load_rps.2.rps"),
    ("latency-breach known into the load (s)", "detection.drills.latency-breach.decided_after_s"),
    ("errors-under-load known into the load (s)", "detection.drills.errors-under-load.decided_after_s"),
    ("flag-degradation known into the load (s)", "detection.drills.flag-degradation.decided_after_s"),
    ("peak RSS of a slot (MiB)", "memory.slot_peak_rss_mb"),
    ("peak RSS of the sandbox (MiB)", "memory.sandbox_peak_rss_mb"),
    ("machine load average at start (1 min)", "meta.machine.loadavg_at_start"),
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict) and {"p50", "p95", "p99"} <= set(value):
        return f"{value['p50']} / {value['p95']} / {value['p99']}"
    if isinstance(value, list):
        return str(value[0]) if value else "-"
    return str(value)


def compare(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Markdown rows: measure | before | after."""
    lines = ["| measure | before | after |", "| --- | ---: | ---: |"]
    lines += [
        f"| {label} | {_cell(_get(before, path))} | {_cell(_get(after, path))} |" for label, path in ROWS
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the comparison table."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__)
        return 2
    before, after = (json.loads(Path(a).read_text(encoding="utf-8")) for a in args)
    print(compare(before, after))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
