"""``bedrock-release evidence ...`` and ``bedrock-release approvals ...``: parsing and printing only."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bedrock_release.pre_deployment.business_impact import produce_business_impact
from bedrock_release.pre_deployment.check import check_evidence
from bedrock_release.pre_deployment.errors import EvidenceError, ProductionError
from bedrock_release.pre_deployment.keys import ensure_sandbox_keys, trusted_keys_dir
from bedrock_release.pre_deployment.layout import (
    DEFAULT_KEYS_DIR,
    DEFAULT_RELEASES_DIR,
    DEFAULT_ROSTER,
    REPO_ROOT,
    SUITES,
    default_evidence_dir,
)
from bedrock_release.pre_deployment.sandbox_approvals import (
    ApprovalRefused,
    check_release_approvals,
    sign_sandbox_approvals,
)
from bedrock_release.pre_deployment.security_scan import produce_security_scan
from bedrock_release.pre_deployment.staging import produce_staging_results
from bedrock_release.pre_deployment.training import produce_training_record
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
