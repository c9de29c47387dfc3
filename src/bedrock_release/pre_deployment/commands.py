"""``bedrock-release evidence ...`` and ``bedrock-release approvals ...``: parsing and printing only."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bedrock_release.pre_deployment.business_impact import produce_business_impact
from bedrock_release.pre_deployment.check import check_evidence
from bedrock_release.pre_deployment.drill import read_drill_record
from bedrock_release.pre_deployment.errors import EvidenceError, ProductionError
from bedrock_release.pre_deployment.keys import ensure_sandbox_keys, trusted_keys_dir
from bedrock_release.pre_deployment.layout import (
    DEFAULT_KEYS_DIR,
    DEFAULT_RELEASES_DIR,
    DEFAULT_ROSTER,
    REPO_ROOT,
    SUITES,
    EvidencePaths,
    default_evidence_dir,
)
from bedrock_release.pre_deployment.sandbox_approvals import (
    ApprovalRefused,
    accept_sandbox_stale_database,
    check_release_approvals,
    sign_sandbox_approvals,
)
from bedrock_release.pre_deployment.security_scan import import_security_scan, produce_security_scan
from bedrock_release.pre_deployment.staging import import_staging_results, produce_staging_results
from bedrock_release.pre_deployment.training import produce_training_record, read_training_record
from bedrock_release.release import artifact as release_artifact
from bedrock_release.release.approvals import load_trusted_keys

__all__ = ["EXIT_NO_GO", "EXIT_OK", "EXIT_USAGE", "PRODUCIBLE", "register"]

EXIT_OK = 0
EXIT_NO_GO = 1  # evidence produced or checked and it does not hold
EXIT_USAGE = 2  # bad arguments, a release that is not built, evidence that cannot be produced
PRODUCIBLE = (*SUITES, "scan", "training", "business-impact")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--release", required=True, help="release version, e.g. 1.1.0")
    parser.add_argument("--releases-dir", type=Path, default=DEFAULT_RELEASES_DIR, help="built releases")
    parser.add_argument("--evidence-dir", type=Path, help="default <releases-dir>/<release>/evidence")


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``evidence`` and ``approvals`` command groups to the CLI."""
    evidence = commands.add_parser("evidence", help="produce and check pre-deployment evidence")
    evidence_cmds = evidence.add_subparsers(dest="action", required=True)
    produce = evidence_cmds.add_parser("produce", help="do the work and write the evidence of a release")
    _common(produce)
    produce.add_argument(
        "--only", action="append", choices=PRODUCIBLE, help="produce just this piece (repeatable)"
    )
    produce.add_argument("--keys-dir", type=Path, default=DEFAULT_KEYS_DIR, help="sandbox keys")
    produce.add_argument("--roster", type=Path, default=DEFAULT_ROSTER, help="inventory file with the roster")
    produce.set_defaults(handler=_produce)
    check = evidence_cmds.add_parser("check", help="read every piece of evidence strictly")
    _common(check)
    check.add_argument("--trusted-keys", type=Path, default=trusted_keys_dir(DEFAULT_KEYS_DIR))
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    check.set_defaults(handler=_check)
    accept = evidence_cmds.add_parser(
        "accept-risk", help="sign the sandbox's acceptance of its stale offline advisory database (sandbox)"
    )
    _common(accept)
    accept.add_argument("--keys-dir", type=Path, default=DEFAULT_KEYS_DIR, help="sandbox keys")
    accept.add_argument("--valid-days", type=float, default=7.0)
    accept.set_defaults(handler=_accept_risk)
    imported = evidence_cmds.add_parser(
        "import", help="take what a real staging produced (JUnit, Allure, bandit, pip-audit, signed records)"
    )
    _common(imported)
    imported.add_argument("--environment", required=True, help="where the staging run ran, e.g. staging")
    imported.add_argument("--junit", action="append", default=[], metavar="SUITE=FILE", help="JUnit XML")
    imported.add_argument("--allure", action="append", default=[], metavar="SUITE=DIR", help="allure-results")
    imported.add_argument("--bandit", type=Path, required=True, help="bandit -f json output")
    imported.add_argument("--pip-audit", type=Path, required=True, help="pip-audit --format json output")
    imported.add_argument("--scanned-at", required=True, help="when the scanners ran (RFC 3339)")
    imported.add_argument("--training", type=Path, help="the signed operations training record")
    imported.add_argument("--drill", type=Path, help="the rollback drill record signed by the ops lead")
    imported.add_argument("--trusted-keys", type=Path, default=trusted_keys_dir(DEFAULT_KEYS_DIR))
    imported.set_defaults(handler=_import)

    approvals = commands.add_parser("approvals", help="sign (sandbox) and check the four approvals")
    approval_cmds = approvals.add_subparsers(dest="action", required=True)
    sign = approval_cmds.add_parser("sign", help="sign the four approvals with the sandbox keys")
    _common(sign)
    sign.add_argument("--keys-dir", type=Path, default=DEFAULT_KEYS_DIR)
    sign.add_argument("--valid-hours", type=float, default=24.0)
    sign.set_defaults(handler=_sign)
    verify = approval_cmds.add_parser("check", help="check the approvals and their evidence references")
    _common(verify)
    verify.add_argument("--trusted-keys", type=Path, default=trusted_keys_dir(DEFAULT_KEYS_DIR))
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(handler=_check_approvals)


def _evidence_dir(args: argparse.Namespace) -> Path:
    return args.evidence_dir or default_evidence_dir(args.release, args.releases_dir)


def _artifact(args: argparse.Namespace) -> release_artifact.Artifact | None:
    try:
        return release_artifact.load(args.release, args.releases_dir)
    except release_artifact.ArtifactError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _produce(args: argparse.Namespace) -> int:
    if _artifact(args) is None:
        return EXIT_USAGE
    wanted = args.only or list(PRODUCIBLE)
    evidence = _evidence_dir(args)
    ok = True
    try:
        suites = [s for s in SUITES if s in wanted]
        if suites:
            began = time.monotonic()
            staging = produce_staging_results(
                args.release,
                releases_dir=args.releases_dir,
                evidence_dir=evidence,
                repo_root=REPO_ROOT,
                suites=suites,
            )
            for name, counts in staging.suites.items():
                print(f"staging {name:12} {counts.passed}/{counts.tests} passed")
            print(f"staging pass rate {staging.pass_rate_pct:.2f}% ({time.monotonic() - began:.0f} s)")
            ok &= staging.pass_rate_pct > 95.0 and not staging.suites_without_tests()
        if "scan" in wanted:
            report = produce_security_scan(
                args.release, releases_dir=args.releases_dir, evidence_dir=evidence
            )
            print(f"security scan: {report.critical} critical ({', '.join(report.tools)})")
            for warning in report.warnings:
                print(f"warning: {warning}")
            ok &= report.critical == 0
            ensure_sandbox_keys(args.keys_dir)
            accepted = accept_sandbox_stale_database(
                args.release, releases_dir=args.releases_dir, evidence_dir=evidence, keys_dir=args.keys_dir
            )
            if accepted is not None:
                print(f"risk acceptance (sandbox Security Team) of the stale advisory database: {accepted}")
        if "training" in wanted:
            ensure_sandbox_keys(args.keys_dir)
            record = produce_training_record(
                args.release, evidence_dir=evidence, roster_path=args.roster, keys_dir=args.keys_dir
            )
            print(f"training record: {len(record.participants)} participants, {record.origin}")
        if "business-impact" in wanted:
            path = produce_business_impact(
                args.release, releases_dir=args.releases_dir, evidence_dir=evidence
            )
            print(f"business impact assessment: {path}")
    except (ProductionError, EvidenceError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"evidence in {evidence}")
    return EXIT_OK if ok else EXIT_NO_GO


def _keys(path: Path) -> Any:
    if not path.is_dir():
        print(
            f"warning: trusted keys folder {path} does not exist: nothing signed can verify", file=sys.stderr
        )
        return {}
    return load_trusted_keys(path)


def _check(args: argparse.Namespace) -> int:
    artifact = _artifact(args)
    if artifact is None:
        return EXIT_USAGE
    results = check_evidence(
        _evidence_dir(args),
        release=args.release,
        artifact_sha256=artifact.manifest.sha256,
        trusted_keys=_keys(args.trusted_keys),
        now=datetime.now(UTC),
    )
    if args.json:
        print(
            json.dumps(
                [{"piece": r.piece, "status": r.status, "detail": r.detail} for r in results], indent=2
            )
        )
    else:
        for result in results:
            print(f"{result.status.upper():12} {result.piece:16} {result.detail}")
    return EXIT_OK if all(r.ok for r in results) else EXIT_NO_GO


def _accept_risk(args: argparse.Namespace) -> int:
    if _artifact(args) is None:
        return EXIT_USAGE
    try:
        path = accept_sandbox_stale_database(
            args.release,
            releases_dir=args.releases_dir,
            evidence_dir=_evidence_dir(args),
            keys_dir=args.keys_dir,
            valid_days=args.valid_days,
        )
    except (EvidenceError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"signed {path}" if path else "the advisory database is current: nothing to accept")
    return EXIT_OK


def _pairs(values: list[str], option: str) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for value in values:
        suite, sep, path = value.partition("=")
        if not sep or not suite or not path:
            raise ValueError(f"{option} {value!r}: expected SUITE=PATH (suites: {', '.join(SUITES)})")
        if suite in out:
            raise ValueError(f"{option} names suite {suite} twice")
        out[suite] = Path(path)
    return out


def _signed_record(source: Path, evidence: Path, relative: Path, read: Callable[[Path], Any]) -> None:
    """Verify a signed record where a reader expects it (a scratch evidence folder), then put it in place."""
    with tempfile.TemporaryDirectory(prefix="import-") as tmp:
        scratch = Path(tmp) / relative
        scratch.parent.mkdir(parents=True)
        shutil.copyfile(source, scratch)
        try:
            read(Path(tmp))
        except EvidenceError as exc:
            raise EvidenceError(source, exc.problem) from None
    (evidence / relative).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, evidence / relative)


def _import(args: argparse.Namespace) -> int:
    artifact = _artifact(args)
    if artifact is None:
        return EXIT_USAGE
    evidence = _evidence_dir(args)
    paths = EvidencePaths.of(evidence)
    sha = artifact.manifest.sha256
    now = datetime.now(UTC)
    try:
        scanned_at = datetime.fromisoformat(args.scanned_at.replace("Z", "+00:00"))
        if scanned_at.tzinfo is None:
            raise ValueError(f"--scanned-at {args.scanned_at!r}: needs a timezone (e.g. Z)")
        staging = import_staging_results(
            args.release,
            artifact_sha256=sha,
            evidence_dir=evidence,
            junit=_pairs(args.junit, "--junit"),
            allure=_pairs(args.allure, "--allure"),
            environment=args.environment,
            now=now,
        )
        scan = import_security_scan(
            args.release,
            artifact_sha256=sha,
            evidence_dir=evidence,
            bandit=args.bandit,
            pip_audit=args.pip_audit,
            scanned_at=scanned_at,
            now=now,
        )
        keys = _keys(args.trusted_keys)
        if args.training:
            _signed_record(
                args.training,
                evidence,
                paths.training.relative_to(paths.root),
                lambda d: read_training_record(d, release=args.release, trusted_keys=keys, now=now),
            )
        if args.drill:
            _signed_record(
                args.drill,
                evidence,
                paths.drill.relative_to(paths.root),
                lambda d: read_drill_record(d, release=args.release, trusted_keys=keys, artifact_sha256=sha),
            )
    except (EvidenceError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"staging pass rate {staging.pass_rate_pct:.2f}% over {staging.totals.tests} tests")
    print(f"security scan: {scan.critical} critical ({', '.join(scan.tools)})")
    print(f"evidence in {evidence}; check it with: bedrock-release evidence check --release {args.release}")
    return EXIT_OK


def _sign(args: argparse.Namespace) -> int:
    if _artifact(args) is None:
        return EXIT_USAGE
    try:
        written = sign_sandbox_approvals(
            args.release,
            releases_dir=args.releases_dir,
            evidence_dir=_evidence_dir(args),
            keys_dir=args.keys_dir,
            valid_hours=args.valid_hours,
        )
    except ApprovalRefused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_NO_GO
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for path in written:
        print(f"signed {path}")
    return EXIT_OK


def _check_approvals(args: argparse.Namespace) -> int:
    if _artifact(args) is None:
        return EXIT_USAGE
    result = check_release_approvals(
        args.release,
        evidence_dir=_evidence_dir(args),
        trusted_keys=_keys(args.trusted_keys),
        now=datetime.now(UTC),
    )
    if args.json:
        payload = {
            "ok": result.ok,
            "approved": list(result.verdict.approved),
            "problems": [str(p) for p in result.verdict.problems]
            + [str(p) for p in result.reference_problems],
        }
        print(json.dumps(payload, indent=2))
    else:
        print(result.summary())
    return EXIT_OK if result.ok else EXIT_NO_GO
