"""The evidence bundle of a run (``runs/<run-id>/bundle/``) for auditors, and its verification.

A bundle is a plain folder: the feature files as executed, Allure results (and the rendered Allure
report), cucumber JSON, JUnit XML, the suite's logs, locust results, the deploy journal (the run's
audit trail), the approvals the run rested on, the report (json, md, html), target.json, and
``manifest.json`` with the size and SHA-256 of every file plus the journal chain's anchor (record
count and head hash). ``verify`` checks every byte against the manifest and the audit chain record
by record, naming each file or record that does not match (``bedrock_release.report.evidence``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bedrock_release.pipeline.journal import JOURNAL_NAME
from bedrock_release.pipeline.run_store import upload_evidence
from bedrock_release.report import allure as allure_report
from bedrock_release.report.builder import REPORT_NAME
from bedrock_release.report.evidence import MANIFEST_NAME, BundleVerdict, verify_bundle, write_manifest
from bedrock_release.report.render import ALLURE_REPORT, HTML_NAME, MD_NAME, write_renderings

__all__ = [
    "AUDIT_IN_BUNDLE",
    "BUNDLE_DIR",
    "BundleError",
    "BundleResult",
    "FinalizeResult",
    "build_bundle",
    "finalize_run",
    "resolve_bundle",
    "verify",
]

BUNDLE_DIR = "bundle"
AUDIT_IN_BUNDLE = "audit/audit.jsonl"
_REPO = Path(__file__).resolve().parents[3]
#: Run sub-folders copied as they are: (folder in the run, folder in the bundle).
_FOLDERS = (
    ("allure-results", "allure-results"),
    ("cucumber", "cucumber"),
    ("junit", "junit"),
    ("results", "results"),
)


class BundleError(ValueError):
    """A run or bundle that cannot be bundled or found; names the path."""


@dataclass(frozen=True)
class BundleResult:
    """A written bundle: where, how many files, and what the run lacked (said, never hidden)."""

    path: Path
    files: int
    absent: tuple[str, ...]


@dataclass(frozen=True)
class FinalizeResult:
    """Everything the end of a deploy writes: renderings, Allure report, bundle, and its verification."""

    run_dir: Path
    report_md: Path
    report_html: Path
    allure: Path | None
    allure_problem: str | None
    bundle: BundleResult
    verdict: BundleVerdict
    upload_problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the Ansible module's return, ``report --json``)."""
        return {
            "run_dir": str(self.run_dir),
            "report_json": str(self.run_dir / REPORT_NAME),
            "report_md": str(self.report_md),
            "report_html": str(self.report_html),
            "allure_report": str(self.allure) if self.allure else None,
            "allure_problem": self.allure_problem,
            "bundle": str(self.bundle.path),
            "bundle_files": self.bundle.files,
            "bundle_absent": list(self.bundle.absent),
            "verified": self.verdict.ok,
            "problems": [str(p) for p in self.verdict.problems],
            "upload_problem": self.upload_problem,
        }


def _target(run_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((run_dir / "target.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _copy_tree(source: Path, dest: Path) -> int:
    count = 0
    for path in sorted(source.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        out = dest / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, out)
        count += 1
    return count


def _source_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH, fixed arguments
            cwd=_REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def build_bundle(
    run_dir: str | os.PathLike[str], *, features_dir: Path | None = None, now: datetime | None = None
) -> BundleResult:
    """(Re)write ``run_dir/bundle`` from the run folder and its manifest; the old bundle is replaced."""
    run_dir = Path(run_dir)
    journal = run_dir / JOURNAL_NAME
    if not journal.is_file():
        raise BundleError(f"{run_dir}: no deploy journal ({JOURNAL_NAME}): not a run folder")
    if not (run_dir / REPORT_NAME).is_file():
        raise BundleError(f"{run_dir}: no {REPORT_NAME}: write the report before the bundle")
    final = run_dir / BUNDLE_DIR
    work = run_dir / f".{BUNDLE_DIR}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    absent: list[str] = []
    (work / "audit").mkdir()
    shutil.copyfile(journal, work / AUDIT_IN_BUNDLE)
    for name in (REPORT_NAME, MD_NAME, HTML_NAME, "target.json"):
        # At the top, as in the run folder: report.html's link to allure-report/ works in both.
        if (run_dir / name).is_file():
            shutil.copyfile(run_dir / name, work / name)
        else:
            absent.append(name)
    for src, dest in (*_FOLDERS, (str(Path(ALLURE_REPORT).parent), "allure-report")):
        if not (run_dir / src).is_dir() or not _copy_tree(run_dir / src, work / dest):
            absent.append(f"{src}/")
    features = features_dir or _REPO / "features"
    if not _copy_tree(features, work / "features"):
        absent.append("features/")
    target = _target(run_dir)
    approvals = (
        Path(str(target.get("evidence_dir") or "")) / "approvals" if target.get("evidence_dir") else None
    )
    if approvals is None or not approvals.is_dir() or not _copy_tree(approvals, work / "approvals"):
        absent.append("approvals/")
    info = {
        "schema": 1,
        "kind": "deploy-evidence-bundle",
        "run_id": target.get("run_id") or run_dir.name,
        "release": target.get("release"),
        "environment": target.get("environment"),
        "source_commit": _source_commit(),
        "features_from": "features/ of the source commit the suite ran from",
        "approvals_from": str(approvals) if approvals else None,
        "absent": absent,
        "created_at": (now or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    (work / "bundle.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    write_manifest(work, audit_files=[AUDIT_IN_BUNDLE], created_at=now)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(work, final)
    files = len(json.loads((final / MANIFEST_NAME).read_text(encoding="utf-8"))["files"])
    return BundleResult(final, files, tuple(absent))


def resolve_bundle(path: str | os.PathLike[str]) -> Path:
    """A bundle folder from a bundle, a run folder (its bundle/) or runs/latest; BundleError naming it."""
    given = Path(path)
    if not given.exists():
        raise BundleError(f"{given}: no such run or bundle")
    if (given / MANIFEST_NAME).is_file():
        return given
    if (given / BUNDLE_DIR / MANIFEST_NAME).is_file():
        return given / BUNDLE_DIR
    if (given / JOURNAL_NAME).is_file():
        raise BundleError(
            f"{given}: a run folder without a bundle (write it: bedrock-release report {given})"
        )
    raise BundleError(f"{given}: neither a bundle ({MANIFEST_NAME}) nor a run folder ({JOURNAL_NAME})")


def verify(path: str | os.PathLike[str]) -> BundleVerdict:
    """Verify a bundle (or a run's): every file against the manifest, the audit chain record by record."""
    return verify_bundle(resolve_bundle(path))


def _allure(run_dir: Path, history: Path | None) -> tuple[Path | None, str | None]:
    results = run_dir / "allure-results"
    if not results.is_dir() or not any(results.glob("*-result.json")):
        return None, "the run has no Allure results"
    try:
        report = allure_report.generate_html(
            results,
            run_dir / Path(ALLURE_REPORT).parent,
            history=history or run_dir.parent / "allure-history.jsonl",
        )
    except allure_report.AllureReportError as exc:
        return None, str(exc)
    return report.html, None


def finalize_run(
    run_dir: str | os.PathLike[str],
    *,
    allure: bool = True,
    history: Path | None = None,
    features_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> FinalizeResult:
    """Allure report, report.json/md/html, bundle, verification, and their copy in the state bucket."""
    run_dir = Path(run_dir)
    say = progress or (lambda _msg: None)
    html_path, problem = (None, "not requested")
    if allure:
        say("Allure report")
        html_path, problem = _allure(run_dir, history)
    say("report.json, report.md, report.html")
    md, page, _view = write_renderings(run_dir)
    say("evidence bundle")
    bundle = build_bundle(run_dir, features_dir=features_dir)
    say("verifying the bundle")
    verdict = verify_bundle(bundle.path)
    say("report and bundle to the state bucket")
    uploaded = upload_evidence(run_dir)
    return FinalizeResult(run_dir, md, page, html_path, problem, bundle, verdict, uploaded)
