"""A locust results file cut anywhere (a killed locust, a full disk) is a LoadResultsError naming it.

Missing, empty, corrupt and foreign files and garbage values are covered in
tests/unit/suite/test_suite_load_results.py and test_suite_load_runner.py (a run whose file is
unusable carries the error, and its gates are inconclusive); this adds truncation at every byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bedrock_release.gates.histogram import LATENCY_SCHEME
from bedrock_release.load.results import SCHEMA, LoadResultsError, load_results

VALID = {
    "schema": SCHEMA,
    "host": "http://127.0.0.1:1",
    "verification": True,
    "run_tag": "t",
    "started_at": 1_700_000_000.0,
    "duration_s": 2.0,
    "latency_scheme": LATENCY_SCHEME,
    "workers": ["worker-1"],
    "complete": True,
    "problems": [],
    "stopped_early": None,
    "kinds": {
        "generation": {"requests": 4, "failures": 0, "no_response_time": 0, "latency": {"120": 4}},
        "cached": {"requests": 6, "failures": 1, "no_response_time": 0, "latency": {"9": 6}},
    },
    "locust_stats": {"generation": {"requests": 4, "failures": 0}, "cached": {"requests": 6, "failures": 1}},
    "series": [
        {"t": 0.0, "counts": {}},
        {"t": 1.0, "counts": {"generation": [2, 0], "cached": [3, 0]}},
        {"t": 2.0, "counts": {"generation": [4, 0], "cached": [6, 1]}},
    ],
}
TEXT = json.dumps(VALID, indent=2)


def test_bi_the_reference_file_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text(TEXT)
    results = load_results(path)
    assert results is not None


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, len(TEXT) - 1))
def test_bi_a_results_file_cut_anywhere_is_refused_naming_it(
    tmp_path_factory: pytest.TempPathFactory, cut: int
) -> None:
    path = tmp_path_factory.mktemp("cut") / "results.json"
    path.write_text(TEXT[:cut])
    with pytest.raises(LoadResultsError) as caught:
        load_results(path)
    assert str(path) in str(caught.value)
