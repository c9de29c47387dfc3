"""Approvals as properties: what makes a set go, for any set, any edit, any clock and any damaged file.

The example-based cases (each defect named) are in tests/unit/release/test_approvals.py; these check
the rules hold for every input hypothesis can think of.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bedrock_release.release.approvals import (
    REQUIRED_ROLES,
    ApprovalRecord,
    MalformedApprovalError,
    ProblemKind,
    check_approval_files,
    check_approvals,
    generate_keypair,
    load_approval,
    parse_approval,
    sign_approval,
)

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
RELEASE = "1.1.0"
PLAN = "ab" * 32  # the SHA-256 of the plan text the approvals are checked against
KEYS = {role: generate_keypair() for role in REQUIRED_ROLES}
TRUSTED = {role: [pair[1]] for role, pair in KEYS.items()}


def _sign(role: str, *, release: str = RELEASE, issued_h: float = -1, expires_h: float = 8) -> ApprovalRecord:
    return sign_approval(
        KEYS[role][0],
        role=role,
        approver=f"{role}@example.org",
        release=release,
        plan_sha256=PLAN,
        statement=f"{role} approves {release}",
        issued_at=NOW + timedelta(hours=issued_h),
        expires_at=NOW + timedelta(hours=expires_h),
    )


VALID = {role: _sign(role) for role in REQUIRED_ROLES}


@given(st.lists(st.sampled_from(REQUIRED_ROLES), max_size=8))
def test_bi_go_only_with_each_role_exactly_once(roles: list[str]) -> None:
    verdict = check_approvals([VALID[r] for r in roles], TRUSTED, RELEASE, NOW, plan_sha256=PLAN)
    counts = Counter(roles)
    assert verdict.ok == all(counts[r] == 1 for r in REQUIRED_ROLES)
    kinds = Counter((p.kind, p.role) for p in verdict.problems)
    for role in REQUIRED_ROLES:
        if counts[role] == 0:
            assert kinds[(ProblemKind.MISSING_ROLE, role)] == 1
        elif counts[role] > 1:
            assert kinds[(ProblemKind.DUPLICATED_ROLE, role)] == 1


_SIGNED_FIELDS = ("approver", "release", "statement", "issued_at", "expires_at")


@given(
    role=st.sampled_from(REQUIRED_ROLES),
    field=st.sampled_from(_SIGNED_FIELDS),
    text=st.text(min_size=1, max_size=30).filter(str.strip),
)
def test_bi_any_edit_of_a_signed_field_is_a_no_go_naming_the_role(role: str, field: str, text: str) -> None:
    original = VALID[role]
    if getattr(original, field) == text:
        return
    edited = dataclasses.replace(original, **{field: text})
    records = [edited if r == role else VALID[r] for r in REQUIRED_ROLES]
    verdict = check_approvals(records, TRUSTED, RELEASE, NOW, plan_sha256=PLAN)
    assert not verdict.ok
    assert [(p.kind, p.role) for p in verdict.problems] == [(ProblemKind.BAD_SIGNATURE, role)]


@given(signer=st.sampled_from(REQUIRED_ROLES), role=st.sampled_from(REQUIRED_ROLES))
def test_bi_a_key_signs_only_for_its_own_role(signer: str, role: str) -> None:
    record = sign_approval(
        KEYS[signer][0],
        role=role,
        approver="someone",
        release=RELEASE,
        plan_sha256=PLAN,
        statement="approved",
        issued_at=NOW - timedelta(hours=1),
        expires_at=NOW + timedelta(hours=1),
    )
    records = [record if r == role else VALID[r] for r in REQUIRED_ROLES]
    assert check_approvals(records, TRUSTED, RELEASE, NOW, plan_sha256=PLAN).ok == (signer == role)


@given(
    issued_h=st.floats(-100, 100, allow_nan=False),
    length_h=st.floats(0.01, 100, allow_nan=False),
    skew_s=st.sampled_from([0.0, 60.0]),
)
def test_bi_an_approval_counts_only_within_its_validity(
    issued_h: float, length_h: float, skew_s: float
) -> None:
    record = _sign("security", issued_h=issued_h, expires_h=issued_h + length_h)
    records = [record if r == "security" else VALID[r] for r in REQUIRED_ROLES]
    verdict = check_approvals(records, TRUSTED, RELEASE, NOW, plan_sha256=PLAN, clock_skew_s=skew_s)
    # the record's own (second-resolution) times decide
    issued = datetime.fromisoformat(record.issued_at.replace("Z", "+00:00"))
    expires = datetime.fromisoformat(record.expires_at.replace("Z", "+00:00"))
    valid = (issued - NOW).total_seconds() <= skew_s and expires > NOW
    assert verdict.ok == valid
    if not valid:
        assert verdict.problems[0].kind in (ProblemKind.EXPIRED, ProblemKind.NOT_YET_VALID)


@given(release=st.from_regex(r"\A[0-9]\.[0-9]{1,2}\.[0-9]\Z"))
def test_bi_an_approval_of_another_release_never_counts(release: str) -> None:
    records = [_sign("cto", release=release) if r == "cto" else VALID[r] for r in REQUIRED_ROLES]
    verdict = check_approvals(records, TRUSTED, RELEASE, NOW, plan_sha256=PLAN)
    assert verdict.ok == (release == RELEASE)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 600))
def test_bi_any_cut_of_an_approval_file_is_a_named_malformed_problem(
    tmp_path_factory: pytest.TempPathFactory, cut: int
) -> None:
    folder = tmp_path_factory.mktemp("cut")
    text = json.dumps(VALID["security"].to_dict(), indent=2)
    path = folder / "security.json"
    path.write_text(text[: min(cut, len(text) - 1)])
    with pytest.raises(MalformedApprovalError) as caught:
        load_approval(path)
    assert str(path) in str(caught.value)
    files = [folder / "security.json"]
    for role in REQUIRED_ROLES:
        if role != "security":
            (folder / f"{role}.json").write_text(json.dumps(VALID[role].to_dict()))
            files.append(folder / f"{role}.json")
    verdict = check_approval_files(files, TRUSTED, RELEASE, NOW, plan_sha256=PLAN)
    assert not verdict.ok
    assert {p.kind for p in verdict.problems} == {ProblemKind.MALFORMED, ProblemKind.MISSING_ROLE}


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


@given(
    st.one_of(
        _JSON,
        st.fixed_dictionaries(
            {
                f: st.one_of(st.text(max_size=12), _JSON)
                for f in ApprovalRecord.__dataclass_fields__
                if f != "source"
            }
        ),
    )
)
def test_bi_any_json_is_parsed_or_refused_as_malformed_never_a_crash(obj: object) -> None:
    try:
        record = parse_approval(obj, source="x.json")
    except MalformedApprovalError as exc:
        refusal = str(exc)
    else:
        refusal = ""
    if refusal:
        assert "x.json" in refusal
        return
    # whatever parses is still checked by signature: a made-up record never counts
    records = [record if r == record.role else VALID[r] for r in REQUIRED_ROLES]
    assert not check_approvals(records, TRUSTED, RELEASE, NOW, plan_sha256=PLAN).ok


def test_bi_an_unknown_role_file_is_named_and_blocks(tmp_path: Path) -> None:
    paths = []
    for role, record in VALID.items():
        paths.append(tmp_path / f"{role}.json")
        paths[-1].write_text(json.dumps(record.to_dict()))
    extra = dataclasses.replace(VALID["cto"], role="cfo")
    paths.append(tmp_path / "cfo.json")
    paths[-1].write_text(json.dumps(extra.to_dict()))
    verdict = check_approval_files(paths, TRUSTED, RELEASE, NOW, plan_sha256=PLAN)
    assert not verdict.ok
    [problem] = verdict.problems
    assert problem.kind is ProblemKind.MALFORMED
    assert "cfo.json" in str(problem)
    assert "role" in str(problem)
