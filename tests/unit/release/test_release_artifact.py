"""Release artifacts: reproducible builds, verified loads, idempotent unpacking, clear refusals."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bedrock_release.release.artifact import (
    ArtifactError,
    ReleaseNotBuiltError,
    build,
    component_versions,
    load,
    tarball_name,
    unpack,
)

COMPONENTS_PY = """
from dataclasses import dataclass

@dataclass(frozen=True)
class ComponentSpec:
    name: str
    version: str

COMPONENTS = (ComponentSpec("MCPRouter", "1.0.0"), ComponentSpec("ComplianceValidator", "1.0.1"))
"""


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    service = root / "src" / "support_service"
    (service / "__pycache__").mkdir(parents=True)
    (service / "__init__.py").write_text('"""svc."""\n')
    (service / "components.py").write_text(COMPONENTS_PY)
    (service / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    (service / "static").mkdir()
    (service / "static" / "page.html").write_text("<p>hi</p>")
    audit = root / "src" / "audit_trail"
    audit.mkdir()
    (audit / "__init__.py").write_text('"""audit."""\n')
    (root / "src" / "other_pkg").mkdir()
    (root / "src" / "other_pkg" / "__init__.py").write_text("")
    return root


def test_component_versions_read_from_the_source(source: Path) -> None:
    assert component_versions(source) == {"MCPRouter": "1.0.0", "ComplianceValidator": "1.0.1"}


def test_component_versions_of_this_repository() -> None:
    versions = component_versions(Path(__file__).parents[3])
    assert len(versions) == 7
    assert "BedrockSupportManager" in versions


def test_build_writes_tarball_and_manifest(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "releases"
    when = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    manifest = build("1.1.0", source, out, built_at=when)
    tarball = out / "1.1.0" / tarball_name("1.1.0")
    assert tarball.name == "support-service-1.1.0.tar.gz"
    assert manifest.sha256 == hashlib.sha256(tarball.read_bytes()).hexdigest()
    stored = json.loads((out / "1.1.0" / "manifest.json").read_text())
    assert stored == {
        "release": "1.1.0",
        "components": {"MCPRouter": "1.0.0", "ComplianceValidator": "1.0.1"},
        "sha256": manifest.sha256,
        "built_at": "2026-11-26T15:00:00Z",
        "source_commit": None,  # not a git checkout
    }
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
        members = tar.getmembers()
    assert names == sorted(names)
    assert "support_service/components.py" in names
    assert "support_service/static/page.html" in names
    assert "audit_trail/__init__.py" in names
    assert not any("__pycache__" in n or n.endswith(".pyc") or n.startswith("other_pkg") for n in names)
    assert {m.mtime for m in members} == {315_532_800}
    assert {(m.uid, m.gid, m.uname) for m in members} == {(0, 0, "")}


def test_build_is_reproducible(source: Path, tmp_path: Path) -> None:
    first = build("1.1.0", source, tmp_path / "a", components={"X": "1"})
    (source / "src" / "support_service" / "__init__.py").touch()  # a new mtime changes nothing
    second = build("1.1.0", source, tmp_path / "b", components={"X": "1"})
    assert first.sha256 == second.sha256


def test_rebuild_same_sources_is_a_no_op_and_other_sources_are_refused(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "releases"
    first = build("1.1.0", source, out, components={"X": "1"})
    assert build("1.1.0", source, out, components={"X": "1"}) == first
    (source / "src" / "audit_trail" / "__init__.py").write_text('"""changed."""\n')
    with pytest.raises(ArtifactError, match="already built from other sources"):
        build("1.1.0", source, out, components={"X": "1"})


def test_build_refuses_bad_input(source: Path, tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="semantic version"):
        build("1.1", source, tmp_path / "out", components={})
    (source / "src" / "audit_trail" / "__init__.py").unlink()
    with pytest.raises(ArtifactError, match="not a Python package"):
        build("1.1.0", source, tmp_path / "out", components={})


def test_build_in_a_git_checkout_records_the_commit(source: Path, tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(source), "-c", "user.name=t", "-c", "user.email=t@t", *args],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "init")
    head = git("rev-parse", "HEAD")
    assert build("1.1.0", source, tmp_path / "a", components={}).source_commit == head
    (source / "src" / "support_service" / "new.py").write_text("x = 1\n")
    assert build("1.1.1", source, tmp_path / "a", components={}).source_commit == f"{head}+dirty"


def test_load_refuses_unbuilt_and_damaged_releases(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "releases"
    build("1.0.0", source, out, components={})
    with pytest.raises(ReleaseNotBuiltError) as info:
        load("1.2.0", out)
    assert "release 1.2.0 is not built" in str(info.value)
    assert "built releases: 1.0.0" in str(info.value)
    with pytest.raises(ArtifactError, match="semantic version"):
        load("latest", out)
    tarball = out / "1.0.0" / tarball_name("1.0.0")
    tarball.write_bytes(tarball.read_bytes() + b"\0")
    with pytest.raises(ArtifactError, match="does not match the manifest"):
        load("1.0.0", out)
    tarball.unlink()
    with pytest.raises(ArtifactError, match="missing"):
        load("1.0.0", out)


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.update(release="9.9.9"), "field release: says 9.9.9"),
        (lambda d: d.pop("sha256"), "field sha256"),
        (lambda d: d.update(components=["a"]), "field components"),
        (lambda d: d.update(components={"a": 1}), "field components"),
        (lambda d: d.update(source_commit=5), "field source_commit"),
    ],
)
def test_load_names_bad_manifest_fields(source: Path, tmp_path: Path, mutate, needle: str) -> None:
    out = tmp_path / "releases"
    build("1.0.0", source, out, components={})
    path = out / "1.0.0" / "manifest.json"
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match=needle):
        load("1.0.0", out)


def test_unpack_is_idempotent_and_replaces_other_contents(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "releases"
    build("1.1.0", source, out, components={})
    dest = tmp_path / "slots" / "green" / "1.1.0"
    assert unpack("1.1.0", dest, releases_dir=out) is True
    assert (dest / "support_service" / "components.py").read_text() == COMPONENTS_PY
    assert unpack("1.1.0", dest, releases_dir=out) is False
    (dest / "stray.txt").write_text("x")
    (dest / ".artifact.json").write_text("{}")  # a damaged marker forces a clean unpack
    assert unpack("1.1.0", dest, releases_dir=out) is True
    assert not (dest / "stray.txt").exists()
    assert not list(dest.parent.glob(".*"))  # no staging or old directories left
    with pytest.raises(ReleaseNotBuiltError):
        unpack("2.0.0", tmp_path / "x", releases_dir=out)
