"""Approvals: a valid set is go; every kind of defect is a named no-go."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bedrock_release.release.approvals import (
    REQUIRED_ROLES,
    ApprovalRecord,
    MalformedApprovalError,
    ProblemKind,
    check_approval_files,
    check_approvals,
    generate_keypair,
    key_id,
    load_approval,
    load_private_key,
    load_public_key,
    load_trusted_keys,
    sign_approval,
    write_keypair,
)

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
RELEASE = "1.1.0"
PLAN = "ab" * 32  # the SHA-256 of the plan text the approvals are checked against


@pytest.fixture(scope="module")
def keys():
    return {role: generate_keypair() for role in REQUIRED_ROLES}


@pytest.fixture(scope="module")
def trusted(keys):
    return {role: [pair[1]] for role, pair in keys.items()}


def _sign(
    keys,
    role,
    *,
    release=RELEASE,
    issued=NOW - timedelta(hours=1),
    expires=NOW + timedelta(hours=8),
    signer=None,
    plan=PLAN,
):
    private = keys[signer or role][0]
    return sign_approval(
        private,
        role=role,
        approver=f"{role}@example.org",
        release=release,
        plan_sha256=plan,
        statement=f"{role} approves {release}",
        issued_at=issued,
        expires_at=expires,
    )


def _all(keys, **overrides):
    return [overrides.get(role) or _sign(keys, role) for role in REQUIRED_ROLES]


def _kinds(verdict):
    return [(p.kind, p.role) for p in verdict.problems]


def test_four_valid_approvals_are_go(keys, trusted) -> None:
    verdict = check_approvals(_all(keys), trusted, RELEASE, NOW, plan_sha256=PLAN)
    assert verdict.ok
    assert verdict.approved == ("cto", "security", "operations", "product_owner")
    assert "approved by cto" in verdict.summary()


def test_missing_role(keys, trusted) -> None:
    records = [r for r in _all(keys) if r.role != "security"]
    verdict = check_approvals(records, trusted, RELEASE, NOW, plan_sha256=PLAN)
    assert not verdict.ok
    assert _kinds(verdict) == [(ProblemKind.MISSING_ROLE, "security")]
    assert "security" in verdict.summary()


def test_expired_and_not_yet_valid(keys, trusted) -> None:
    expired = _sign(keys, "cto", issued=NOW - timedelta(days=2), expires=NOW - timedelta(seconds=1))
    future = _sign(keys, "operations", issued=NOW + timedelta(minutes=5), expires=NOW + timedelta(hours=1))
    verdict = check_approvals(
        _all(keys, cto=expired, operations=future), trusted, RELEASE, NOW, plan_sha256=PLAN
    )
    assert _kinds(verdict) == [(ProblemKind.EXPIRED, "cto"), (ProblemKind.NOT_YET_VALID, "operations")]
    assert check_approvals(
        _all(keys, operations=future), trusted, RELEASE, NOW, plan_sha256=PLAN, clock_skew_s=600
    ).ok


def test_expiry_is_exclusive(keys, trusted) -> None:
    at_expiry = _sign(keys, "cto", expires=NOW)
    assert _kinds(check_approvals(_all(keys, cto=at_expiry), trusted, RELEASE, NOW, plan_sha256=PLAN)) == [
        (ProblemKind.EXPIRED, "cto")
    ]


def test_wrong_release(keys, trusted) -> None:
    other = _sign(keys, "product_owner", release="1.0.9")
    verdict = check_approvals(_all(keys, product_owner=other), trusted, RELEASE, NOW, plan_sha256=PLAN)
    assert _kinds(verdict) == [(ProblemKind.WRONG_RELEASE, "product_owner")]
    assert "1.0.9" in str(verdict.problems[0])


def test_an_approval_of_another_plan_text_is_refused_naming_both_digests(keys, trusted) -> None:
    other_plan = "cd" * 32
    records = _all(keys, security=_sign(keys, "security", plan=other_plan))
    verdict = check_approvals(records, trusted, RELEASE, NOW, plan_sha256=PLAN)
    assert not verdict.ok
    assert _kinds(verdict) == [(ProblemKind.WRONG_PLAN, "security")]
    assert f"sha256:{other_plan}" in verdict.problems[0].detail
    assert f"sha256:{PLAN}" in verdict.problems[0].detail
    # The same records checked against the plan they approved are refused the other way round.
    again = check_approvals(records, trusted, RELEASE, NOW, plan_sha256=other_plan)
    assert sorted(p.role for p in again.problems) == ["cto", "operations", "product_owner"]
    assert {p.kind for p in again.problems} == {ProblemKind.WRONG_PLAN}


def test_a_plan_digest_that_is_not_a_sha256_is_refused(keys, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="plan_sha256 must be 64 lower-case hex"):
        _sign(keys, "cto", plan="not-a-digest")
    path = tmp_path / "cto.json"
    path.write_text(json.dumps({**_sign(keys, "cto").to_dict(), "plan_sha256": "AB" * 32}), encoding="utf-8")
    with pytest.raises(MalformedApprovalError, match="plan_sha256"):
        load_approval(path)


@pytest.mark.parametrize("field", ["release", "plan_sha256", "expires_at", "approver", "statement", "role"])
def test_tampered_field_breaks_the_signature(keys, trusted, field: str) -> None:
    good = _sign(keys, "cto", release="1.0.9" if field == "release" else RELEASE)
    changes = {
        "plan_sha256": "cd" * 32,
        "release": RELEASE,
        "expires_at": "2099-01-01T00:00:00Z",
        "approver": "mallory@example.org",
        "statement": "approved everything",
        "role": "cto",
    }
    tampered = ApprovalRecord(**{**good.to_dict(), field: changes[field]})
    verdict = check_approvals(_all(keys, cto=tampered), trusted, RELEASE, NOW, plan_sha256=PLAN)
    if field == "role":  # unchanged value: the record is intact
        assert verdict.ok
    else:
        assert _kinds(verdict) == [(ProblemKind.BAD_SIGNATURE, "cto")]


def test_forged_signature_with_right_key_id(keys, trusted) -> None:
    mallory, _ = generate_keypair()
    forged = _sign({"cto": (mallory, None)}, "cto")
    forged = ApprovalRecord(**{**forged.to_dict(), "key_id": key_id(keys["cto"][1])})
    verdict = check_approvals(_all(keys, cto=forged), trusted, RELEASE, NOW, plan_sha256=PLAN)
    assert _kinds(verdict) == [(ProblemKind.BAD_SIGNATURE, "cto")]
    assert "forged or edited" in str(verdict.problems[0])


def test_unknown_key_and_key_of_another_role(keys, trusted) -> None:
    stranger, _ = generate_keypair()
    unknown = sign_approval(
        stranger,
        role="cto",
        approver="x",
        release=RELEASE,
        plan_sha256=PLAN,
        statement="s",
        issued_at=NOW,
        expires_at=NOW + timedelta(1),
    )
    verdict = check_approvals(_all(keys, cto=unknown), trusted, RELEASE, NOW, plan_sha256=PLAN)
    assert _kinds(verdict) == [(ProblemKind.UNKNOWN_KEY, "cto")]
    # Operations' key cannot sign for the CTO.
    borrowed = _sign(keys, "cto", signer="operations")
    verdict = check_approvals(_all(keys, cto=borrowed), trusted, RELEASE, NOW, plan_sha256=PLAN)
    assert _kinds(verdict) == [(ProblemKind.UNKNOWN_KEY, "cto")]
    assert "trusted for operations only" in verdict.problems[0].detail


def test_duplicated_role_is_refused(keys, trusted) -> None:
    records = [*_all(keys), _sign(keys, "security")]
    verdict = check_approvals(records, trusted, RELEASE, NOW, plan_sha256=PLAN)
    assert _kinds(verdict) == [(ProblemKind.DUPLICATED_ROLE, "security")]
    assert verdict.approved == ("cto", "operations", "product_owner")


def test_naive_now_is_refused(keys, trusted) -> None:
    with pytest.raises(ValueError, match="timezone"):
        check_approvals(_all(keys), trusted, RELEASE, datetime(2026, 1, 1), plan_sha256=PLAN)


# --- files ---------------------------------------------------------------------------------------


def _write(directory: Path, name: str, content) -> Path:
    path = directory / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def test_files_round_trip(tmp_path: Path, keys, trusted) -> None:
    paths = [_write(tmp_path, f"{r.role}.json", r.to_dict()) for r in _all(keys)]
    verdict = check_approval_files(paths, trusted, RELEASE, NOW, plan_sha256=PLAN)
    assert verdict.ok
    assert load_approval(paths[0]).source == str(paths[0])


@pytest.mark.parametrize(
    "case",
    [
        (lambda d: d.pop("signature"), "signature", "missing"),
        (lambda d: d.update(release=""), "release", "non-empty string"),
        (lambda d: d.update(role="intern"), "role", "not one of"),
        (lambda d: d.update(expires_at="tomorrow"), "expires_at", "RFC 3339"),
        (lambda d: d.update(issued_at="2026-11-26T10:00:00"), "issued_at", "without a timezone"),
        (lambda d: d.update(expires_at="2020-01-01T00:00:00Z"), "expires_at", "after issued_at"),
        (lambda d: d.update(signature="***"), "signature", "not base64"),
        (lambda d: d.update(signature=base64.b64encode(b"short").decode()), "signature", "64 bytes"),
        (lambda d: d.update(extra="x"), "extra", "unexpected"),
        (lambda d: d.update(approver=7), "approver", "non-empty string"),
    ],
)
def test_malformed_record_names_file_and_field(tmp_path: Path, keys, trusted, case) -> None:
    mutate, field, needle = case
    data = _sign(keys, "cto").to_dict()
    mutate(data)
    path = _write(tmp_path, "cto.json", data)
    with pytest.raises(MalformedApprovalError) as info:
        load_approval(path)
    assert info.value.field == field
    assert needle in str(info.value)
    assert str(path) in str(info.value)
    others = [_write(tmp_path, f"{r.role}.json", r.to_dict()) for r in _all(keys) if r.role != "cto"]
    verdict = check_approval_files([path, *others], trusted, RELEASE, NOW, plan_sha256=PLAN)
    assert (ProblemKind.MALFORMED, None) in _kinds(verdict)
    assert (ProblemKind.MISSING_ROLE, "cto") in _kinds(verdict)


@pytest.mark.parametrize(
    ("content", "needle"), [("", "empty file"), ("{not json", "not JSON"), ("[1]", "JSON object")]
)
def test_unreadable_files(tmp_path: Path, content: str, needle: str) -> None:
    with pytest.raises(MalformedApprovalError, match=needle):
        load_approval(_write(tmp_path, "x.json", content))
    with pytest.raises(MalformedApprovalError, match="unreadable"):
        load_approval(tmp_path / "absent.json")


def test_keypair_files_and_trusted_key_loading(tmp_path: Path) -> None:
    for role in REQUIRED_ROLES:
        write_keypair(tmp_path, role)
    key_path = tmp_path / "cto.key"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    private = load_private_key(key_path)
    assert key_id(private.public_key()) == key_id(load_public_key(tmp_path / "cto.pub"))
    (tmp_path / "intern.pub").write_bytes((tmp_path / "cto.pub").read_bytes())
    trusted = load_trusted_keys(tmp_path)
    assert sorted(trusted) == sorted(REQUIRED_ROLES)
    (tmp_path / "bad.pub").write_text("not a key", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.pub"):
        load_public_key(tmp_path / "bad.pub")
