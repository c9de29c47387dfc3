"""Release folders for the slots: unpack a built artifact into runs/sandbox/slots/<slot>/<release>/."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tarfile
import tempfile
from pathlib import Path

from .errors import SandboxError

__all__ = ["RELEASE_PATTERN", "ReleaseError", "artifact_path", "find_package_root", "install_release"]

RELEASE_PATTERN = re.compile(r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")


class ReleaseError(SandboxError):
    """A release cannot be installed on a slot."""


def artifact_path(releases_dir: Path, release: str) -> Path:
    """Where the pipeline builds the artifact of a release (docs/contracts.md)."""
    return releases_dir / release / f"support-service-{release}.tar.gz"


def find_package_root(folder: Path, package: str) -> Path | None:
    """The folder to put on PYTHONPATH so `package` imports: folder itself or one level down."""
    top = package.split(".", 1)[0]
    candidates = [folder, *sorted(p for p in folder.iterdir() if p.is_dir())] if folder.is_dir() else []
    for candidate in candidates:
        if (candidate / top / "__init__.py").is_file() or (candidate / f"{top}.py").is_file():
            return candidate
    return None


def _verify(artifact: Path) -> None:
    manifest = artifact.parent / "manifest.json"
    if not manifest.exists():
        return
    expected = json.loads(manifest.read_text(encoding="utf-8")).get("sha256")
    actual = hashlib.sha256(artifact.read_bytes()).hexdigest()
    if expected and expected != actual:
        raise ReleaseError(f"{artifact} has sha256 {actual}, but {manifest} says {expected}")


def install_release(
    slots_dir: Path, releases_dir: Path, slot: str, release: str, package: str
) -> Path | None:
    """Unpack the release for a slot (once) and return its PYTHONPATH folder; None if not built."""
    if not RELEASE_PATTERN.match(release):
        raise ReleaseError(f"release {release!r} is not a semantic version")
    target = slots_dir / slot / release
    installed = find_package_root(target, package)
    if installed is not None:
        return installed
    artifact = artifact_path(releases_dir, release)
    if not artifact.exists():
        return None
    _verify(artifact)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Unpacked beside the target, then renamed: a slot never sees a half-extracted release.
    staging = Path(tempfile.mkdtemp(prefix=f".{release}-", dir=target.parent))
    try:
        with tarfile.open(artifact) as archive:
            archive.extractall(staging, filter="data")  # "data" refuses absolute paths and escapes
        if find_package_root(staging, package) is None:
            raise ReleaseError(f"{artifact} contains no {package!r} package")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return find_package_root(target, package)
