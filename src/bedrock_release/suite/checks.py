"""Small checks the health and validation steps share: requirements, PII probes, the EU allow-list."""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bedrock_release.suite.evidence import CheckFailedError

__all__ = ["EU_BEDROCK_REGIONS", "PII_PROBE", "PiiProbe", "check_marker", "require", "unique_query"]

#: The EU regions direct Bedrock may use (docs/contracts.md, SUPPORT_ALLOWED_BEDROCK_REGIONS).
EU_BEDROCK_REGIONS = ("eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1", "eu-south-1")


def require(condition: object, message: str) -> None:
    """Fail the check with message unless condition holds (asserts vanish under python -O)."""
    if not condition:
        raise CheckFailedError(message)


def check_marker() -> str:
    """Return 12 random lower-case letters that find a query again in a request log.

    Letters only: the service redacts personal data before any model or tool call, and a hex
    marker can hold a run of digits that reads as a phone number ("0856595bf9eb" reaches Bedrock
    as "[REDACTED_PHONE]bf9eb"), so the marker would be lost on its way (26**12 values).
    """
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(12))


def unique_query(text: str) -> str:
    """Return a query no cache has seen, with a marker that finds it again in request logs."""
    return f"{text} [check {check_marker()}]"


def _compact(value: str) -> str:
    return re.sub(r"[\s-]", "", value)


@dataclass(frozen=True)
class PiiProbe:
    """Personal data planted in a query; every written form of it must stay out of what it reaches."""

    email: str
    phone: str
    iban: str
    card: str

    def text(self, prefix: str) -> str:
        """Return a support query carrying every item."""
        return (
            f"{prefix}: please reach me at {self.email} or {self.phone}; refund to IBAN {self.iban}, "
            f"the card on file is {self.card}"
        )

    def forms(self) -> tuple[str, ...]:
        """Return every form that counts as a leak: as written and without spaces or dashes."""
        values = (self.email, self.phone, self.iban, self.card)
        out = set(values) | {_compact(v) for v in values}
        out.add(_compact(self.phone).lstrip("+"))
        return tuple(sorted(out))

    def found_in(self, blobs: Iterable[Any]) -> list[str]:
        """Return the forms present in any of the blobs (JSON-dumped when not text)."""
        text = "\n".join(b if isinstance(b, str) else json.dumps(b, ensure_ascii=False) for b in blobs)
        squeezed = _compact(text)
        return [form for form in self.forms() if form in text or _compact(form) in squeezed]

    def kinds(self) -> tuple[str, ...]:
        """Return the redaction kinds the service must report for the probe."""
        return ("email", "phone", "iban", "card")


PII_PROBE = PiiProbe(
    email="jane.doe@example.com",
    phone="+49 170 1234567",
    iban="DE89 3704 0044 0532 0130 00",
    card="4111 1111 1111 1111",
)
