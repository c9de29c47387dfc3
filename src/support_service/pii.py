"""PII detection and redaction: the GDPR part of the ComplianceValidator, as pure functions.

Kinds detected (in this order, so an earlier kind's digits are gone before a later pattern looks):

- ``email``       — ``local@domain.tld``;
- ``iban``        — country code, check digits, 11-30 alphanumerics, grouped or not; ISO 13616 mod-97 valid;
- ``card``        — 13-19 digits, grouped by spaces or dashes or not; Luhn valid and a major network prefix;
- ``phone``       — international (``+``/``00`` prefix), national (leading ``0``) or North American
                    ``(555) 123-4567`` shapes with 7-15 digits; dates are not phones;
- ``ip_address``  — dotted IPv4 (personal data under GDPR, Recital 30).

Numbers that only look like PII (a 16-digit order number that fails Luhn, a date, a version string with
three parts) are left alone: redaction must not destroy the question being asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "PiiKind",
    "Redaction",
    "find_pii",
    "iban_valid",
    "luhn_valid",
    "placeholder",
    "redact",
]


class PiiKind(StrEnum):
    """A kind of personal data the validator recognises."""

    EMAIL = "email"
    IBAN = "iban"
    CARD = "card"
    PHONE = "phone"
    IP_ADDRESS = "ip_address"


@dataclass(frozen=True)
class Redaction:
    """The redacted text and the kinds replaced, one entry per occurrence in text order."""

    text: str
    kinds: tuple[PiiKind, ...]

    @property
    def changed(self) -> bool:
        """Whether anything was redacted."""
        return bool(self.kinds)


def placeholder(kind: PiiKind) -> str:
    """The marker that replaces one occurrence of ``kind``; it has no digits, so no later pass matches it."""
    return f"[REDACTED_{kind.value.upper()}]"


def luhn_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn checksum used by payment cards."""
    if not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_valid(compact: str) -> bool:
    """Whether an IBAN without spaces passes the ISO 13616 mod-97 check."""
    if not 15 <= len(compact) <= 34 or not compact.isalnum() or not compact.isascii():
        return False
    compact = compact.upper()
    if not (compact[:2].isalpha() and compact[2:4].isdigit()):
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(char, 36)) for char in rearranged)
    return int(number) % 97 == 1


_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# Candidates are sequences of groups separated by one space or dash; a validator then picks the longest
# valid prefix of groups, so trailing words or numbers next to a real IBAN or card do not hide it.
_IBAN_CANDIDATE = re.compile(r"\b[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]{1,4}){3,8}\b")
_CARD_CANDIDATE = re.compile(r"(?<![\w-])\d{1,19}(?:[ -]\d{1,19}){0,6}(?![\w])")
_PHONE_INTERNATIONAL = re.compile(r"(?<![\w+])(?:\+|00)\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){2,6}(?![\w])")
_PHONE_NATIONAL = re.compile(r"(?<![\w.+/-])(?:\(0\d{1,4}\)|0\d{1,4})(?:[ -]?\d{2,8}){1,4}(?![\w.-]?\d)")
_PHONE_NANP = re.compile(r"(?<![\w+])(?:\([2-9]\d{2}\)|[2-9]\d{2})[ .-]?\d{3}[ .-]\d{4}(?![\w])")
_DATE_LIKE = re.compile(r"^\d{1,4}[-/. ]\d{1,2}[-/. ]\d{1,4}$")
_IPV4 = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w.])"
)
_MASK = "\x00"
_CARD_PREFIX = re.compile(r"^(?:3[47]|3[0689]|4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|6)")


@dataclass(frozen=True)
class _Span:
    start: int
    end: int


def _longest_valid_prefix(text: str, match: re.Match[str], valid: Callable[[str], bool]) -> _Span | None:
    """The longest run of whole groups from the match start whose compact form is valid."""
    candidate = match.group(0)
    groups = list(re.finditer(r"[A-Za-z0-9]+", candidate))
    for count in range(len(groups), 0, -1):
        end = groups[count - 1].end()
        compact = re.sub(r"[ -]", "", candidate[:end])
        if valid(compact):
            return _Span(match.start(), match.start() + end)
    return None


def _card_valid(compact: str) -> bool:
    return 13 <= len(compact) <= 19 and luhn_valid(compact) and bool(_CARD_PREFIX.match(compact))


def _phone_digits_ok(candidate: str, low: int, high: int) -> bool:
    digits = sum(char.isdigit() for char in candidate)
    return low <= digits <= high


def _email_spans(text: str) -> list[_Span]:
    return [_Span(m.start(), m.end()) for m in _EMAIL.finditer(text)]


def _iban_spans(text: str) -> list[_Span]:
    spans = []
    for match in _IBAN_CANDIDATE.finditer(text):
        span = _longest_valid_prefix(text, match, iban_valid)
        if span is not None:
            spans.append(span)
    return spans


def _card_spans(text: str) -> list[_Span]:
    spans = []
    for match in _CARD_CANDIDATE.finditer(text):
        span = _longest_valid_prefix(text, match, _card_valid)
        if span is not None:
            spans.append(span)
    return spans


def _phone_spans(text: str) -> list[_Span]:
    spans = [
        _Span(m.start(), m.end())
        for m in _PHONE_INTERNATIONAL.finditer(text)
        if _phone_digits_ok(m.group(0), 7, 15)
    ]
    spans += [
        _Span(m.start(), m.end())
        for m in _PHONE_NATIONAL.finditer(text)
        if _phone_digits_ok(m.group(0), 7, 12) and not _DATE_LIKE.match(m.group(0))
    ]
    spans += [_Span(m.start(), m.end()) for m in _PHONE_NANP.finditer(text)]
    return _without_overlaps(spans)


def _ip_spans(text: str) -> list[_Span]:
    return [_Span(m.start(), m.end()) for m in _IPV4.finditer(text)]


def _without_overlaps(spans: list[_Span]) -> list[_Span]:
    kept: list[_Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if kept and span.start < kept[-1].end:
            continue
        kept.append(span)
    return kept


_DETECTORS: tuple[tuple[PiiKind, Callable[[str], list[_Span]]], ...] = (
    (PiiKind.EMAIL, _email_spans),
    (PiiKind.IBAN, _iban_spans),
    (PiiKind.CARD, _card_spans),
    (PiiKind.PHONE, _phone_spans),
    (PiiKind.IP_ADDRESS, _ip_spans),
)


def redact(text: str) -> Redaction:
    """Replace every recognised PII occurrence in ``text`` by its placeholder."""
    masked = text
    found: list[tuple[_Span, PiiKind]] = []
    for kind, detect in _DETECTORS:
        for span in detect(masked):
            found.append((span, kind))
            # Masking with a non-word character of the same length keeps offsets stable and stops later
            # kinds from matching inside an earlier kind (the digits of an IBAN are not a phone number).
            masked = masked[: span.start] + _MASK * (span.end - span.start) + masked[span.end :]
    found.sort(key=lambda item: item[0].start)
    pieces: list[str] = []
    cursor = 0
    for span, kind in found:
        pieces.append(text[cursor : span.start])
        pieces.append(placeholder(kind))
        cursor = span.end
    pieces.append(text[cursor:])
    return Redaction(text="".join(pieces), kinds=tuple(kind for _, kind in found))


def find_pii(text: str) -> tuple[PiiKind, ...]:
    """The kinds of PII still present in ``text`` (empty when the text is clean)."""
    return redact(text).kinds
