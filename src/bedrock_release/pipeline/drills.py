"""The sandbox fault drills (``make deploy FAULT=<name>``) as data, and their injection and clearing.

Each drill strikes one phase (or the rollback), the way a real fault would show there:

- a *release defect* is the slot environment ``SUPPORT_FAULTS`` of the release under deployment
  (src/support_service/faults.py). It is given to the new slot at the start of the phase it
  strikes: in phase 2 with the deployment itself; later by redeploying the new slot with the
  defect (its components are activated again), because an earlier phase's gates would otherwise
  catch it first (the verification context evaluates every flag);
- an *environment fault* is set at the start of the phase it strikes (drill_injectors: a Bedrock
  emulator or MCP server rule, a sandbox program stopped or frozen, Caddy's admin API refusing
  changes) and cleared as soon as the failure is known (the rollback is then verified on a clean
  environment), when the phase it struck has passed (a fault the release is designed to absorb), and
  again when the run ends;
- a *rollback fault* is an environment fault set when the rollback starts and not cleared before
  it: the rollback fails, the run ends ``failed`` with manual intervention, and on-call is paged.

Drills exist only in the sandbox: ``deploy_run`` refuses a fault outside the local environment,
and production inventories never set ``SUPPORT_FAULTS``. docs/fault-catalogue.md is the table.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bedrock_release.pipeline import drill_injectors
from bedrock_release.pipeline.drill_injectors import DrillError, SandboxTargets
from bedrock_release.plan import RollbackTier

__all__ = [
    "CATALOGUE",
    "ENVIRONMENT_KINDS",
    "Drill",
    "DrillError",
    "Injection",
    "SandboxTargets",
    "apply_environment",
    "clear_environment",
    "clear_injected",
    "drill",
    "inject",
    "pending_injections",
    "sandbox_admin_token",
]

#: Injection kinds that change the environment (journaled with the facts needed to clear them).
ENVIRONMENT_KINDS = (
    "emulator",
    "mcp",
    "program_stop",
    "program_freeze",
    "caddy_admin_refuses",
    "caddy_admin_unreachable",
)
_KINDS = ("slot_env", *ENVIRONMENT_KINDS)
_OUTCOMES = ("rolled_back", "failed", "deployed")


@dataclass(frozen=True)
class Injection:
    """How a fault is injected: ``slot_env`` (release defect) or one of ENVIRONMENT_KINDS."""

    kind: str
    payload: Mapping[str, Any]

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"injection kind {self.kind!r} is not one of {_KINDS}")

    def slot_env(self) -> dict[str, str]:
        """Return the extra slot environment of a release defect."""
        if self.kind != "slot_env":
            return {}
        return {"SUPPORT_FAULTS": json.dumps(dict(self.payload), sort_keys=True)}

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return {"kind": self.kind, "payload": dict(self.payload)}


@dataclass(frozen=True)
class Drill:
    """One fault drill: where it strikes, how, and what the pipeline must do about it.

    ``expected_tier`` is None for a fault the release is designed to absorb (the deploy goes on);
    ``rollback_injection`` is a second fault that strikes the rollback itself.
    """

    name: str
    phase: int
    description: str
    injection: Injection
    expected_verdict: str
    expected_tier: RollbackTier | None
    failing_flag: str | None = None
    expected_outcome: str = "rolled_back"
    detected_by: str = ""
    traffic_moved: bool = False
    rollback_injection: Injection | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.expected_outcome not in _OUTCOMES:
            raise ValueError(f"{self.name}: expected_outcome must be one of {_OUTCOMES}")
        if (self.expected_tier is None) != (self.expected_outcome == "deployed"):
            raise ValueError(f"{self.name}: a drill without a rollback tier is one the deploy goes through")
        if self.rollback_injection is not None and self.rollback_injection.kind == "slot_env":
            raise ValueError(f"{self.name}: a rollback fault is an environment fault")

    @property
    def stops_deploy(self) -> bool:
        """Whether the phase it strikes must fail (False: the release absorbs the fault by design)."""
        return self.expected_tier is not None

    def to_dict(self) -> dict[str, Any]:
        """Return the drill as JSON-ready data (module results, docs, journal)."""
        return {
            "name": self.name,
            "phase": self.phase,
            "description": self.description,
            "injection": self.injection.to_dict(),
            "rollback_injection": self.rollback_injection.to_dict() if self.rollback_injection else None,
            "slot_env": self.injection.slot_env(),
            "expected_verdict": self.expected_verdict,
            "expected_tier": self.expected_tier.value if self.expected_tier else None,
            "expected_outcome": self.expected_outcome,
            "stops_deploy": self.stops_deploy,
            "traffic_moved": self.traffic_moved,
            "failing_flag": self.failing_flag,
            "detected_by": self.detected_by,
        }


_MOTO_FROZEN = Injection("program_freeze", {"program": "moto"})

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
                name="mcp-down",
                phase=2,
                description="the MCP server is down (its sandbox program stopped) while the release is "
                "rolled out",
                injection=Injection("program_stop", {"program": "mcp-server"}),
                expected_verdict="no-go at decision point 1: MCPRouter of the new slot fails its health "
                "check (no connection to the MCP server) before any traffic moved",
                expected_tier=RollbackTier.IMMEDIATE,
                detected_by="component_rollout health check: /health/components/MCPRouter = 503",
            ),
            Drill(
                name="caddy-admin-refuses",
                phase=2,
                description="Caddy's admin API refuses every request (HTTP 403, origin enforced) from the "
                "start of phase 2: the canary can neither read nor change the weights",
                injection=Injection("caddy_admin_refuses", {}),
                expected_verdict="no-go at decision point 1: the canary's first weight change is refused "
                "(HTTP 403), no traffic moved",
                expected_tier=RollbackTier.IMMEDIATE,
                detected_by="traffic role: traffic_weights fails with Caddy's HTTP 403",
            ),
            Drill(
                name="slot-crash-canary",
                phase=2,
                description="the release passes its health checks, then its process exits hard after 30 "
                "requests through the load balancer: the new slot crashes during the canary",
                injection=Injection("slot_env", {"crash_under_traffic": {"after": 30}}),
                expected_verdict="no-go at decision point 1: the canary's split observation sees the crashed "
                "slot (errors, split off its weight); the previous slot gets 100% back",
                expected_tier=RollbackTier.FULL,
                traffic_moved=True,
                detected_by="traffic role: traffic_split_observed errors / outside tolerance",
            ),
            Drill(
                name="errors-under-load",
                phase=2,
                description="the release passes every health check but 20% of its operations fail with "
                "HTTP 500 once it serves traffic",
                injection=Injection("slot_env", {"errors_under_load": {"rate": 0.2}}),
                expected_verdict="no-go at decision point 1: the canary's error rate of the new slot is "
                "above 1%",
                expected_tier=RollbackTier.FULL,
                traffic_moved=True,
                detected_by="verification suite canary step (error rate of the new slot's answers)",
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
                traffic_moved=True,
                detected_by="verification suite phase3 (SLO gates)",
            ),
            Drill(
                name="bedrock-throttling",
                phase=3,
                description="a Bedrock throttling storm: the emulator throttles every call above 0.2 "
                "requests/s (ThrottlingException) for the whole of phase 3",
                injection=Injection("emulator", {"rules": [{"kind": "rate_limit", "rps": 0.2, "burst": 1}]}),
                expected_verdict="go at decision point 2: throttled direct calls fall back to MCP within "
                "bounded retries, as designed; the storm is cleared when phase 3 has passed",
                expected_tier=None,
                expected_outcome="deployed",
                traffic_moved=True,
                detected_by="not a release defect: the SLO gates pass on the MCP fallback; the emulator "
                "counts the throttled calls",
            ),
            Drill(
                name="bedrock-timeouts",
                phase=3,
                description="Bedrock holds every call 12 s (beyond the client's 10 s read timeout), then "
                "answers ModelTimeoutException",
                injection=Injection(
                    "emulator", {"rules": [{"kind": "hang", "seconds": 12, "then": "model_timeout"}]}
                ),
                expected_verdict="no-go at decision point 2: bounded attempts time out before the MCP "
                "fallback answers: P95 generation above 1500 ms",
                expected_tier=RollbackTier.FULL,
                traffic_moved=True,
                detected_by="verification suite phase3 (SLO gates: P95 generation)",
            ),
            Drill(
                name="metrics-unreachable",
                phase=3,
                description="the metrics source (moto: CloudWatch, Budgets) stops answering during the SLO "
                "gates (process frozen: connections accepted, never answered)",
                injection=_MOTO_FROZEN,
                expected_verdict="no-go at decision point 2: gates whose metrics source does not answer are "
                "inconclusive, and inconclusive blocks",
                expected_tier=RollbackTier.FULL,
                traffic_moved=True,
                detected_by="verification suite phase3 (cost / budget gate: metrics source unavailable)",
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
                traffic_moved=True,
                detected_by="verification suite flag_window after ENABLE_INTELLIGENT_ROUTING",
            ),
            Drill(
                name="flag-store-unreachable",
                phase=5,
                description="the flag store (SSM on moto) stops answering when flag activation starts",
                injection=_MOTO_FROZEN,
                expected_verdict="no-go in phase 5: the first flag write times out after bounded attempts; "
                "no flag is known stable",
                expected_tier=RollbackTier.FULL,
                traffic_moved=True,
                detected_by="feature_flags role: flag write to SSM fails (read timeout)",
            ),
            Drill(
                name="validation-failure",
                phase=6,
                description="the release's Bedrock -> MCP fallback raises instead of falling back",
                injection=Injection("slot_env", {"fallback_broken": True}),
                expected_verdict="no-go at decision point 3: MCP Fallback Testing fails",
                expected_tier=RollbackTier.FULL,
                traffic_moved=True,
                detected_by="verification suite phase6 (production validation)",
            ),
            Drill(
                name="rollback-fault",
                phase=2,
                description="a component fails its health check (as component-unhealthy), and the flag store "
                "stops answering when the immediate rollback starts",
                injection=Injection("slot_env", {"unhealthy_component": "DirectBedrockClient"}),
                rollback_injection=_MOTO_FROZEN,
                expected_verdict="no-go at decision point 1; the immediate rollback fails at 'Disable all "
                "hybrid routing feature flags': rollback_finished verified false, outcome failed, manual "
                "intervention, on-call paged (SNS)",
                expected_tier=RollbackTier.IMMEDIATE,
                expected_outcome="failed",
                detected_by="rollback role: flag write times out; its rescue records the failure and pages",
            ),
            Drill(
                name="rollback-balancer-unreachable",
                phase=2,
                description="the release fails 20% of its operations once it serves canary traffic (as "
                "errors-under-load), and when the full rollback starts the load balancer's admin API stops "
                "answering (Caddy's admin endpoint moved away: every admin call is refused)",
                injection=Injection("slot_env", {"errors_under_load": {"rate": 0.2}}),
                rollback_injection=Injection("caddy_admin_unreachable", {}),
                expected_verdict="no-go at decision point 1; the full rollback's first step ('Live traffic "
                "weights are known') retries the load balancer with backoff (journaled backend_retry) until "
                "the rollback's deadline (1800 s x time scale from the failure); if it answers again the "
                "rollback finishes verified, otherwise rollback_finished verified false with the traffic "
                "left, outcome failed, on-call paged, the deploy lock released",
                expected_tier=RollbackTier.FULL,
                expected_outcome="failed",
                traffic_moved=True,
                detected_by="rollback role: traffic_weights retries until retry_until, then its rescue "
                "records the traffic left; the phase's failure path pages the no-go, releases the lock",
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


def sandbox_admin_token(runtime_dir: str | os.PathLike[str] | None) -> str:
    """Return the emulator / MCP admin token from the sandbox's secrets file ('' when there is none).

    The drill modules read it themselves, so the token is never a task argument or a task environment
    variable (Ansible prints a task's environment at -vvv whatever no_log says).
    """
    if not runtime_dir:
        return ""
    from sandbox.paths import SandboxPaths  # noqa: PLC0415 - sandbox only, not needed in AWS runs
    from sandbox.secrets_file import read_secrets  # noqa: PLC0415

    try:
        return read_secrets(SandboxPaths.of(Path(runtime_dir)).secrets).emulator_admin_token
    except (OSError, ValueError):
        return ""


def _targets(
    emulator_url: str,
    mcp_admin_url: str,
    token: str,
    runtime_dir: str | os.PathLike[str],
    caddy_admin_url: str,
) -> SandboxTargets:
    return SandboxTargets(emulator_url, mcp_admin_url, token, str(runtime_dir or ""), caddy_admin_url)


def apply_environment(
    d: Drill,
    *,
    emulator_url: str,
    mcp_admin_url: str,
    token: str,
    runtime_dir: str | os.PathLike[str] = "",
    caddy_admin_url: str = "",
    at: str = "phase",
) -> dict[str, Any]:
    """Set a drill's environment fault (``at`` the phase or the rollback); returns the facts to clear it."""
    injection = d.rollback_injection if at == "rollback" else d.injection
    if injection is None:
        raise DrillError(f"drill {d.name} has no fault that strikes the rollback")
    if injection.kind == "slot_env":
        return {"target": "slot", "slot_env": injection.slot_env()}
    facts = drill_injectors.apply(
        injection.kind,
        injection.payload,
        _targets(emulator_url, mcp_admin_url, token, runtime_dir, caddy_admin_url),
    )
    return {"kind": injection.kind, **facts}


def clear_environment(
    d: Drill,
    *,
    emulator_url: str,
    mcp_admin_url: str,
    token: str,
    rule_ids: tuple[str, ...] = (),
    runtime_dir: str | os.PathLike[str] = "",
    caddy_admin_url: str = "",
    facts: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Remove one environment fault from the facts its injection journaled (phase fault by default)."""
    facts = dict(facts or {"kind": d.injection.kind, "added": list(rule_ids)})
    kind = str(facts.get("kind") or d.injection.kind)
    if kind == "slot_env":
        return {"target": "slot", "cleared": "with the slot's next deployment or revert"}
    return drill_injectors.clear(
        kind, facts, _targets(emulator_url, mcp_admin_url, token, runtime_dir, caddy_admin_url)
    )


def pending_injections(
    records: Sequence[Mapping[str, Any]], name: str
) -> list[tuple[int, Mapping[str, Any]]]:
    """Return (ordinal, record) of this drill's environment injections that no ``cleared`` record names."""
    injected = [
        r
        for r in records
        if r.get("name") == name and r.get("event") == "injected" and r.get("kind") in ENVIRONMENT_KINDS
    ]
    cleared = {r.get("injection") for r in records if r.get("name") == name and r.get("event") == "cleared"}
    return [(i, r) for i, r in enumerate(injected) if i not in cleared]


def inject(
    d: Drill, *, phase: int, at: str, targets: SandboxTargets, run_dir: str | os.PathLike[str] | None
) -> dict[str, Any] | None:
    """Set the drill's fault for ``phase`` or its rollback fault, journaled; None when nothing strikes."""
    from bedrock_release.pipeline.journal import Journal  # noqa: PLC0415 - keeps the catalogue import light

    injection = d.rollback_injection if at == "rollback" else d.injection
    if injection is None or injection.kind == "slot_env" or (at == "phase" and d.phase != phase):
        return None
    facts = apply_environment(
        d,
        emulator_url=targets.emulator_url,
        mcp_admin_url=targets.mcp_admin_url,
        token=targets.token,
        runtime_dir=targets.runtime_dir,
        caddy_admin_url=targets.caddy_admin_url,
        at=at,
    )
    data = {"name": d.name, "event": "injected", "phase": phase, "at": at, **facts}
    if run_dir:
        Journal(Path(run_dir) / "audit.jsonl").record("drill_fault", data)
    return data


def clear_injected(
    d: Drill, *, phase: int, targets: SandboxTargets, run_dir: str | os.PathLike[str]
) -> list[dict[str, Any]]:
    """Clear every environment fault of this drill the run's journal shows as still in place."""
    from bedrock_release.pipeline.journal import Journal, read_state  # noqa: PLC0415

    journal = Journal(Path(run_dir) / "audit.jsonl")
    done = []
    for ordinal, record in pending_injections(read_state(run_dir).drill, d.name):
        answer = clear_environment(
            d,
            emulator_url=targets.emulator_url,
            mcp_admin_url=targets.mcp_admin_url,
            token=targets.token,
            runtime_dir=targets.runtime_dir,
            caddy_admin_url=targets.caddy_admin_url,
            facts=record,
        )
        data = {"name": d.name, "event": "cleared", "phase": phase, "injection": ordinal, **answer}
        journal.record("drill_fault", data)
        done.append(data)
    return done
