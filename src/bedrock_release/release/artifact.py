"""Release artifacts: a reproducible tarball of the service and its manifest, loaded only when intact."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bedrock_release.inventory_validation import InvalidValueError, release_version

__all__ = [
    "PACKAGES",
    "Artifact",
    "ArtifactError",
    "ArtifactManifest",
    "ReleaseNotBuiltError",
    "build",
    "component_versions",
    "load",
    "tarball_name",
    "unpack",
]

#: The packages a slot runs (docs/contracts.md "Release artifacts").
PACKAGES = ("support_service", "audit_trail")
# 1980-01-01 (the earliest time zip accepts) on every entry, so equal sources give equal bytes.
_FIXED_MTIME = 315_532_800
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = (".pyc", ".pyo")
_MARKER = ".artifact.json"


class ArtifactError(ValueError):
    """A release artifact that is damaged, inconsistent or cannot be built; the message says which."""


class ReleaseNotBuiltError(ArtifactError):
    """The release was never built here: it cannot be deployed."""


def tarball_name(release: str) -> str:
    """Return the artifact's file name for a release."""
    return f"support-service-{release}.tar.gz"


@dataclass(frozen=True)
class ArtifactManifest:
    """``manifest.json`` of a built release."""

    release: str
    components: Mapping[str, str]
    sha256: str
    built_at: str
    source_commit: str | None

    def to_dict(self) -> dict[str, Any]:
        """Return the contract's manifest shape."""
        return {
            "release": self.release,
            "components": dict(self.components),
            "sha256": self.sha256,
            "built_at": self.built_at,
            "source_commit": self.source_commit,
        }

    @classmethod
    def from_dict(cls, data: Any, source: str) -> ArtifactManifest:
        """Validate a manifest; raise ArtifactError naming the file and field."""
        if not isinstance(data, dict):
            raise ArtifactError(f"{source}: expected a JSON object")
        for key, kind in (("release", str), ("components", dict), ("sha256", str), ("built_at", str)):
            if not isinstance(data.get(key), kind):
                raise ArtifactError(f"{source}: field {key}: expected {kind.__name__}, got {data.get(key)!r}")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in data["components"].items()):
            raise ArtifactError(f"{source}: field components: expected {{name: version}} strings")
        if data.get("source_commit") is not None and not isinstance(data["source_commit"], str):
            raise ArtifactError(f"{source}: field source_commit: expected a string or null")
        return cls(
            data["release"], data["components"], data["sha256"], data["built_at"], data.get("source_commit")
        )


@dataclass(frozen=True)
class Artifact:
    """A verified artifact: its manifest and tarball path."""

    manifest: ArtifactManifest
    tarball: Path


def _checked_release(release: str) -> str:
    try:
        return release_version(release, "release")
    except InvalidValueError as exc:
        raise ArtifactError(str(exc)) from None


def component_versions(source_root: str | os.PathLike[str]) -> dict[str, str]:
    """Return {component: version} as the service in source_root declares them (its components registry)."""
    src = Path(source_root) / "src"
    code = (
        "import json; from support_service.components import COMPONENTS; "
        "print(json.dumps({c.name: c.version for c in COMPONENTS}))"
    )
    # A child process imports the source being packaged, not whatever version is installed here.
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=src,
        check=False,
        timeout=60,
    )
    if proc.returncode != 0:
        raise ArtifactError(
            f"cannot read component versions from {src}/support_service: {proc.stderr.strip()}"
        )
    return json.loads(proc.stdout)


def _entries(src: Path) -> list[tuple[str, Path]]:
    out = []
    for package in PACKAGES:
        root = src / package
        if not (root / "__init__.py").is_file():
            raise ArtifactError(f"{root}: not a Python package (no __init__.py)")
        out.append((package, root))
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
            base = Path(dirpath)
            for name in dirnames:
                out.append(((base / name).relative_to(src).as_posix(), base / name))
            for name in sorted(filenames):
                path = base / name
                if name.endswith(_SKIP_SUFFIXES):
                    continue
                if path.is_symlink() or not path.is_file():
                    raise ArtifactError(f"{path}: not a regular file; refusing to package it")
                out.append((path.relative_to(src).as_posix(), path))
    return sorted(out)


def _tarball_bytes(src: Path) -> bytes:
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar,
    ):
        for arcname, path in _entries(src):
            info = tarfile.TarInfo(arcname)
            info.mtime, info.uid, info.gid, info.uname, info.gname = _FIXED_MTIME, 0, 0, "", ""
            if path.is_dir():
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                data = path.read_bytes()
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _source_commit(source_root: Path) -> str | None:
    def git(*args: str) -> str | None:
        proc = subprocess.run(  # noqa: S603 - fixed argv
            ["git", "-C", str(source_root), *args],  # noqa: S607 - git from PATH, like any developer tool
            capture_output=True,
            text=True,
            check=False,
        )
        return proc.stdout.strip() if proc.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None
    dirty = git("status", "--porcelain", "--", *(f"src/{p}" for p in PACKAGES))
    # Say so when the artifact holds uncommitted code: the commit alone would not reproduce it.
    return f"{commit}+dirty" if dirty else commit


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def build(
    release: str,
    source_root: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    components: Mapping[str, str] | None = None,
    built_at: datetime | None = None,
) -> ArtifactManifest:
    """Build ``<out_dir>/<release>/`` (tarball + manifest.json); rebuilding identical sources is a no-op.

    ``components`` defaults to the versions the service in source_root declares. A release that
    exists with different contents is refused: a version names exactly one artifact.
    """
    release = _checked_release(release)
    root = Path(source_root)
    data = _tarball_bytes(root / "src")
    digest = hashlib.sha256(data).hexdigest()
    target = Path(out_dir) / release
    manifest_path = target / "manifest.json"
    if manifest_path.exists():
        existing = load(release, out_dir)
        if existing.manifest.sha256 == digest:
            return existing.manifest
        raise ArtifactError(
            f"release {release} is already built from other sources "
            f"(sha256 {existing.manifest.sha256[:12]}..., now {digest[:12]}...): "
            f"a version names one artifact; bump the version or remove {target}"
        )
    manifest = ArtifactManifest(
        release=release,
        components=dict(components) if components is not None else component_versions(root),
        sha256=digest,
        built_at=(built_at or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z"),
        source_commit=_source_commit(root),
    )
    target.mkdir(parents=True, exist_ok=True)
    _write_atomic(target / tarball_name(release), data)
    # The manifest goes last: its presence means the artifact is complete.
    _write_atomic(manifest_path, (json.dumps(manifest.to_dict(), indent=2) + "\n").encode())
    return manifest


def load(release: str, releases_dir: str | os.PathLike[str]) -> Artifact:
    """Return a built release after checking its manifest and tarball checksum."""
    release = _checked_release(release)
    target = Path(releases_dir) / release
    manifest_path = target / "manifest.json"
    if not manifest_path.exists():
        built = ", ".join(sorted(p.parent.name for p in Path(releases_dir).glob("*/manifest.json"))) or "none"
        raise ReleaseNotBuiltError(
            f"release {release} is not built: no {manifest_path}; built releases: {built}; "
            f"build it with `bedrock-release build --release {release}`"
        )
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{manifest_path}: unreadable: {exc}") from None
    manifest = ArtifactManifest.from_dict(data, str(manifest_path))
    if manifest.release != release:
        raise ArtifactError(f"{manifest_path}: field release: says {manifest.release}, expected {release}")
    tarball = target / tarball_name(release)
    if not tarball.is_file():
        raise ArtifactError(f"{tarball}: missing (the manifest exists)")
    actual = hashlib.sha256(tarball.read_bytes()).hexdigest()
    if actual != manifest.sha256:
        raise ArtifactError(f"{tarball}: sha256 {actual} does not match the manifest's {manifest.sha256}")
    return Artifact(manifest, tarball)


def unpack(release: str, dest: str | os.PathLike[str], *, releases_dir: str | os.PathLike[str]) -> bool:
    """Unpack a verified release into dest; return False when dest already holds exactly that artifact."""
    artifact = load(release, releases_dir)
    dest = Path(dest)
    marker = dest / _MARKER
    try:
        if json.loads(marker.read_text(encoding="utf-8")).get("sha256") == artifact.manifest.sha256:
            return False
    except (OSError, ValueError, AttributeError):
        pass  # absent or damaged marker: unpack afresh
    staging = dest.with_name(f".{dest.name}.unpacking")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(artifact.tarball, "r:gz") as tar:
        tar.extractall(staging, filter="data")  # "data" refuses absolute paths, .. and special files
    (staging / _MARKER).write_text(json.dumps(artifact.manifest.to_dict(), indent=2) + "\n", encoding="utf-8")
    old = dest.with_name(f".{dest.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        os.replace(dest, old)
    os.replace(staging, dest)
    shutil.rmtree(old, ignore_errors=True)
    return True
