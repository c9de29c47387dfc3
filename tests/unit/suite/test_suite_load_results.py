"""The locust results parser: valid files round-trip; damage is a LoadResultsError naming the file."""

from __future__ import annotations

import contextlib
import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bedrock_release.load.record import LoadRecord, RequestLog
from bedrock_release.load.results import ALL, LoadResultsError, load_results, parse_results

KINDS = ("generation", "cached", "emergency", "critical", "routine")


def results_doc(per_second: dict[str, list[tuple[int, int, list[float]]]]) -> dict[str, Any]:
    """A results document, merged as the master merges: per-second (requests, failures, times ms) per kind."""
    started = 1_700_000_000.0
    record = LoadRecord(started)
    log = RequestLog()
    seconds = max((len(v) for v in per_second.values()), default=0)
    for at in range(seconds):
        for kind, rows in per_second.items():
            if at < len(rows):
                requests, failures, times = rows[at]
                for index in range(requests):
                    log.record(kind, started + at + 0.5, index < failures, times[index])
    log.final = True
    record.add("worker-1", log.report())
    merged = {k: {"requests": t.requests, "failures": t.failures} for k, t in record.totals.items()}
    return record.results(
        host="http://127.0.0.1:1",
        verification=True,
        run_tag="t",
        duration_s=float(seconds),
        expected_workers={"worker-1"},
        locust_stats=merged,
        failure_reasons={},
    )


def second(requests: int, failures: int, ms: float = 20) -> tuple[int, int, list[float]]:
    return requests, failures, [ms] * requests


@pytest.fixture
def valid() -> dict[str, Any]:
    return results_doc({"generation": [second(10, 0, 100)] * 5, "cached": [second(20, 1, 9)] * 5})


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "results.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_valid_results_parse_with_totals_series_and_histograms(tmp_path: Path, valid: dict[str, Any]) -> None:
    results = load_results(write(tmp_path, valid))
    assert results.requests == 150
    assert results.failures == 5
    assert results.kind("generation").histogram().total == 50
    assert results.series_of(ALL)[-1].requests == 150
    assert results.series_of("cached")[-1].failures == 5
    assert results.series_of("emergency")[-1].requests == 0  # a kind that never ran is zeros


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("{not json", "corrupt: not JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"schema": "other@1"}', "wrong schema"),
    ],
)
def test_empty_corrupt_or_foreign_files_are_named(tmp_path: Path, content: str, problem: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(LoadResultsError) as caught:
        load_results(path)
    assert str(path) in str(caught.value)
    assert problem in str(caught.value)


def test_a_missing_file_says_locust_wrote_nothing(tmp_path: Path) -> None:
    with pytest.raises(LoadResultsError, match="missing: locust wrote no results"):
        load_results(tmp_path / "nope.json")


def _mutate(doc: dict[str, Any], how: str) -> dict[str, Any]:  # noqa: PLR0912 - one branch per damage
    doc = copy.deepcopy(doc)
    if how == "failures above requests":
        doc["kinds"]["generation"]["failures"] = 999
    elif how == "histogram disagrees":
        doc["kinds"]["generation"]["latency"]["100"] += 1
    elif how == "locust merged otherwise":
        doc["locust_stats"]["generation"]["requests"] += 1
    elif how == "a worker's final report missing":
        doc["complete"] = False
        doc["problems"] = ["no final report from worker(s) ['worker-2']: requests may be missing"]
    elif how == "unknown bucket scheme":
        doc["latency_scheme"] = "locust-rounded"
    elif how == "a bucket that is no edge":
        doc["kinds"]["generation"]["latency"] = {"1549": 50}
    elif how == "series decreases":
        doc["series"][2]["counts"]["generation"] = [0, 0]
    elif how == "series ends elsewhere":
        doc["series"][-1]["counts"]["generation"][0] += 1
    elif how == "series does not start at zero":
        doc["series"][0]["t"] = 1.5
    elif how == "time goes back":
        doc["series"][3]["t"] = 0.5
    elif how == "NaN duration":
        doc["duration_s"] = math.nan
    elif how == "negative count":
        doc["kinds"]["cached"]["requests"] = -1
    elif how == "unknown kind in series":
        doc["series"][1]["counts"]["ghost"] = [1, 0]
    elif how == "reserved kind":
        doc["kinds"][ALL] = doc["kinds"]["cached"]
    return doc


@pytest.mark.parametrize(
    "how",
    [
        "failures above requests",
        "histogram disagrees",
        "locust merged otherwise",
        "a worker's final report missing",
        "unknown bucket scheme",
        "a bucket that is no edge",
        "series decreases",
        "series ends elsewhere",
        "series does not start at zero",
        "time goes back",
        "NaN duration",
        "negative count",
        "unknown kind in series",
        "reserved kind",
    ],
)
def test_inconsistent_results_are_refused(valid: dict[str, Any], how: str) -> None:
    with pytest.raises(LoadResultsError) as caught:
        parse_results(_mutate(valid, how), path="r.json")
    assert str(caught.value).startswith("locust results r.json: ")


rows = st.lists(
    st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(1, 3000)).map(
        lambda r: (r[0], min(r[1], r[0]), [r[2]] * r[0])
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KINDS), rows, min_size=1, max_size=5))
def test_any_consistent_run_round_trips(per_second: dict[str, Any]) -> None:
    doc = results_doc(per_second)
    results = parse_results(json.loads(json.dumps(doc)), path="r.json")
    for kind, entries in per_second.items():
        if not sum(r[0] for r in entries):
            continue
        assert results.kinds[kind].requests == sum(r[0] for r in entries)
        assert results.series_of(kind)[-1].failures == sum(r[1] for r in entries)
        assert results.kinds[kind].histogram().total == sum(r[0] for r in entries)


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=True) | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=20,
    ),
    st.sampled_from(
        ["kinds", "series", "duration_s", "host", "verification", "started_at", "locust_stats", "workers"]
    ),
)
def test_garbage_anywhere_is_a_load_results_error_never_a_crash(garbage: Any, key: str) -> None:
    doc = results_doc({"generation": [second(3, 0)] * 3})
    doc[key] = garbage
    with contextlib.suppress(LoadResultsError):
        parse_results(doc, path="r.json")
