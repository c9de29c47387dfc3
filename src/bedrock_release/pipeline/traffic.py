"""Traffic between the blue and green slots: canary weights, the load balancer backends, the observed split.

Two backends behind one interface: ``CaddyWeights`` (the sandbox's Caddy admin API) and ``AlbWeights``
(an ALB listener's or rule's weighted forward action, boto3 elbv2). Weights are whole percents that
always sum to 100, so two slots can never both take 100%.

Caddy's weighted round robin serves each upstream its weight *in a row* (``[95, 5]`` = 95 blue then
5 green) and a PATCH restarts the cycle, so weights are reduced by their GCD before they are set and
the split is observed over a whole multiple of the reduced total: the ratio is then exact. An ALB
picks per request at random: there the observation is a sample, and the split test
(``bedrock_release.gates.canary_split``) sizes it so that both balancers get the same guarantees.
"""

from __future__ import annotations

import ipaddress
import json
import math
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from bedrock_release.gates.canary_split import SplitTest, split_gate
from bedrock_release.gates.verdict import GateResult, Window
from bedrock_release.pipeline.retry import TransientError, is_transient

__all__ = [
    "SLOTS",
    "AlbWeights",
    "CaddyWeights",
    "SplitObservation",
    "TrafficError",
    "TrafficUnavailableError",
    "WeightsBackend",
    "canary_weights",
    "check_loopback",
    "evaluate_split",
    "observation_size",
    "observe_split",
    "reduced",
    "weights_backend",
]

SLOTS = ("blue", "green")
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class TrafficError(RuntimeError):
    """The load balancer refused, could not be reached, or does not look as expected."""


class TrafficUnavailableError(TrafficError, TransientError):
    """The load balancer did not answer, or answered 429/5xx: worth trying again (pipeline.retry)."""


def check_loopback(url: str, *, allow_remote: bool) -> None:
    """Refuse to send traffic anywhere but 127.0.0.1 unless the environment is a real one."""
    host = urlsplit(url).hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not allow_remote:
        raise TrafficError(f"{url}: only 127.0.0.1 may be the target of traffic here (allow_remote is off)")


def canary_weights(new_slot: str, percent: int) -> dict[str, int]:
    """Return {blue, green} giving the new slot ``percent`` and the other slot the rest."""
    if new_slot not in SLOTS:
        raise ValueError(f"slot must be one of {SLOTS}, got {new_slot!r}")
    if not 0 <= percent <= 100:
        raise ValueError(f"percent must be 0..100, got {percent!r}")
    old = next(s for s in SLOTS if s != new_slot)
    return {new_slot: percent, old: 100 - percent}


def reduced(weights: Mapping[str, int]) -> list[int]:
    """Return the weights in SLOTS order divided by their GCD ([95, 5] -> [19, 1]; [0, 100] -> [0, 1])."""
    values = [int(weights[slot]) for slot in SLOTS]
    if any(v < 0 for v in values) or sum(values) <= 0:
        raise ValueError(f"weights must be >= 0 with a positive sum, got {dict(weights)}")
    divisor = math.gcd(*values)
    return [v // divisor for v in values]


def observation_size(weights: Mapping[str, int], minimum: int) -> int:
    """Return the smallest multiple of the reduced weight total that is at least ``minimum``."""
    total = sum(reduced(weights))
    return max(1, math.ceil(max(minimum, 1) / total)) * total


class WeightsBackend(Protocol):
    """Reads and sets {blue, green} percents on a load balancer."""

    def get(self) -> dict[str, int]:
        """Return the current weights as percents."""
        ...

    def set(self, weights: Mapping[str, int]) -> None:
        """Apply weights (percents summing to 100)."""
        ...


@dataclass(frozen=True)
class CaddyWeights:
    """Caddy's admin API: the weights list of the ``slots`` reverse proxy (blue, green order)."""

    admin_url: str
    path: str = "/id/slots/load_balancing/selection_policy/weights"
    timeout_s: float = 5.0

    def _call(self, method: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback admin URL checked by the caller
            self.admin_url.rstrip("/") + self.path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with _NO_PROXY.open(request, timeout=self.timeout_s) as response:
                text = response.read().decode()
        except (urllib.error.URLError, OSError) as exc:
            error = TrafficUnavailableError if is_transient(exc) else TrafficError
            raise error(f"Caddy admin {method} {self.admin_url}{self.path}: {exc}") from None
        return json.loads(text) if text.strip() else None

    def get(self) -> dict[str, int]:
        """Return the configured weights, normalised to percents."""
        raw = self._call("GET")
        if not isinstance(raw, list) or len(raw) != len(SLOTS):
            raise TrafficError(f"Caddy weights at {self.path} are {raw!r}, expected [blue, green]")
        return _percent(dict(zip(SLOTS, (int(v) for v in raw), strict=True)))

    def set(self, weights: Mapping[str, int]) -> None:
        """PATCH the reduced weights (so a short observation window sees the exact ratio)."""
        self._call("PATCH", reduced(weights))


def _percent(raw: Mapping[str, int]) -> dict[str, int]:
    total = sum(raw.values())
    if total <= 0:
        raise TrafficError(f"no slot has a positive weight: {dict(raw)}")
    percents = {slot: round(100 * raw[slot] / total) for slot in SLOTS}
    # Rounding can leave 99 or 101; the larger slot absorbs it so the sum stays 100.
    biggest = max(SLOTS, key=lambda s: percents[s])
    percents[biggest] += 100 - sum(percents.values())
    return percents


@dataclass(frozen=True)
class AlbWeights:
    """An ALB listener (default action) or listener rule forwarding to the two slots' target groups."""

    client: Any  # boto3 elbv2 client
    listener_arn: str
    target_groups: Mapping[str, str]  # slot -> target group ARN
    rule_arn: str | None = None

    def _forward(self) -> dict[str, Any]:
        if self.rule_arn:
            actions = self.client.describe_rules(RuleArns=[self.rule_arn])["Rules"][0]["Actions"]
        else:
            actions = self.client.describe_listeners(ListenerArns=[self.listener_arn])["Listeners"][0][
                "DefaultActions"
            ]
        forwards = [a for a in actions if a.get("Type") == "forward"]
        if len(forwards) != 1:
            raise TrafficError(
                f"{self.rule_arn or self.listener_arn}: expected one forward action, got {actions}"
            )
        return forwards[0]

    def get(self) -> dict[str, int]:
        """Return the target groups' weights as percents (a plain forward to one group is 100%)."""
        forward = self._forward()
        groups = (forward.get("ForwardConfig") or {}).get("TargetGroups")
        if not groups:
            groups = [{"TargetGroupArn": forward.get("TargetGroupArn"), "Weight": 1}]
        by_arn = {g["TargetGroupArn"]: int(g.get("Weight", 1)) for g in groups}
        unknown = set(by_arn) - set(self.target_groups.values())
        if unknown:
            raise TrafficError(f"the forward action targets groups that are not a slot: {sorted(unknown)}")
        return _percent({slot: by_arn.get(arn, 0) for slot, arn in self.target_groups.items()})

    def set(self, weights: Mapping[str, int]) -> None:
        """Replace the forward action with a weighted forward to both target groups."""
        action = {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": self.target_groups[slot], "Weight": int(weights[slot])}
                    for slot in SLOTS
                ],
                "TargetGroupStickinessConfig": {"Enabled": False},
            },
        }
        if self.rule_arn:
            self.client.modify_rule(RuleArn=self.rule_arn, Actions=[action])
        else:
            self.client.modify_listener(ListenerArn=self.listener_arn, DefaultActions=[action])


def weights_backend(
    backend: str,
    *,
    caddy_admin_url: str = "",
    alb_listener_arn: str = "",
    alb_rule_arn: str = "",
    alb_target_groups: Mapping[str, str] | None = None,
    aws_region: str = "",
    aws_endpoint_url: str = "",
    client_factory: Callable[..., Any] | None = None,
) -> WeightsBackend:
    """Return the backend the inventory chose (``caddy`` or ``alb``)."""
    if backend == "caddy":
        return CaddyWeights(caddy_admin_url)
    if backend == "alb":
        if client_factory is None:

            def client_factory(**kwargs: Any) -> Any:
                return boto3.client("elbv2", config=Config(retries={"total_max_attempts": 4}), **kwargs)

        kwargs: dict[str, Any] = {"region_name": aws_region}
        if aws_endpoint_url:
            kwargs["endpoint_url"] = aws_endpoint_url
        groups = dict(alb_target_groups or {})
        if set(groups) != set(SLOTS):
            raise ValueError(f"alb target groups must name blue and green, got {sorted(groups)}")
        return AlbWeights(client_factory(**kwargs), alb_listener_arn, groups, alb_rule_arn or None)
    raise ValueError(f"traffic backend must be caddy or alb, got {backend!r}")


# --- observing the split through the load balancer ---------------------------------------------


@dataclass(frozen=True)
class SplitObservation:
    """What the load balancer did with ``requests`` requests: counts by the slot that answered."""

    weights: Mapping[str, int]
    counts: Mapping[str, int]
    requests: int
    errors: int
    expected_share_pct: float
    observed_share_pct: float
    new_slot: str
    tolerance_pp: float
    partial_steps: int = 3  # canary steps strictly between 0 and 100 % (SplitTest.partial_steps)

    @property
    def deviation_pp(self) -> float:
        """Return |observed - expected| share of the new slot in percentage points."""
        return abs(self.observed_share_pct - self.expected_share_pct)

    @property
    def test(self) -> SplitTest:
        """The split test this observation is judged by (sized for random routing)."""
        return SplitTest(tolerance_pp=self.tolerance_pp, partial_steps=self.partial_steps)

    @property
    def within_tolerance(self) -> bool:
        """Return True when the split test passed: share within the tolerance on enough answers, no error."""
        return self.gate("").passed

    def gate(self, source: str) -> GateResult:
        """Return the observation as the split test's gate, for the journal and report."""
        return split_gate(
            self.counts,
            new_slot=self.new_slot,
            expected_share_pct=self.expected_share_pct,
            errors=self.errors,
            test=self.test,
            source=source,
            window=Window(f"{self.requests} requests right after the weights were set", None),
            name=f"canary-split-{self.weights[self.new_slot]}pct",
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the journal's ``traffic_split_observed`` data."""
        return {
            "weights": dict(self.weights),
            "counts": dict(self.counts),
            "requests": self.requests,
            "errors": self.errors,
            "within_tolerance": self.within_tolerance,
            "new_slot": self.new_slot,
            "expected_share_pct": self.expected_share_pct,
            "observed_share_pct": round(self.observed_share_pct, 3),
            "tolerance_pp": self.tolerance_pp,
        }


def _one_request(url: str, timeout_s: float) -> str | None:
    try:
        with _NO_PROXY.open(url, timeout=timeout_s) as response:
            response.read()
            return response.headers.get("X-Slot")
    except (urllib.error.URLError, OSError):
        return None


def observe_split(
    url: str,
    weights: Mapping[str, int],
    new_slot: str,
    *,
    requests: int,
    tolerance_pp: float,
    timeout_s: float = 5.0,
    concurrency: int = 1,
    partial_steps: int = 3,
    fetch: Callable[[str, float], str | None] = _one_request,
) -> SplitObservation:
    """Send ``requests`` GETs to url (through the load balancer) and count the answering slots.

    Sequential by default: Caddy's round robin is deterministic only when requests do not overlap.
    """
    if concurrency <= 1:
        answers = [fetch(url, timeout_s) for _ in range(requests)]
    else:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            answers = list(pool.map(lambda _: fetch(url, timeout_s), range(requests)))
    counts = {slot: sum(1 for a in answers if a == slot) for slot in SLOTS}
    errors = sum(1 for a in answers if a not in SLOTS)
    answered = sum(counts.values())
    observed = 100.0 * counts[new_slot] / answered if answered else 0.0
    return SplitObservation(
        weights=dict(weights),
        counts=counts,
        requests=requests,
        errors=errors,
        expected_share_pct=float(weights[new_slot]),
        observed_share_pct=observed,
        new_slot=new_slot,
        tolerance_pp=tolerance_pp,
        partial_steps=partial_steps,
    )


def evaluate_split(observation: SplitObservation) -> str:
    """Return a one-line description of the observation for task output and failure messages."""
    return (
        f"weights {dict(observation.weights)}: slot {observation.new_slot} answered "
        f"{observation.counts[observation.new_slot]} of {sum(observation.counts.values())} "
        f"({observation.observed_share_pct:.1f}%, expected {observation.expected_share_pct:.0f}% "
        f"± {observation.tolerance_pp:g} pp), {observation.errors} errors"
    )
