"""The release's own Bedrock failure switch, armed by a check on every host of some slots.

Fallback and the Bedrock circuit are exercised through the service's admin API (docs/contracts.md
``/admin/bedrock/failure``), the same in the sandbox and in production; the Bedrock emulator's fault API
is for drills only. Every arming is bounded in time by the service, and a scenario's switches are
cleared (and the Bedrock circuits they opened reset) when it ends, whatever happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from bedrock_release.suite.admin_apis import AdminApiError, ServiceAdmin
from bedrock_release.suite.target import Target

__all__ = ["SWITCH_BOUND_S", "FailureSwitches"]

#: How long an arming lasts at most if nobody clears it (a check that dies leaves no lasting fault).
SWITCH_BOUND_S = 120.0


@dataclass
class FailureSwitches:
    """The switches one scenario armed, by ``slot/host``."""

    session: requests.Session
    token: str
    armed: dict[str, ServiceAdmin] = field(default_factory=dict)

    def arm(self, target: Target, slots: Sequence[str], mode: str = "unavailable") -> dict[str, Any]:
        """Arm the switch on every host of the slots; return each host's answer."""
        states: dict[str, Any] = {}
        for slot in slots:
            hosts = target.endpoints.hosts_of(slot)
            if not hosts:
                raise ValueError(f"slot {slot} has no host reachable from the runner")
            for host, url in hosts.items():
                admin = ServiceAdmin(self.session, url, self.token)
                self.armed[f"{slot}/{host}"] = admin
                states[f"{slot}/{host}"] = admin.fail_bedrock(mode, duration_s=SWITCH_BOUND_S)
        return states

    def clear(self) -> dict[str, Any]:
        """Disarm every switch this scenario armed; return what each host had armed."""
        return {name: admin.clear_bedrock_failure() for name, admin in self.armed.items()}

    def circuits(self) -> dict[str, Any]:
        """The Bedrock circuit of every armed host."""
        return {name: admin.circuits()["bedrock"] for name, admin in self.armed.items()}

    def release(self) -> list[str]:
        """Clear the switches, reset the Bedrock circuits; return the problems (a teardown never raises)."""
        problems = []
        for name, admin in self.armed.items():
            for step in (admin.clear_bedrock_failure, lambda a=admin: a.reset_circuit("bedrock")):
                try:
                    step()
                except AdminApiError as exc:
                    problems.append(f"{name}: {exc}")
        self.armed.clear()
        return problems
