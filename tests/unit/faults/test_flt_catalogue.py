"""The fault catalogue: complete for the issue, consistent with the policy, the roles and the service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bedrock_release.pipeline import drills
from bedrock_release.pipeline.rollback_policy import Action, Failure, decide
from bedrock_release.plan import RollbackTier
from support_service.faults import parse_faults

REPO = Path(__file__).resolve().parents[3]
#: Every fault the issue names, by the catalogue name that drills it.
ISSUE_FAULTS = {
    "Bedrock throttling storm": "bedrock-throttling",
    "Bedrock timeouts": "bedrock-timeouts",
    "the MCP server down": "mcp-down",
    "the green slot crashing during the canary": "slot-crash-canary",
    "the flag store (SSM) unreachable during flag activation": "flag-store-unreachable",
    "the metrics source unreachable during a gate": "metrics-unreachable",
    "Caddy's admin API refusing a weight change": "caddy-admin-refuses",
    "a component that passes its health check but serves errors under load": "errors-under-load",
    "a rollback that itself hits a fault": "rollback-fault",
}


def test_every_fault_of_the_issue_has_a_drill() -> None:
    assert set(ISSUE_FAULTS.values()) <= set(drills.CATALOGUE)


@pytest.mark.parametrize(
    ("path", "key"),
    [("roles/drill/vars/main.yml", "_drill_names"), ("roles/deploy_run/vars/main.yml", "_deploy_run_faults")],
)
def test_the_roles_accept_exactly_the_catalogue(path: str, key: str) -> None:
    names = yaml.safe_load((REPO / path).read_text(encoding="utf-8"))[key]
    assert [n for n in names if n] == list(drills.CATALOGUE)


@pytest.mark.parametrize("name", list(drills.CATALOGUE))
def test_expected_tier_is_the_policys_and_every_drill_says_what_catches_it(name: str) -> None:
    drill = drills.drill(name)
    assert drill.detected_by
    assert drill.expected_verdict
    decision = decide(
        Failure(phase=drill.phase, traffic_moved=drill.traffic_moved, failing_flag=drill.failing_flag)
    )
    if drill.stops_deploy:
        assert decision.action is Action.ROLLBACK
        assert decision.tier is drill.expected_tier
    else:
        assert drill.expected_outcome == "deployed"
    data = json.loads(json.dumps(drill.to_dict()))
    assert data["expected_tier"] == (drill.expected_tier.value if drill.expected_tier else None)


def test_a_rollback_that_fails_is_manual_intervention_with_on_call_paged() -> None:
    drill = drills.drill("rollback-fault")
    assert drill.rollback_injection is not None
    assert drill.expected_outcome == "failed"
    decision = decide(Failure(phase=drill.phase, rollback_failed=drill.expected_tier))
    assert decision.action is Action.MANUAL_INTERVENTION
    assert decision.page == ("DevOps Team Lead", "AI Architecture Team Lead", "CTO")


def test_throttling_is_absorbed_by_design_and_timeouts_are_not() -> None:
    assert not drills.drill("bedrock-throttling").stops_deploy
    assert drills.drill("bedrock-timeouts").expected_tier is RollbackTier.FULL


@pytest.mark.parametrize("name", [n for n, d in drills.CATALOGUE.items() if d.injection.kind == "slot_env"])
def test_release_defects_are_valid_support_faults(name: str) -> None:
    assert parse_faults(drills.drill(name).injection.slot_env()["SUPPORT_FAULTS"]).active


def test_environment_faults_never_reach_a_slot() -> None:
    for drill in drills.CATALOGUE.values():
        if drill.injection.kind in drills.ENVIRONMENT_KINDS:
            assert drill.injection.slot_env() == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"expected_tier": None}, "without a rollback tier"),
        ({"expected_outcome": "exploded"}, "expected_outcome"),
        ({"rollback_injection": drills.Injection("slot_env", {})}, "rollback fault is an environment fault"),
    ],
)
def test_inconsistent_drills_are_refused(kwargs: dict[str, object], message: str) -> None:
    base = {
        "name": "x",
        "phase": 2,
        "description": "d",
        "injection": drills.Injection("slot_env", {"fallback_broken": True}),
        "expected_verdict": "v",
        "expected_tier": RollbackTier.FULL,
    }
    with pytest.raises(ValueError, match=message):
        drills.Drill(**{**base, **kwargs})


def test_unknown_injection_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="injection kind"):
        drills.Injection("earthquake", {})


@pytest.mark.parametrize(
    "raw",
    [
        '{"crash_under_traffic": {"after": 0}}',
        '{"crash_under_traffic": {"after": true}}',
        '{"crash_under_traffic": 3}',
    ],
)
def test_crash_under_traffic_needs_a_positive_count(raw: str) -> None:
    with pytest.raises(ValueError, match="crash_under_traffic"):
        parse_faults(raw)


def test_crash_under_traffic_round_trips() -> None:
    faults = parse_faults('{"crash_under_traffic": {"after": 30}}')
    assert faults.crash_after_proxied == 30
    assert faults.as_dict() == {"crash_under_traffic": {"after": 30}}
