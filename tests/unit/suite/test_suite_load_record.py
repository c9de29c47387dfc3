"""The workers' exact-latency record and the master's merge (load/record.py), without locust."""

from __future__ import annotations

import pytest

from bedrock_release.load.record import LoadRecord, RecordError, RequestLog
from bedrock_release.load.results import parse_results

T0 = 1_700_000_000.0


def _log(*requests: tuple[str, float, bool, float | None]) -> RequestLog:
    log = RequestLog()
    for kind, at, failed, ms in requests:
        log.record(kind, T0 + at, failed, ms)
    return log


def test_each_request_is_reported_exactly_once() -> None:
    log = _log(("generation", 0.4, False, 1549.0))
    first = log.report()
    assert first == {"events": [["generation", T0 + 0.4, 0, "1550"]], "final": False}
    log.final = True
    assert log.report() == {"events": [], "final": True}


def test_two_workers_merge_into_one_record_placed_by_completion_time() -> None:
    record = LoadRecord(T0)
    one = _log(("generation", 0.5, False, 1549.0), ("cached", 1.2, True, 305.0))
    two = _log(("generation", 0.9, False, 120.0), ("generation", 2.0, False, None))
    record.add("w1", one.report())
    record.add("w2", two.report())
    kinds = record.kinds()
    assert kinds["generation"] == {
        "requests": 3,
        "failures": 0,
        "no_response_time": 1,
        "latency": {"120": 1, "1550": 1},
    }
    assert kinds["cached"]["latency"] == {"305": 1}
    series = record.series(2.5)
    assert [p["t"] for p in series] == [0.0, 1.0, 2.0, 2.5]
    assert series[1]["counts"] == {"generation": [2, 0]}  # completed by t = 1
    assert series[2]["counts"] == {"cached": [1, 1], "generation": [3, 0]}  # t = 2.0 belongs to (1, 2]
    assert series[-1]["counts"] == series[2]["counts"]


def test_requests_completed_after_the_end_land_in_the_last_point() -> None:
    record = LoadRecord(T0)
    record.add("w1", _log(("routine", 7.5, False, 20.0)).report())
    series = record.series(3.0)
    assert series[-1] == {"t": 3.0, "counts": {"routine": [1, 0]}}
    assert series[-2]["counts"] == {}


@pytest.mark.parametrize(
    ("report", "needle"),
    [
        ({}, "events list"),
        ({"events": [["generation", T0, 0]]}, "is not"),
        ({"events": [["", T0, 0, None]]}, "kind"),
        ({"events": [["generation", "soon", 0, None]]}, "completion time"),
        ({"events": [["generation", T0, 2, None]]}, "failed must be"),
        ({"events": [["generation", T0, 0, "1549"]]}, "not an edge"),
        ({"events": [["generation", T0, 0, 1500]]}, "must be text"),
    ],
)
def test_a_damaged_report_is_refused_whole_naming_the_worker(report: dict, needle: str) -> None:
    record = LoadRecord(T0)
    with pytest.raises(RecordError, match=needle) as caught:
        record.add("worker-7", {"final": True, **report})
    assert "worker-7" in str(caught.value)
    assert record.requests == 0
    assert record.finished == set()


def _results(record: LoadRecord, expected: set[str], **changes: object) -> dict:
    merged = {k: {"requests": t.requests, "failures": t.failures} for k, t in record.totals.items()}
    args = {
        "host": "http://x",
        "verification": False,
        "run_tag": "t",
        "duration_s": 3.0,
        "expected_workers": expected,
        "locust_stats": merged,
        "failure_reasons": {},
        **changes,
    }
    return record.results(**args)


def test_the_results_are_complete_only_with_every_workers_final_report() -> None:
    record = LoadRecord(T0)
    done = _log(("generation", 0.5, False, 100.0))
    done.final = True
    record.add("w1", done.report())
    record.add("w2", _log(("generation", 0.6, False, 100.0)).report())
    doc = _results(record, {"w1", "w2"})
    assert doc["complete"] is False
    assert "no final report from worker(s) ['w2']" in doc["problems"][0]
    with pytest.raises(ValueError, match="incomplete"):
        parse_results(doc, path="r.json")
    finished = _log()
    finished.final = True
    record.add("w2", finished.report())
    parsed = parse_results(_results(record, {"w1", "w2"}, stop_reason="breach proven"), path="r.json")
    assert parsed.workers == ("w1", "w2")
    assert parsed.stopped_early == {"t": 3.0, "reason": "breach proven"}
    assert parsed.kind("generation").histogram().buckets[0].upper == 100.0
