"""Alarm and gate thresholds read from the feature files (the only place a threshold is written).

The alarms of ``monitoring.feature`` state their thresholds in Examples tables; the SLO gates of
``slo_gates.feature`` state theirs in step text. An alarm whose gate says something else is refused,
so a threshold cannot drift between what the release is gated on and what pages the on-call.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gherkin.parser import Parser
from gherkin.token_scanner import TokenScanner

__all__ = [
    "ALARM_GATES",
    "FeatureThreshold",
    "ThresholdError",
    "Thresholds",
    "load_thresholds",
    "tagged_scenarios",
]

MONITORING_FEATURE = "monitoring.feature"
SLO_GATES_FEATURE = "slo_gates.feature"

# Gate name -> the step text that states its threshold in slo_gates.feature, and its unit.
_GATE_STEPS: Mapping[str, tuple[re.Pattern[str], str]] = {
    "p95-latency-generation": (
        re.compile(r"the P95 latency of generation requests is at most (?P<v>\d+(?:\.\d+)?) ms\b"),
        "ms",
    ),
    "p95-latency-cached": (
        re.compile(r"the P95 latency of cached requests is at most (?P<v>\d+(?:\.\d+)?) ms\b"),
        "ms",
    ),
    "error-rate": (
        re.compile(
            r"the error rate in (?:every 5-minute rolling|the trailing 5-minute) window is at most "
            r"(?P<v>\d+(?:\.\d+)?) percent\b"
        ),
        "percent",
    ),
    "cost-budget": (
        re.compile(r"the current spend is at most (?P<v>\d+(?:\.\d+)?) percent of the allocated budget"),
        "percent",
    ),
    "cache-hit-rate": (
        re.compile(r"the cache hit rate of frequent queries is at least (?P<v>\d+(?:\.\d+)?) percent\b"),
        "percent",
    ),
}

#: Alarm (feature name) -> the SLO gate whose threshold it must equal.
ALARM_GATES: Mapping[str, str] = {
    "p95-latency-generation": "p95-latency-generation",
    "p95-latency-cached": "p95-latency-cached",
    "error-rate": "error-rate",
    "cost-budget": "cost-budget",
}

_ALARM_STEP = re.compile(r'the alarm "<alarm>" exists with threshold <threshold> <unit>')


class ThresholdError(ValueError):
    """The feature files do not state a threshold, state it twice differently, or disagree."""


@dataclass(frozen=True)
class FeatureThreshold:
    """A threshold as a feature file states it, with where it says so."""

    name: str
    value: float
    unit: str
    source: str  # "features/monitoring.feature:27"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "value": self.value, "unit": self.unit, "source": self.source}


@dataclass(frozen=True)
class Thresholds:
    """Alarm thresholds (monitoring.feature) and gate thresholds (slo_gates.feature)."""

    alarms: Mapping[str, FeatureThreshold]
    gates: Mapping[str, FeatureThreshold]

    def alarm(self, name: str) -> FeatureThreshold:
        """The threshold of one alarm, by its feature name."""
        try:
            return self.alarms[name]
        except KeyError:
            raise ThresholdError(f"{MONITORING_FEATURE} states no threshold for alarm {name!r}") from None

    def gate(self, name: str) -> FeatureThreshold:
        """The threshold of one SLO gate."""
        try:
            return self.gates[name]
        except KeyError:
            raise ThresholdError(f"{SLO_GATES_FEATURE} states no threshold for gate {name!r}") from None


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ThresholdError(f"{where}: threshold {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ThresholdError(f"{where}: threshold {text!r} must be a finite number >= 0")
    return value


def _parse(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ThresholdError(f"feature file {path} does not exist")
    return Parser().parse(TokenScanner(path.read_text(encoding="utf-8")))


def _scenarios(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    feature = document.get("feature") or {}
    out: list[Mapping[str, Any]] = []
    for child in feature.get("children", []):
        if "scenario" in child:
            out.append(child["scenario"])
        elif "rule" in child:
            out.extend(c["scenario"] for c in child["rule"].get("children", []) if "scenario" in c)
    return out


def tagged_scenarios(path: Path | str, tag: str) -> list[str]:
    """The names of a feature file's scenarios (and outlines) carrying ``@tag``, as the file states them.

    ThresholdError names a missing file; the official Gherkin parser names a malformed one.
    """
    wanted = f"@{tag}"
    return [
        str(scenario["name"])
        for scenario in _scenarios(_parse(Path(path)))
        if any(t.get("name") == wanted for t in scenario.get("tags", []))
    ]


def _alarm_thresholds(path: Path, label: str) -> dict[str, FeatureThreshold]:
    found: dict[str, FeatureThreshold] = {}
    for scenario in _scenarios(_parse(path)):
        if not any(_ALARM_STEP.search(step["text"]) for step in scenario.get("steps", [])):
            continue
        for examples in scenario.get("examples", []):
            header = [c["value"] for c in (examples.get("tableHeader") or {}).get("cells", [])]
            if not {"alarm", "threshold", "unit"} <= set(header):
                raise ThresholdError(
                    f"{label}:{examples['location']['line']}: Examples need alarm, threshold, unit"
                )
            for row in examples.get("tableBody", []):
                cells = dict(zip(header, (c["value"] for c in row["cells"]), strict=True))
                where = f"{label}:{row['location']['line']}"
                name = cells["alarm"].strip()
                item = FeatureThreshold(
                    name, _number(cells["threshold"], where), cells["unit"].strip(), where
                )
                if name in found and found[name].value != item.value:
                    raise ThresholdError(
                        f"alarm {name!r} has two thresholds: {found[name].source} and {where}"
                    )
                found[name] = item
    return found


def _gate_thresholds(path: Path, label: str) -> dict[str, FeatureThreshold]:
    found: dict[str, FeatureThreshold] = {}
    for scenario in _scenarios(_parse(path)):
        for step in scenario.get("steps", []):
            for gate, (pattern, unit) in _GATE_STEPS.items():
                match = pattern.search(step["text"])
                if match is None:
                    continue
                where = f"{label}:{step['location']['line']}"
                item = FeatureThreshold(gate, _number(match["v"], where), unit, where)
                if gate in found and found[gate].value != item.value:
                    raise ThresholdError(
                        f"gate {gate!r} has two thresholds: {found[gate].source} and {where}"
                    )
                found.setdefault(gate, item)
    return found


def load_thresholds(features_dir: Path | str) -> Thresholds:
    """Read the alarm and gate thresholds; refuse an alarm whose threshold differs from its gate's."""
    base = Path(features_dir)
    alarms = _alarm_thresholds(base / MONITORING_FEATURE, f"features/{MONITORING_FEATURE}")
    gates = _gate_thresholds(base / SLO_GATES_FEATURE, f"features/{SLO_GATES_FEATURE}")
    for alarm, gate in ALARM_GATES.items():
        if alarm not in alarms:
            raise ThresholdError(f"features/{MONITORING_FEATURE} states no threshold for alarm {alarm!r}")
        if gate not in gates:
            raise ThresholdError(f"features/{SLO_GATES_FEATURE} states no threshold for gate {gate!r}")
        a, g = alarms[alarm], gates[gate]
        if a.value != g.value or a.unit != g.unit:
            raise ThresholdError(
                f"alarm {alarm!r} threshold {a.value:g} {a.unit} ({a.source}) differs from gate "
                f"{gate!r} threshold {g.value:g} {g.unit} ({g.source})"
            )
    return Thresholds(alarms=dict(alarms), gates=dict(gates))
