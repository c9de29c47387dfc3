"""Drill faults: parsing (with errors naming the problem) and sampling."""

from __future__ import annotations

import random

import pytest

from support_service.faults import DrillFaults, parse_faults
from support_service.flags import FlagSnapshot


def test_unset_means_no_fault() -> None:
    assert parse_faults(None) == DrillFaults()
    assert parse_faults("  ") == DrillFaults()
    assert not DrillFaults().active


def test_all_faults_parse_and_round_trip() -> None:
    raw = (
        '{"unhealthy_component": "MCPRouter", "error_rate_when_flag": {"flag": "ENABLE_INTELLIGENT_ROUTING",'
        ' "rate": 0.03}, "fallback_broken": true, "errors_under_load": {"rate": 0.05}}'
    )
    faults = parse_faults(raw)
    assert faults.active
    assert faults.as_dict() == {
        "unhealthy_component": "MCPRouter",
        "error_rate_when_flag": {"flag": "ENABLE_INTELLIGENT_ROUTING", "rate": 0.03},
        "fallback_broken": True,
        "errors_under_load": {"rate": 0.05},
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"typo": 1}', "unknown keys"),
        ('{"unhealthy_component": "Nope"}', "not a component"),
        ('{"error_rate_when_flag": {"flag": "ENABLE_NOPE", "rate": 0.1}}', "needs a flag"),
        ('{"error_rate_when_flag": {"flag": "ENABLE_INTELLIGENT_ROUTING", "rate": 2}}', "between 0 and 1"),
        ('{"errors_under_load": {"rate": "x"}}', "between 0 and 1"),
        ('{"errors_under_load": 0.1}', "object with a rate"),
        ('{"fallback_broken": "yes"}', "true or false"),
    ],
)
def test_bad_faults_name_the_problem(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_faults(raw)


def test_flag_error_rate_applies_only_while_the_flag_is_on() -> None:
    faults = parse_faults('{"error_rate_when_flag": {"flag": "ENABLE_INTELLIGENT_ROUTING", "rate": 0.25}}')
    rng = random.Random(1)  # noqa: S311
    off = [faults.operation_failure(FlagSnapshot(), rng) for _ in range(400)]
    assert off == [None] * 400
    on = [faults.operation_failure(FlagSnapshot(intelligent_routing=True), rng) for _ in range(4000)]
    share = on.count("error_rate_when_flag") / len(on)
    assert 0.2 < share < 0.3


def test_load_error_rate_applies_always() -> None:
    faults = parse_faults('{"errors_under_load": {"rate": 1.0}}')
    assert faults.operation_failure(FlagSnapshot(), random.Random(0)) == "errors_under_load"  # noqa: S311
