"""Evidence bundles: a manifest of every file (size, SHA-256) plus audit-chain anchors, and its verifier."""

from __future__ import annotations

import enum
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import audit_trail

__all__ = [
    "MANIFEST_NAME",
    "BundleProblem",
    "BundleVerdict",
    "FileEntry",
    "ProblemKind",
    "sha256_file",
    "verify_bundle",
    "write_manifest",
]

MANIFEST_NAME = "manifest.json"
_SCHEMA = 1


class ProblemKind(enum.StrEnum):
    """What is wrong with a bundle."""

    MANIFEST = "manifest"
    MISSING = "missing"
    ADDED = "added"
    CHANGED = "changed"
    NOT_REGULAR = "not_regular"
    AUDIT = "audit"


@dataclass(frozen=True)
class BundleProblem:
    """One defect, naming the file (relative to the bundle) and what is wrong."""

    kind: ProblemKind
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.kind.value}: {self.detail}"


@dataclass(frozen=True)
class BundleVerdict:
    """The result of verifying a bundle against its manifest."""

    directory: str
    ok: bool
    files_checked: int
    problems: tuple[BundleProblem, ...]

    def summary(self) -> str:
        """Return one line: intact with the file count, or every problem."""
        if self.ok:
            return f"{self.directory}: intact, {self.files_checked} files"
        return f"{self.directory}: " + "; ".join(str(p) for p in self.problems)


@dataclass(frozen=True)
class FileEntry:
    """One file of the bundle."""

    path: str
    size: int
    sha256: str


def sha256_file(path: Path) -> str:
    """Return the SHA-256 hex of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _walk(root: Path) -> tuple[dict[str, Path], list[str]]:
    """Return regular files by relative path, and paths that are not regular files (symlinks...)."""
    files, odd = {}, []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in [*filenames, *(d for d in dirnames if (Path(dirpath) / d).is_symlink())]:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if rel == MANIFEST_NAME:
                continue
            if path.is_symlink() or not path.is_file():
                odd.append(rel)
            else:
                files[rel] = path
    return files, sorted(odd)


def write_manifest(
    directory: str | os.PathLike[str], *, audit_files: Iterable[str] = (), created_at: datetime | None = None
) -> Path:
    """Write ``manifest.json`` for every regular file under directory, anchoring the named audit chains."""
    root = Path(directory)
    files, odd = _walk(root)
    if odd:
        raise ValueError(f"{root}: not regular files, refusing to bundle: {', '.join(odd)}")
    anchors = []
    for rel in audit_files:
        if rel not in files:
            raise ValueError(f"{root}: audit file {rel} is not in the bundle")
        chain = audit_trail.verify(files[rel])
        anchors.append(
            {
                "path": rel,
                "records": chain.records,
                "head_hash": chain.head_hash,
                "verified_at_bundle": chain.ok,
                "first_problem": None if chain.ok else str(chain.first_problem),
            }
        )
    manifest = {
        "schema": _SCHEMA,
        "created_at": (created_at or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "files": [
            {"path": rel, "size": path.stat().st_size, "sha256": sha256_file(path)}
            for rel, path in sorted(files.items())
        ],
        "audit": anchors,
    }
    out = root / MANIFEST_NAME
    out.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return out


def _safe_rel(rel: Any) -> bool:
    if not isinstance(rel, str) or not rel:
        return False
    pure = PurePosixPath(rel)
    return not pure.is_absolute() and ".." not in pure.parts


def _load_manifest(root: Path) -> tuple[dict[str, FileEntry], list[dict[str, Any]]]:
    path = root / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError("missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"unreadable: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != _SCHEMA:
        raise ValueError(f"expected an object with schema {_SCHEMA}")
    entries: dict[str, FileEntry] = {}
    for index, item in enumerate(data.get("files") or []):
        try:
            entry = FileEntry(item["path"], int(item["size"]), str(item["sha256"]))
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"files[{index}]: needs path, size and sha256") from None
        if not _safe_rel(entry.path):
            raise ValueError(f"files[{index}]: path {entry.path!r} escapes the bundle")
        entries[entry.path] = entry
    audit = data.get("audit") or []
    if not isinstance(audit, list) or not all(
        isinstance(a, dict) and _safe_rel(a.get("path")) for a in audit
    ):
        raise ValueError("audit: expected a list of {path, records, head_hash}")
    return entries, audit


def verify_bundle(directory: str | os.PathLike[str]) -> BundleVerdict:
    """Verify a bundle: name every missing, added or changed file and every broken audit record."""
    root = Path(directory)
    try:
        entries, anchors = _load_manifest(root)
    except ValueError as exc:
        problem = BundleProblem(ProblemKind.MANIFEST, MANIFEST_NAME, str(exc))
        return BundleVerdict(str(root), False, 0, (problem,))
    files, odd = _walk(root)
    problems = [BundleProblem(ProblemKind.NOT_REGULAR, rel, "not a regular file") for rel in odd]
    for rel in sorted(set(entries) | set(files)):
        entry, path = entries.get(rel), files.get(rel)
        if path is None:
            problems.append(
                BundleProblem(ProblemKind.MISSING, rel, "listed in the manifest, not in the bundle")
            )
        elif entry is None:
            problems.append(BundleProblem(ProblemKind.ADDED, rel, "in the bundle, not in the manifest"))
        else:
            size, digest = path.stat().st_size, sha256_file(path)
            if size != entry.size or digest != entry.sha256:
                problems.append(
                    BundleProblem(
                        ProblemKind.CHANGED,
                        rel,
                        f"size {size} (manifest {entry.size}), "
                        f"sha256 {digest[:12]}... (manifest {entry.sha256[:12]}...)",
                    )
                )
    for anchor in anchors:
        rel = anchor["path"]
        if rel not in files:
            continue  # already named as missing
        chain = audit_trail.verify(
            files[rel], expected_head=anchor.get("head_hash"), expected_count=anchor.get("records")
        )
        problems.extend(BundleProblem(ProblemKind.AUDIT, rel, str(p)) for p in chain.problems)
    return BundleVerdict(str(root), not problems, len(files), tuple(problems))
