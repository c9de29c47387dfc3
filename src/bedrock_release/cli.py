"""``bedrock-release``: a small dispatcher; each command's logic lives in its own module.

Command groups register themselves with ``register(subparsers)``; add a group by adding its module
to ``_GROUPS``. Exit codes: 0 ok, 1 no-go (the command ran and the answer is no), 2 usage or bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from bedrock_release.release import artifact as release_artifact

__all__ = ["main"]

#: Modules that provide ``register(subparsers)`` for their command groups.
_GROUPS = (
    "bedrock_release.pre_deployment.commands",
    "bedrock_release.pipeline.commands",
    "bedrock_release.report.commands",
)
_REPO_ROOT = Path(__file__).resolve().parents[2]


def _build(args: argparse.Namespace) -> int:
    try:
        manifest = release_artifact.build(args.release, args.source_root, args.releases_dir)
    except release_artifact.ArtifactError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"release {manifest.release}: sha256 {manifest.sha256} (source {manifest.source_commit})")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bedrock-release", description="Release tooling for Bedrock Support Mode."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    build = commands.add_parser("build", help="build a release artifact (tarball + manifest)")
    build.add_argument("--release", required=True)
    build.add_argument("--releases-dir", type=Path, default=_REPO_ROOT / "runs" / "releases")
    build.add_argument("--source-root", type=Path, default=_REPO_ROOT)
    build.set_defaults(handler=_build)
    for module in _GROUPS:
        importlib.import_module(module).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run one command; return its exit code."""
    args = _parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
