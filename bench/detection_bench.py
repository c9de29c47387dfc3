"""Load generator throughput, and time to detect a fault with the real suite's sequential gates.

In a private sandbox of its own (the suite acceptance tests' tests/integration/suite/suite_sandbox.py:
release 1.1.0 on green at 100 %, time scale 0.05, ephemeral ports), started after the pipeline bench's
sandbox is down so the two never share the machine:

1. requests/s of the SLO load (the locustfile's own mix, verification traffic) with 1 and 2 locust
   workers, offered far above what the sandbox answers: what the load generators deliver here;
2. per drill, the fault made active, then the real suite step that must catch it (phase 3, or a flag
   window), timed from the fault being active to the failing gate's journal record; the record's
   ``decided_after_s`` says when, inside the load, the sequential test knew. Next to it: the gate's
   window and what Flagger's rule (interval x threshold) and Argo Rollouts' (interval x failureLimit)
   would need at the sandbox's time scale with their documented settings.

Numbers, not verdicts; bench/__main__.py puts them beside the targets.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from bedrock_release.load.runner import STRETCH_LIMIT, LoadPlan, run_load
from bedrock_release.pipeline.drills import drill
from bedrock_release.plan import FLAG_MONITORING_S, FLAGS, ROLLING_WINDOW_S
from sandbox.settings import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tests" / "integration" / "suite"))
from suite_runner import run_suite  # the suite acceptance tests' pytest runner
from suite_sandbox import SuiteSandbox, deploy_new_release, running, session, set_flags

#: Flagger's documented analysis (interval 1 min, threshold 5 failed checks) and Argo Rollouts' (interval
#: 5 min, failureLimit 3), in plan seconds: the least time each takes to roll back a plain breach.
FLAGGER_S = 60.0 * 5
ARGO_ROLLOUTS_S = 300.0 * 3
#: The issue's target: a plain breach is known within this share of its gate's window.
DETECTION_TARGET_SHARE = 0.2


def _journal_gates(journal: Path, since: float) -> list[tuple[float, dict[str, Any]]]:
    out = []
    for line in journal.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        ts = datetime.fromisoformat(str(record["ts"]).replace("Z", "+00:00")).timestamp()
        if record["action"] == "gate_evaluated" and ts >= since:
            out.append((ts, record["data"]["gate"]))
    return out


def load_rps(box: SuiteSandbox, root: Path, workers: int, seconds: float) -> dict[str, Any]:
    """Requests/s the SLO load delivers with this many workers, offered at 600 requests/s.

    The sandbox cannot answer 600/s, so the load stretches to its limit (STRETCH_LIMIT x its planned
    duration), as any planned load the machine cannot deliver does: it is planned for a quarter of
    ``seconds``.
    """
    plan = LoadPlan(
        host=box.endpoints["traffic"],
        duration_s=seconds / STRETCH_LIMIT,
        rate_rps=600.0,
        verification=True,
        results_path=root / f"rps-{workers}-workers.json",
        purpose=f"rps-{workers}",
        workers=workers,
    )
    run = run_load(plan, admin_token=box.env["SUPPORT_ADMIN_TOKEN"])
    if run.results is None:
        raise RuntimeError(f"load with {workers} worker(s) failed: {run.error}")
    results = run.results
    return {
        "workers": workers,
        "requests": results.requests,
        "failures": results.failures,
        "duration_s": results.duration_s,
        "rps": round(results.requests / results.duration_s, 1),
        "wall_s": round(run.wall_s, 1),
    }


def _drill(
    name: str,
    box: SuiteSandbox,
    out: Path,
    *,
    markers: str,
    gates: tuple[str, ...],
    window_s: float,
    window: str,
    fault: Callable[[], Any],
) -> dict[str, Any]:
    """Make the fault active (a context manager), run the suite step, time the first failed gate."""
    journal = Path(box.target()["journal"])
    with fault():
        active = time.time()
        run = run_suite(box.target_path, out, box.env, markers=markers, step=name)
    failed = [
        (ts, g) for ts, g in _journal_gates(journal, active) if g["name"] in gates and g["verdict"] != "pass"
    ]
    if not failed:
        raise RuntimeError(f"{name}: no gate of {gates} failed (rc {run.rc}):\n{run.output[-2000:]}")
    ts, gate = min(failed, key=lambda item: item[0])
    detect_s = round(ts - active, 2)
    scale = float(box.target()["time_scale"])
    return {
        "gate": gate["name"],
        "verdict": gate["verdict"],
        "reason": (gate.get("reasons") or [""])[0][:300],
        "decided_after_s": gate.get("decided_after_s"),
        "fault_to_gate_failed_s": detect_s,
        "suite_step_s": round(run.wall_s, 2),
        "window": window,
        "window_s": window_s,
        "share_of_window": round(gate["decided_after_s"] / window_s, 3)
        if gate.get("decided_after_s")
        else None,
        "flagger_s": round(FLAGGER_S * scale, 2),
        "argo_rollouts_s": round(ARGO_ROLLOUTS_S * scale, 2),
        "target_share": DETECTION_TARGET_SHARE,
    }


@contextmanager
def _emulator_rules(box: SuiteSandbox, rules: list[dict[str, Any]]) -> Iterator[None]:
    admin = {"Authorization": f"Bearer {box.env['EMULATOR_ADMIN_TOKEN']}"}
    url = box.endpoints["bedrock"] + "/_emulator/faults"
    with session() as http:
        for rule in rules:
            http.post(url, json=rule, headers=admin, timeout=5).raise_for_status()
        try:
            yield
        finally:
            http.delete(url, headers=admin, timeout=5).raise_for_status()


@contextmanager
def _release_fault(
    box: SuiteSandbox, faults: dict[str, Any], flags_on: tuple[str, ...] = ()
) -> Iterator[None]:
    """The new release redeployed with SUPPORT_FAULTS (a release defect), flags on as the pipeline does."""
    deploy_new_release(box.settings, extra_env={"SUPPORT_FAULTS": json.dumps(faults)})
    try:
        if flags_on:
            set_flags(box, flags_on, True)
        yield
    finally:
        if flags_on:
            set_flags(box, flags_on, False)
        deploy_new_release(box.settings)


def run(root: Path, *, rps_seconds: float, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Every measurement of this part of the bench, in its own private sandbox."""
    out: dict[str, Any] = {}
    with running(root / "sandbox") as box:
        scale = float(box.target()["time_scale"])
        log("load generators: requests/s with 1 and 2 locust workers")
        out["load_rps"] = {str(w): load_rps(box, root, w, rps_seconds) for w in (1, 2)}
        for w, r in out["load_rps"].items():
            log(f"  {w} worker(s): {r['rps']} requests/s ({r['requests']} in {r['duration_s']} s)")
        latency = list(drill("latency-breach").injection.payload["rules"])
        flag = dict(drill("flag-degradation").injection.payload)
        rolling, slo_load = ROLLING_WINDOW_S * scale, 2 * ROLLING_WINDOW_S * scale
        plans = {
            "latency-breach": {
                "markers": "phase3",
                "gates": ("p95-latency-generation",),
                "window_s": slo_load,
                "window": f"the SLO load ({slo_load:g} s: the latency gate's span)",
                "fault": lambda: _emulator_rules(box, latency),
            },
            "errors-under-load": {
                "markers": "phase3",
                "gates": ("error-rate", "error-rate-trailing"),
                "window_s": rolling,
                "window": f"the rolling window ({rolling:g} s)",
                "fault": lambda: _release_fault(box, {"errors_under_load": {"rate": 0.05}}),
            },
            "flag-degradation": {
                "markers": "flag_window",
                "gates": ("error-rate-flag-window", "p95-latency-generation"),
                "window_s": FLAG_MONITORING_S * scale,
                "window": f"the flag's monitoring period ({FLAG_MONITORING_S * scale:g} s)",
                "fault": lambda: _release_fault(
                    box, flag, FLAGS[: FLAGS.index(flag["error_rate_when_flag"]["flag"]) + 1]
                ),
            },
        }
        out["drills"] = {}
        for name, plan in plans.items():
            log(f"drill {name}: fault active -> real suite ({plan['markers']}) -> gate failed")
            try:
                out["drills"][name] = _drill(name, box, root / "suite", **plan)
            except Exception as exc:  # one drill that cannot be measured does not lose the others
                out["drills"][name] = {"skipped": f"failed: {str(exc)[:1500]}"}
                log(f"  {name} not measured: {exc}")
                continue
            d = out["drills"][name]
            log(
                f"  {d['gate']} {d['verdict']} {d['fault_to_gate_failed_s']} s after the fault "
                f"(known {d['decided_after_s']} s into the load; window {d['window_s']:g} s)"
            )
    return out


def main() -> int:
    """``python -m bench.detection_bench``: this part alone, into runs/bench/detection.json."""
    out = REPO_ROOT / "runs" / "bench" / "detection.json"
    results = run(out.parent / time.strftime("detection-%Y%m%dT%H%M%S", time.gmtime()), rps_seconds=15)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
