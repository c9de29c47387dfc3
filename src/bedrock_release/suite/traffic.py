"""Which slots serve traffic: the load balancer's weights, or what a sample of responses says."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import requests

from bedrock_release.suite.target import SLOT_NAMES, Target

__all__ = ["WEIGHTS_PATH", "TrafficError", "Weights", "observe_slots", "read_weights", "serving_slots"]

#: Caddy's weights node (docs/sandbox.md), list in the order blue, green.
WEIGHTS_PATH = "/id/slots/load_balancing/selection_policy/weights"


class TrafficError(RuntimeError):
    """The load balancer could not be read."""


@dataclass(frozen=True)
class Weights:
    """Traffic weights of the two slots (percent when they sum to 100)."""

    blue: int
    green: int

    def of(self, slot: str) -> int:
        """Return a slot's weight."""
        return self.blue if slot == "blue" else self.green

    def share_pct(self, slot: str) -> float:
        """Return a slot's share of the traffic in percent."""
        total = self.blue + self.green
        return 100.0 * self.of(slot) / total if total else 0.0

    def serving(self) -> tuple[str, ...]:
        """Return the slots with a weight above zero."""
        return tuple(slot for slot in SLOT_NAMES if self.of(slot) > 0)

    def to_dict(self) -> dict[str, int]:
        """Return the weights as the journal writes them."""
        return {"blue": self.blue, "green": self.green}


def read_weights(session: requests.Session, admin_url: str) -> Weights:
    """Read Caddy's weights; TrafficError naming the URL when it cannot."""
    url = admin_url + WEIGHTS_PATH
    try:
        response = session.get(url, timeout=5)
        response.raise_for_status()
        values = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise TrafficError(f"{url}: {exc}") from None
    if not isinstance(values, list) or len(values) != 2 or not all(isinstance(v, int) for v in values):
        raise TrafficError(f"{url}: expected [blue, green] weights, got {values!r}")
    return Weights(values[0], values[1])


def observe_slots(session: requests.Session, traffic_url: str, requests_count: int = 40) -> Counter[str]:
    """Return how many of a sample of ``GET /version`` through the load balancer each slot answered."""
    seen: Counter[str] = Counter()
    for _ in range(requests_count):
        try:
            response = session.get(f"{traffic_url}/version", timeout=5)
        except requests.RequestException:
            continue
        slot = response.headers.get("X-Slot")
        if slot in SLOT_NAMES:
            seen[slot] += 1
    return seen


def serving_slots(session: requests.Session, target: Target) -> tuple[str, ...]:
    """Return the slots that serve traffic now (weights when readable, else observed responses).

    The new slot is always included: every check of "every serving slot" must cover the release
    under deployment, whatever share it has.
    """
    slots: Sequence[str]
    if target.endpoints.traffic_admin:
        slots = read_weights(session, target.endpoints.traffic_admin).serving()
    elif target.endpoints.traffic:
        slots = tuple(observe_slots(session, target.endpoints.traffic))
    else:
        slots = ()
    return tuple(s for s in SLOT_NAMES if s in slots or s == target.new_slot)
