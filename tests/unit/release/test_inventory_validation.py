"""Inventory validators: every bad value is refused with the variable, the value and the problem."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bedrock_release.inventory_validation import (
    SEMVER,
    InvalidValueError,
    canary_steps,
    flag_name,
    flag_names,
    percent,
    port,
    positive_duration,
    release_version,
    time_scale,
    validate_all,
)
from bedrock_release.plan import FLAGS


def test_canary_steps_accepts_lists_and_strings() -> None:
    assert canary_steps([5, 25, 50, 100]) == (5, 25, 50, 100)
    assert canary_steps("5,25,50,100") == (5, 25, 50, 100)
    assert canary_steps([100]) == (100,)
    assert canary_steps([5.0, "25", 100]) == (5, 25, 100)


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ([5, 25, 20, 100], "strictly increasing (20 after 25)"),
        ([5, 25, 25, 100], "strictly increasing (25 after 25)"),
        ([5, 25, 50], "must end at 100"),
        ([5, 150], "step 1 (150) must be between 0 and 100"),
        ([-5, 100], "between 0 and 100"),
        ([5.5, 100], "step 0: must be a whole number"),
        ([True, 100], "not a boolean"),
        ([], "non-empty list"),
        ("", "must be a number"),
        (None, "non-empty list"),
        ([5, "x", 100], "step 1: must be a number"),
        ([5, float("nan"), 100], "finite"),
    ],
)
def test_canary_steps_errors_name_variable_value_problem(value, needle: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        canary_steps(value)
    assert info.value.variable == "traffic_canary_steps"
    assert needle in str(info.value)
    assert str(info.value).startswith(f"traffic_canary_steps = {value!r}")


@given(st.lists(st.integers(-50, 150), max_size=8))
def test_canary_steps_property(values: list[int]) -> None:
    ok = bool(values) and all(0 <= v <= 100 for v in values) and values[-1] == 100
    ok = ok and all(a < b for a, b in itertools.pairwise(values))
    if ok:
        assert canary_steps(values) == tuple(values)
    else:
        with pytest.raises(InvalidValueError):
            canary_steps(values)


@pytest.mark.parametrize(
    "good", ["1.1.0", "0.0.1", "10.20.30", "1.0.0-rc.1", "1.0.0+build.5", "1.0.0-alpha-a.b-c+x"]
)
def test_release_version_accepts_semver(good: str) -> None:
    assert release_version(good) == good


@pytest.mark.parametrize(
    "bad", ["1.1", "v1.1.0", "01.1.0", "1.1.0-", "1.1.0-01", "1.1.0 ", "", None, 110, "1.1.0\n"]
)
def test_release_version_refuses(bad) -> None:
    with pytest.raises(InvalidValueError, match="semantic version") as info:
        release_version(bad)
    assert info.value.variable == "release_version"


@given(st.text(max_size=20))
def test_release_version_never_crashes(text: str) -> None:
    if SEMVER.fullmatch(text):
        assert release_version(text) == text
    else:
        with pytest.raises(InvalidValueError) as info:
            release_version(text)
        assert info.value.value == text


@given(st.integers(0, 999), st.integers(0, 999), st.integers(0, 999))
def test_release_version_accepts_any_numeric_triple(major: int, minor: int, patch: int) -> None:
    version = f"{major}.{minor}.{patch}"
    assert release_version(version) == version


def test_time_scale() -> None:
    assert time_scale(1) == 1.0
    assert time_scale("0.05") == 0.05
    for bad in (0, -0.1, 1.01, "fast", float("inf"), True):
        with pytest.raises(InvalidValueError, match="time_scale"):
            time_scale(bad)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_time_scale_property(value: float) -> None:
    if 0 < value <= 1:
        assert time_scale(value) == value
    else:
        with pytest.raises(InvalidValueError):
            time_scale(value)


def test_positive_duration() -> None:
    assert positive_duration("120", "flags_monitoring_s") == 120.0
    with pytest.raises(InvalidValueError, match=r"flags_monitoring_s = 0: must be > 0"):
        positive_duration(0, "flags_monitoring_s")
    with pytest.raises(InvalidValueError, match="must be a number, not list"):
        positive_duration([1], "x")


def test_flag_names() -> None:
    assert flag_name(FLAGS[2]) == FLAGS[2]
    with pytest.raises(InvalidValueError, match="did you mean ENABLE_INTELLIGENT_ROUTING"):
        flag_name("ENABLE_INTELIGENT_ROUTING")
    with pytest.raises(InvalidValueError, match="must be one of") as info:
        flag_name("X")
    assert "did you mean" not in str(info.value)
    assert flag_names(list(FLAGS)) == FLAGS
    with pytest.raises(InvalidValueError, match="more than once"):
        flag_names([FLAGS[0], FLAGS[0]])
    with pytest.raises(InvalidValueError, match=r"flags\[1\]"):
        flag_names([FLAGS[0], "NOPE"])


def test_percent_and_port() -> None:
    assert percent("80", "cost_threshold") == 80.0
    with pytest.raises(InvalidValueError, match="between 0 and 100"):
        percent(101, "cost_threshold")
    assert port("18080", "proxy_port") == 18080
    with pytest.raises(InvalidValueError, match="TCP port"):
        port(70000, "proxy_port")


def test_validate_all_reports_every_error() -> None:
    spec = {
        "traffic_canary_steps": canary_steps,
        "time_scale": time_scale,
        "release_version": release_version,
        "proxy_port": port,
    }
    good, errors = validate_all(
        {"traffic_canary_steps": [5, 100], "time_scale": 2, "release_version": "1.1"}, spec
    )
    assert good == {"traffic_canary_steps": (5, 100)}
    assert [e.variable for e in errors] == ["time_scale", "release_version", "proxy_port"]
    assert "is required" in str(errors[-1])
