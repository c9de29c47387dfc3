"""Inventory inputs: every validator names the variable for any value, and the deploy preflight
checks every input an inventory can set before anything changes (static, over the roles' YAML).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bedrock_release import inventory_validation as iv
from bedrock_release.pipeline.inputs import KINDS, InvalidValueError, validate
from bedrock_release.plan import FLAGS

REPO = Path(__file__).resolve().parents[3]

_ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.one_of(st.integers(-5, 150), st.text(max_size=4)), max_size=6),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def _refusal(check: Any, value: Any, variable: str) -> InvalidValueError | None:
    try:
        check(value, variable)
    except InvalidValueError as exc:
        return exc
    return None


@given(kind=st.sampled_from(sorted(KINDS)), value=_ANY)
def test_bi_every_kind_either_normalises_or_names_the_variable(kind: str, value: Any) -> None:
    good, errors = validate({"some_role_input": {"value": value, "kind": kind}})
    assert bool(good) != bool(errors)
    for error in errors:
        assert isinstance(error, InvalidValueError)
        assert error.variable.startswith("some_role_input")
        assert str(error).startswith(f"{error.variable} = ")
        assert error.problem


@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers(-1000, 1000))
def test_bi_percent_accepts_exactly_0_to_100(value: float) -> None:
    ok = isinstance(value, int) or math.isfinite(value)
    ok = ok and 0 <= value <= 100
    error = _refusal(iv.percent, value, "traffic_tolerance_pp")
    assert (error is None) == ok
    assert error is None or error.variable == "traffic_tolerance_pp"


@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers(-10, 10**6))
def test_bi_durations_must_be_finite_and_positive(value: float) -> None:
    ok = (isinstance(value, int) or math.isfinite(value)) and value > 0
    try:
        iv.positive_duration(value, "rollback_stability_watch_s")
    except InvalidValueError:
        assert not ok
    else:
        assert ok


@given(st.integers(-5, 70000))
def test_bi_ports_are_1_to_65535(value: int) -> None:
    try:
        iv.port(value, "component_rollout_service_port")
    except InvalidValueError:
        assert not 1 <= value <= 65535
    else:
        assert 1 <= value <= 65535


@given(
    st.lists(
        st.sampled_from([*FLAGS, "ENABLE_HYBRID_ROUTING", "enable_bedrock_support_mode", ""]), max_size=6
    )
)
def test_bi_flag_lists_accept_only_distinct_plan_flags(names: list[str]) -> None:
    ok = all(n in FLAGS for n in names) and len(set(names)) == len(names)
    error = _refusal(iv.flag_names, names, "feature_flags_names")
    assert (error is None) == ok
    assert error is None or error.variable.startswith("feature_flags_names")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ([5, 25, 50], "must end at 100"),
        ([5, 50, 120], "step 2 (120) must be between 0 and 100"),
        ([5, 50, 50, 100], "must be strictly increasing"),
        ([100, 50], "must be strictly increasing"),
        ([-5, 100], "step 0 (-5) must be between 0 and 100"),
        ([5.5, 100], "must be a whole number"),
        (["five", 100], "must be a number"),
        ([True, 100], "not a boolean"),
        ([], "non-empty list"),
        ("5,25,,100", "must be a number"),
        ({"a": 1}, "non-empty list"),
    ],
)
def test_bi_canary_weights_problems_are_named(value: Any, problem: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        iv.canary_steps(value)
    assert caught.value.variable == "traffic_canary_steps"
    assert problem in caught.value.problem


@pytest.mark.parametrize(
    "value", ["v1.1.0", "1.1", "1.1.0.0", "01.1.0", "1.1.0-", "latest", "", None, 110, "1.1.0 "]
)
def test_bi_release_versions_that_are_not_semver_are_named(value: Any) -> None:
    with pytest.raises(InvalidValueError, match=r"^release_version = .*must be a semantic version"):
        iv.release_version(value)


# --- the preflight checks every inventory-settable input before anything changes -----------------

#: Inputs the playbooks set themselves (never an inventory), validated by their role where used.
_SET_BY_PLAYBOOKS = {
    "decision_point_id",
    "drill_phase",
    "feature_flags_phase",
    "phase_decision_point",
    "phase_id",
    "rollback_tier",
    "rollback_reenable_flags",
    "verification_markers",
    "verification_phase",
    "verification_step",
    "traffic_alb.listener_arn",  # from release_alb, validated by the traffic role before any weight changes
    "traffic_alb.target_groups",
}


def _validated(path: Path) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            spec = node.get("bedrock.release.validate_inputs")
            if isinstance(spec, dict) and isinstance(spec.get("inputs"), dict):
                found.update(spec["inputs"])
            for key in ("block", "rescue", "always"):
                walk(node.get(key) or [])

    walk(yaml.safe_load(path.read_text(encoding="utf-8")) or [])
    return found


def test_bi_the_deploy_preflight_validates_every_input_an_inventory_may_set() -> None:
    defaults: dict[str, Any] = {}
    for path in REPO.glob("roles/*/defaults/main.yml"):
        defaults.update(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    preflight = _validated(REPO / "roles" / "deploy_run" / "tasks" / "preflight.yml")
    by_roles = set()
    for path in REPO.glob("roles/*/tasks/*.yml"):
        if path.parts[-3] != "deploy_run":
            by_roles |= _validated(path)
    # An input whose default is a literal is one an inventory overrides; one that defaults to a
    # global (release_time_scale, ...) is checked through that global.
    settable = {
        name
        for name in by_roles - _SET_BY_PLAYBOOKS
        if not (isinstance(defaults.get(name), str) and "{{" in defaults[name])
    }
    assert settable, "no role input found: the YAML layout changed"
    assert sorted(settable - preflight) == []
