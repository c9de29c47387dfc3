"""pip-audit's JSON (``pip-audit --format json``): a strict reader, and the writer of the same shape.

``{"dependencies": [{"name", "version", "vulns": [{"id", "fix_versions", "aliases"?,
"description"?}]} | {"name", "skip_reason"}], "fixes": [...]}``. pip-audit gives no severity, so
every vulnerability counts as critical (fails closed). A dependency pip-audit *skipped* was not
audited - pip-audit still prints "No known vulnerabilities found" - so a skipped dependency makes
the audit inconclusive, and so does an audit of no dependency at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bedrock_release.pre_deployment._io import read_bytes
from bedrock_release.pre_deployment.errors import EvidenceError

__all__ = ["PipAuditFinding", "PipAuditResult", "pip_audit_document", "read_pip_audit", "summarise"]


@dataclass(frozen=True)
class PipAuditFinding:
    """One known vulnerability of one installed dependency."""

    package: str
    version: str
    id: str
    aliases: tuple[str, ...] = ()
    fix_versions: tuple[str, ...] = ()
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The vulnerability as pip-audit writes it (with aliases and description)."""
        return {
            "id": self.id,
            "fix_versions": list(self.fix_versions),
            "aliases": list(self.aliases),
            "description": self.description,
        }


@dataclass(frozen=True)
class PipAuditResult:
    """An audit every dependency of which was audited."""

    dependencies: tuple[tuple[str, str], ...]
    findings: tuple[PipAuditFinding, ...]

    @property
    def critical(self) -> int:
        """pip-audit gives no severity: every finding is critical."""
        return len(self.findings)


def pip_audit_document(
    dependencies: Iterable[tuple[str, str]], findings: Iterable[PipAuditFinding]
) -> dict[str, Any]:
    """The pip-audit JSON of an audit done another way (the sandbox's offline advisory database)."""
    by_package: dict[tuple[str, str], list[PipAuditFinding]] = {}
    for finding in findings:
        by_package.setdefault((finding.package, finding.version), []).append(finding)
    return {
        "dependencies": [
            {
                "name": name,
                "version": version,
                "vulns": [f.to_dict() for f in by_package.get((name, version), [])],
            }
            for name, version in dependencies
        ],
        "fixes": [],
    }


def _strings(path: Path, where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise EvidenceError(path, f"{where}: must be a list of strings, got {value!r}")
    return tuple(value)


def _text(path: Path, where: str, obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise EvidenceError(path, f"{where}.{key}: must be a non-empty string, got {value!r}")
    return value


def _vulns(path: Path, where: str, name: str, version: str, vulns: Any) -> list[PipAuditFinding]:
    if not isinstance(vulns, list):
        raise EvidenceError(path, f"{where}.vulns: must be a list, got {type(vulns).__name__}")
    out = []
    for index, vuln in enumerate(vulns):
        at = f"{where}.vulns[{index}]"
        if not isinstance(vuln, dict):
            raise EvidenceError(path, f"{at}: must be an object, got {type(vuln).__name__}")
        description = vuln.get("description", "")
        if not isinstance(description, str):
            raise EvidenceError(path, f"{at}.description: must be a string, got {description!r}")
        out.append(
            PipAuditFinding(
                package=name,
                version=version,
                id=_text(path, at, vuln, "id"),
                aliases=_strings(path, f"{at}.aliases", vuln.get("aliases", [])),
                fix_versions=_strings(path, f"{at}.fix_versions", vuln.get("fix_versions")),
                description=description,
            )
        )
    return out


def read_pip_audit(path: Path) -> PipAuditResult:
    """Read pip-audit's JSON strictly; EvidenceError names the file, the entry and what is wrong."""
    data = read_bytes(path)
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvidenceError(path, f"not valid JSON (truncated or corrupt): {exc}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("dependencies"), list):
        raise EvidenceError(path, "not pip-audit's JSON (--format json): needs a dependencies list")
    dependencies: list[tuple[str, str]] = []
    findings: list[PipAuditFinding] = []
    skipped: list[str] = []
    for index, dep in enumerate(obj["dependencies"]):
        where = f"dependencies[{index}]"
        if not isinstance(dep, dict):
            raise EvidenceError(path, f"{where}: must be an object, got {type(dep).__name__}")
        name = _text(path, where, dep, "name")
        if "skip_reason" in dep:
            skipped.append(f"{name} ({dep['skip_reason']})")
            continue
        version = _text(path, where, dep, "version")
        dependencies.append((name, version))
        findings += _vulns(path, where, name, version, dep.get("vulns"))
    if skipped:
        raise EvidenceError(
            path,
            f"{len(skipped)} dependencies were not audited (pip-audit skipped them): "
            f"{'; '.join(skipped[:5])}{' ...' if len(skipped) > 5 else ''}: "
            "the audit cannot say they have no known vulnerability",
        )
    if not dependencies:
        raise EvidenceError(path, "audited no dependency at all: an empty audit proves nothing")
    return PipAuditResult(tuple(dependencies), tuple(findings))


def summarise(findings: Sequence[PipAuditFinding]) -> list[str]:
    """One line per finding, for reasons and command output."""
    return [f"{f.package} {f.version}: {f.id} ({', '.join(f.aliases) or 'no alias'})" for f in findings]
