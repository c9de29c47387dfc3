"""``bedrock-release report|verify|status|watch``: the evidence of a run for people (parsing and printing).

Exit codes (docs/evidence.md): 0 ok; 1 the command ran and the answer is no (a bundle that does not
verify, a live part that does not answer, a watch that breached); 2 usage or bad input (no such run,
no journal, not a bundle).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from bedrock_release.report.model import ReportError

__all__ = ["EXIT_NO_GO", "EXIT_OK", "EXIT_USAGE", "register", "resolve_run"]

_RUNS = Path(__file__).resolve().parents[3] / "runs"
_RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9A-Za-z.+-]+")
EXIT_OK, EXIT_NO_GO, EXIT_USAGE = 0, 1, 2


class _InputError(ValueError):
    """A command-line input that names nothing usable."""


def resolve_run(run: str, runs_dir: Path) -> Path:
    """A run folder from a path, a run id under runs_dir, or ``latest``; _InputError naming the input."""
    for candidate in (Path(run), runs_dir / run):
        if candidate.is_dir():
            return candidate.resolve()
    raise _InputError(f"run {run!r}: neither a folder nor a run id under {runs_dir}")


def _fetched(args: argparse.Namespace, run: str) -> None:
    """Bring a run's evidence from the state bucket when it is not on this controller (verify)."""
    from bedrock_release.inventory_validation import InvalidValueError  # noqa: PLC0415
    from bedrock_release.pipeline import inventory_vars  # noqa: PLC0415
    from bedrock_release.pipeline.run_store import RunStore  # noqa: PLC0415

    if Path(run).exists() or (args.runs_dir / run).exists():
        return
    if run != "latest" and not _RUN_ID.fullmatch(run):
        return  # a path, not a run id: nothing to fetch; verify names what is missing
    try:
        store = RunStore(inventory_vars.shared_state(args))
        run_id = store.latest() if run == "latest" else run
        if run_id:
            store.fetch(args.runs_dir, run_id, evidence=True)
            if run == "latest":
                (args.runs_dir / "latest").unlink(missing_ok=True)
                (args.runs_dir / "latest").symlink_to(run_id)
    except (InvalidValueError, RuntimeError, LookupError) as exc:
        raise _InputError(f"run {run!r}: not under {args.runs_dir}, and not fetched: {exc}") from None


def _progress(quiet: bool) -> object:
    started = time.monotonic()

    def say(message: str) -> None:
        if not quiet:
            print(f"[{time.monotonic() - started:6.1f} s] {message} ...", file=sys.stderr, flush=True)

    return say


def _report(args: argparse.Namespace) -> int:
    from bedrock_release.report import bundle  # noqa: PLC0415 - matplotlib only for commands that render

    run_dir: Path | str = args.run
    try:
        run_dir = resolve_run(args.run, args.runs_dir)
        if args.no_bundle:
            from bedrock_release.report.render import write_renderings  # noqa: PLC0415

            md, page, _ = write_renderings(run_dir)
            summary = {
                "run_dir": str(run_dir),
                "report_md": str(md),
                "report_html": str(page),
                "verified": None,
            }
            ok = True
        else:
            result = bundle.finalize_run(run_dir, allure=not args.no_allure, progress=_progress(args.json))
            summary, ok, md = result.to_dict(), result.verdict.ok, result.report_md
    except _InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ReportError, bundle.BundleError, FileNotFoundError) as exc:
        print(f"error: run {run_dir}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(md.read_text(encoding="utf-8"))
        print(
            f"written: {summary['report_md']}, {summary['report_html']}"
            + (
                f"; bundle {summary.get('bundle')} ({summary.get('bundle_files')} files, "
                f"{'verified' if ok else 'DOES NOT VERIFY'})"
                if "bundle" in summary
                else ""
            )
        )
    return EXIT_OK if ok else EXIT_NO_GO


def _verify(args: argparse.Namespace) -> int:
    from bedrock_release.report import bundle  # noqa: PLC0415

    target = Path(args.target)
    try:
        _fetched(args, args.target)
    except _InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not target.exists() and (args.runs_dir / args.target).exists():
        target = args.runs_dir / args.target
    try:
        verdict = bundle.verify(target)
    except bundle.BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(
            json.dumps(
                {
                    "bundle": verdict.directory,
                    "ok": verdict.ok,
                    "files_checked": verdict.files_checked,
                    "problems": [
                        {"kind": p.kind.value, "path": p.path, "detail": p.detail} for p in verdict.problems
                    ],
                },
                indent=2,
            )
        )
    elif verdict.ok:
        print(
            f"{verdict.directory}: intact - {verdict.files_checked} files match the manifest, "
            "audit chain verifies"
        )
    else:
        print(f"{verdict.directory}: DOES NOT VERIFY ({len(verdict.problems)} problems)")
        for problem in verdict.problems:
            print(f"  {problem}")
    return EXIT_OK if verdict.ok else EXIT_NO_GO


def _status(args: argparse.Namespace) -> int:
    from bedrock_release.inventory_validation import InvalidValueError  # noqa: PLC0415
    from bedrock_release.pipeline import inventory_vars  # noqa: PLC0415
    from bedrock_release.report.status import read_status  # noqa: PLC0415

    try:
        status = read_status(args.runs_dir, inventory_vars.shared_state(args), timeout_s=args.timeout)
    except (FileNotFoundError, InvalidValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(status.to_dict(), indent=2, default=str))
    else:
        print("\n".join(status.lines()))
    return EXIT_NO_GO if status.problems else EXIT_OK


def _watch(args: argparse.Namespace) -> int:
    from bedrock_release.pipeline import watch_schedule  # noqa: PLC0415

    try:
        run_dir = resolve_run(args.run, args.runs_dir)
        outcome = watch_schedule.run_from_cli(run_dir, args, progress=_progress(args.json))
    except (_InputError, watch_schedule.WatchError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(outcome.to_dict(), indent=2))
    else:
        print(outcome.summary())
    return EXIT_OK if outcome.passed else EXIT_NO_GO


def _inventory_arguments(parser: argparse.ArgumentParser) -> None:
    from bedrock_release.pipeline import inventory_vars  # noqa: PLC0415

    inventory_vars.add_arguments(parser)


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the report, verify, status and watch commands."""
    report = commands.add_parser(
        "report",
        help="regenerate and print a run's report (report.json, .md, .html, Allure report, evidence bundle)",
        description="Rebuild report.json from the run's journal, render report.md and report.html, render "
        "the Allure report, rewrite the evidence bundle and verify it; print report.md. "
        "Exit 0 written and verified, 1 the bundle does not verify, 2 no such run or no journal.",
    )
    report.add_argument("run", nargs="?", default="latest", help="run folder, run id or 'latest' (default)")
    report.add_argument("--runs-dir", type=Path, default=_RUNS)
    report.add_argument("--no-allure", action="store_true", help="do not render the Allure report")
    report.add_argument("--no-bundle", action="store_true", help="only report.json, report.md, report.html")
    report.add_argument("--json", action="store_true", help="print what was written as JSON")
    report.set_defaults(handler=_report)

    verify = commands.add_parser(
        "verify",
        help="verify an evidence bundle: every file against its manifest, the audit chain record by record",
        description="Check every file of a bundle against manifest.json (SHA-256 and size; missing and added "
        "files) and the deploy journal's hash chain against its anchor; name every file or record "
        "that does not match. Exit 0 intact, 1 does not verify, 2 not a bundle or run.",
    )
    verify.add_argument(
        "target", nargs="?", default="latest", help="bundle folder, run folder, run id or 'latest'"
    )
    verify.add_argument("--runs-dir", type=Path, default=_RUNS)
    verify.add_argument("--json", action="store_true")
    _inventory_arguments(verify)
    verify.set_defaults(handler=_verify)

    status = commands.add_parser(
        "status",
        help="what is live: slots and releases, traffic weights, flags, the deploy lock, the latest run",
        description="Read-only. Exit 0 everything answered, 1 a live part did not answer (named), "
        "2 no runs folder.",
    )
    status.add_argument("--runs-dir", type=Path, default=_RUNS)
    status.add_argument("--timeout", type=float, default=3.0, help="seconds per HTTP read (default 3)")
    _inventory_arguments(status)
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=_status)

    watch = commands.add_parser(
        "watch",
        help="post-deployment watch: re-evaluate the SLO gates on a schedule for the plan's 2 hours",
        description="Evaluate the SLO gates of features/slo_gates.feature every --windows rolling windows "
        "(5 minutes x the run's time scale each) for 2 hours x the time scale, recording every "
        "evaluation in the run's journal; stop at the first evaluation that does not pass. "
        "Exit 0 every evaluation passed, 1 a breach (the rollback is the playbook's: "
        "playbooks/watch.yml), 2 bad input.",
    )
    watch.add_argument("run", nargs="?", default="latest", help="run folder, run id or 'latest' (default)")
    watch.add_argument("--runs-dir", type=Path, default=_RUNS)
    watch.add_argument(
        "--hours", type=float, default=2.0, help="the plan's watch period in hours (default 2)"
    )
    watch.add_argument(
        "--windows",
        type=int,
        default=2,
        help="rolling windows per evaluation (default 2: enough frequent lookups for the cache gate)",
    )
    watch.add_argument("--json", action="store_true")
    watch.set_defaults(handler=_watch)
