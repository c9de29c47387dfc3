"""What is live now, for people: slots and releases, traffic weights, flags, the deploy lock, the latest run.

Read-only towards the live system. The lock is the environment's shared one; the latest run is
``runs/latest`` or, on a controller that did not start it, the state bucket's ``latest.json`` (the run
is fetched from the bucket into this controller's runs folder). The endpoints come from that run's
target.json; a part that does not answer is shown as unreachable with the reason, never guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bedrock_release.pipeline.journal import read_state
from bedrock_release.pipeline.lock import DeployLock, LockUnavailableError
from bedrock_release.pipeline.run_store import RunStore
from bedrock_release.pipeline.shared_state import SharedState, SharedStateUnavailableError

__all__ = ["Status", "read_status"]

_WEIGHTS_PATH = "/id/slots/load_balancing/selection_policy/weights"
_SLOTS = ("blue", "green")


@dataclass(frozen=True)
class Status:
    """The live picture and the latest run; ``problems`` names every part that could not be read."""

    runs_dir: str
    latest_run: dict[str, Any] | None
    lock: dict[str, Any]
    slots: dict[str, dict[str, Any]] = field(default_factory=dict)
    weights: dict[str, int] | None = None
    flags: dict[str, Any] | None = None
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__, problems=list(self.problems))

    def lines(self) -> list[str]:
        """A human summary, one fact a line."""
        out = [f"runs: {self.runs_dir}"]
        run = self.latest_run
        if run is None:
            out.append("latest run: none")
        else:
            rb = run.get("rollback")
            out.append(
                f"latest run: {run['run_id']} release {run['release']} (previous {run['previous_release']}), "
                f"outcome {run['outcome'] or 'not finished'}, phases passed {run['phases_passed']}"
                + (f", rollback {rb['tier']} verified={rb['verified']}" if rb else "")
            )
        out.append(f"lock: {self.lock['describe']}")
        for slot, info in self.slots.items():
            if "error" in info:
                out.append(f"slot {slot}: unreachable ({info['error']})")
            else:
                out.append(f"slot {slot}: release {info.get('release')}, health {info.get('status')}")
        if self.weights is not None:
            out.append("weights: " + ", ".join(f"{k} {v}%" for k, v in self.weights.items()))
        if self.flags is not None:
            for slot, values in self.flags.items():
                on = [k for k, v in values.items() if v] if isinstance(values, dict) else values
                out.append(f"flags on {slot}: {', '.join(on) if on else 'none (MCP-only)'}")
        out += [f"problem: {p}" for p in self.problems]
        return out


def _get(http: requests.Session, url: str, timeout_s: float) -> Any:
    response = http.get(url, timeout=timeout_s)
    if response.status_code >= 500 and "json" not in response.headers.get("content-type", ""):
        response.raise_for_status()
    return response.json()


def _latest(runs_dir: Path, shared: SharedState, problems: list[str]) -> Path | None:
    """The latest run folder: the environment's (state bucket) when it answers, else runs/latest."""
    store = RunStore(shared)
    try:
        run_id = store.latest()
        if run_id:
            return store.fetch(runs_dir, run_id)
    except (SharedStateUnavailableError, RuntimeError, LookupError) as exc:
        problems.append(f"the latest run could not be read from {store.where}: {exc}")
    latest = runs_dir / "latest"
    return latest if latest.exists() else None


def read_status(runs_dir: Path, shared: SharedState, *, timeout_s: float = 3.0) -> Status:
    """Read the lock, the latest run and (through its target.json) the live slots, weights and flags."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    try:
        lock = DeployLock(shared).status()
        lock_info = {
            "held": lock.held,
            "stale": lock.stale,
            "expired": lock.expired,
            "describe": lock.describe(),
        }
    except LockUnavailableError as exc:
        lock_info = {"held": None, "stale": None, "expired": None, "describe": f"unknown: {exc}"}
        problems.append(str(exc))
    latest = _latest(runs_dir, shared, problems)
    if latest is None:
        return Status(str(runs_dir), None, lock_info, problems=tuple(problems))
    state = read_state(latest)
    run = state.to_dict() if state.started else None
    try:
        target = json.loads((latest / "target.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return Status(str(runs_dir), run, lock_info, problems=(*problems, f"{latest}/target.json: {exc}"))
    endpoints = target.get("endpoints") or {}
    slots: dict[str, dict[str, Any]] = {}
    flags: dict[str, Any] = {}
    weights = None
    with requests.Session() as http:
        http.trust_env = False
        for slot in _SLOTS:
            base = (endpoints.get("slots") or {}).get(slot)
            if not base:
                continue
            try:
                version = _get(http, f"{base}/version", timeout_s)
                health = _get(http, f"{base}/health", timeout_s)
                flags[slot] = _get(http, f"{base}/v1/flags", timeout_s).get("values")
                slots[slot] = {"release": version.get("release"), "status": health.get("status"), "url": base}
            except (requests.RequestException, ValueError) as exc:
                slots[slot] = {"error": f"{base}: {type(exc).__name__}", "url": base}
                problems.append(f"slot {slot} at {base} did not answer ({type(exc).__name__})")
        admin = endpoints.get("traffic_admin")
        if admin:
            try:
                raw = _get(http, admin + _WEIGHTS_PATH, timeout_s)
                total = sum(raw) or 1
                weights = {slot: round(100 * w / total) for slot, w in zip(_SLOTS, raw, strict=False)}
            except (requests.RequestException, ValueError, TypeError) as exc:
                problems.append(f"load balancer admin {admin} did not answer ({type(exc).__name__})")
        else:
            problems.append("the target has no load balancer admin endpoint (ALB: see the AWS console)")
    return Status(str(runs_dir), run, lock_info, slots, weights, flags or None, tuple(problems))
