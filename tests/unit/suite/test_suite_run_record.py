"""What the deploy journal says the pipeline did: rollout order, canary steps, flags, rollbacks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from audit_trail import AuditLog, AuditRecord, read
from bedrock_release.plan import FLAGS
from bedrock_release.suite.run_record import (
    canary_steps,
    flag_activations,
    flag_values_at,
    latest_rollback,
    rollout_problems,
)

ORDER = ("ComplianceValidator", "HybridHealthMonitor", "BedrockSupportManager")


def journal(tmp_path: Path, entries: list[tuple[str, dict[str, Any]]]) -> tuple[AuditRecord, ...]:
    log = AuditLog(tmp_path / "audit.jsonl")
    for action, data in entries:
        log.append(actor="pipeline", action=action, data=data)
    return read(tmp_path / "audit.jsonl")


def rollout(order: tuple[str, ...], healthy: bool = True) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = [("slot_release_set", {"slot": "green", "release": "1.1.0"})]
    for name in order:
        out.append(("component_activated", {"slot": "green", "component": name, "version": "1"}))
        out.append(("component_health_checked", {"slot": "green", "component": name, "healthy": healthy}))
    return out


def test_a_clean_rollout_has_no_problem(tmp_path: Path) -> None:
    problems, evidence = rollout_problems(
        journal(tmp_path, rollout(ORDER)), slot="green", order=ORDER, expected_count=3
    )
    assert problems == []
    assert [e["component"] for e in evidence] == list(ORDER)


def test_out_of_order_or_unchecked_rollouts_are_named(tmp_path: Path) -> None:
    swapped = (ORDER[1], ORDER[0], ORDER[2])
    problems, _ = rollout_problems(
        journal(tmp_path, rollout(swapped)), slot="green", order=ORDER, expected_count=3
    )
    assert any("differs from the dependency order" in p for p in problems)
    records = journal(tmp_path / "b", rollout(ORDER, healthy=False))
    problems, _ = rollout_problems(records, slot="green", order=ORDER, expected_count=3)
    assert any("no passing health check" in p for p in problems)


def test_a_redeploy_restarts_the_rollout(tmp_path: Path) -> None:
    entries = rollout(ORDER[:1], healthy=False) + rollout(ORDER)
    problems, evidence = rollout_problems(
        journal(tmp_path, entries), slot="green", order=ORDER, expected_count=3
    )
    assert problems == []
    assert len(evidence) == 3


def test_canary_steps_with_their_observed_split(tmp_path: Path) -> None:
    entries: list[tuple[str, dict[str, Any]]] = []
    for share in (5, 25, 100):
        weights = {"blue": 100 - share, "green": share}
        entries.append(("traffic_weights_set", {"weights": weights}))
        if share != 25:
            entries.append(("traffic_split_observed", {"weights": weights, "within_tolerance": True}))
    steps = canary_steps(journal(tmp_path, entries), "green")
    assert [s.new_share_pct for s in steps] == [5, 25, 100]
    assert [s.observed is not None for s in steps] == [True, False, True]


def _flag(flag: str, value: bool) -> tuple[str, dict[str, Any]]:
    return ("flag_set", {"flag": flag, "value": value, "previous": not value})


def _window(verdict: str = "pass") -> tuple[str, dict[str, Any]]:
    gate = {"name": "error-rate-flag-window", "verdict": verdict, "window": {"seconds": 6.0}}
    return ("gate_evaluated", {"phase": 5, "marker": "flag_window", "gate": gate})


def test_flag_activations_carry_their_window_gates(tmp_path: Path) -> None:
    entries = [("flags_snapshot", {"values": dict.fromkeys(FLAGS, "false")})]
    for flag in FLAGS[:3]:
        entries += [_flag(flag, True), _window()]
    records = journal(tmp_path, entries)
    activations = flag_activations(records)
    assert [a.flag for a in activations] == list(FLAGS[:3])
    assert all(len(a.window_gates) == 1 for a in activations)
    values = flag_values_at(records, records[-1].seq + 1)
    assert [values[f] for f in FLAGS] == [True, True, True, False, False]


def test_a_partial_rollback_immediate_part_then_reenabled(tmp_path: Path) -> None:
    entries: list[tuple[str, dict[str, Any]]] = [
        ("flags_snapshot", {"values": dict.fromkeys(FLAGS, "false")})
    ]
    for flag in FLAGS[:3]:
        entries += [_flag(flag, True), _window()]
    entries.append(("rollback_started", {"tier": "partial", "trigger": "degradation after flag 3"}))
    entries += [_flag(flag, False) for flag in FLAGS[:3]]
    entries += [_flag(FLAGS[0], True), _window(), _flag(FLAGS[1], True), _window()]
    records = journal(tmp_path, entries)
    rollback = latest_rollback(records, "partial")
    assert rollback is not None
    done = rollback.immediate_done_seq()
    assert done is not None
    assert rollback.finished is None
    assert rollback.elapsed_s(datetime.now(UTC) + timedelta(seconds=30)) >= 30
    again = [a.flag for a in flag_activations(list(rollback.before) + list(rollback.records)) if a.seq > done]
    assert again == list(FLAGS[:2])
    assert flag_activations(list(rollback.before))[-1].flag == FLAGS[2]  # the failing flag


def test_a_flag_back_on_before_all_were_off_is_not_an_immediate_rollback(tmp_path: Path) -> None:
    entries: list[tuple[str, dict[str, Any]]] = [
        ("flags_snapshot", {"values": dict.fromkeys(FLAGS, "false")})
    ]
    entries += [_flag(FLAGS[0], True), _flag(FLAGS[1], True)]
    entries.append(("rollback_started", {"tier": "partial", "trigger": "x"}))
    entries += [_flag(FLAGS[1], False), _flag(FLAGS[1], True)]
    rollback = latest_rollback(journal(tmp_path, entries), "partial")
    assert rollback is not None
    assert rollback.immediate_done_seq() is None
    assert latest_rollback(journal(tmp_path / "x", entries), "full") is None


def test_a_rollback_is_timed_from_the_failure_when_the_journal_says_when(tmp_path: Path) -> None:
    failure = (datetime.now(UTC) - timedelta(minutes=4)).isoformat().replace("+00:00", "Z")
    records = journal(
        tmp_path, [("rollback_started", {"tier": "immediate", "trigger": "x", "failure_at": failure})]
    )
    rollback = latest_rollback(records, "immediate")
    assert rollback is not None
    assert 239 < rollback.elapsed_s(datetime.now(UTC)) < 300
