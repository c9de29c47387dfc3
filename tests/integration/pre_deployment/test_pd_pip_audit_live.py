"""A real pip-audit run, and the evidence reader on exactly what it wrote.

One look-up of one pinned package at the vulnerability service pip-audit uses by default (PyPI);
the whole dependency set is never audited this way here (a look-up per dependency). On this
machine PyPI answers the per-version JSON with 404, so pip-audit reports the package as *skipped*
and still prints "No known vulnerabilities found": the reader must refuse that as not audited.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from bedrock_release.pre_deployment import EvidenceError, read_pip_audit

pytestmark = pytest.mark.integration
PACKAGE = "pyyaml"


def test_the_reader_takes_what_pip_audit_really_writes(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"{PACKAGE}=={metadata.version(PACKAGE)}\n")
    out = tmp_path / "pip-audit.json"
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "pip-audit"),
            *("--no-deps", "--disable-pip", "-r", str(requirements)),
            *("--format", "json", "--output", str(out), "--cache-dir", str(tmp_path / "cache")),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    # 0: nothing found, 1: vulnerabilities found; anything else is pip-audit failing to run at all.
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    written = json.loads(out.read_text())
    (dependency,) = written["dependencies"]
    if "skip_reason" in dependency:
        with pytest.raises(EvidenceError, match="not audited") as info:
            read_pip_audit(out)
        assert info.value.path == str(out)
        assert PACKAGE in info.value.problem
        assert dependency["skip_reason"] in info.value.problem
    else:
        result = read_pip_audit(out)
        assert result.dependencies == ((PACKAGE, metadata.version(PACKAGE)),)
        assert result.critical == len(dependency["vulns"])
        assert (proc.returncode == 1) == bool(dependency["vulns"])
