"""The staging rollback drill record (``<evidence>/rollback-drill/drill.json``) from the drill journal.

``playbooks/staging.yml`` runs the three rollback tiers, one after the other, with the rollback role
against a staging stand-in (a private sandbox running the release); every tier is journaled in the
drill run (``rollback_started`` / ``rollback_finished``). This module turns those records into the
contract's drill record (docs/contracts.md "Pre-deployment evidence") through
``bedrock_release.pre_deployment.write_drill_record``. The target of each tier is the plan's
wall-clock target: the drill's scaled waits are shorter, its fixed costs (processes starting, the
suite's own start) are not, so a scaled target would only measure the machine.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from audit_trail import read
from bedrock_release.pipeline.journal import JOURNAL_NAME, parse_ts, read_state
from bedrock_release.pre_deployment import DrillTier, write_drill_record
from bedrock_release.release import artifact as release_artifact
from bedrock_release.release.approvals import load_private_key

__all__ = ["drill_tiers", "write_record"]


def drill_tiers(run_dir: str | os.PathLike[str]) -> tuple[list[DrillTier], datetime, datetime]:
    """Return the drilled tiers (latest of each), the first rollback's start and the last one's end."""
    records = read(Path(run_dir) / JOURNAL_NAME)
    tiers: dict[str, DrillTier] = {}
    started: dict[str, str] = {}
    first = last = None
    for rec in records:
        if rec.action == "rollback_started":
            started[rec.data["tier"]] = rec.data.get("trigger", "")
            first = first or parse_ts(rec.ts)
        elif rec.action == "rollback_finished":
            tier = str(rec.data["tier"])
            tiers[tier] = DrillTier(
                tier=tier,
                trigger=str(rec.data.get("trigger") or started.get(tier) or "staging drill"),
                duration_s=float(rec.data["duration_s"]),
                target_s=float(rec.data["target_s"]),
                verified=bool(rec.data["verified"]),
                detail=str(rec.data.get("reason") or ""),
            )
            last = parse_ts(rec.ts)
    if first is None or last is None:
        raise ValueError(f"{run_dir}: the drill run's journal records no finished rollback")
    return [tiers[t] for t in ("immediate", "partial", "full") if t in tiers], first, last


PathLike = str | os.PathLike[str]


def write_record(
    run_dir: PathLike, evidence_dir: PathLike, releases_dir: PathLike, signing_key: PathLike
) -> Path:
    """Write the drill record of the release the drill run deployed, signed with the ops lead's key."""
    state = read_state(run_dir)
    if state.release is None or state.time_scale is None:
        raise ValueError(f"{run_dir}: no run_started record")
    artifact = release_artifact.load(state.release, releases_dir)
    tiers, started, finished = drill_tiers(run_dir)
    return write_drill_record(
        Path(evidence_dir),
        release=state.release,
        artifact_sha256=artifact.manifest.sha256,
        environment=f"{state.environment}-staging-standin",
        time_scale=state.time_scale,
        tiers=tiers,
        started_at=started,
        finished_at=finished,
        signing_key=load_private_key(signing_key),
    )
