"""``bedrock-release lock status|break``: the deploy lock for people (parsing and printing only)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from audit_trail import AuditLog
from bedrock_release.pipeline.journal import JOURNAL_NAME
from bedrock_release.pipeline.lock import DeployLock, LockHeldError, LockNotHeldError
from bedrock_release.pipeline.run import LOCK_NAME, operator_name

__all__ = ["register"]

_RUNS = Path(__file__).resolve().parents[3] / "runs"
EXIT_OK, EXIT_NO_GO, EXIT_USAGE = 0, 1, 2


def _status(args: argparse.Namespace) -> int:
    status = DeployLock(args.runs_dir / LOCK_NAME).status()
    if args.json:
        info = status.info.__dict__ if status.info else None
        print(json.dumps({"held": status.held, "stale": status.stale, "age_s": status.age_s, "holder": info}))
    else:
        print(status.describe())
    return EXIT_NO_GO if status.held else EXIT_OK


def _break(args: argparse.Namespace) -> int:
    lock = DeployLock(args.runs_dir / LOCK_NAME)
    status = lock.status()
    run_journal = args.runs_dir / status.info.run_id / JOURNAL_NAME if status.info else None
    # The break is recorded in the holder's deploy journal (its run's single record), else beside the lock.
    beside = args.runs_dir / "deploy-lock.audit.jsonl"
    audit_path = run_journal if run_journal and run_journal.exists() else beside
    try:
        broken = lock.break_lock(
            args.reason, operator=f"operator:{args.operator}", audit=AuditLog(audit_path), force=args.force
        )
    except (LockHeldError, LockNotHeldError, ValueError) as exc:
        print(f"error: {exc}")
        return EXIT_NO_GO
    print(f"broke the deploy lock ({broken.describe()}); recorded in {audit_path}")
    return EXIT_OK


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``lock`` command group."""
    lock = commands.add_parser("lock", help="the deploy lock (runs/deploy.lock)")
    actions = lock.add_subparsers(dest="action", required=True)
    status = actions.add_parser("status", help="who holds the lock, since when, and whether it looks stale")
    status.add_argument("--runs-dir", type=Path, default=_RUNS)
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=_status)
    breaks = actions.add_parser("break", help="break a stale lock (audited); --force for a live one")
    breaks.add_argument("--reason", required=True, help="why (recorded)")
    breaks.add_argument("--operator", default=operator_name(), help="who (recorded)")
    breaks.add_argument("--force", action="store_true", help="also break a lock whose holder looks alive")
    breaks.add_argument("--runs-dir", type=Path, default=_RUNS)
    breaks.set_defaults(handler=_break)
