"""Security scan of a release artifact: bandit over its code and an offline audit of its dependencies."""

from __future__ import annotations

import json
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
    sha256_file,
    write_bytes_atomic,
    write_json_atomic,
)
from bedrock_release.pre_deployment.advisories import (
    CRITICAL_CVSS,
    AdvisoryDatabase,
    is_critical,
    load_safety_db,
)
from bedrock_release.pre_deployment.dependencies import imported_modules, resolve_dependencies
from bedrock_release.pre_deployment.errors import EvidenceError, ProductionError
from bedrock_release.pre_deployment.layout import EvidencePaths
from bedrock_release.release import artifact as release_artifact

__all__ = [
    "CRITICAL_DEFINITION",
    "DEFAULT_MAX_DB_AGE_DAYS",
    "KIND",
    "TOOLS",
    "SecurityReport",
    "ToolSummary",
    "audit_dependencies",
    "produce_security_scan",
    "read_security_scan",
    "run_bandit",
]

KIND = "security-scan"
TOOLS = ("bandit", "dependency-audit")
DEFAULT_MAX_DB_AGE_DAYS = 30
CRITICAL_DEFINITION = (
    "bandit: any finding of HIGH severity (any confidence); dependency audit: any advisory with "
    f"CVSS >= {CRITICAL_CVSS:g}, and any matching advisory whose database gives no severity (fails closed)"
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
    """A verified security scan report of one release artifact."""

    release: str
    artifact_sha256: str
    critical: int
    tools: tuple[str, ...]
    by_tool: Mapping[str, ToolSummary]
    database: Mapping[str, Any]
    warnings: tuple[str, ...]
    source: str


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
    code_dir: Path, packages: tuple[str, ...], db: AdvisoryDatabase, now: datetime
) -> dict[str, Any]:
    """Return the dependency audit document: the release's dependency set and every advisory match."""
    deps = resolve_dependencies(imported_modules(code_dir, packages))
    findings = []
    for package in deps.packages:
        for match in db.matches(package.name, package.version):
            advisory = match.advisory
            findings.append(
                {
                    "package": package.name,
                    "version": package.version,
                    "advisory_id": advisory.id,
                    "cve": advisory.cve,
                    "specs": list(advisory.specs),
                    "cvss": advisory.cvss,
                    "critical": is_critical(advisory),
                    "reason": match.reason,
                    "summary": advisory.summary,
                }
            )
    return {
        "schema": SCHEMA,
        "kind": "dependency-audit",
        "database": _database(db, now),
        "environment": {"python": sys.version.split()[0], "prefix": sys.prefix},
        "packages": [
            {"name": p.name, "version": p.version, "required_by": list(p.required_by)} for p in deps.packages
        ],
        "unresolved": list(deps.unresolved),
        "findings": findings,
    }


def _database(db: AdvisoryDatabase, now: datetime) -> dict[str, Any]:
    return {
        "name": db.name,
        "version": db.version,
        "date": format_time(db.date),
        "age_days": db.age_days(now),
        "severity_data": False,
        "source": db.source,
    }


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
    """Scan the release artifact's code (bandit) and dependency set (offline advisories); write the report."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    artifact = release_artifact.load(release, releases_dir)
    try:
        db = load_safety_db()
    except (OSError, ValueError) as exc:
        raise ProductionError(f"dependency audit impossible: {exc}") from None
    paths = EvidencePaths.of(evidence_dir)
    packages = release_artifact.PACKAGES
    with tempfile.TemporaryDirectory(prefix="scan-") as tmp:
        code = Path(tmp) / "code"
        release_artifact.unpack(release, code, releases_dir=releases_dir)
        bandit = run_bandit(code, packages)
        audit = audit_dependencies(code, packages, db, moment)
    bandit_bytes = (json.dumps(bandit, indent=2, sort_keys=True) + "\n").encode("utf-8")
    write_bytes_atomic(paths.bandit, bandit_bytes)
    write_json_atomic(paths.dependency_audit, audit)
    by_severity = _bandit_counts(bandit)
    bandit_critical = by_severity["HIGH"]
    audit_critical = sum(1 for f in audit["findings"] if f["critical"])
    warnings = []
    age = db.age_days(moment)
    if age > max_db_age_days:
        warnings.append(
            f"advisory database {db.name} {db.version} is {age} days old (data of "
            f"{format_time(db.date)}; limit {max_db_age_days} days): later advisories are not checked"
        )
    if audit["unresolved"]:
        warnings.append(f"dependencies not resolved to an installed distribution: {audit['unresolved']}")
    report = {
        "schema": SCHEMA,
        "kind": KIND,
        "release": release,
        "artifact_sha256": artifact.manifest.sha256,
        "produced_at": format_time(moment),
        "critical": bandit_critical + audit_critical,
        "critical_definition": CRITICAL_DEFINITION,
        "tools": [
            {
                "name": "bandit",
                "version": metadata.version("bandit"),
                "scope": f"artifact code: {', '.join(packages)}",
                "output": "bandit.json",
                "sha256": sha256_bytes(bandit_bytes),
                "files_scanned": len([k for k in bandit.get("metrics", {}) if k != "_totals"]),
                "by_severity": by_severity,
                "critical": bandit_critical,
            },
            {
                "name": "dependency-audit",
                "database": audit["database"],
                "scope": "installed distributions the artifact's code imports, transitively",
                "output": "dependency-audit.json",
                "sha256": sha256_file(paths.dependency_audit),
                "packages": len(audit["packages"]),
                "matches": len(audit["findings"]),
                "critical": audit_critical,
            },
        ],
        "warnings": warnings,
    }
    write_json_atomic(paths.security_report, report)
    return read_security_scan(evidence_dir, release=release, artifact_sha256=artifact.manifest.sha256)


# --- reading -------------------------------------------------------------------------------------


def _tool_output(paths: EvidencePaths, tool: Fields) -> tuple[Path, Any]:
    name = tool.text("output")
    if "/" in name or "\\" in name or name.startswith("."):
        tool.fail("output", f"must be a file name beside the report, got {name!r}")
    path = paths.security / name
    data = read_bytes(path)
    if sha256_bytes(data) != tool.sha256("sha256"):
        raise EvidenceError(path, "SHA-256 differs from the one in report.json: changed after the scan")
    try:
        return path, json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvidenceError(path, f"not valid JSON (truncated or corrupt): {exc}") from None


def _read_bandit(paths: EvidencePaths, tool: Fields) -> ToolSummary:
    path, data = _tool_output(paths, tool)
    if not isinstance(data, dict) or not isinstance(data.get("results"), list) or "metrics" not in data:
        raise EvidenceError(path, "not a bandit JSON report (needs results and metrics)")
    if data.get("errors"):
        raise EvidenceError(path, f"bandit could not scan every file: {data['errors']}")
    counts = _bandit_counts(data)
    claimed = tool.whole("critical")
    if claimed != counts["HIGH"]:
        tool.fail("critical", f"says {claimed}, but {path.name} holds {counts['HIGH']} HIGH findings")
    return ToolSummary("bandit", counts["HIGH"], {"by_severity": counts})


def _read_audit(paths: EvidencePaths, tool: Fields) -> ToolSummary:
    path, data = _tool_output(paths, tool)
    if not isinstance(data, dict) or data.get("kind") != "dependency-audit":
        raise EvidenceError(path, "not a dependency audit (kind must be dependency-audit)")
    audit = Fields(path, data)
    packages = audit.items("packages", min_items=1)
    findings = audit.items("findings")
    critical = 0
    for index in range(len(findings)):
        if audit.item("findings", index).flag("critical"):
            critical += 1
    claimed = tool.whole("critical")
    if claimed != critical:
        tool.fail("critical", f"says {claimed}, but {path.name} holds {critical} critical findings")
    database = tool.nested("database")
    detail = {
        "packages": len(packages),
        "matches": len(findings),
        "database": {
            "name": database.text("name"),
            "version": database.text("version"),
            "date": database.text("date"),
            "age_days": database.whole("age_days"),
        },
    }
    return ToolSummary("dependency-audit", critical, detail)


def read_security_scan(evidence_dir: Path, *, release: str, artifact_sha256: str) -> SecurityReport:
    """Read the scan report; recount critical findings from the tools' own files."""
    paths = EvidencePaths.of(evidence_dir)
    fields = read_json_object(paths.security_report, kind=KIND)
    fields.release(release)
    fields.artifact(artifact_sha256)
    by_tool: dict[str, ToolSummary] = {}
    for index in range(len(fields.items("tools", min_items=1))):
        tool = fields.item("tools", index)
        name = tool.text("name")
        if name in by_tool:
            tool.fail("name", f"tool {name} is listed twice")
        if name == "bandit":
            by_tool[name] = _read_bandit(paths, tool)
        elif name == "dependency-audit":
            by_tool[name] = _read_audit(paths, tool)
        else:
            tool.fail("name", f"unknown tool {name!r} (known: {', '.join(TOOLS)})")
    critical = sum(summary.critical for summary in by_tool.values())
    claimed = fields.whole("critical")
    if claimed != critical:
        fields.fail("critical", f"says {claimed}, but the tools' files hold {critical}")
    warnings = fields.items("warnings")
    if not all(isinstance(w, str) for w in warnings):
        fields.fail("warnings", "must be a list of strings")
    database = by_tool["dependency-audit"].detail["database"] if "dependency-audit" in by_tool else {}
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
