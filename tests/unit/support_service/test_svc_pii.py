"""PII detection and redaction: each kind in several formats, and look-alikes left alone."""

from __future__ import annotations

import pytest

from support_service.pii import PiiKind, find_pii, iban_valid, luhn_valid, placeholder, redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("write to john.doe@example.com please", "john.doe@example.com"),
        ("cc: a.b+tag@mail.example.co.uk", "a.b+tag@mail.example.co.uk"),
        ("USER_1@EXAMPLE.ORG wrote", "USER_1@EXAMPLE.ORG"),
    ],
)
def test_emails_are_redacted(text: str, secret: str) -> None:
    result = redact(text)
    assert secret not in result.text
    assert placeholder(PiiKind.EMAIL) in result.text
    assert result.kinds == (PiiKind.EMAIL,)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("call +49 30 1234567 now", "+49 30 1234567"),
        ("call +1 (555) 123-4567", "(555) 123-4567"),
        ("call 0049 30 12345678", "0049 30 12345678"),
        ("call 030 1234567", "030 1234567"),
        ("mobile 0151-12345678", "0151-12345678"),
        ("us line (555) 123-4567", "(555) 123-4567"),
        ("us line 555.123.4567", "555.123.4567"),
        ("paris +33 1 23 45 67 89", "+33 1 23 45 67 89"),
    ],
)
def test_phone_numbers_are_redacted(text: str, secret: str) -> None:
    result = redact(text)
    assert secret not in result.text
    assert PiiKind.PHONE in result.kinds


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("IBAN DE89 3704 0044 0532 0130 00 thanks", "DE89 3704 0044 0532 0130 00"),
        ("iban DE89370400440532013000", "DE89370400440532013000"),
        ("GB82 WEST 1234 5698 7654 32 THANKS", "GB82 WEST 1234 5698 7654 32"),
        ("fr FR14 2004 1010 0505 0001 3M02 606.", "FR14 2004 1010 0505 0001 3M02 606"),
    ],
)
def test_ibans_are_redacted(text: str, secret: str) -> None:
    result = redact(text)
    assert secret not in result.text
    assert result.kinds == (PiiKind.IBAN,)
    # The words around the IBAN survive: redaction must keep the question readable.
    assert result.text.split(placeholder(PiiKind.IBAN))[0] == text.split(secret, maxsplit=1)[0]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("visa 4111 1111 1111 1111 exp 12/26", "4111 1111 1111 1111"),
        ("visa 4111-1111-1111-1111", "4111-1111-1111-1111"),
        ("mc 5555555555554444", "5555555555554444"),
        ("amex 3782 822463 10005", "3782 822463 10005"),
    ],
)
def test_card_numbers_are_redacted(text: str, secret: str) -> None:
    result = redact(text)
    assert secret not in result.text
    assert result.kinds == (PiiKind.CARD,)


def test_ip_addresses_are_redacted() -> None:
    result = redact("client 192.168.10.20 failed")
    assert "192.168.10.20" not in result.text
    assert result.kinds == (PiiKind.IP_ADDRESS,)


@pytest.mark.parametrize(
    "text",
    [
        "order 4111111111111112 is late",  # 16 digits, fails Luhn
        "reference 1234 5678 9012 3456",  # grouped, fails Luhn
        "ticket SUP-1234 and order 12345678",
        "released on 2024-01-15, 01.02.2024 and 01-02-2024",
        "upgrade to version 1.2.3 at 10:30",
        "DE00 1234 5678 9012 3456 78",  # IBAN shape, wrong check digits
        "the limit is 5000 requests per 60 seconds",
    ],
)
def test_look_alikes_are_not_redacted(text: str) -> None:
    result = redact(text)
    assert result.text == text
    assert result.kinds == ()
    assert not result.changed


def test_mixed_text_reports_each_occurrence_in_text_order() -> None:
    text = "a@b.io paid with 4111 1111 1111 1111 from DE89370400440532013000, call +49 30 1234567 or c@d.io"
    result = redact(text)
    assert result.kinds == (PiiKind.EMAIL, PiiKind.CARD, PiiKind.IBAN, PiiKind.PHONE, PiiKind.EMAIL)
    assert find_pii(result.text) == ()
    for secret in ("a@b.io", "4111", "DE89", "1234567", "c@d.io"):
        assert secret not in result.text


def test_iban_digits_are_not_also_reported_as_phone_or_card() -> None:
    assert redact("DE89 3704 0044 0532 0130 00").kinds == (PiiKind.IBAN,)


def test_checksums() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert not luhn_valid("41111x")
    assert iban_valid("DE89370400440532013000")
    assert not iban_valid("DE88370400440532013000")
    assert not iban_valid("DE89")
