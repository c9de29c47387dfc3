"""The business impact assessment a Product Owner approves, generated from the release's manifests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from bedrock_release.pre_deployment._io import (
    SCHEMA,
    format_time,
    read_json_object,
    write_bytes_atomic,
    write_json_atomic,
)
from bedrock_release.pre_deployment.errors import EvidenceError
from bedrock_release.pre_deployment.layout import EvidencePaths
from bedrock_release.release import artifact as release_artifact

__all__ = [
    "BUSINESS_METRICS",
    "KIND",
    "RISKS",
    "BusinessImpact",
    "produce_business_impact",
    "read_business_impact",
]

KIND = "business-impact-assessment"

#: The plan's "Business Success Metrics", verbatim, and how each will be measured.
BUSINESS_METRICS: tuple[tuple[str, str], ...] = (
    ("Support operations latency reduced by >20%", "P95 of support operations after vs before, phase 3 load"),
    ("Implementation gap detection accuracy >85%", "diagnose_implementation_gap against labelled tickets"),
    (
        "Manual troubleshooting time reduced by >40%",
        "operations ticket handling time, post-deployment review",
    ),
    ("Cost optimization achieved through intelligent routing", "support_cost_usd_total by route vs MCP-only"),
    ("Zero customer-impacting incidents", "incident log of the post-deployment window"),
)

#: The plan's "High-Risk Scenarios": (risk, mitigation, contingency), verbatim.
RISKS: tuple[tuple[str, str, str], ...] = (
    (
        "Intelligent routing makes incorrect decisions",
        "Comprehensive routing validation and fallback mechanisms",
        "Immediate fallback to MCP-only mode",
    ),
    (
        "Hybrid routing introduces latency or reduces throughput",
        "Real-time performance monitoring and SLO gates",
        "Automatic performance optimization and routing adjustment",
    ),
    (
        "Direct Bedrock access violates compliance requirements",
        "Comprehensive compliance validation and audit trails",
        "Immediate compliance violation blocking and investigation",
    ),
)


@dataclass(frozen=True)
class BusinessImpact:
    """A parsed assessment."""

    release: str
    artifact_sha256: str
    previous_release: str | None
    origin: str
    source: str


def _previous_release(release: str, releases_dir: Path) -> str | None:
    current = Version(release)
    built = []
    for manifest in releases_dir.glob("*/manifest.json"):
        try:
            version = Version(manifest.parent.name)
        except InvalidVersion:
            continue
        if version < current:
            built.append(version)
    return str(max(built)) if built else None


def produce_business_impact(
    release: str, *, releases_dir: Path, evidence_dir: Path, now: datetime | None = None
) -> Path:
    """Write the assessment (JSON and Markdown) from the release's manifest, the previous one and the plan."""
    artifact = release_artifact.load(release, releases_dir)
    previous = _previous_release(release, releases_dir)
    before = dict(release_artifact.load(previous, releases_dir).manifest.components) if previous else {}
    after = dict(artifact.manifest.components)
    components = {
        name: {"from": before.get(name), "to": after.get(name)}
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }
    changed = ", ".join(f"{n} {c['from'] or 'new'} -> {c['to'] or 'removed'}" for n, c in components.items())
    body: dict[str, Any] = {
        "schema": SCHEMA,
        "kind": KIND,
        "release": release,
        "artifact_sha256": artifact.manifest.sha256,
        "previous_release": previous,
        "origin": "sandbox-generated",
        "produced_at": format_time(now or datetime.now(UTC)),
        "components": components,
        "business_metrics": [{"metric": m, "target": m, "how_measured": how} for m, how in BUSINESS_METRICS],
        "risks": [{"risk": r, "mitigation": m, "contingency": c} for r, m, c in RISKS],
        "assessment": (
            f"sandbox-generated from the manifests: release {release} changes "
            f"{changed or 'no component version'} relative to {previous or 'nothing built before'}; "
            "every change ships dark (all five flags off = the MCP-only system) and is activated flag "
            "by flag in phase 5 with automatic rollback; the business metrics are success criteria to "
            "be measured after deployment, not claims"
        ),
    }
    paths = EvidencePaths.of(evidence_dir)
    write_json_atomic(paths.business_impact, body)
    lines = [
        f"# Business impact assessment: release {release} (sandbox-generated)",
        "",
        body["assessment"],
        "",
        "## Component changes",
        "",
        *(f"- {name}: {c['from'] or 'new'} -> {c['to'] or 'removed'}" for name, c in components.items()),
        "",
        "## Business success metrics (plan)",
        "",
        *(f"- {m} — measured by: {how}" for m, how in BUSINESS_METRICS),
        "",
        "## Risks (plan)",
        "",
        *(f"- {r}: mitigation {m}; contingency {c}" for r, m, c in RISKS),
        "",
    ]
    write_bytes_atomic(paths.business_impact_text, "\n".join(lines).encode("utf-8"))
    return paths.business_impact


def read_business_impact(evidence_dir: Path, *, release: str, artifact_sha256: str) -> BusinessImpact:
    """Read the assessment strictly: this release and artifact, the plan's metrics and risks present."""
    path = EvidencePaths.of(evidence_dir).business_impact
    fields = read_json_object(path, kind=KIND)
    fields.release(release)
    fields.artifact(artifact_sha256)
    fields.time("produced_at")
    fields.text("assessment")
    fields.nested("components")
    metrics = fields.items("business_metrics", min_items=1)
    named = {m.get("metric") for m in metrics if isinstance(m, dict)}
    missing = [m for m, _ in BUSINESS_METRICS if m not in named]
    if missing:
        raise EvidenceError(path, f"field business_metrics: the plan's {missing[0]!r} is not assessed")
    fields.items("risks", min_items=len(RISKS))
    return BusinessImpact(
        release=release,
        artifact_sha256=artifact_sha256,
        previous_release=fields.optional_text("previous_release"),
        origin=fields.text("origin"),
        source=str(path),
    )
