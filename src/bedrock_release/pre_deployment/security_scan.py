"""Security scan of a release artifact: bandit over its code and a pip-audit of its dependencies.

The scanners' own JSON is the evidence: bandit's ``-f json`` (``bandit.json``) and pip-audit's
``--format json`` (``pip-audit.json``), bound by SHA-256 in ``report.json``. A real staging run
imports both (``import_security_scan``); the sandbox runs bandit for real and, because pip-audit
needs an advisory service for every dependency (this machine reaches PyPI, whose per-version
vulnerability data answers 404 here, and no OSV), audits the same dependency set offline against
safety-db and writes the result in pip-audit's format. An advisory database older than the limit
(30 days) makes the scan inconclusive unless the Security Team's signed risk acceptance covers it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bedrock_release.pre_deployment._io import (
    SCHEMA,
    Fields,
    format_time,
    read_bytes,
    read_json_object,
    sha256_bytes,
    write_bytes_atomic,
    write_json_atomic,
)
from bedrock_release.pre_deployment.advisories import AdvisoryDatabase, load_safety_db
from bedrock_release.pre_deployment.dependencies import imported_modules, resolve_dependencies
from bedrock_release.pre_deployment.errors import EvidenceError, ProductionError
from bedrock_release.pre_deployment.layout import EvidencePaths
from bedrock_release.pre_deployment.pip_audit import (
    PipAuditFinding,
    pip_audit_document,
    read_pip_audit,
)
from bedrock_release.pre_deployment.risk_acceptance import RiskAcceptance, read_risk_acceptance
from bedrock_release.release import artifact as release_artifact
from bedrock_release.release.approvals import TrustedKeys

__all__ = [
    "CRITICAL_DEFINITION",
    "DEFAULT_MAX_DB_AGE_DAYS",
    "KIND",
    "TOOLS",
    "SecurityReport",
    "ToolSummary",
    "audit_dependencies",
    "import_security_scan",
    "produce_security_scan",
    "read_scan_unjudged",
    "read_security_scan",
    "run_bandit",
]

KIND = "security-scan"
TOOLS = ("bandit", "pip-audit")
DEFAULT_MAX_DB_AGE_DAYS = 30
CRITICAL_DEFINITION = (
    "bandit: any finding of HIGH severity (any confidence); pip-audit: every known vulnerability "
    "(pip-audit gives no severity: fails closed)"
)
_BANDIT_TIMEOUT_S = 300


@dataclass(frozen=True)
class ToolSummary:
    """One tool's part of the scan, recounted from its own output file."""

    name: str
    critical: int
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SecurityReport:
    """A verified security scan report of one release artifact.

    ``database`` is the advisory data the dependency audit ran against (name, version, date,
    age_days at the time of reading); ``risk_acceptance`` is the Security Team's acceptance that
    covers it when it is older than the limit.
    """

    release: str
    artifact_sha256: str
    critical: int
    tools: tuple[str, ...]
    by_tool: Mapping[str, ToolSummary]
    database: Mapping[str, Any]
    warnings: tuple[str, ...]
    source: str
    risk_acceptance: RiskAcceptance | None = None


# --- producing -----------------------------------------------------------------------------------


def run_bandit(code_dir: Path, packages: tuple[str, ...]) -> dict[str, Any]:
    """Run bandit (all tests, all severities) over the packages in code_dir; return its JSON report."""
    with tempfile.TemporaryDirectory(prefix="bandit-") as tmp:
        out = Path(tmp) / "bandit.json"
        proc = subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
            [sys.executable, "-m", "bandit", "-r", *packages, "-f", "json", "-o", str(out), "-q"],
            cwd=code_dir,
            capture_output=True,
            text=True,
            check=False,
            timeout=_BANDIT_TIMEOUT_S,
        )
        # bandit exits 1 when it found something, 0 when not; anything else, or no report, is a failure.
        if proc.returncode not in (0, 1) or not out.exists():
            raise ProductionError(f"bandit failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
        report = json.loads(out.read_text(encoding="utf-8"))
    if report.get("errors"):
        # A file bandit could not read was not scanned: no scan report rather than a clean one.
        raise ProductionError(f"bandit could not scan every file: {report['errors']}")
    return report


def audit_dependencies(
    code_dir: Path, packages: tuple[str, ...], db: AdvisoryDatabase
) -> tuple[dict[str, Any], list[str]]:
    """The artifact's dependency set audited against ``db``, as pip-audit's JSON; and unresolved imports."""
    deps = resolve_dependencies(imported_modules(code_dir, packages))
    findings = [
        PipAuditFinding(
            package=package.name,
            version=package.version,
            id=match.advisory.id,
            aliases=(match.advisory.cve,) if match.advisory.cve else (),
            fix_versions=(),
            description=f"{match.advisory.summary} [{match.reason}]",
        )
        for package in deps.packages
        for match in db.matches(package.name, package.version)
    ]
    document = pip_audit_document(((p.name, p.version) for p in deps.packages), findings)
    return document, list(deps.unresolved)


def _database(db: AdvisoryDatabase) -> dict[str, str]:
    return {"name": db.name, "version": db.version, "date": format_time(db.date)}


def _bandit_counts(report: Mapping[str, Any]) -> dict[str, int]:
    counts = {"HIGH": 0, "MEDIUM": 0, "LOW": 0}
    for result in report.get("results", ()):
        severity = str(result.get("issue_severity", "")).upper()
        # An unknown severity is counted as HIGH: fail closed.
        counts[severity if severity in counts else "HIGH"] += 1
    return counts


def produce_security_scan(
    release: str,
    *,
    releases_dir: Path,
    evidence_dir: Path,
    max_db_age_days: int = DEFAULT_MAX_DB_AGE_DAYS,
    now: datetime | None = None,
) -> SecurityReport:
    """Scan the release artifact's code (bandit) and dependency set (offline, pip-audit's format).

    Returns the report as written; whether its advisory database is too old is judged by
    ``read_security_scan`` (the sandbox's risk acceptance is signed separately).
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    artifact = release_artifact.load(release, releases_dir)
    try:
        db = load_safety_db()
    except (OSError, ValueError) as exc:
        raise ProductionError(f"dependency audit impossible: {exc}") from None
    packages = release_artifact.PACKAGES
    with tempfile.TemporaryDirectory(prefix="scan-") as tmp:
        code = Path(tmp) / "code"
        release_artifact.unpack(release, code, releases_dir=releases_dir)
        bandit = run_bandit(code, packages)
        audit, unresolved = audit_dependencies(code, packages, db)
    paths = EvidencePaths.of(evidence_dir)
    write_bytes_atomic(paths.bandit, (json.dumps(bandit, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    write_json_atomic(paths.pip_audit, audit)
    warnings = []
    age = db.age_days(moment)
    if age > max_db_age_days:
        warnings.append(
            f"advisory database {db.name} {db.version} is {age} days old (data of "
            f"{format_time(db.date)}; limit {max_db_age_days} days): later advisories are not checked"
        )
    if unresolved:
        warnings.append(f"imports not resolved to an installed distribution: {unresolved}")
    _write_report(
        paths,
        release=release,
        artifact_sha256=artifact.manifest.sha256,
        bandit_meta={"version": metadata.version("bandit"), "scope": f"artifact code: {', '.join(packages)}"},
        audit_meta={
            "producer": (
                f"offline audit against {db.name} {db.version} in pip-audit's JSON format (pip-audit "
                "needs an advisory service per dependency; see docs/pre-deployment-evidence.md)"
            ),
            "scope": "installed distributions the artifact's code imports, transitively",
            "database": _database(db),
        },
        warnings=warnings,
        moment=moment,
    )
    return read_scan_unjudged(evidence_dir, release=release, artifact_sha256=artifact.manifest.sha256)


def import_security_scan(
    release: str,
    *,
    artifact_sha256: str,
    evidence_dir: Path,
    bandit: Path,
    pip_audit: Path,
    scanned_at: datetime,
    database: str = "PyPI vulnerability service (through pip-audit)",
    now: datetime | None = None,
) -> SecurityReport:
    """Take a real staging run's ``bandit -f json`` and ``pip-audit --format json`` output.

    Both are read with the strict readers where they are (an error names the source file) before
    they are copied beside ``report.json``. pip-audit asks a live service, so its database is dated
    by the scan (``scanned_at``): a scan older than the limit is stale like an old database.
    """
    if scanned_at.tzinfo is None:
        raise ValueError("scanned_at must be timezone-aware")
    _bandit_report(bandit)
    read_pip_audit(pip_audit)
    paths = EvidencePaths.of(evidence_dir)
    paths.security.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(bandit, paths.bandit)
    shutil.copyfile(pip_audit, paths.pip_audit)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    _write_report(
        paths,
        release=release,
        artifact_sha256=artifact_sha256,
        bandit_meta={"version": "as run in staging", "scope": f"imported from {bandit}"},
        audit_meta={
            "producer": f"pip-audit, imported from {pip_audit}",
            "scope": "the release's dependencies as staging audited them",
            "database": {"name": database, "version": "live", "date": format_time(scanned_at)},
        },
        warnings=[],
        moment=moment,
    )
    return read_scan_unjudged(evidence_dir, release=release, artifact_sha256=artifact_sha256)


def _write_report(
    paths: EvidencePaths,
    *,
    release: str,
    artifact_sha256: str,
    bandit_meta: Mapping[str, Any],
    audit_meta: Mapping[str, Any],
    warnings: list[str],
    moment: datetime,
) -> None:
    bandit = _bandit_report(paths.bandit)
    audit = read_pip_audit(paths.pip_audit)
    by_severity = _bandit_counts(bandit)
    report = {
        "schema": SCHEMA,
        "kind": KIND,
        "release": release,
        "artifact_sha256": artifact_sha256,
        "produced_at": format_time(moment),
        "critical": by_severity["HIGH"] + audit.critical,
        "critical_definition": CRITICAL_DEFINITION,
        "tools": [
            {
                "name": "bandit",
                **bandit_meta,
                "output": paths.bandit.name,
                "sha256": sha256_bytes(paths.bandit.read_bytes()),
                "files_scanned": len([k for k in bandit.get("metrics", {}) if k != "_totals"]),
                "by_severity": by_severity,
                "critical": by_severity["HIGH"],
            },
            {
                "name": "pip-audit",
                **audit_meta,
                "output": paths.pip_audit.name,
                "sha256": sha256_bytes(paths.pip_audit.read_bytes()),
                "dependencies": len(audit.dependencies),
                "vulnerabilities": len(audit.findings),
                "critical": audit.critical,
            },
        ],
        "warnings": warnings,
    }
    write_json_atomic(paths.security_report, report)


# --- reading -------------------------------------------------------------------------------------


def _tool_output(paths: EvidencePaths, tool: Fields) -> Path:
    name = tool.text("output")
    if "/" in name or "\\" in name or name.startswith("."):
        tool.fail("output", f"must be a file name beside the report, got {name!r}")
    path = paths.security / name
    if sha256_bytes(read_bytes(path)) != tool.sha256("sha256"):
        raise EvidenceError(path, "SHA-256 differs from the one in report.json: changed after the scan")
    return path


def _bandit_report(path: Path) -> dict[str, Any]:
    """bandit's ``-f json`` strictly: results and metrics, and every file scanned."""
    data = read_bytes(path)
    try:
        report = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvidenceError(path, f"not valid JSON (truncated or corrupt): {exc}") from None
    if not isinstance(report, dict) or not isinstance(report.get("results"), list) or "metrics" not in report:
        raise EvidenceError(path, "not a bandit JSON report (bandit -f json: needs results and metrics)")
    if report.get("errors"):
        # A file bandit could not read was not scanned: no scan report rather than a clean one.
        raise EvidenceError(path, f"bandit could not scan every file: {report['errors']}")
    if not any(k != "_totals" for k in report["metrics"]):
        raise EvidenceError(path, "bandit scanned no file: an empty scan proves nothing")
    return report


def _read_bandit(paths: EvidencePaths, tool: Fields) -> ToolSummary:
    path = _tool_output(paths, tool)
    counts = _bandit_counts(_bandit_report(path))
    claimed = tool.whole("critical")
    if claimed != counts["HIGH"]:
        tool.fail("critical", f"says {claimed}, but {path.name} holds {counts['HIGH']} HIGH findings")
    return ToolSummary("bandit", counts["HIGH"], {"by_severity": counts})


def _read_pip_audit(paths: EvidencePaths, tool: Fields) -> ToolSummary:
    path = _tool_output(paths, tool)
    audit = read_pip_audit(path)
    claimed = tool.whole("critical")
    if claimed != audit.critical:
        tool.fail("critical", f"says {claimed}, but {path.name} holds {audit.critical} vulnerabilities")
    database = tool.nested("database")
    detail = {
        "dependencies": len(audit.dependencies),
        "vulnerabilities": [f"{f.package} {f.version}: {f.id}" for f in audit.findings],
        "producer": tool.text("producer"),
        "database": {
            "name": database.text("name"),
            "version": database.text("version"),
            "date": format_time(database.time("date")),
        },
    }
    return ToolSummary("pip-audit", audit.critical, detail)


def read_scan_unjudged(evidence_dir: Path, *, release: str, artifact_sha256: str) -> SecurityReport:
    """Read the report and recount from the tools' files, without judging the database's age.

    For the producers, which return what they wrote; every check uses ``read_security_scan``.
    """
    paths = EvidencePaths.of(evidence_dir)
    fields = read_json_object(paths.security_report, kind=KIND)
    fields.release(release)
    fields.artifact(artifact_sha256)
    readers = {"bandit": _read_bandit, "pip-audit": _read_pip_audit}
    by_tool: dict[str, ToolSummary] = {}
    for index in range(len(fields.items("tools", min_items=1))):
        tool = fields.item("tools", index)
        name = tool.text("name")
        if name in by_tool:
            tool.fail("name", f"tool {name} is listed twice")
        if name == "dependency-audit":  # the offline audit's own format, before pip-audit's was used
            tool.fail(
                "name",
                f"the scan predates pip-audit's format; scan again: bedrock-release evidence produce "
                f"--release {release} --only scan",
            )
        if name not in readers:
            tool.fail("name", f"unknown tool {name!r} (known: {', '.join(TOOLS)})")
        by_tool[name] = readers[name](paths, tool)
    critical = sum(summary.critical for summary in by_tool.values())
    claimed = fields.whole("critical")
    if claimed != critical:
        fields.fail("critical", f"says {claimed}, but the tools' files hold {critical}")
    warnings = fields.items("warnings")
    if not all(isinstance(w, str) for w in warnings):
        fields.fail("warnings", "must be a list of strings")
    database = dict(by_tool["pip-audit"].detail["database"]) if "pip-audit" in by_tool else {}
    return SecurityReport(
        release=release,
        artifact_sha256=artifact_sha256,
        critical=critical,
        tools=tuple(by_tool),
        by_tool=by_tool,
        database=database,
        warnings=tuple(warnings),
        source=str(paths.security_report),
    )


def read_security_scan(
    evidence_dir: Path,
    *,
    release: str,
    artifact_sha256: str,
    trusted_keys: TrustedKeys,
    now: datetime,
    max_db_age_days: int = DEFAULT_MAX_DB_AGE_DAYS,
) -> SecurityReport:
    """Read the scan strictly; a database older than the limit needs the Security Team's acceptance.

    Without a valid acceptance (``security/risk-acceptance.json``: signed by a trusted Security
    key, this release and database, not expired) a stale database is an EvidenceError - the scan
    is inconclusive, never a warning that passes.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    report = read_scan_unjudged(evidence_dir, release=release, artifact_sha256=artifact_sha256)
    if not report.database:
        return report  # no dependency audit: the criterion names the missing tool
    date = datetime.fromisoformat(str(report.database["date"]).replace("Z", "+00:00"))
    age = max(0, (now - date).days)
    database = {**report.database, "age_days": age}
    acceptance = None
    if age > max_db_age_days:
        why = (
            f"the advisory database {database['name']} {database['version']} of {database['date']} is "
            f"{age} days old (limit {max_db_age_days}): without a risk acceptance signed by the Security "
            "Team the scan cannot show zero critical vulnerabilities (inconclusive)"
        )
        try:
            acceptance = read_risk_acceptance(
                evidence_dir, release=release, database=report.database, trusted_keys=trusted_keys, now=now
            )
        except EvidenceError as exc:
            raise EvidenceError(exc.path, f"{exc.problem}; {why}") from None
    return SecurityReport(
        release=report.release,
        artifact_sha256=report.artifact_sha256,
        critical=report.critical,
        tools=report.tools,
        by_tool=report.by_tool,
        database=database,
        warnings=report.warnings,
        source=report.source,
        risk_acceptance=acceptance,
    )
