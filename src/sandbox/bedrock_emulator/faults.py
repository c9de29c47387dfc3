"""Composable fault rules (latency, errors, hangs, rate limits) and the engine that applies them."""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from .errors import ErrorKind

__all__ = [
    "RULES_ADAPTER",
    "ErrorFault",
    "FaultEngine",
    "FaultPlan",
    "FaultRule",
    "HangFault",
    "LatencyFault",
    "Match",
    "RateLimitFault",
]

Z95 = 1.6448536269514722  # standard normal quantile of the 95th percentile
# A lognormal with a given mean cannot have a p95 above mean * exp(Z95^2 / 2).
_LOGNORMAL_MAX_RATIO = math.exp(Z95 * Z95 / 2)

Operation = Literal["converse", "invoke"]


class Match(BaseModel):
    """Which requests a rule applies to; every given field must match."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = Field(default=None, description="exact modelId")
    operation: Operation | None = None
    marker: str | None = Field(default=None, min_length=1, description="substring of the raw request body")

    def matches(self, operation: str, model_id: str, body_text: str) -> bool:
        """Whether a request falls under this match."""
        return (
            (self.model is None or self.model == model_id)
            and (self.operation is None or self.operation == operation)
            and (self.marker is None or self.marker in body_text)
        )


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = Field(default=None, max_length=64, description="rule id; assigned when omitted")
    rate: float = Field(default=1.0, ge=0.0, le=1.0, description="probability that a matching request is hit")
    times: int | None = Field(default=None, ge=1, description="fire at most this many times, then stay inert")
    match: Match = Field(default_factory=Match)


class LatencyFault(_Rule):
    """Added latency drawn from a fixed value or a normal / lognormal distribution given mean and p95."""

    kind: Literal["latency"]
    distribution: Literal["fixed", "normal", "lognormal"] = "fixed"
    mean_ms: float = Field(ge=0.0)
    p95_ms: float | None = Field(default=None, ge=0.0)

    @model_validator(mode="after")
    def _shape(self) -> LatencyFault:
        if self.distribution == "fixed":
            return self
        if self.p95_ms is None or self.p95_ms < self.mean_ms:
            raise ValueError(f"{self.distribution} latency needs p95_ms >= mean_ms")
        if self.distribution == "lognormal" and (
            self.mean_ms <= 0 or self.p95_ms / self.mean_ms > _LOGNORMAL_MAX_RATIO
        ):
            raise ValueError(
                f"lognormal latency needs mean_ms > 0 and p95_ms / mean_ms <= {_LOGNORMAL_MAX_RATIO:.3f}"
            )
        return self

    def sample_ms(self, rng: random.Random) -> float:
        """One latency sample in milliseconds."""
        if self.distribution == "fixed" or self.p95_ms is None:
            return self.mean_ms
        if self.distribution == "normal":
            return max(0.0, rng.gauss(self.mean_ms, (self.p95_ms - self.mean_ms) / Z95))
        # Solve mean = exp(mu + s^2/2) and p95 = exp(mu + Z95*s) for the smaller root s.
        ratio = math.log(self.p95_ms / self.mean_ms)
        sigma = Z95 - math.sqrt(Z95 * Z95 - 2 * ratio)
        mu = math.log(self.mean_ms) - sigma * sigma / 2
        return rng.lognormvariate(mu, sigma)


class ErrorFault(_Rule):
    """Answer with a modelled Bedrock error instead of a completion."""

    kind: Literal["error"]
    error: ErrorKind
    message: str | None = None


class HangFault(_Rule):
    """Hold the request (beyond a client's read timeout), then answer ModelTimeout or the completion."""

    kind: Literal["hang"]
    seconds: float = Field(gt=0.0, le=600.0)
    then: Literal["model_timeout", "answer"] = "model_timeout"


class RateLimitFault(_Rule):
    """Token-bucket throttling: requests beyond rps (with a burst) get ThrottlingException."""

    kind: Literal["rate_limit"]
    rps: float = Field(gt=0.0)
    burst: int = Field(default=1, ge=1)


FaultRule = Annotated[LatencyFault | ErrorFault | HangFault | RateLimitFault, Field(discriminator="kind")]
RULES_ADAPTER: TypeAdapter[list[FaultRule]] = TypeAdapter(list[FaultRule])


@dataclass(frozen=True)
class FaultPlan:
    """What the faults decided for one request."""

    latency_s: float = 0.0
    hang_s: float = 0.0
    hang_then: str = "model_timeout"
    error: ErrorKind | None = None
    error_message: str | None = None
    fired: tuple[str, ...] = ()


@dataclass
class _Armed:
    rule: LatencyFault | ErrorFault | HangFault | RateLimitFault
    fired: int = 0
    tokens: float = 0.0
    refilled_at: float = field(default_factory=time.monotonic)

    def exhausted(self) -> bool:
        return self.rule.times is not None and self.fired >= self.rule.times


class FaultEngine:
    """The active fault rules; decides per request. Used from one event loop, so no locking."""

    def __init__(self, seed: int | None = None) -> None:
        self._rules: dict[str, _Armed] = {}
        self._next_id = 1
        self.seed = seed
        self._rng = random.Random(seed)  # noqa: S311 - fault sampling, not cryptography

    def add(self, rules: list[LatencyFault | ErrorFault | HangFault | RateLimitFault]) -> list[str]:
        """Arm rules; returns their ids."""
        ids = []
        for rule in rules:
            rule_id = rule.id or f"f{self._next_id}"
            self._next_id += 1
            armed = rule.model_copy(update={"id": rule_id})
            tokens = float(armed.burst) if isinstance(armed, RateLimitFault) else 0.0
            self._rules[rule_id] = _Armed(armed, tokens=tokens)
            ids.append(rule_id)
        return ids

    def reseed(self, seed: int | None) -> None:
        """Restart the random stream so a fault scenario replays identically."""
        self.seed = seed
        self._rng = random.Random(seed)  # noqa: S311 - fault sampling, not cryptography

    def remove(self, rule_id: str) -> bool:
        """Disarm one rule; False if unknown."""
        return self._rules.pop(rule_id, None) is not None

    def clear(self) -> None:
        """Disarm every rule."""
        self._rules.clear()

    def describe(self) -> list[dict[str, object]]:
        """The armed rules with their fire counts, as the admin API shows them."""
        return [
            {**armed.rule.model_dump(mode="json"), "fired": armed.fired, "exhausted": armed.exhausted()}
            for armed in self._rules.values()
        ]

    def _hits(self, armed: _Armed) -> bool:
        if armed.exhausted():
            return False
        return armed.rule.rate >= 1.0 or self._rng.random() < armed.rule.rate

    @staticmethod
    def _throttled(armed: _Armed, rule: RateLimitFault, now: float) -> bool:
        armed.tokens = min(float(rule.burst), armed.tokens + (now - armed.refilled_at) * rule.rps)
        armed.refilled_at = now
        if armed.tokens >= 1.0:
            armed.tokens -= 1.0
            return False
        return True

    def plan(self, operation: str, model_id: str, body_text: str) -> FaultPlan:
        """Decide the faults for one request: throttling first, then latency, hang and errors."""
        matching = [
            (rule_id, armed)
            for rule_id, armed in self._rules.items()
            if armed.rule.match.matches(operation, model_id, body_text)
        ]
        now = time.monotonic()
        for rule_id, armed in matching:
            # A throttled request is refused before any other fault could apply to it.
            rule = armed.rule
            if (
                isinstance(rule, RateLimitFault)
                and not armed.exhausted()
                and self._throttled(armed, rule, now)
            ):
                armed.fired += 1
                return FaultPlan(error=ErrorKind.THROTTLING, fired=(rule_id,))
        latency_ms = 0.0
        hang: HangFault | None = None
        error: ErrorFault | None = None
        fired: list[str] = []
        for rule_id, armed in matching:
            rule = armed.rule
            if isinstance(rule, RateLimitFault):
                continue
            if isinstance(rule, LatencyFault):
                hit = self._hits(armed)
                latency_ms += rule.sample_ms(self._rng) if hit else 0.0
            elif isinstance(rule, HangFault):
                hit = hang is None and self._hits(armed)
                hang = rule if hit else hang
            else:
                hit = error is None and self._hits(armed)
                error = rule if hit else error
            if hit:
                armed.fired += 1
                fired.append(rule_id)
        return FaultPlan(
            latency_s=latency_ms / 1000.0,
            hang_s=hang.seconds if hang else 0.0,
            hang_then=hang.then if hang else "model_timeout",
            error=error.error if error else None,
            error_message=error.message if error else None,
            fired=tuple(fired),
        )
