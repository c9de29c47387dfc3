"""The SLO gates as features/slo_gates.feature states them, parsed from its step text.

The post-deployment watch re-evaluates "the SLO gates": their thresholds and minimum samples come
from the phase 3 feature file (one source of truth), never from code or inventories.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pytest_bdd import parsers

__all__ = ["SloSpec", "SloSpecError", "load_slo_specs"]

_PATTERNS = {
    "p95": parsers.parse(
        "the P95 latency of {kind} requests is at most {limit:d} ms over at least {min_samples:d} samples"
    ),
    "error-every": parsers.parse(
        "the error rate in every {minutes:d}-minute rolling window is at most {pct:g} percent "
        "over at least {min_samples:d} requests per window"
    ),
    "error-trailing": parsers.parse(
        "the error rate in the trailing {minutes:d}-minute window is at most {pct:g} percent "
        "over at least {min_samples:d} requests"
    ),
    "cost": parsers.parse("the current spend is at most {pct:g} percent of the allocated budget"),
    "cache": parsers.parse(
        "the cache hit rate of frequent queries is at least {pct:g} percent "
        "over at least {min_samples:d} lookups"
    ),
}
_STEP = re.compile(r"^\s*(?:Then|And|But)\s+(.*\S)\s*$")


class SloSpecError(ValueError):
    """The feature file does not state the SLO gates the suite knows; names the file."""


@dataclass(frozen=True)
class SloSpec:
    """One gate: its kind, threshold, minimum samples, and the request kind or window it is about."""

    gate: str
    threshold: float
    min_samples: int
    kind: str | None = None
    window_minutes: int | None = None
    line: int = 0


def load_slo_specs(feature: Path) -> tuple[SloSpec, ...]:
    """Parse every gate step of slo_gates.feature; SloSpecError if one of the five gates is missing."""
    out = []
    for number, line in enumerate(feature.read_text(encoding="utf-8").splitlines(), start=1):
        step = _STEP.match(line)
        if not step:
            continue
        for name, pattern in _PATTERNS.items():
            if not pattern.is_matching(step.group(1)):
                continue
            values = pattern.parse_arguments(step.group(1)) or {}
            if name == "p95":
                out.append(
                    SloSpec(
                        f"p95-latency-{values['kind']}",
                        values["limit"],
                        values["min_samples"],
                        kind=values["kind"],
                        line=number,
                    )
                )
            elif name.startswith("error"):
                gate = "error-rate" if name == "error-every" else "error-rate-trailing"
                out.append(
                    SloSpec(
                        gate,
                        values["pct"],
                        values["min_samples"],
                        window_minutes=values["minutes"],
                        line=number,
                    )
                )
            elif name == "cost":
                out.append(SloSpec("cost-budget", values["pct"], 1, line=number))
            else:
                out.append(SloSpec("cache-hit-rate", values["pct"], values["min_samples"], line=number))
    found_gates = {s.gate for s in out}
    wanted = {"p95-latency-generation", "p95-latency-cached", "error-rate", "cost-budget", "cache-hit-rate"}
    if not wanted <= found_gates:
        raise SloSpecError(f"{feature}: the SLO gates {sorted(wanted - found_gates)} are not stated")
    return tuple(out)
