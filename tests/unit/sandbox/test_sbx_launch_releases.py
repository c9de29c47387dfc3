"""The program launcher and release installation."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from sandbox.launch import ProgramSpec, main, spec_digest, write_spec
from sandbox.releases import ReleaseError, find_package_root, install_release
from sandbox.secrets_file import load_or_create_secrets


def test_launcher_execs_with_exactly_the_spec_environment_and_named_secrets(tmp_path: Path) -> None:
    secrets, _ = load_or_create_secrets(tmp_path / "secrets.env")
    out = tmp_path / "env.json"
    code = f"import json, os; json.dump(dict(os.environ), open({str(out)!r}, 'w'))"
    spec = ProgramSpec(
        argv=(sys.executable, "-c", code),
        env={"ONLY": "this", "JSONISH": '{"a": "b, c", "p": "50%"}'},
        cwd=str(tmp_path),
        secrets=("SUPPORT_ADMIN_TOKEN",),
        secrets_file=str(tmp_path / "secrets.env"),
    )
    digest = write_spec(tmp_path / "p.json", spec)
    src = Path(__file__).resolve().parents[3] / "src"
    launcher = [sys.executable, "-m", "sandbox.launch", str(tmp_path / "p.json"), "--digest", digest]
    subprocess.run(launcher, check=True, env={"PYTHONPATH": str(src), "LEAK": "no"}, timeout=30)
    env = json.loads(out.read_text())
    env.pop("LC_CTYPE", None)  # Python may add it when coercing the C locale
    assert env == {
        "ONLY": "this",
        "JSONISH": '{"a": "b, c", "p": "50%"}',
        "SUPPORT_ADMIN_TOKEN": secrets.support_admin_token,
    }


def test_launcher_refuses_a_spec_that_changed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = ProgramSpec(argv=("/bin/true",), env={}, cwd=str(tmp_path))
    write_spec(tmp_path / "p.json", spec)
    assert main([str(tmp_path / "p.json"), "--digest", "0" * 16]) == 2
    assert "changed since" in capsys.readouterr().err


def test_spec_round_trip_and_digest_is_content_based(tmp_path: Path) -> None:
    spec = ProgramSpec(argv=("a", "b"), env={"K": "V"}, cwd="/", meta={"slot": "blue"})
    assert ProgramSpec.from_json(spec.to_json()) == spec
    assert spec_digest(spec.to_json()) == write_spec(tmp_path / "s.json", spec)
    other = ProgramSpec(argv=("a", "b"), env={"K": "W"}, cwd="/")
    assert spec_digest(other.to_json()) != spec_digest(spec.to_json())


def _artifact(
    releases: Path, release: str, members: dict[str, bytes], manifest_sha: str | None = None
) -> Path:
    folder = releases / release
    folder.mkdir(parents=True)
    path = folder / f"support-service-{release}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    digest = manifest_sha or hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps({"release": release, "sha256": digest}))
    return path


def test_install_release_unpacks_once_and_returns_the_pythonpath(tmp_path: Path) -> None:
    _artifact(
        tmp_path / "releases", "1.1.0", {"support_service/__init__.py": b"", "audit_trail/__init__.py": b""}
    )
    root = install_release(tmp_path / "slots", tmp_path / "releases", "green", "1.1.0", "support_service")
    assert root == tmp_path / "slots" / "green" / "1.1.0"
    assert (root / "audit_trail" / "__init__.py").exists()
    again = install_release(tmp_path / "slots", tmp_path / "releases", "green", "1.1.0", "support_service")
    assert again == root


def test_install_release_finds_a_package_one_level_down(tmp_path: Path) -> None:
    _artifact(tmp_path / "releases", "1.1.0", {"support-service-1.1.0/support_service/__init__.py": b""})
    root = install_release(tmp_path / "slots", tmp_path / "releases", "blue", "1.1.0", "support_service")
    assert root == tmp_path / "slots" / "blue" / "1.1.0" / "support-service-1.1.0"


def test_unbuilt_release_is_none_and_bad_ones_are_refused(tmp_path: Path) -> None:
    releases, slots = tmp_path / "releases", tmp_path / "slots"
    assert install_release(slots, releases, "blue", "9.9.9", "support_service") is None
    with pytest.raises(ReleaseError, match="semantic version"):
        install_release(slots, releases, "blue", "../../etc", "support_service")
    _artifact(releases, "1.2.0", {"support_service/__init__.py": b""}, manifest_sha="0" * 64)
    with pytest.raises(ReleaseError, match="sha256"):
        install_release(slots, releases, "blue", "1.2.0", "support_service")
    _artifact(releases, "1.3.0", {"something_else/__init__.py": b""})
    with pytest.raises(ReleaseError, match="no 'support_service'"):
        install_release(slots, releases, "blue", "1.3.0", "support_service")
    assert not (slots / "blue" / "1.3.0").exists()


def test_archive_escaping_its_folder_is_refused(tmp_path: Path) -> None:
    _artifact(tmp_path / "releases", "1.4.0", {"../evil.py": b"", "support_service/__init__.py": b""})
    with pytest.raises(tarfile.OutsideDestinationError):
        install_release(tmp_path / "slots", tmp_path / "releases", "blue", "1.4.0", "support_service")
    assert not (tmp_path / "slots" / "evil.py").exists()


def test_find_package_root_none_for_missing_folder(tmp_path: Path) -> None:
    assert find_package_root(tmp_path / "absent", "support_service") is None
