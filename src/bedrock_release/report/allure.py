"""One self-contained HTML Allure report per run, generated offline by the pinned Allure 3 (npm).

``write_run_metadata`` adds ``environment.properties`` (release, target, versions, time scale) and
the versioned ``allure/categories.json`` to a results folder; ``generate_html`` renders the results
with ``allure awesome --single-file``, carrying history in a JSON-lines file between runs.

CLI: ``python -m bedrock_release.report.allure RESULTS_DIR OUT_DIR [--history PATH] [--name NAME]``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ALLURE_BIN",
    "CATEGORIES",
    "DEFAULT_HISTORY",
    "AllureReportError",
    "Report",
    "generate_html",
    "strip_external",
    "tool_versions",
    "write_run_metadata",
]

REPO_ROOT = Path(__file__).resolve().parents[3]
ALLURE_BIN = REPO_ROOT / "node_modules" / ".bin" / "allure"
CATEGORIES = REPO_ROOT / "allure" / "categories.json"
DEFAULT_HISTORY = REPO_ROOT / "runs" / "allure-history.jsonl"
_GROUP_BY = "feature"  # phase -> its gates (scenarios); the release is the epic label
_TIMEOUT_S = 180
# Allure 3's awesome template always embeds Google Analytics; an offline evidence report must not
# call out, so the tag and its inline set-up are removed, and no external resource may remain.
_ANALYTICS = re.compile(
    r'<script async src="https://www\.googletagmanager\.com/[^"]*"></script>\s*'
    r"<script>\s*window\.dataLayer.*?</script>",
    re.DOTALL,
)
_EXTERNAL = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=["']https?://""", re.IGNORECASE)


class AllureReportError(RuntimeError):
    """The report could not be generated; says why (missing results, missing tool, tool failure)."""


@dataclass(frozen=True)
class Report:
    """A generated report: the single HTML file and the history file it extended."""

    html: Path
    history: Path
    results: int


def tool_versions() -> dict[str, str]:
    """Return the versions of the tools that produced the results."""
    out = {"python": platform.python_version()}
    for dist in ("pytest", "pytest-bdd", "allure-pytest-bdd", "locust", "boto3", "mcp"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _escape(value: str) -> str:
    # java.util.Properties: backslash, and line breaks would end the entry.
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def write_run_metadata(results_dir: Path, properties: Mapping[str, str]) -> None:
    """Write environment.properties (given properties plus tool versions) and copy categories.json."""
    results_dir.mkdir(parents=True, exist_ok=True)
    entries = {**properties, **{f"version.{k}": v for k, v in tool_versions().items()}}
    text = "".join(f"{_escape(str(k)).replace('=', '_')}={_escape(str(v))}\n" for k, v in entries.items())
    (results_dir / "environment.properties").write_text(text, encoding="utf-8")
    shutil.copyfile(CATEGORIES, results_dir / "categories.json")


def generate_html(
    results_dir: Path,
    out_dir: Path,
    *,
    history: Path = DEFAULT_HISTORY,
    name: str = "bedrock-activation verification",
    allure_bin: Path = ALLURE_BIN,
) -> Report:
    """Render one self-contained HTML file from a results folder (offline), extending the history."""
    results = sorted(results_dir.glob("*-result.json")) if results_dir.is_dir() else []
    if not results:
        raise AllureReportError(f"{results_dir}: no Allure results (*-result.json) to report")
    if not allure_bin.exists():
        raise AllureReportError(f"{allure_bin}: the Allure 3 CLI is not installed; run `make setup` (npm ci)")
    out_dir.mkdir(parents=True, exist_ok=True)
    history.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(allure_bin),
        "awesome",
        str(results_dir.resolve()),
        "--output",
        str(out_dir.resolve()),
        "--single-file",
        "--history-path",
        str(history.resolve()),
        "--report-name",
        name,
        "--group-by",
        _GROUP_BY,
    ]
    env = {**os.environ, "NO_PROXY": "*", "DO_NOT_TRACK": "1", "CI": os.environ.get("CI", "")}
    try:
        done = subprocess.run(  # noqa: S603 - the pinned local CLI
            command, capture_output=True, text=True, timeout=_TIMEOUT_S, env=env, cwd=out_dir, check=False
        )
    except subprocess.TimeoutExpired:
        raise AllureReportError(f"allure did not finish within {_TIMEOUT_S} s") from None
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
        raise AllureReportError(f"allure exited with status {done.returncode}:\n{tail}")
    html = out_dir / "index.html"
    if not html.is_file():
        raise AllureReportError(f"allure wrote no {html}")
    html.write_text(strip_external(html.read_text(encoding="utf-8"), source=str(html)), encoding="utf-8")
    return Report(html, history, len(results))


def strip_external(text: str, *, source: str = "report") -> str:
    """Return the report without its analytics tag; refuse one that still loads anything remote."""
    cleaned = _ANALYTICS.sub("", text)
    match = _EXTERNAL.search(cleaned)
    if match:
        start = max(0, match.start() - 40)
        raise AllureReportError(
            f"{source} still loads an external resource: {cleaned[start : match.end() + 80]!r}"
        )
    return cleaned


def main(argv: list[str] | None = None) -> int:
    """Generate the HTML report of one results folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--history", type=Path, default=DEFAULT_HISTORY)
    parser.add_argument("--name", default="bedrock-activation verification")
    args = parser.parse_args(argv)
    try:
        report = generate_html(args.results_dir, args.out_dir, history=args.history, name=args.name)
    except AllureReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(report.html)
    return 0


if __name__ == "__main__":
    sys.exit(main())
