"""The fault engine alone: distributions, matching, limits, seeds; and the admin API's validation."""

from __future__ import annotations

import random
import statistics

import pytest
from pydantic import ValidationError
from sbx_helpers import Served

from sandbox.bedrock_emulator.errors import ErrorKind
from sandbox.bedrock_emulator.faults import RULES_ADAPTER, FaultEngine, LatencyFault


def _engine(*rules: dict[str, object], seed: int | None = 1) -> FaultEngine:
    engine = FaultEngine(seed)
    engine.add(RULES_ADAPTER.validate_python(list(rules)))
    return engine


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[94]


@pytest.mark.parametrize("distribution", ["normal", "lognormal"])
def test_distributions_hit_their_mean_and_p95(distribution: str) -> None:
    rule = LatencyFault(kind="latency", distribution=distribution, mean_ms=400, p95_ms=900)
    rng = random.Random(3)  # noqa: S311 - sampling, not cryptography
    samples = [rule.sample_ms(rng) for _ in range(20_000)]
    assert statistics.fmean(samples) == pytest.approx(400, rel=0.05)
    assert _p95(samples) == pytest.approx(900, rel=0.05)
    assert min(samples) >= 0


def test_latency_rules_add_up() -> None:
    plan = _engine({"kind": "latency", "mean_ms": 100}, {"kind": "latency", "mean_ms": 50}).plan(
        "converse", "m", ""
    )
    assert plan.latency_s == pytest.approx(0.15)
    assert plan.error is None


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "latency", "distribution": "normal", "mean_ms": 500, "p95_ms": 100},
        {"kind": "latency", "distribution": "lognormal", "mean_ms": 100, "p95_ms": 1000},
        {"kind": "latency", "distribution": "normal", "mean_ms": 100},
        {"kind": "error", "error": "teapot"},
        {"kind": "error", "error": "throttling", "rate": 1.5},
        {"kind": "hang", "seconds": 0},
        {"kind": "meteor"},
        {"kind": "latency", "mean_ms": 10, "surprise": True},
    ],
)
def test_invalid_rules_are_refused(rule: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RULES_ADAPTER.validate_python([rule])


def test_times_limits_how_often_a_rule_fires() -> None:
    engine = _engine({"kind": "error", "error": "throttling", "times": 2})
    errors = [engine.plan("converse", "m", "").error for _ in range(4)]
    assert errors == [ErrorKind.THROTTLING, ErrorKind.THROTTLING, None, None]
    assert engine.describe()[0]["exhausted"] is True


def test_match_by_operation_model_and_marker() -> None:
    engine = _engine(
        {
            "kind": "error",
            "error": "internal",
            "match": {"operation": "invoke", "model": "a.b", "marker": "XX"},
        }
    )
    assert engine.plan("converse", "a.b", "XX").error is None
    assert engine.plan("invoke", "c.d", "XX").error is None
    assert engine.plan("invoke", "a.b", "yy").error is None
    assert engine.plan("invoke", "a.b", "..XX..").error is ErrorKind.INTERNAL


def test_throttling_preempts_other_faults() -> None:
    engine = _engine({"kind": "rate_limit", "rps": 0.001, "burst": 1}, {"kind": "latency", "mean_ms": 999})
    assert engine.plan("converse", "m", "").latency_s > 0
    throttled = engine.plan("converse", "m", "")
    assert throttled.error is ErrorKind.THROTTLING
    assert throttled.latency_s == 0


def test_first_firing_error_wins() -> None:
    engine = _engine({"kind": "error", "error": "validation"}, {"kind": "error", "error": "internal"})
    assert engine.plan("converse", "m", "").error is ErrorKind.VALIDATION


def test_remove_and_clear() -> None:
    engine = _engine({"kind": "error", "error": "validation", "id": "mine"})
    assert engine.remove("mine") is True
    assert engine.remove("mine") is False
    assert engine.plan("converse", "m", "").error is None


def test_admin_api_requires_the_bearer_token(emulator: Served) -> None:
    anonymous = emulator.admin.get(f"{emulator.url}/_emulator/faults", headers={"Authorization": ""})
    wrong = emulator.admin.get(f"{emulator.url}/_emulator/requests", headers={"Authorization": "Bearer nope"})
    assert anonymous.status_code == 401
    assert wrong.status_code == 401
    assert (
        emulator.admin.get(f"{emulator.url}/_emulator/health", headers={"Authorization": ""}).status_code
        == 200
    )


def test_admin_api_rejects_bad_rules_with_details(emulator: Served) -> None:
    response = emulator.admin.post(
        f"{emulator.url}/_emulator/faults", json={"kind": "error", "error": "teapot"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid fault rules"
    assert response.json()["details"]
    assert emulator.admin.post(f"{emulator.url}/_emulator/faults", data="{nope").status_code == 400


def test_admin_api_add_list_delete_reset(emulator: Served) -> None:
    added = emulator.admin.post(
        f"{emulator.url}/_emulator/faults",
        json={
            "rules": [{"kind": "latency", "mean_ms": 5}, {"kind": "error", "error": "internal", "id": "boom"}]
        },
    ).json()
    assert added["added"][1] == "boom"
    assert [
        rule["kind"] for rule in emulator.admin.get(f"{emulator.url}/_emulator/faults").json()["rules"]
    ] == [
        "latency",
        "error",
    ]
    assert emulator.admin.delete(f"{emulator.url}/_emulator/faults/boom").status_code == 200
    assert emulator.admin.delete(f"{emulator.url}/_emulator/faults/boom").status_code == 404
    emulator.admin.post(f"{emulator.url}/_emulator/reset").raise_for_status()
    assert emulator.admin.get(f"{emulator.url}/_emulator/faults").json()["rules"] == []
    assert emulator.admin.get(f"{emulator.url}/_emulator/counters").json()["requests_total"] == 0


def test_unknown_operation_is_a_404_error_shape(emulator: Served) -> None:
    response = emulator.admin.post(f"{emulator.url}/model/x/converse-stream")
    assert response.status_code == 404
    assert response.headers["X-Amzn-ErrorType"] == "UnknownOperationException"
