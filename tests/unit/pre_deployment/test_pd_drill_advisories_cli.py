"""Drill record format and reader; offline advisory matching (fails closed); CLI exit codes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from pd_fixtures import NOW, RELEASE

from bedrock_release.cli import main
from bedrock_release.pre_deployment import DrillTier, EvidenceError, read_drill_record, write_drill_record
from bedrock_release.pre_deployment._signing import sign_document
from bedrock_release.pre_deployment.advisories import is_critical, load_safety_db, parse_safety_db
from bedrock_release.release.approvals import generate_keypair

SHA = "a" * 64
#: The Operations Team lead's key signs the record; the Security Team's key must not count.
OPS_LEAD, OPS_LEAD_PUBLIC = generate_keypair()
SECURITY, SECURITY_PUBLIC = generate_keypair()
TRUSTED = {"operations": [OPS_LEAD_PUBLIC], "security": [SECURITY_PUBLIC]}


def _drill(tmp_path, tiers=None):
    tiers = tiers or [
        DrillTier("immediate", "drill: flag fault", 4.2, 15.0, True),
        DrillTier("partial", "drill: flag fault", 9.0, 30.0, True),
        DrillTier("full", "drill: canary fault", 20.0, 90.0, True),
    ]
    write_drill_record(
        tmp_path,
        release=RELEASE,
        artifact_sha256=SHA,
        environment="staging-sandbox",
        time_scale=0.05,
        tiers=tiers,
        started_at=NOW,
        finished_at=NOW + timedelta(minutes=1),
        signing_key=OPS_LEAD,
    )
    return tmp_path / "rollback-drill" / "drill.json"


def _resign(path, data, key=OPS_LEAD) -> None:
    body = {k: v for k, v in data.items() if k not in ("key_id", "signature")}
    path.write_text(json.dumps(sign_document(key, body)))


def test_valid_drill(tmp_path) -> None:
    _drill(tmp_path)
    record = read_drill_record(tmp_path, release=RELEASE, trusted_keys=TRUSTED, artifact_sha256=SHA)
    assert [t.tier for t in record.tiers] == ["immediate", "partial", "full"]
    assert record.problems() == ()
    assert record.key_id.startswith("ed25519:")


def test_an_unsigned_drill_record_is_refused(tmp_path) -> None:
    path = _drill(tmp_path)
    data = json.loads(path.read_text())
    path.write_text(json.dumps({k: v for k, v in data.items() if k not in ("key_id", "signature")}))
    with pytest.raises(EvidenceError, match="unsigned: needs key_id and signature") as info:
        read_drill_record(tmp_path, release=RELEASE, trusted_keys=TRUSTED)
    assert info.value.path == str(path)


def test_a_drill_record_edited_after_signing_is_refused(tmp_path) -> None:
    path = _drill(tmp_path)
    data = json.loads(path.read_text())
    data["tiers"][0]["verified"] = True
    data["tiers"][0]["duration_s"] = 1.0  # a faster drill than the one that ran
    path.write_text(json.dumps(data))
    with pytest.raises(EvidenceError, match="forged or edited after signing"):
        read_drill_record(tmp_path, release=RELEASE, trusted_keys=TRUSTED)


def test_a_drill_record_signed_by_another_role_is_refused(tmp_path) -> None:
    path = _drill(tmp_path)
    _resign(path, json.loads(path.read_text()), key=SECURITY)
    with pytest.raises(EvidenceError, match="not a trusted Operations Team lead key"):
        read_drill_record(tmp_path, release=RELEASE, trusted_keys=TRUSTED)
    with pytest.raises(EvidenceError, match="no trusted Operations Team lead key is configured"):
        read_drill_record(tmp_path, release=RELEASE, trusted_keys={})


def test_failed_drill_is_a_fail_not_an_error(tmp_path) -> None:
    _drill(
        tmp_path,
        [
            DrillTier("immediate", "t", 20.0, 15.0, True),
            DrillTier("partial", "t", 1.0, 30.0, False, "flags still on"),
        ],
    )
    problems = read_drill_record(tmp_path, release=RELEASE, trusted_keys=TRUSTED).problems()
    assert problems == (
        "tier full was not drilled",
        "tier immediate took 20.0 s, over its 15.0 s target",
        "tier partial was not verified (flags still on)",
    )


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda d: d["tiers"][0].update(target_s=301), r"must be in \(0, 300\]"),
        (lambda d: d["tiers"].append(dict(d["tiers"][0])), "appears twice"),
        (lambda d: d["tiers"][1].update(tier="sideways"), "must be one of"),
        (lambda d: d["tiers"][2].update(verified="yes"), "true or false"),
        (lambda d: d["tiers"][2].update(duration_s=-1), "at least 0"),
        (lambda d: d.update(release="1.0.0"), "wrong release"),
        (lambda d: d.update(time_scale=0), r"must be in \(0, 1\]"),
        (lambda d: d.update(kind="rollback"), "field kind"),
        (lambda d: d.update(tiers=[]), "at least 1 item"),
    ],
)
def test_malformed_drill(tmp_path, edit, problem) -> None:
    path = _drill(tmp_path)
    data = json.loads(path.read_text())
    edit(data)
    _resign(path, data)  # signed as it is: what is wrong is the content
    with pytest.raises(EvidenceError, match=problem) as info:
        read_drill_record(tmp_path, release=RELEASE, trusted_keys=TRUSTED)
    assert info.value.path == str(path)


def _db(specs):
    return parse_safety_db(
        {
            "$meta": {"timestamp": 1625119202},
            "Some_Pkg": [{"id": "x-1", "specs": specs, "cve": None, "advisory": "a"}],
        },
        version="test",
        source="test",
    )


@pytest.mark.parametrize(
    ("specs", "version", "hits"),
    [
        (["<2.0"], "1.9.9", 1),
        (["<2.0"], "2.0", 0),
        ([">=1.25.2,<=1.25.7"], "1.25.5", 1),
        (["==1.17", "==1.18"], "1.18", 1),
        (["<2.0"], "2.1.0rc1", 0),
        (["not a spec"], "1.0", 1),  # unreadable spec: assumed affected
        (["<2.0"], "not-a-version", 1),  # unreadable version: assumed affected
    ],
)
def test_advisory_matching_fails_closed(specs, version, hits) -> None:
    matches = _db(specs).matches("some-pkg", version)
    assert len(matches) == hits
    assert all(is_critical(m.advisory) for m in matches)  # no severity in the DB: critical


def test_the_installed_snapshot_loads_and_is_dated() -> None:
    db = load_safety_db()
    assert db.name == "safety-db"
    assert db.date.year == 2021
    assert len(db.advisories) > 1000
    assert db.matches("requests", "2.0.0")  # a known-vulnerable old version is found


def test_cli_exit_codes(tmp_path, capsys) -> None:
    assert main(["evidence", "check", "--release", "9.9.9", "--releases-dir", str(tmp_path)]) == 2
    assert "is not built" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["evidence", "produce", "--release", "1.0.0", "--only", "everything"])
    assert info.value.code == 2
