"""Allure results of a staging suite (``allure-results/``, as allure-pytest writes it), read strictly.

Each test run is one ``<uuid>-result.json`` (``name``, ``status``: passed, failed, broken, skipped or
unknown, ``historyId``, ``start``/``stop`` in ms); containers and attachments sit beside them. A test
retried (the same ``historyId``) counts once, by its last run. ``failed`` (an assertion) is a
failure, ``broken`` (any other exception) an error, ``unknown`` an error too: a result that does
not say it passed is not a pass. The folder is bound to the summary by a digest over every file in
it (``tree_sha256``), so a result added, removed or edited afterwards is noticed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from bedrock_release.pre_deployment._io import read_bytes
from bedrock_release.pre_deployment.errors import EvidenceError
from bedrock_release.pre_deployment.junit import SuiteCounts

__all__ = ["RESULT_SUFFIX", "STATUSES", "read_allure_results", "tree_sha256"]

RESULT_SUFFIX = "-result.json"
#: Allure's test statuses and what each counts as.
STATUSES = {
    "passed": "passed",
    "failed": "failures",
    "broken": "errors",
    "unknown": "errors",
    "skipped": "skipped",
}


def _files(directory: Path) -> list[Path]:
    if directory.is_symlink():
        raise EvidenceError(directory, "is a symbolic link, not a folder of Allure results")
    if not directory.exists():
        raise EvidenceError(directory, "missing (no Allure results folder)")
    if not directory.is_dir():
        raise EvidenceError(directory, "not a folder (Allure results are a folder of JSON files)")
    out = []
    for path in sorted(directory.rglob("*")):
        if path.is_symlink():
            raise EvidenceError(path, "is a symbolic link inside the Allure results")
        if path.is_file():
            out.append(path)
    return out


def tree_sha256(directory: Path) -> str:
    """SHA-256 over every file of a folder: ``<sha256>  <relative path>`` lines, sorted by path."""
    lines = [
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(directory).as_posix()}\n"
        for path in _files(directory)
    ]
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def _result(path: Path) -> tuple[str, str, int]:
    """(status, history key, stop) of one result file; EvidenceError naming the file and field."""
    data = read_bytes(path)
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvidenceError(path, f"not valid JSON (truncated or corrupt): {exc}") from None
    if not isinstance(obj, dict):
        raise EvidenceError(path, f"expected a JSON object, got {type(obj).__name__} (not an Allure result)")
    name, status = obj.get("name"), obj.get("status")
    if not isinstance(name, str) or not name.strip():
        raise EvidenceError(path, f"field name: must be a non-empty string, got {name!r}")
    if status not in STATUSES:
        raise EvidenceError(path, f"field status: must be one of {', '.join(STATUSES)}, got {status!r}")
    history = obj.get("historyId")
    if history is not None and (not isinstance(history, str) or not history):
        raise EvidenceError(path, f"field historyId: must be a non-empty string, got {history!r}")
    stop = obj.get("stop", 0)
    if isinstance(stop, bool) or not isinstance(stop, int) or stop < 0:
        raise EvidenceError(path, f"field stop: must be a whole number of milliseconds, got {stop!r}")
    return status, history or f"{path.name} (no historyId)", stop


def read_allure_results(directory: Path) -> SuiteCounts:
    """Count the tests of an Allure results folder (each retried test once, by its last run)."""
    latest: dict[str, tuple[int, str]] = {}
    for path in _files(directory):
        if not path.name.endswith(RESULT_SUFFIX):
            continue  # containers, attachments, environment.properties
        status, history, stop = _result(path)
        if history not in latest or stop >= latest[history][0]:
            latest[history] = (stop, status)
    counts = {"passed": 0, "failures": 0, "errors": 0, "skipped": 0}
    for _, status in latest.values():
        counts[STATUSES[status]] += 1
    return SuiteCounts(tests=len(latest), **counts)
