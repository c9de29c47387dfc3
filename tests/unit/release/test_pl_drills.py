"""bedrock_release.pipeline.drills: the catalogue agrees with the service's faults and the rollback policy."""

from __future__ import annotations

import json

import pytest

from bedrock_release.pipeline import drills
from bedrock_release.pipeline.rollback_policy import Failure, decide
from support_service.faults import parse_faults

ISSUE_DRILLS = {"component-unhealthy": 2, "latency-breach": 3, "flag-degradation": 5, "validation-failure": 6}


def test_the_four_drills_of_the_issue_strike_their_phase() -> None:
    assert {name: d.phase for name, d in drills.CATALOGUE.items() if name in ISSUE_DRILLS} == ISSUE_DRILLS


@pytest.mark.parametrize("name", sorted(drills.CATALOGUE))
def test_expected_tier_is_what_the_policy_decides(name: str) -> None:
    drill = drills.drill(name)
    decision = decide(
        Failure(phase=drill.phase, traffic_moved=drill.traffic_moved, failing_flag=drill.failing_flag)
    )
    if drill.stops_deploy:
        assert decision.tier == drill.expected_tier


@pytest.mark.parametrize(
    "name", sorted(n for n, d in drills.CATALOGUE.items() if d.injection.kind == "slot_env")
)
def test_release_defects_are_valid_support_faults(name: str) -> None:
    env = drills.drill(name).injection.slot_env()
    assert parse_faults(env["SUPPORT_FAULTS"]).active


def test_environment_faults_are_emulator_rules() -> None:
    drill = drills.drill("latency-breach")
    assert drill.injection.slot_env() == {}
    rule = drill.injection.payload["rules"][0]
    assert rule["kind"] == "latency"
    assert rule["mean_ms"] > 1500
    assert json.loads(json.dumps(drill.to_dict()))["expected_tier"] == "full"


def test_unknown_drill_names_the_known_ones() -> None:
    with pytest.raises(drills.DrillError, match="latency-breach"):
        drills.drill("earthquake")


def test_unreachable_admin_api_is_named() -> None:
    with pytest.raises(drills.DrillError, match=r"POST http://127\.0\.0\.1:9"):
        drills.apply_environment(
            drills.drill("latency-breach"), emulator_url="http://127.0.0.1:9", mcp_admin_url="", token="t"
        )
