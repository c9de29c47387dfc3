"""Smaller helpers: the SLO gates parsed from the feature, PII probes and scans, violation review."""

from __future__ import annotations

from pathlib import Path

import pytest

from bedrock_release.suite.checks import PII_PROBE, check_marker, unique_query
from bedrock_release.suite.compliance_record import review_violations, scan_for_pii
from bedrock_release.suite.slo_spec import SloSpecError, load_slo_specs
from support_service.pii import PiiKind, redact

FEATURES = Path(__file__).resolve().parents[3] / "features"


def test_the_slo_gates_come_from_the_phase3_feature() -> None:
    specs = {s.gate: s for s in load_slo_specs(FEATURES / "slo_gates.feature")}
    assert specs["p95-latency-generation"].threshold == 1500
    assert specs["p95-latency-cached"].threshold == 300
    assert specs["p95-latency-cached"].min_samples == 300
    assert specs["error-rate"].min_samples == 1000
    assert specs["error-rate"].window_minutes == 5
    assert specs["cost-budget"].threshold == 80
    assert specs["cache-hit-rate"].min_samples == 500


def test_a_feature_without_the_gates_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f.feature").write_text("Feature: x\n  Scenario: y\n    Then nothing\n")
    with pytest.raises(SloSpecError, match="are not stated"):
        load_slo_specs(tmp_path / "f.feature")


def test_the_pii_probe_finds_every_written_form() -> None:
    text = PII_PROBE.text("Outage")
    assert set(PII_PROBE.found_in([text])) >= {PII_PROBE.email, PII_PROBE.card}
    assert PII_PROBE.found_in(["card 4111111111111111"])  # without its spaces
    assert PII_PROBE.found_in([{"query": "[REDACTED_EMAIL] [REDACTED_CARD]"}]) == []


def test_the_pii_scan_flags_emails_ibans_and_luhn_cards_only() -> None:
    scan = scan_for_pii(["mail a.b@example.org", "order 1234 5678 9012 3456", "4111 1111 1111 1111"])
    assert any(f.startswith("email") for f in scan.findings)
    assert any(f.startswith("card 4111") for f in scan.findings)
    assert not any("1234" in f for f in scan.findings)  # not Luhn-valid: an order number


def test_violations_of_the_suites_probes_are_set_apart() -> None:
    from audit_trail import AuditRecord  # noqa: PLC0415

    def op(query: str) -> AuditRecord:
        return AuditRecord(
            0, "2026-11-26T15:00:00Z", "x", "support.operation", {"query_redacted": query}, "0" * 64, "0" * 64
        )

    violations = [
        {"at": "2026-11-26T15:00:01+00:00", "rule": "customer_region", "detail": {"operation_id": "p"}},
        {"at": "2026-11-26T15:00:02+00:00", "rule": "customer_region", "detail": {"operation_id": "c"}},
    ]
    audit = {"p": op("Residency validation [check 0123456789ab]"), "c": op("a real customer question")}
    review = review_violations(violations, 3, audit, None)
    assert len(review.probes) == 1
    assert len(review.others) == 1
    assert review.unseen == 1


def test_a_hex_marker_could_be_redacted_as_a_phone_number() -> None:
    """Why markers are letters: this hex marker reached Bedrock as "[REDACTED_PHONE]bf9eb" (CI)."""
    assert redact("Priority validation [check 0856595bf9eb]").kinds == (PiiKind.PHONE,)


def test_check_markers_survive_redaction_and_differ() -> None:
    """A marker is never personal data to the redactor, so it reaches Bedrock and MCP unchanged."""
    queries = [unique_query("Priority validation (critical)") for _ in range(2000)]
    assert all(redact(q).text == q for q in queries)
    markers = {q.rsplit("[check ", 1)[1].rstrip("]") for q in queries}
    assert len(markers) == len(queries)
    assert all(len(m) == 12 and m.isalpha() and m.islower() for m in markers)
    assert check_marker() not in markers


def test_a_probe_marked_by_unique_query_is_recognised_as_a_probe() -> None:
    # The markers are letters (checks.check_marker); a hex-only pattern missed almost all of them.
    from audit_trail import AuditRecord  # noqa: PLC0415
    from bedrock_release.suite.checks import unique_query  # noqa: PLC0415

    query = unique_query("Residency validation")
    record = AuditRecord(
        0, "2026-11-26T15:00:00Z", "x", "support.operation", {"query_redacted": query}, "0" * 64, "0" * 64
    )
    violation = {
        "at": "2026-11-26T15:00:01+00:00",
        "rule": "customer_region",
        "detail": {"operation_id": "p"},
    }
    review = review_violations([violation], 1, {"p": record}, None)
    assert (len(review.probes), len(review.others)) == (1, 0), query
