"""`make bench` / `python -m bench [--quick]`: the whole benchmark in one private sandbox.

Writes runs/bench/results.json (runs/ is the git-ignored runtime folder) and prints a short table.
Order: happy-path deploys (the first one also starts nothing: the sandbox is started before, untimed),
the real suite per phase against the last deploy, flag propagation, traffic shift, the service, the
fault drills (their rollbacks leave flags and slots changed), and last, in a private sandbox of its
own once the first is down, the load generators and the real suite's time to detect
(bench/detection_bench.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.secrets_file import read_secrets
from sandbox.settings import REPO_ROOT, SandboxSettings

from . import detection_bench, service_bench, stats
from .memory import RssSampler
from .pipeline_bench import PipelineBench

OUT = REPO_ROOT / "runs" / "bench"
DRILLS = {"immediate": "component-unhealthy", "full": "latency-breach", "partial": "flag-degradation"}
REENABLED = {"immediate": 0, "full": 0, "partial": 2}  # flag-degradation fails after the second flag
PROFILES = {
    "full": {"deploys": 2, "immediate": 2, "full": 2, "partial": 1, "flag_samples": 20, "shift_samples": 9,
             "latency_samples": 300, "locust_users": [8, 32], "locust_s": 10, "gate_phases": [2, 3, 4, 7],
             "rps_s": 15},
    "quick": {"deploys": 1, "immediate": 1, "full": 1, "partial": 0, "flag_samples": 8, "shift_samples": 3,
              "latency_samples": 100, "locust_users": [16], "locust_s": 6, "gate_phases": [2, 4], "rps_s": 8},
}  # fmt: skip
#: The rollback tier each detection drill ends in (docs/fault-catalogue.md): fault -> detected -> verified.
DETECTION_TIERS = {"latency-breach": "full", "errors-under-load": "full", "flag-degradation": "partial"}


def _log(message: str) -> None:
    print(message, flush=True)


def _machine() -> dict[str, Any]:
    load = os.getloadavg()
    model = ""
    with contextlib.suppress(OSError, StopIteration):
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in load],
    }


def _git_commit() -> str:
    argv = ["git", "rev-parse", "--short", "HEAD"]
    proc = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    return proc.stdout.strip()


def _settings(bench: PipelineBench) -> SandboxSettings:
    ports = {var.removeprefix("sandbox_"): port for var, port in bench.env.ports.items()}
    return SandboxSettings(runtime_dir=bench.env.runs / "sandbox", releases_dir=bench.env.releases, **ports)


def run(profile: dict[str, Any], root: Path, quick: bool) -> dict[str, Any]:
    """Every measurement of the profile; results in the schema of bench.stats.SCHEMA."""
    results: dict[str, Any] = {
        "meta": {
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "quick": quick,
            "profile": profile,
            "machine": _machine(),
            "git_commit": _git_commit(),
        }
    }
    bench = PipelineBench(root, log=_log)
    values = bench.values
    results["meta"]["time_scale"] = float(values["release_time_scale"])
    results["meta"]["floor_inputs"] = values
    started = time.monotonic()
    try:
        _log("sandbox: starting the private sandbox (untimed)")
        bench.start_sandbox()
        settings = _settings(bench)
        with RssSampler(settings.runtime_dir) as sampler:
            _guarded(results, "deploy", lambda: _deploys(bench, profile, values))
            last_run = Path(results["deploy"].get("last_run_dir") or bench.env.latest())
            _log(f"gate overhead: the real suite, phases {profile['gate_phases']}")
            _guarded(results, "gate_overhead", lambda: bench.gate_overhead(last_run, profile["gate_phases"]))
            _log("flag propagation")
            interval = settings.flags_poll_interval_s
            _guarded(
                results, "flag_propagation", lambda: bench.flag_propagation(profile["flag_samples"], interval)
            )
            _log("traffic shift")
            _guarded(results, "traffic_shift", lambda: bench.traffic_shift(profile["shift_samples"]))
            _log("service: latency per route, locust through Caddy")
            _guarded(results, "service", lambda: _service(bench, settings, profile))
            results["rollbacks"] = {}
            for tier in ("immediate", "full", "partial"):
                _guarded(
                    results["rollbacks"], tier, lambda tier=tier: _rollbacks(bench, profile, values, tier)
                )
        results["memory"] = sampler.result()
    finally:
        bench.close()
    _guarded(
        results,
        "detection",
        lambda: detection_bench.run(root / "detection", rps_seconds=profile["rps_s"], log=_log),
    )
    results["meta"]["duration_s"] = round(time.monotonic() - started, 1)
    return results


def _guarded(into: dict[str, Any], key: str, measure: Callable[[], dict[str, Any]]) -> None:
    """One measurement; a failure is recorded as skipped with its reason and the bench goes on."""
    try:
        into[key] = measure()
    except Exception as exc:
        _log(f"  {key} not measured: {exc}")
        into[key] = {"skipped": f"failed: {str(exc)[:1500]}"}


def _deploys(bench: PipelineBench, profile: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    _log(f"deploy: {profile['deploys']} happy-path deploys (stand-in suite)")
    deploys = [bench.deploy() for _ in range(profile["deploys"])]
    walls = [d["wall_s"] for d in deploys]
    floor = stats.deploy_floor(values, suite_waits=False)
    return {
        "suite": "stand-in (tests/integration/pipeline/standin_suite)",
        "runs_s": walls,
        "median_s": stats.median(walls),
        "floor": floor,
        "ratio": stats.ratio(stats.median(walls), floor["total_s"]),
        "plan_floor_with_real_suite": stats.deploy_floor(values, suite_waits=True),
        "phases_s": deploys[-1]["phases_s"],
        "last_run_dir": deploys[-1]["run_dir"],
    }


def _service(bench: PipelineBench, settings: SandboxSettings, profile: dict[str, Any]) -> dict[str, Any]:
    token = read_secrets(settings.runtime_dir / "secrets.env").support_admin_token
    slot = _serving_slot(bench)
    service_bench.warm_cache(settings, token)
    cached = service_bench.cached_through_caddy(settings, token, profile["locust_users"], profile["locust_s"])
    samples = profile["latency_samples"]
    return {
        "slot": slot,
        "added_latency_ms": {
            "direct": service_bench.direct_route(settings, slot, token, samples),
            "cache": service_bench.cached_route(settings, slot, token, samples),
        },
        "cached_through_caddy": cached,
        "locust_one_core": service_bench.locust_one_core(cached["runs"]),
    }


def _rollbacks(
    bench: PipelineBench, profile: dict[str, Any], values: dict[str, Any], tier: str
) -> dict[str, Any]:
    count = profile[tier]
    if not count:
        return {"skipped": "not in this profile (use the full profile)"}
    _log(f"rollback {tier}: {count} x drill {DRILLS[tier]}")
    drills = [bench.drill(DRILLS[tier]) for _ in range(count)]
    times = [d["duration_s"] for d in drills]
    return {
        "drill": DRILLS[tier],
        "runs_s": times,
        "median_s": stats.median(times),
        "floor_s": stats.rollback_floor(tier, values, reenabled=REENABLED[tier], suite_waits=False),
        "plan_target_s": stats.ROLLBACK_PLAN_TARGET_S[tier],
        "sandbox_target_s": stats.SANDBOX_TARGETS.get(f"rollback_{tier}_s"),
        "verified": all(d["verified"] for d in drills),
        "steps_s": drills[-1]["steps"],
        "playbook_s": [d["playbook_s"] for d in drills],
    }


def _serving_slot(bench: PipelineBench) -> str:
    state = json.loads((bench.env.latest() / "target.json").read_text())
    return state["slots"]["idle"]  # the release just deployed serves 100 % from the run's idle slot


def table(results: dict[str, Any]) -> str:
    """The short table printed at the end (a section that could not be measured says why)."""
    rows: list[tuple[str, str, str]] = []

    def add(label: str, section: Any, render: Callable[[Any], tuple[str, str]]) -> None:
        if not isinstance(section, dict) or "skipped" in section:
            reason = section.get("skipped", "?") if isinstance(section, dict) else "missing"
            rows.append((label, "-", str(reason)[:90]))
        else:
            rows.append((label, *render(section)))

    add(
        "happy-path deploy (median)",
        results.get("deploy"),
        lambda d: (
            f"{d['median_s']} s",
            f"floor {d['floor']['total_s']} s -> x{d['ratio']} (runs {d['runs_s']})",
        ),
    )
    for tier, r in (results.get("rollbacks") or {}).items():
        add(
            f"rollback {tier}, failure -> verified",
            r,
            lambda r: (
                f"{r['median_s']} s",
                f"floor {r['floor_s']} s, target < {r['sandbox_target_s']} s, "
                f"plan {r['plan_target_s']:.0f} s, verified {r['verified']} (runs {r['runs_s']})",
            ),
        )
    add(
        "flag propagation p50 / p95",
        results.get("flag_propagation"),
        lambda f: (
            f"{f['p50_s']} / {f['p95_s']} s",
            f"poll {f['poll_interval_s']} s: p95 = {f['p95_intervals']} polls",
        ),
    )
    add(
        "traffic shift, weights -> split seen",
        results.get("traffic_shift"),
        lambda t: (
            f"{t['median_s']} s",
            f"p95 {t['p95_s']} s, one observation {t['observation_median_s']} s",
        ),
    )
    for phase, g in (results.get("gate_overhead") or {}).items():
        if phase == "skipped":
            rows.append(("suite overhead", "-", str(g)[:90]))
            continue
        add(
            f"suite {phase} without its load",
            g,
            lambda g: (f"{g['overhead_s']} s", f"wall {g['wall_s']} s - load {g['load_s']} s; rc {g['rc']}"),
        )
    service = results.get("service") or {}
    for route, r in (service.get("added_latency_ms") or {}).items():
        add(
            f"service-added latency, {route}",
            r,
            lambda r: (
                f"p95 {r['added_ms']['p95']} ms",
                f"p50 {r['added_ms']['p50']}, p99 {r['added_ms']['p99']} ms",
            ),
        )
    add(
        "cached route via Caddy (locust)",
        service.get("cached_through_caddy", service or None),
        lambda c: (f"{c['max_rps']} req/s", f"at {c['at_users']} users"),
    )
    add(
        "one core of locust",
        service.get("locust_one_core", service or None),
        lambda o: (
            f"{o['rps_per_core']} req/s",
            f"~{o['users_per_core']} users (cpu share {o['cpu_share']})",
        ),
    )
    detection = results.get("detection") or {}
    for workers, r in (detection.get("load_rps") or {}).items():
        add(
            f"SLO load, {workers} locust worker(s)",
            r,
            lambda r: (
                f"{r['rps']} req/s",
                f"{r['requests']} requests in {r['duration_s']} s, offered 600/s",
            ),
        )
    rollbacks = results.get("rollbacks") or {}
    for name, d in (detection.get("drills") or {}).items():
        tier = DETECTION_TIERS.get(name, "")
        rollback = rollbacks.get(tier) or {}
        add(
            f"time to detect: {name}",
            d,
            lambda d, rollback=rollback, tier=tier: stats.detection_row(d, rollback.get("median_s"), tier),
        )
    add(
        "peak RSS slot / sandbox",
        results.get("memory"),
        lambda m: (f"{m['slot_peak_rss_mb']} / {m['sandbox_peak_rss_mb']} MiB", f"{m['samples']} samples"),
    )
    width = max(len(r[0]) for r in rows) + 2
    vwidth = max(len(r[1]) for r in rows) + 2
    return "\n".join(f"{a:<{width}}{b:>{vwidth}}   {c}" for a, b, c in rows)


def main(argv: list[str] | None = None) -> int:
    """Run the bench, write runs/bench/results.json, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (make bench QUICK=1)")
    parser.add_argument("--out", type=Path, default=OUT / "results.json")
    args = parser.parse_args(argv)
    profile = PROFILES["quick" if args.quick else "full"]
    root = OUT / time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    results = run(profile, root, args.quick)
    problems = stats.schema_problems(results)
    if problems:
        _log("results incomplete: " + "; ".join(problems))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print()
    print(table(results))
    print(f"\nresults: {args.out}  ({results['meta']['duration_s']} s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
