"""bedrock_release.pipeline.inputs: role inputs validated by kind, every error naming its variable."""

from __future__ import annotations

import pytest

from bedrock_release.pipeline.inputs import KINDS, validate


def test_good_values_are_normalised() -> None:
    values, errors = validate(
        {
            "traffic_canary_steps": {"value": "5,25,50,100", "kind": "canary_steps"},
            "deploy_run_time_scale": {"value": "0.05", "kind": "time_scale"},
            "x_bool": {"value": "yes", "kind": "bool"},
            "x_url": {"value": "http://127.0.0.1:18080/", "kind": "loopback_url"},
            "x_choice": {"value": "alb", "choices": ["caddy", "alb"]},
        }
    )
    assert errors == []
    assert values["traffic_canary_steps"] == [5, 25, 50, 100]
    assert values["deploy_run_time_scale"] == 0.05
    assert values["x_bool"] is True
    assert values["x_url"] == "http://127.0.0.1:18080"


def test_every_bad_value_is_reported_naming_the_variable() -> None:
    _, errors = validate(
        {
            "traffic_canary_steps": {"value": [5, 3, 100], "kind": "canary_steps"},
            "deploy_run_aws_region": {"value": "us-east-1", "kind": "eu_region"},
            "deploy_run_fault": {"value": "meteor", "choices": ["", "latency-breach"]},
            "traffic_alb.listener_arn": {"value": "listener-1", "kind": "arn"},
            "traffic_url": {"value": "http://10.0.0.1:80", "kind": "loopback_url"},
        }
    )
    by_name = {e.variable: e.problem for e in errors}
    assert set(by_name) == {
        "traffic_canary_steps",
        "deploy_run_aws_region",
        "deploy_run_fault",
        "traffic_alb.listener_arn",
        "traffic_url",
    }
    assert "strictly increasing" in by_name["traffic_canary_steps"]
    assert "EU region" in by_name["deploy_run_aws_region"]
    assert "127.0.0.1" in by_name["traffic_url"]


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("release", "v1.1.0"),
        ("time_scale", 0),
        ("time_scale", 2),
        ("flags", ["ENABLE_BEDROCK_SUPPORT_MODE", "ENABLE_BEDROCK_SUPPORT_MODE"]),
        ("slot", "purple"),
        ("slot_map", {"blue": "x"}),
        ("ssm_path", "flags/"),
        ("run_id", "latest"),
        ("positive_int", 1.5),
        ("port", 70000),
        ("list", []),
        ("text", ""),
    ],
)
def test_bad_values_by_kind(kind: str, value: object) -> None:
    _, errors = validate({"v": {"value": value, "kind": kind}})
    assert [e.variable for e in errors] == ["v"]


def test_optional_inputs_that_are_not_set_are_skipped_and_unknown_kinds_refused() -> None:
    values, errors = validate({"a": {"value": None, "kind": "release", "optional": True}})
    assert (values, errors) == ({}, [])
    _, errors = validate({"a": {"value": 1, "kind": "nonsense"}})
    assert "unknown validation kind" in errors[0].problem
    assert "canary_steps" in KINDS
