"""Implementation-gap diagnosis: explicit categories, deterministic, with calibrated confidence."""

from __future__ import annotations

import pytest

from sandbox.mcp_support_server.diagnosis import GAP_CATEGORIES, diagnose
from sandbox.mcp_support_server.knowledge import search

LABELLED = [
    ("AccessDeniedException 403 after the IAM role was rotated", "authentication"),
    ("We see ThrottlingException (429) at peak; quota too low", "rate_limiting"),
    ("The converse call hangs and times out after 60 seconds", "timeout_handling"),
    ("Wrong region in the endpoint config, model id not found", "configuration"),
    ("ValidationException: malformed payload, missing field messages", "input_validation"),
    ("Unhandled exception crashes the worker, no retry or fallback", "error_handling"),
    ("The prompt contained a customer e-mail and IBAN; GDPR breach", "data_compliance"),
    ("Cache serves stale answers; TTL too long, hit rate low", "caching"),
    ("The button is blue instead of green", "unknown"),
]


@pytest.mark.parametrize(("description", "category"), LABELLED)
def test_labelled_cases_get_their_category(description: str, category: str) -> None:
    assert diagnose(description).category == category


def test_categories_are_explicit_and_complete() -> None:
    assert set(GAP_CATEGORIES) == {category for _, category in LABELLED}


def test_unknown_has_zero_confidence_and_an_escalation_fix() -> None:
    diagnosis = diagnose("something odd")
    assert diagnosis.confidence == 0.0
    assert "escalate" in diagnosis.suggested_fix


def test_more_evidence_means_more_confidence() -> None:
    weak = diagnose("it is slow")
    strong = diagnose("slow, hangs, read timeout, latency")
    assert weak.category == strong.category == "timeout_handling"
    assert strong.confidence > weak.confidence


def test_competing_evidence_lowers_confidence_and_lists_alternatives() -> None:
    mixed = diagnose("throttling 429 and a timeout")
    assert mixed.category == "rate_limiting"
    assert mixed.alternatives == ["timeout_handling"]
    assert mixed.confidence < diagnose("throttling 429 quota").confidence


def test_numbers_match_whole() -> None:
    assert diagnose("took 5000 ms").category != "error_handling"
    assert diagnose("HTTP 500 from the service").category == "error_handling"


def test_search_ranks_title_and_tag_matches_first_and_caps_hits() -> None:
    result = search("GDPR region residency redaction")
    assert [hit.id for hit in result.hits][:2] == ["KB-004", "KB-005"]
    assert len(result.hits) <= 3
    assert search("zzz qqq").hits == []
