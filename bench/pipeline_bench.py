"""Pipeline part of the bench: deploys, rollback tiers, flag propagation, traffic shift, gate overhead.

Runs deploy.yml for real in a private environment (tests/integration/pipeline/pipeline_env.py: its
own runs folder under runs/bench/, ephemeral loopback ports, the pipeline tests' stand-in suite), so
the numbers are the pipeline's; the real suite is measured separately per phase (gate overhead).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import requests
import yaml

from bedrock_release.gates.canary_split import SplitTest
from bedrock_release.pipeline import traffic
from bedrock_release.pipeline.suite_runner import SuiteStep, run_step
from sandbox.secrets_file import read_secrets
from sandbox.settings import REPO_ROOT, SANDBOX_AWS_ACCESS_KEY_ID, SANDBOX_AWS_SECRET_ACCESS_KEY

from . import stats

sys.path.insert(0, str(REPO_ROOT / "tests" / "integration" / "pipeline"))
from pipeline_env import PipelineEnv  # the pipeline tests' private environment

FLOOR_INPUTS = ("release_time_scale", "traffic_canary_steps", "traffic_bake_s", "feature_flags_names")
_HTTP = requests.Session()
_HTTP.trust_env = False


def inventory_values(env: PipelineEnv) -> dict[str, Any]:
    """The values the run used: role defaults, overridden by the private inventory (as Ansible does)."""
    values: dict[str, Any] = {}
    for role in ("traffic", "feature_flags", "rollback"):
        values.update(
            yaml.safe_load((REPO_ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}
        )
    argv = [
        str(Path(sys.executable).parent / "ansible-inventory"),
        "-i",
        str(env.inventory),
        "--host",
        "localhost",
    ]
    host = json.loads(subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout)  # noqa: S603
    values.update(host)
    return {k: values[k] for k in (*FLOOR_INPUTS, "rollback_stability_watch_s") if k in values}


class PipelineBench:
    """One private environment; releases are built on demand, one new release per deploy."""

    def __init__(self, root: Path, log: Callable[[str], None] = print) -> None:
        self.env = PipelineEnv(root).prepare(("1.0.0",))
        self.log = log
        self._next_minor = 1
        self.values = inventory_values(self.env)

    # --- helpers -------------------------------------------------------------------------------
    def url(self, port_var: str) -> str:
        """Loopback URL of one of the environment's ports."""
        return f"http://127.0.0.1:{self.env.ports[port_var]}"

    @property
    def slot_urls(self) -> dict[str, str]:
        """Base URL of each slot."""
        return {slot: self.url(f"sandbox_slot_{slot}_port") for slot in ("blue", "green")}

    def secrets(self) -> Any:
        """The private sandbox's admin tokens."""
        return read_secrets(self.env.runs / "sandbox" / "secrets.env")

    def new_release(self) -> str:
        """Build and sign the next release (1.1.0, 1.2.0, ...)."""
        release = f"1.{self._next_minor}.0"
        self._next_minor += 1
        self.env.build(release)
        return release

    def start_sandbox(self) -> None:
        """Start the private sandbox outside the timed deploys (playbooks/sandbox.yml)."""
        proc = self.env.playbook("playbooks/sandbox.yml")
        if proc.returncode != 0:
            raise RuntimeError(f"sandbox did not start:\n{proc.stdout[-3000:]}")

    # --- deploys and rollbacks -------------------------------------------------------------------
    def deploy(self) -> dict[str, Any]:
        """One happy-path deploy of a new release; wall time of the whole ansible-playbook run."""
        release = self.new_release()
        proc = self.env.playbook("deploy.yml", release=release, timeout=1800)
        if proc.returncode != 0:
            raise RuntimeError(f"happy-path deploy {release} failed:\n{proc.stdout[-4000:]}")
        report = self.env.report()
        phases = {p["id"]: p["duration_s"] for p in report["phases"]}
        self.log(f"  deploy {release}: {proc.duration_s:.1f} s")
        return {
            "release": release,
            "wall_s": round(proc.duration_s, 2),
            "phases_s": phases,
            "run_dir": str(self.env.latest()),
        }

    def drill(self, fault: str) -> dict[str, Any]:
        """A deploy with a fault drill; the rollback's duration from the known failure to verified."""
        release = self.new_release()
        proc = self.env.playbook("deploy.yml", release=release, sandbox_fault=fault, timeout=1800)
        report = self.env.report()
        rollback = report.get("rollback") or {}
        if proc.returncode == 0 or not rollback:
            raise RuntimeError(f"drill {fault} did not roll back:\n{proc.stdout[-4000:]}")
        self.log(
            f"  drill {fault}: {rollback['tier']} rollback {rollback['duration_s']} s "
            f"(verified {rollback['verified']}; playbook {proc.duration_s:.1f} s)"
        )
        return {
            "release": release,
            "tier": rollback["tier"],
            "duration_s": float(rollback["duration_s"]),
            "verified": bool(rollback["verified"]),
            "steps": _rollback_step_times(self.env.latest()),
            "playbook_s": round(proc.duration_s, 2),
        }

    # --- flags and traffic, measured directly ------------------------------------------------------
    def flag_propagation(self, samples: int, poll_interval_s: float) -> dict[str, Any]:
        """From the SSM write until every slot reports the new value, alternately true and false."""
        ssm = boto3.client(
            "ssm",
            region_name="eu-central-1",
            endpoint_url=self.url("sandbox_moto_port"),
            aws_access_key_id=SANDBOX_AWS_ACCESS_KEY_ID,
            aws_secret_access_key=SANDBOX_AWS_SECRET_ACCESS_KEY,
        )
        flag = "ENABLE_PERFORMANCE_OPTIMIZATION"
        name = f"/bedrock-support/local/flags/{flag}"
        before = {slot: self._flag(url, flag) for slot, url in self.slot_urls.items()}
        times = []
        for i in range(samples):
            value = bool(i % 2) != bool(before["blue"])  # flip relative to the current value
            time.sleep(poll_interval_s * (0.13 + 0.37 * (i % 3)))  # spread the writes over the poll phase
            start = time.perf_counter()
            ssm.put_parameter(Name=name, Value="true" if value else "false", Type="String", Overwrite=True)
            pending = set(self.slot_urls)
            while pending:
                pending = {s for s in pending if self._flag(self.slot_urls[s], flag) != value}
                if time.perf_counter() - start > 30:
                    raise RuntimeError(f"{flag} did not reach {sorted(pending)} within 30 s")
            times.append(time.perf_counter() - start)
        ssm.put_parameter(
            Name=name, Value="true" if before["blue"] else "false", Type="String", Overwrite=True
        )
        q = stats.quantiles(times)
        return {
            "samples": len(times),
            "poll_interval_s": poll_interval_s,
            "p50_s": q["p50"],
            "p95_s": q["p95"],
            "p95_intervals": round(q["p95"] / poll_interval_s, 2),
            "slots": sorted(self.slot_urls),
        }

    def _flag(self, url: str, flag: str) -> bool:
        return bool(_HTTP.get(f"{url}/v1/flags", timeout=5).json()["values"][flag])

    def traffic_shift(self, samples: int, tolerance_pp: float = 5.0, minimum: int = 40) -> dict[str, Any]:
        """From a weights change (Caddy admin API) to the first observed split within tolerance."""
        caddy = traffic.CaddyWeights(self.url("sandbox_caddy_admin_port"))
        original = caddy.get()
        new_slot = "green" if original["green"] < original["blue"] else "blue"
        proxy = self.url("sandbox_caddy_proxy_port") + "/version"
        times, observe_times, sizes = [], [], []
        try:
            for i in range(samples):
                percent = (25, 50, 5)[i % 3]
                weights = traffic.canary_weights(new_slot, percent)
                # The traffic role's own count: the split test's sample size (docs/gates.md "Canary split").
                size = SplitTest(tolerance_pp=tolerance_pp).sample_size(
                    percent, at_least=minimum, multiple_of=sum(traffic.reduced(weights))
                )
                sizes.append(size)
                start = time.perf_counter()
                caddy.set(weights)
                while True:
                    t0 = time.perf_counter()
                    seen = traffic.observe_split(
                        proxy, weights, new_slot, requests=size, tolerance_pp=tolerance_pp
                    )
                    observe_times.append(time.perf_counter() - t0)
                    if seen.within_tolerance:
                        break
                    if time.perf_counter() - start > 30:
                        raise RuntimeError(f"split {weights} not observed within 30 s")
                times.append(time.perf_counter() - start)
        finally:
            caddy.set(original)
        return {
            "samples": len(times),
            "median_s": stats.median(times),
            "p95_s": stats.quantiles(times)["p95"],
            "observation_median_s": stats.median(observe_times),
            "requests_per_observation": sorted(set(sizes)),
            "tolerance_pp": tolerance_pp,
        }

    # --- the real suite, per phase ------------------------------------------------------------------
    def gate_overhead(self, run_dir: Path, phases: list[int]) -> dict[str, Any]:
        """The real pytest-bdd suite per phase against the deployed run; wall time minus the load it ran."""
        secrets = self.secrets()
        env = {
            "SUPPORT_ADMIN_TOKEN": secrets.support_admin_token,
            "EMULATOR_ADMIN_TOKEN": secrets.emulator_admin_token,
            "AWS_ACCESS_KEY_ID": SANDBOX_AWS_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SANDBOX_AWS_SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": "eu-central-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        out: dict[str, Any] = {}
        for phase in phases:
            before = set(run_dir.rglob("load/*.json"))
            step = SuiteStep(f"bench-phase{phase}", f"phase{phase}", run_dir / "target.json", run_dir)
            result = run_step(step, cwd=REPO_ROOT, env=env, timeout_s=900)
            load_s = sum(_load_seconds(p) for p in set(run_dir.rglob("load/*.json")) - before)
            out[f"phase{phase}"] = {
                "wall_s": result.duration_s,
                "load_s": round(load_s, 2),
                "overhead_s": round(result.duration_s - load_s, 2),
                "tests": result.summary.get("tests", 0),
                "passed": result.summary.get("passed", 0),
                "rc": result.rc,
            }
            self.log(f"  suite phase {phase}: {result.duration_s:.1f} s, load {load_s:.1f} s, rc {result.rc}")
        return out

    def close(self) -> None:
        """Stop every sandbox of the environment."""
        self.env.sandbox_down()


def _load_seconds(path: Path) -> float:
    """Duration of one load run from its results file (the plan's duration when the run does not say)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0.0
    for holder in (data, data.get("plan") or {}, data.get("summary") or {}):
        for key in ("elapsed_s", "duration_s"):
            if isinstance(holder.get(key), int | float):
                return float(holder[key])
    return 0.0


def _rollback_step_times(run_dir: Path) -> dict[str, float]:
    """Seconds from the rollback's start to each journaled rollback step (where the time goes)."""
    entries = [
        json.loads(line) for line in (run_dir / "audit.jsonl").read_text().splitlines() if line.strip()
    ]
    start = next((e for e in entries if e["action"] == "rollback_started"), None)
    if start is None:
        return {}
    t0 = _ts(start)
    out = {}
    for e in entries:
        if e["action"] in ("rollback_step", "rollback_finished", "verification_step") and _ts(e) >= t0:
            label = (e.get("data") or {}).get("step") or e["action"]
            out[str(label)[:60]] = round(_ts(e) - t0, 2)
    return out


def _ts(entry: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(entry["ts"]).replace("Z", "+00:00")).timestamp()
