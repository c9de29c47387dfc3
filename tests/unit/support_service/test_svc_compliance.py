"""ComplianceValidator: redaction hooks, residency, boundary guard, recorded violations, self-test."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from support_service.compliance import ComplianceValidator, PiiBlockedError, Violation, ViolationRule
from support_service.pii import PiiKind
from support_service.routing import Residency
from support_service.settings import DEFAULT_ALLOWED_REGIONS


def validator(region: str = "eu-central-1", **kwargs) -> ComplianceValidator:
    return ComplianceValidator(
        bedrock_region=region,
        allowed_bedrock_regions=kwargs.pop("allowed", DEFAULT_ALLOWED_REGIONS),
        permitted_customer_regions=kwargs.pop("customers", DEFAULT_ALLOWED_REGIONS),
        **kwargs,
    )


def test_redaction_reports_each_kind_to_the_listener() -> None:
    seen: list[PiiKind] = []
    result = validator(on_redaction=seen.append).redact("a@b.io and c@d.io, card 4111 1111 1111 1111")
    assert seen == [PiiKind.EMAIL, PiiKind.EMAIL, PiiKind.CARD]
    assert "a@b.io" not in result.text


@pytest.mark.parametrize(
    ("bedrock", "customer", "expected"),
    [
        ("eu-central-1", "eu-west-1", Residency.OK),
        ("eu-central-1", "us-east-1", Residency.CUSTOMER_REGION),
        ("us-east-1", "eu-west-1", Residency.BEDROCK_REGION),
        ("us-east-1", "us-east-1", Residency.BEDROCK_REGION),
    ],
)
def test_residency(bedrock: str, customer: str, expected: Residency) -> None:
    assert validator(bedrock).residency(customer) is expected


def test_customer_regions_are_configurable() -> None:
    v = validator(customers=("eu-south-2",))
    assert v.residency("eu-south-2") is Residency.OK
    assert v.residency("eu-central-1") is Residency.CUSTOMER_REGION


def test_guard_blocks_and_records() -> None:
    recorded: list[Violation] = []
    v = validator(on_violation=recorded.append, now=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    v.guard_outgoing("clean [REDACTED_EMAIL] text", boundary="mcp")
    with pytest.raises(PiiBlockedError) as info:
        v.guard_outgoing("call +49 30 1234567", boundary="bedrock")
    assert info.value.kinds == (PiiKind.PHONE,)
    assert [r.rule for r in recorded] == [ViolationRule.PII_IN_MODEL_PAYLOAD]
    assert recorded[0].as_dict() == {
        "at": "2026-01-01T00:00:00+00:00",
        "rule": "pii_in_model_payload",
        "detail": {"boundary": "bedrock", "kinds": ["phone"]},
    }
    assert v.counts()["pii_in_model_payload"] == 1


def test_violation_history_is_bounded() -> None:
    v = validator(keep=2)
    for _ in range(3):
        v.record(ViolationRule.CUSTOMER_REGION, {"customer_region": "us-east-1"})
    assert len(v.violations()) == 2
    assert v.counts()["customer_region"] == 3


def test_self_test_probe() -> None:
    assert validator().probe().healthy
    assert "NOT allowed" in validator("us-east-1").probe().detail
    assert not validator(allowed=("us-east-1",)).probe().healthy
