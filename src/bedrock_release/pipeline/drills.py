"""The sandbox fault drills (``make deploy FAULT=<name>``) as data, and their injection and clearing.

Each drill strikes one phase, the way a real defect would show there:

- a *release defect* is the slot environment ``SUPPORT_FAULTS`` of the release under deployment
  (src/support_service/faults.py). It is given to the new slot at the start of the phase it
  strikes: in phase 2 with the deployment itself; later by redeploying the new slot with the
  defect (its components are activated again), because an earlier phase's gates would otherwise
  catch it first (the verification context evaluates every flag);
- an *environment fault* is a rule of the Bedrock emulator or the MCP server, set through their
  admin APIs at the start of the phase and cleared as soon as the failure is known (the rollback
  is then verified on a clean environment) and again when the run ends.

Drills exist only in the sandbox: ``deploy_run`` refuses a fault outside the local environment,
and production inventories never set ``SUPPORT_FAULTS``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from bedrock_release.plan import RollbackTier

__all__ = ["CATALOGUE", "Drill", "DrillError", "Injection", "apply_environment", "clear_environment", "drill"]

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class DrillError(RuntimeError):
    """An unknown drill, or an admin API that refused the fault."""


@dataclass(frozen=True)
class Injection:
    """How a drill is injected: ``slot_env`` (release defect), ``emulator`` or ``mcp`` (environment)."""

    kind: str
    payload: Mapping[str, Any]

    def slot_env(self) -> dict[str, str]:
        """Return the extra slot environment of a release defect."""
        if self.kind != "slot_env":
            return {}
        return {"SUPPORT_FAULTS": json.dumps(dict(self.payload), sort_keys=True)}


@dataclass(frozen=True)
class Drill:
    """One fault drill: where it strikes, how, and what the pipeline must do about it."""

    name: str
    phase: int
    description: str
    injection: Injection
    expected_verdict: str
    expected_tier: RollbackTier
    failing_flag: str | None = None
    expected_outcome: str = "rolled_back"
    detected_by: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the drill as JSON-ready data (module results, docs, journal)."""
        return {
            "name": self.name,
            "phase": self.phase,
            "description": self.description,
            "injection": {"kind": self.injection.kind, "payload": dict(self.injection.payload)},
            "slot_env": self.injection.slot_env(),
            "expected_verdict": self.expected_verdict,
            "expected_tier": self.expected_tier.value,
            "expected_outcome": self.expected_outcome,
            "failing_flag": self.failing_flag,
            "detected_by": self.detected_by,
        }


CATALOGUE: Mapping[str, Drill] = MappingProxyType(
    {
        d.name: d
        for d in (
            Drill(
                name="component-unhealthy",
                phase=2,
                description="the release's DirectBedrockClient fails its health probe after activation",
                injection=Injection("slot_env", {"unhealthy_component": "DirectBedrockClient"}),
                expected_verdict="no-go at decision point 1: a component failed its health check before any "
                "traffic moved",
                expected_tier=RollbackTier.IMMEDIATE,
                detected_by="component_rollout health check: /health/components/DirectBedrockClient = 503",
            ),
            Drill(
                name="latency-breach",
                phase=3,
                description="Bedrock answers every call 2 s late: the generation P95 breaches 1500 ms",
                injection=Injection(
                    "emulator", {"rules": [{"kind": "latency", "distribution": "fixed", "mean_ms": 2000}]}
                ),
                expected_verdict="no-go at decision point 2: SLO gate p95-latency-generation fails",
                expected_tier=RollbackTier.FULL,
                detected_by="verification suite phase3 (SLO gates)",
            ),
            Drill(
                name="flag-degradation",
                phase=5,
                description="5% of operations fail with HTTP 500 once ENABLE_INTELLIGENT_ROUTING is on",
                injection=Injection(
                    "slot_env", {"error_rate_when_flag": {"flag": "ENABLE_INTELLIGENT_ROUTING", "rate": 0.05}}
                ),
                expected_verdict="no-go in the window after ENABLE_INTELLIGENT_ROUTING: error rate above 1%",
                expected_tier=RollbackTier.PARTIAL,
                failing_flag="ENABLE_INTELLIGENT_ROUTING",
                detected_by="verification suite flag_window after ENABLE_INTELLIGENT_ROUTING",
            ),
            Drill(
                name="validation-failure",
                phase=6,
                description="the release's Bedrock -> MCP fallback raises instead of falling back",
                injection=Injection("slot_env", {"fallback_broken": True}),
                expected_verdict="no-go at decision point 3: MCP Fallback Testing fails",
                expected_tier=RollbackTier.FULL,
                detected_by="verification suite phase6 (production validation)",
            ),
        )
    }
)


def drill(name: str) -> Drill:
    """Return a drill by name; DrillError names the known ones."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise DrillError(f"unknown fault {name!r}; known: {', '.join(CATALOGUE)}") from None


def _call(method: str, url: str, token: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - sandbox loopback admin URLs
        url,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with _NO_PROXY.open(request, timeout=10) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as exc:
        raise DrillError(
            f"{method} {url}: HTTP {exc.code}: {exc.read().decode(errors='replace')[:300]}"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        raise DrillError(f"{method} {url}: {exc}") from None
    return json.loads(text) if text.strip() else None


def apply_environment(d: Drill, *, emulator_url: str, mcp_admin_url: str, token: str) -> dict[str, Any]:
    """Set a drill's environment fault; returns what the admin API answered (rule ids)."""
    if d.injection.kind == "emulator":
        answer = _call("POST", f"{emulator_url.rstrip('/')}/_emulator/faults", token, d.injection.payload)
        return {"target": "emulator", "added": (answer or {}).get("added", [])}
    if d.injection.kind == "mcp":
        _call("PUT", f"{mcp_admin_url.rstrip('/')}/_admin/faults", token, dict(d.injection.payload))
        return {"target": "mcp"}
    return {"target": "slot", "slot_env": d.injection.slot_env()}


def clear_environment(
    d: Drill, *, emulator_url: str, mcp_admin_url: str, token: str, rule_ids: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Remove a drill's environment fault (only the rules it added, when their ids are known)."""
    if d.injection.kind == "emulator":
        base = f"{emulator_url.rstrip('/')}/_emulator/faults"
        if rule_ids:
            for rule_id in rule_ids:
                try:
                    _call("DELETE", f"{base}/{rule_id}", token)
                except DrillError as exc:
                    if "HTTP 404" not in str(exc):  # already gone is cleared
                        raise
        else:
            _call("DELETE", base, token)
        return {"target": "emulator", "cleared": list(rule_ids) or "all"}
    if d.injection.kind == "mcp":
        _call("DELETE", f"{mcp_admin_url.rstrip('/')}/_admin/faults", token)
        return {"target": "mcp", "cleared": "all"}
    return {"target": "slot", "cleared": "with the slot's next deployment or revert"}
