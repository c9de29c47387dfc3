"""playbooks/sandbox.yml for real: started twice (second run changes nothing), stopped twice."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sbx_live import processes_using

from sandbox import control
from sandbox.settings import PORT_FIELDS, REPO_ROOT, SandboxSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Role variable of each settings field that holds a port.
_ROLE_PORT_VARS = {field: f"sandbox_{field}" for field in PORT_FIELDS.values()}


def _play(extra_vars: dict[str, object], *args: str) -> tuple[int, str]:
    completed = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "playbooks/sandbox.yml",
            "-e",
            json.dumps(extra_vars),
            *args,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return completed.returncode, completed.stdout + completed.stderr


def _changed(output: str) -> int:
    match = re.search(r"localhost\s+:\s+ok=\d+\s+changed=(\d+)", output)
    assert match, output
    return int(match.group(1))


def test_playbook_starts_idempotently_and_stops(own_settings: SandboxSettings) -> None:
    extra: dict[str, object] = {"sandbox_runtime_dir": str(own_settings.runtime_dir)}
    extra |= {_ROLE_PORT_VARS[field]: getattr(own_settings, field) for field in PORT_FIELDS.values()}
    try:
        code, output = _play(extra)
        assert code == 0, output
        assert _changed(output) == 1
        assert control.status(own_settings).healthy is True

        code, output = _play(extra)
        assert code == 0, output
        assert _changed(output) == 0

        stop = extra | {"sandbox_state": "stopped"}
        code, output = _play(stop)
        assert code == 0, output
        assert _changed(output) == 1
        assert processes_using(own_settings.runtime_dir) == []

        code, output = _play(stop)
        assert code == 0, output
        assert _changed(output) == 0
    finally:
        control.down(own_settings)


def test_playbook_refuses_bad_inputs_before_starting_anything(own_settings: SandboxSettings) -> None:
    code, output = _play({"sandbox_runtime_dir": str(own_settings.runtime_dir), "sandbox_moto_port": 80})
    assert code != 0
    assert "1024-65535" in output
    code, output = _play({"sandbox_state": "paused"})
    assert code != 0
    assert "started" in output
    assert not own_settings.runtime_dir.exists()
