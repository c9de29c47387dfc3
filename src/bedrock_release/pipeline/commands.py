"""``bedrock-release lock status|break|release`` and ``watchdog``: the shared lock for people and timers.

Parsing and printing only: the logic is in ``lock``, ``run`` and ``watchdog``. Every command finds the
lock table and state bucket in the inventory (``-i``, ``-e``; ``inventory_vars``), as the playbooks do.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from audit_trail import AuditLog
from bedrock_release.inventory_validation import InvalidValueError
from bedrock_release.pipeline import inventory_vars, watchdog
from bedrock_release.pipeline.lock import DeployLock, LockHeldError, LockNotHeldError, LockUnavailableError
from bedrock_release.pipeline.run import RunError, RunPaths, break_lock, fetch_run, operator_name

__all__ = ["register"]

_RUNS = Path(__file__).resolve().parents[3] / "runs"
EXIT_OK, EXIT_NO_GO, EXIT_USAGE = 0, 1, 2


def _status(args: argparse.Namespace) -> int:
    try:
        status = DeployLock(inventory_vars.shared_state(args)).status()
    except InvalidValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LockUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NO_GO
    if args.json:
        info = status.info.public() if status.info else None
        print(
            json.dumps(
                {
                    "held": status.held,
                    "stale": status.stale,
                    "expired": status.expired,
                    "handed_over": status.handed_over,
                    "age_s": status.age_s,
                    "heartbeat_age_s": status.heartbeat_age_s,
                    "holder": info,
                    "where": status.where,
                }
            )
        )
    else:
        print(status.describe())
    return EXIT_NO_GO if status.held else EXIT_OK


def _break(args: argparse.Namespace) -> int:
    try:
        shared = inventory_vars.shared_state(args)
        broken, audit_path = break_lock(
            shared, args.runs_dir, reason=args.reason, operator=f"operator:{args.operator}", force=args.force
        )
    except InvalidValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (LockHeldError, LockNotHeldError, LockUnavailableError, ValueError) as exc:
        print(f"error: {exc}")
        return EXIT_NO_GO
    print(f"broke the deploy lock ({broken.describe()}); recorded in {audit_path}")
    return EXIT_OK


def _release(args: argparse.Namespace) -> int:
    """The person a lock was handed over to gives it back, audited in the run's journal."""
    try:
        shared = inventory_vars.shared_state(args)
        fetch_run(args.runs_dir, args.run_id, shared)
        journal = RunPaths(args.runs_dir, args.run_id).journal
        released = DeployLock(shared).release_handed_over(
            args.run_id, operator=f"operator:{args.operator}", audit=AuditLog(journal)
        )
        from bedrock_release.pipeline.run_store import RunStore  # noqa: PLC0415

        RunStore(shared).mirror_journal(journal.parent)
    except (InvalidValueError, RunError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (LockHeldError, LockNotHeldError, LockUnavailableError, RuntimeError) as exc:
        print(f"error: {exc}")
        return EXIT_NO_GO
    print(f"released the deploy lock ({released.describe()}); recorded in {journal}")
    return EXIT_OK


def _watchdog(args: argparse.Namespace) -> int:
    try:
        shared = inventory_vars.shared_state(args)
        extra = inventory_vars.extra_vars(args.extra_vars)
    except InvalidValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.every is not None:
        if not args.every > 0:
            print(f"error: --every = {args.every}: must be > 0 seconds", file=sys.stderr)
            return EXIT_USAGE
        try:
            return watchdog.loop(
                shared,
                args.runs_dir,
                inventory=args.inventory,
                extra_vars=extra,
                every_s=args.every,
                say=lambda line: print(line, flush=True),
            )
        except KeyboardInterrupt:
            return EXIT_OK
    code, decision, summary = watchdog.tick(shared, args.runs_dir, inventory=args.inventory, extra_vars=extra)
    print(json.dumps({**decision.to_dict(), "summary": summary}) if args.json else summary)
    return code


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``lock`` command group and ``watchdog``."""
    lock = commands.add_parser("lock", help="the shared deploy lock (DynamoDB table release_lock_table)")
    actions = lock.add_subparsers(dest="action", required=True)
    status = actions.add_parser(
        "status", help="who holds the lock, since when, its heartbeat and expiry, whether it looks stale"
    )
    inventory_vars.add_arguments(status)
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=_status)
    breaks = actions.add_parser(
        "break", help="break a stale lock (conditional, audited); --force for a live one"
    )
    inventory_vars.add_arguments(breaks)
    breaks.add_argument("--reason", required=True, help="why (recorded)")
    breaks.add_argument("--operator", default=operator_name(), help="who (recorded)")
    breaks.add_argument("--force", action="store_true", help="also break a lock whose holder looks alive")
    breaks.add_argument("--runs-dir", type=Path, default=_RUNS)
    breaks.set_defaults(handler=_break)
    release = actions.add_parser("release", help="give back a lock that was handed over to you (audited)")
    inventory_vars.add_arguments(release)
    release.add_argument("--run-id", required=True, help="the run whose lock was handed over")
    release.add_argument("--operator", default=operator_name(), help="who (recorded)")
    release.add_argument("--runs-dir", type=Path, default=_RUNS)
    release.set_defaults(handler=_release)

    dog = commands.add_parser(
        "watchdog",
        help="roll back a deploy whose lock expired (its process died), with the tier its phase calls for",
        description="Read the shared deploy lock; when it expired, fetch the holder's run from the state "
        "bucket and run playbooks/rollback_<tier>.yml for it as watchdog@host (the tier that rollback_policy "
        "gives the interrupted phase). Meant for a timer (contrib/systemd/); --every is its own timer. "
        "Exit 0 nothing to do or done, 1 the lock or the rollback did not answer or failed, 2 bad input.",
    )
    inventory_vars.add_arguments(dog)
    dog.add_argument("--runs-dir", type=Path, default=_RUNS)
    dog.add_argument("--every", type=float, default=None, metavar="SECONDS", help="look again every SECONDS")
    dog.add_argument("--json", action="store_true")
    dog.set_defaults(handler=_watchdog)
