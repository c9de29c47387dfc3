"""The staging performance suite: a short, bounded concurrent load through Caddy, gated by the plan's SLOs.

load/ (locust, owned by the verification suite) had not landed when this was written, so the load is
a small in-process thread pool of plain HTTP requests; the gate math is the project's own (slo.py).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

from bedrock_release.gates import slo
from bedrock_release.gates.verdict import GateResult, Window
from bedrock_release.plan import PLAN_SLO_GATES
from bedrock_release.pre_deployment._checks import gate_case
from bedrock_release.pre_deployment.junit import CaseResult
from bedrock_release.pre_deployment.staging_target import StagingTarget

__all__ = ["LoadPlan", "run_performance_suite"]

_THRESHOLDS = {gate.name: gate.threshold for gate in PLAN_SLO_GATES}
_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class LoadPlan:
    """How much load: enough for each gate's minimum samples, bounded in count and time."""

    generation_requests: int = 330  # P95 needs 300 samples
    frequent_queries: int = 12
    frequent_repeats: int = 50  # 12 x (50 - 3 non-frequent sightings) = 564 frequent lookups >= 500
    mcp_requests: int = 200  # flags off: the MCP-only path under the same load
    workers: int = 8
    deadline_s: float = 120.0


@dataclass(frozen=True)
class _Sample:
    kind: str
    started: float
    ms: float
    ok: bool
    cache: str | None


def _one(
    session: requests.Session, target: StagingTarget, kind: str, query: str, verification: bool
) -> _Sample:
    headers = {"X-Verification-Token": target.admin_token} if verification else {}
    body = {"type": kind, "query": query, "customer_region": "eu-central-1"}
    started = time.monotonic()
    try:
        response = session.post(
            f"{target.traffic}/v1/support/operations", json=body, headers=headers, timeout=_TIMEOUT_S
        )
        ok = response.status_code == 200
        cache = response.json().get("cache") if ok else None
    except (requests.RequestException, ValueError):
        ok, cache = False, None
    return _Sample(kind, started, (time.monotonic() - started) * 1000.0, ok, cache)


def _requests(plan: LoadPlan) -> list[tuple[str, str, bool]]:
    run = uuid.uuid4().hex[:8]
    jobs = [
        ("generation", f"staging load {run}: draft a reply about error {i}", True)
        for i in range(plan.generation_requests)
    ]
    frequent = [
        f"staging load {run}: how do I rotate my api key, variant {q}" for q in range(plan.frequent_queries)
    ]
    # Round-robin over the frequent set, as a stream of customers asking the same questions.
    jobs += [
        ("routine", frequent[i % len(frequent)], True)
        for i in range(plan.frequent_queries * plan.frequent_repeats)
    ]
    jobs += [("routine", f"staging load {run}: ticket status {i}", False) for i in range(plan.mcp_requests)]
    # Interleave the kinds so every part of the run carries every kind.
    return [job for group in zip(*(jobs[i::3] for i in range(3)), strict=False) for job in group] + jobs[
        3 * (len(jobs) // 3) :
    ]


def _scrape(
    session: requests.Session, target: StagingTarget
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = Counter()
    for url in target.slots.values():
        text = session.get(f"{url}/metrics", timeout=_TIMEOUT_S).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                values[(sample.name, tuple(sorted(sample.labels.items())))] += sample.value
    return values


def _sum(values: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in values.items() if n == name and all((k, labels[k]) in ls for k in labels))


def _histogram(samples: Iterable[_Sample]) -> slo.Histogram | None:
    # Exact times in known buckets: rounding to the nearest ms could put 1500.4 ms under a 1500 ms limit.
    histogram = slo.from_exact(s.ms for s in samples)
    return histogram if histogram.total else None


def _series(samples: list[_Sample], origin: float) -> list[dict[str, float]]:
    """Per-second cumulative (t, requests, failures) from t=0: requests completed before each t."""
    ordered = sorted(samples, key=lambda s: s.started + s.ms / 1000.0)
    series = [{"t": 0.0, "requests": 0, "failures": 0}]
    done_requests, failures, second = 0, 0, 1
    for sample in ordered:
        done = sample.started + sample.ms / 1000.0 - origin
        while done >= second:
            series.append({"t": float(second), "requests": done_requests, "failures": failures})
            second += 1
        done_requests += 1
        failures += 0 if sample.ok else 1
    series.append({"t": float(second), "requests": done_requests, "failures": failures})
    return series


def run_load(target: StagingTarget, plan: LoadPlan) -> tuple[list[_Sample], float, float]:
    """Send the plan's requests with a bounded pool; stop submitting at the deadline."""
    session = requests.Session()
    session.trust_env = False
    adapter = requests.adapters.HTTPAdapter(pool_connections=plan.workers, pool_maxsize=plan.workers)
    session.mount("http://", adapter)
    origin = time.monotonic()
    deadline = origin + plan.deadline_s
    samples: list[_Sample] = []
    with ThreadPoolExecutor(max_workers=plan.workers) as pool:
        futures = [
            pool.submit(lambda job=job: None if time.monotonic() > deadline else _one(session, target, *job))
            for job in _requests(plan)
        ]
        samples = [s for s in (f.result() for f in futures) if s is not None]
    return samples, origin, time.monotonic() - origin


def performance_gates(
    samples: list[_Sample], origin: float, duration_s: float, *, before: Any, after: Any, budget_usd: float
) -> list[GateResult]:
    """Evaluate the plan's SLO gates on one load run."""
    window = Window(f"staging load run of {duration_s:.1f} s", duration_s)
    source = "staging sandbox: client-side timings through Caddy"
    generation = [s for s in samples if s.kind == "generation" and s.ok]
    cached = [s for s in samples if s.ok and s.cache == "hit"]
    hits = _sum(after, "support_cache_requests_total", query_class="frequent", result="hit") - _sum(
        before, "support_cache_requests_total", query_class="frequent", result="hit"
    )
    misses = _sum(after, "support_cache_requests_total", query_class="frequent", result="miss") - _sum(
        before, "support_cache_requests_total", query_class="frequent", result="miss"
    )
    spend = _sum(after, "support_cost_usd_total")
    series = _series(samples, origin)
    return [
        slo.latency_gate(
            "p95-latency-generation",
            _histogram(generation),
            threshold=_THRESHOLDS["p95-latency-generation"],
            source=source,
            window=window,
        ),
        slo.latency_gate(
            "p95-latency-cached",
            _histogram(cached),
            threshold=_THRESHOLDS["p95-latency-cached"],
            source=source,
            window=window,
        ),
        slo.error_rate_worst_window_gate(
            "error-rate",
            series,
            threshold_pct=_THRESHOLDS["error-rate"],
            # One window over the whole (short) run: a 5-minute window cannot fit in staging's budget.
            window_s=series[-1]["t"],
            source=source,
        ),
        slo.cache_hit_rate_gate(
            "cache-hit-rate",
            round(hits),
            round(misses),
            threshold_pct=_THRESHOLDS["cache-hit-rate"],
            source="staging sandbox: support_cache_requests_total{query_class=frequent}",
            window=window,
        ),
        slo.cost_gate(
            "cost-budget",
            spend,
            budget_usd,
            threshold_pct=_THRESHOLDS["cost-budget"],
            source="staging sandbox: support_cost_usd_total",
            window=window,
        ),
    ]


def run_performance_suite(
    target: StagingTarget, log: Callable[[str], None], plan: LoadPlan | None = None
) -> tuple[list[CaseResult], dict[str, Any]]:
    """Run the load and return one case per SLO gate, plus the gates' evidence for the record."""
    plan = plan or LoadPlan()
    session = requests.Session()
    session.trust_env = False
    before = _scrape(session, target)
    samples, origin, duration = run_load(target, plan)
    after = _scrape(session, target)
    gates = performance_gates(
        samples, origin, duration, before=before, after=after, budget_usd=target.budget_usd
    )
    for gate in gates:
        log(gate.message())
    by_kind = Counter((s.kind, s.ok) for s in samples)
    record = {
        "method": "in-process thread pool (requests), not locust: load/ had not landed",
        "plan": plan.__dict__,
        "duration_s": round(duration, 3),
        "requests": len(samples),
        "by_kind": {f"{kind}:{'ok' if ok else 'error'}": n for (kind, ok), n in sorted(by_kind.items())},
        "gates": [gate.to_dict(include_raw=True) for gate in gates],
    }
    return [gate_case(gate, "staging.performance") for gate in gates], record
