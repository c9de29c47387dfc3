"""Thresholds come from the feature files, and an alarm may not differ from its gate."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from mon_fixtures import FEATURES

from bedrock_release.monitoring import ALARM_NAMES, ThresholdError, Thresholds, load_thresholds


def _examples_of(feature: str) -> dict[str, tuple[float, str]]:
    """A deliberately naive second reading: every table row that names a known alarm."""
    rows: dict[str, tuple[float, str]] = {}
    for line in (FEATURES / feature).read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        for i, cell in enumerate(cells):
            if cell in ALARM_NAMES and i + 2 < len(cells):
                rows[cell] = (float(cells[i + 1]), cells[i + 2])
    return rows


def test_every_alarm_threshold_is_read_from_monitoring_feature(thresholds: Thresholds) -> None:
    assert set(thresholds.alarms) == set(ALARM_NAMES)
    for name, (value, unit) in _examples_of("monitoring.feature").items():
        got = thresholds.alarm(name)
        assert (got.value, got.unit) == (value, unit), name
        assert got.source.startswith("features/monitoring.feature:")


def test_gate_thresholds_are_read_from_the_slo_gate_steps(thresholds: Thresholds) -> None:
    text = (FEATURES / "slo_gates.feature").read_text()
    generation = re.search(r"P95 latency of generation requests is at most (\d+) ms", text)
    cached = re.search(r"P95 latency of cached requests is at most (\d+) ms", text)
    assert generation
    assert cached
    assert thresholds.gate("p95-latency-generation").value == float(generation[1])
    assert thresholds.gate("p95-latency-cached").value == float(cached[1])
    assert thresholds.gate("error-rate").unit == "percent"
    assert thresholds.gate("cache-hit-rate").value == 80.0


@pytest.mark.parametrize(
    "name", ["p95-latency-generation", "p95-latency-cached", "error-rate", "cost-budget"]
)
def test_performance_alarm_equals_its_gate(thresholds: Thresholds, name: str) -> None:
    assert thresholds.alarm(name).value == thresholds.gate(name).value
    assert thresholds.alarm(name).unit == thresholds.gate(name).unit


def _copy(tmp_path: Path) -> Path:
    for name in ("monitoring.feature", "slo_gates.feature"):
        shutil.copy(FEATURES / name, tmp_path / name)
    return tmp_path


def test_an_alarm_that_drifts_from_its_gate_is_refused_naming_both_lines(tmp_path: Path) -> None:
    base = _copy(tmp_path)
    path = base / "monitoring.feature"
    path.write_text(
        path.read_text().replace("| p95-latency-cached    | 300 ", "| p95-latency-cached    | 350 ")
    )
    with pytest.raises(ThresholdError, match=r"monitoring\.feature:\d+.*slo_gates\.feature:\d+"):
        load_thresholds(base)


def test_a_gate_that_drifts_is_refused(tmp_path: Path) -> None:
    base = _copy(tmp_path)
    path = base / "slo_gates.feature"
    path.write_text(path.read_text().replace("at most 1500 ms", "at most 2000 ms"))
    with pytest.raises(ThresholdError, match="p95-latency-generation"):
        load_thresholds(base)


def test_a_gate_stated_twice_differently_is_refused(tmp_path: Path) -> None:
    base = _copy(tmp_path)
    path = base / "slo_gates.feature"
    text = path.read_text().replace(
        "the error rate in the trailing 5-minute window is at most 1.0 percent",
        "the error rate in the trailing 5-minute window is at most 2.0 percent",
    )
    path.write_text(text)
    with pytest.raises(ThresholdError, match="two thresholds"):
        load_thresholds(base)


def test_a_missing_alarm_row_is_refused(tmp_path: Path) -> None:
    base = _copy(tmp_path)
    path = base / "monitoring.feature"
    path.write_text("\n".join(line for line in path.read_text().splitlines() if "| error-rate " not in line))
    with pytest.raises(ThresholdError, match="error-rate"):
        load_thresholds(base)


def test_a_threshold_that_is_not_a_number_is_refused(tmp_path: Path) -> None:
    base = _copy(tmp_path)
    path = base / "monitoring.feature"
    path.write_text(
        path.read_text().replace("| pii-leak              | 0 ", "| pii-leak              | none ")
    )
    with pytest.raises(ThresholdError, match="not a number"):
        load_thresholds(base)


def test_a_missing_feature_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ThresholdError, match="does not exist"):
        load_thresholds(tmp_path)
