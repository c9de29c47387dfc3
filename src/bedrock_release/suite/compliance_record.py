"""What happened since the deployment: violations, critical errors, what Bedrock and MCP received.

The suite's own probes (phase 4 and 6 checks, labelled sets) carry a ``[check <hex>]`` marker in
their query; a violation caused by such a probe is listed as a deliberate probe, not counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from audit_trail import AuditRecord
from bedrock_release.suite.journal import parse_ts

__all__ = ["PROBE_MARKER", "PiiScan", "ViolationReview", "review_violations", "scan_for_pii", "since"]

# checks.check_marker: 12 lower-case letters (hex digits could be redacted away as a phone number).
PROBE_MARKER = re.compile(r"\[check [a-z0-9]{12}\]")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}\s?[A-Z0-9]{1,4}\b")
_DIGITS = re.compile(r"(?:\d[ -]?){13,19}")


def since(
    items: Iterable[Mapping[str, Any]], moment: datetime | None, key: str = "ts"
) -> list[Mapping[str, Any]]:
    """Return the items whose timestamp is at or after moment (all of them when moment is None)."""
    if moment is None:
        return list(items)
    return [i for i in items if isinstance(i.get(key), str) and parse_ts(str(i[key])) >= moment]


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


@dataclass(frozen=True)
class PiiScan:
    """Personal data found in what a model or tool received."""

    scanned: int
    findings: tuple[str, ...]


def scan_for_pii(items: Sequence[Any]) -> PiiScan:
    """Find e-mail addresses, IBAN-shaped strings and Luhn-valid card numbers in the items (as text)."""
    import json  # noqa: PLC0415

    findings: list[str] = []
    for item in items:
        text = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
        findings += [f"email {m}" for m in _EMAIL.findall(text)]
        findings += [f"iban {m}" for m in _IBAN.findall(text)]
        for match in _DIGITS.findall(text):
            digits = re.sub(r"\D", "", match)
            if 13 <= len(digits) <= 19 and _luhn(digits):
                findings.append(f"card {digits[:4]}...{digits[-4:]}")
    return PiiScan(len(items), tuple(findings))


@dataclass(frozen=True)
class ViolationReview:
    """Violations since the deployment: the suite's deliberate probes and everything else."""

    probes: tuple[Mapping[str, Any], ...]
    others: tuple[Mapping[str, Any], ...]
    unseen: int

    def to_dict(self) -> dict[str, Any]:
        """Return the review for evidence attachments."""
        return {
            "probes": list(self.probes),
            "others": list(self.others),
            "not_listed_by_the_service": self.unseen,
        }


def review_violations(
    violations: Sequence[Mapping[str, Any]],
    total: int,
    audit: Mapping[str, AuditRecord],
    moment: datetime | None,
) -> ViolationReview:
    """Split violations into the suite's probes (marker in the audited query) and others."""
    recent = since(violations, moment, key="at")
    probes, others = [], []
    for violation in recent:
        op = str(dict(violation.get("detail", {})).get("operation_id", ""))
        record = audit.get(op)
        query = str(record.data.get("query_redacted", "")) if record else ""
        (probes if PROBE_MARKER.search(query) else others).append(violation)
    # The service lists its most recent violations only; any beyond the list cannot be classified.
    unseen = max(0, total - len(violations))
    return ViolationReview(tuple(probes), tuple(others), unseen)
