"""Drill faults: deliberate defects of a release, for rehearsing rollbacks in the sandbox only.

``SUPPORT_FAULTS`` is a JSON object; unset means no fault (production inventories never set it).
Keys (any combination):

- ``{"unhealthy_component": "<Name>"}``: activation succeeds, that component's health probe fails;
- ``{"error_rate_when_flag": {"flag": "ENABLE_...", "rate": 0.03}}``: that share of operations fail
  with HTTP 500 while the flag is effectively on (also in the verification context);
- ``{"fallback_broken": true}``: the Bedrock -> MCP fallback raises instead of falling back;
- ``{"errors_under_load": {"rate": 0.05}}``: health passes, that share of operations fail with HTTP 500;
- ``{"crash_under_traffic": {"after": 20}}``: health passes, the process exits hard (``os._exit``) once it
  has answered that many requests that came through the load balancer (``X-Forwarded-For``), as a
  release that crashes under real traffic does; supervisord restarts it with the same defect.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from support_service.components import COMPONENTS
from support_service.flags import FLAG_NAMES, FlagSnapshot

__all__ = ["DrillFaults", "parse_faults"]

_KEYS = {
    "unhealthy_component",
    "error_rate_when_flag",
    "fallback_broken",
    "errors_under_load",
    "crash_under_traffic",
}


@dataclass(frozen=True)
class DrillFaults:
    """The parsed drill faults; the default injects nothing."""

    unhealthy_component: str | None = None
    error_flag: str | None = None
    error_flag_rate: float = 0.0
    fallback_broken: bool = False
    load_error_rate: float = 0.0
    crash_after_proxied: int = 0

    @property
    def active(self) -> bool:
        """Whether any fault is set."""
        return self != DrillFaults()

    def operation_failure(self, flags: FlagSnapshot, rng: random.Random) -> str | None:
        """The name of the fault that fails this operation, or None."""
        if self.error_flag and flags.is_on(self.error_flag) and rng.random() < self.error_flag_rate:
            return "error_rate_when_flag"
        if self.load_error_rate and rng.random() < self.load_error_rate:
            return "errors_under_load"
        return None

    def as_dict(self) -> dict[str, object]:
        """The faults in their SUPPORT_FAULTS form (for /health and the audit trail)."""
        out: dict[str, object] = {}
        if self.unhealthy_component:
            out["unhealthy_component"] = self.unhealthy_component
        if self.error_flag:
            out["error_rate_when_flag"] = {"flag": self.error_flag, "rate": self.error_flag_rate}
        if self.fallback_broken:
            out["fallback_broken"] = True
        if self.load_error_rate:
            out["errors_under_load"] = {"rate": self.load_error_rate}
        if self.crash_after_proxied:
            out["crash_under_traffic"] = {"after": self.crash_after_proxied}
        return out


def _rate(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{where} must be a number between 0 and 1")
    return float(value)


def parse_faults(raw: str | None) -> DrillFaults:
    """Parse SUPPORT_FAULTS; raises ValueError naming the problem."""
    if raw is None or not raw.strip():
        return DrillFaults()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"SUPPORT_FAULTS is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("SUPPORT_FAULTS must be a JSON object")
    unknown = set(data) - _KEYS
    if unknown:
        raise ValueError(f"SUPPORT_FAULTS has unknown keys {sorted(unknown)}; known: {sorted(_KEYS)}")
    component = data.get("unhealthy_component")
    if component is not None and component not in {spec.name for spec in COMPONENTS}:
        raise ValueError(f"unhealthy_component {component!r} is not a component")
    flag, flag_rate = None, 0.0
    if "error_rate_when_flag" in data:
        spec = data["error_rate_when_flag"]
        if not isinstance(spec, dict) or spec.get("flag") not in FLAG_NAMES:
            raise ValueError(f"error_rate_when_flag needs a flag (one of {list(FLAG_NAMES)}) and a rate")
        flag, flag_rate = spec["flag"], _rate(spec.get("rate"), "error_rate_when_flag.rate")
    fallback = data.get("fallback_broken", False)
    if not isinstance(fallback, bool):
        raise ValueError("fallback_broken must be true or false")
    load_rate = 0.0
    if "errors_under_load" in data:
        spec = data["errors_under_load"]
        if not isinstance(spec, dict):
            raise ValueError("errors_under_load must be an object with a rate")
        load_rate = _rate(spec.get("rate"), "errors_under_load.rate")
    crash_after = 0
    if "crash_under_traffic" in data:
        spec = data["crash_under_traffic"]
        after = spec.get("after") if isinstance(spec, dict) else None
        if isinstance(after, bool) or not isinstance(after, int) or after < 1:
            raise ValueError("crash_under_traffic must be an object with after = a whole number >= 1")
        crash_after = after
    return DrillFaults(
        unhealthy_component=component,
        error_flag=flag,
        error_flag_rate=flag_rate,
        fallback_broken=fallback,
        load_error_rate=load_rate,
        crash_after_proxied=crash_after,
    )
