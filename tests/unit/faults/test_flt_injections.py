"""drill_injectors and the journal bookkeeping of drills: what was set is cleared, exactly once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import psutil
import pytest

from bedrock_release.pipeline import drill_injectors, drills
from bedrock_release.pipeline.journal import Journal, read_state
from sandbox.paths import SandboxPaths
from sandbox.secrets_file import load_or_create_secrets


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _status(pid: int) -> str:
    """The process state now: the injector returns only once the kernel shows the change."""
    return str(psutil.Process(pid).status())


def test_a_frozen_program_is_stopped_and_resumed_by_its_pid(
    sleeper: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(drill_injectors, "_program_pid", lambda _targets, _program: sleeper.pid)
    facts = drill_injectors.apply("program_freeze", {"program": "moto"}, drill_injectors.SandboxTargets())
    assert facts == {"target": "process", "program": "moto", "how": "frozen", "pid": sleeper.pid}
    # apply reports a freeze only once the kernel shows it (a signal to a process on another CPU
    # arrives asynchronously: checking at once flaked in a CI rehearsal)
    assert _status(sleeper.pid) == psutil.STATUS_STOPPED
    cleared = drill_injectors.clear("program_freeze", facts, drill_injectors.SandboxTargets())
    assert cleared["cleared"] == "resumed"
    assert _status(sleeper.pid) != psutil.STATUS_STOPPED


def test_a_program_that_does_not_stop_is_a_drill_error(
    sleeper: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(drill_injectors, "_program_pid", lambda _targets, _program: sleeper.pid)
    monkeypatch.setattr(drill_injectors.os, "kill", lambda _pid, _sig: None)  # the signal is lost
    wait = drill_injectors._wait_stopped
    monkeypatch.setattr(drill_injectors, "_wait_stopped", partial(wait, timeout_s=0.2))
    with pytest.raises(drills.DrillError, match=rf"moto \(pid {sleeper.pid}\) did not stop after SIGSTOP"):
        drill_injectors.apply("program_freeze", {"program": "moto"}, drill_injectors.SandboxTargets())


def test_clearing_a_frozen_program_that_is_gone_is_not_an_error() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    cleared = drill_injectors.clear(
        "program_freeze", {"pid": proc.pid, "program": "moto"}, drill_injectors.SandboxTargets()
    )
    assert cleared["cleared"] == "process gone"


def test_a_process_fault_without_the_sandbox_folder_is_named() -> None:
    with pytest.raises(drills.DrillError, match="runtime folder"):
        drill_injectors.apply("program_stop", {"program": "mcp-server"}, drill_injectors.SandboxTargets())


def test_an_unreachable_admin_api_is_named() -> None:
    targets = drill_injectors.SandboxTargets(caddy_admin_url="http://127.0.0.1:9")
    with pytest.raises(drills.DrillError, match=r"GET http://127\.0\.0\.1:9/config/admin"):
        drill_injectors.apply("caddy_admin_refuses", {}, targets)


def test_inject_journals_the_facts_and_clear_injected_clears_each_once(
    tmp_path: Path, sleeper: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(drill_injectors, "_program_pid", lambda _targets, _program: sleeper.pid)
    run_dir = tmp_path / "run"
    Journal(run_dir / "audit.jsonl").record("phase_started", {"phase": 5, "name": "Feature Flag Activation"})
    drill = drills.drill("flag-store-unreachable")
    targets = drills.SandboxTargets()
    assert drills.inject(drill, phase=4, at="phase", targets=targets, run_dir=run_dir) is None
    data = drills.inject(drill, phase=5, at="phase", targets=targets, run_dir=run_dir)
    assert data is not None
    assert data["kind"] == "program_freeze"
    assert len(drills.pending_injections(read_state(run_dir).drill, drill.name)) == 1
    cleared = drills.clear_injected(drill, phase=5, targets=targets, run_dir=run_dir)
    assert [c["injection"] for c in cleared] == [0]
    assert drills.clear_injected(drill, phase=7, targets=targets, run_dir=run_dir) == []
    assert drills.pending_injections(read_state(run_dir).drill, drill.name) == []
    assert _status(sleeper.pid) != psutil.STATUS_STOPPED


def test_the_rollback_fault_is_set_only_at_the_rollback(
    tmp_path: Path, sleeper: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(drill_injectors, "_program_pid", lambda _targets, _program: sleeper.pid)
    drill = drills.drill("rollback-fault")
    targets = drills.SandboxTargets()
    assert (
        drills.inject(drill, phase=2, at="phase", targets=targets, run_dir=tmp_path) is None
    )  # a release defect
    data = drills.inject(drill, phase=2, at="rollback", targets=targets, run_dir=tmp_path)
    assert data is not None
    assert data["at"] == "rollback"
    assert _status(sleeper.pid) == psutil.STATUS_STOPPED
    drills.clear_injected(drill, phase=2, targets=targets, run_dir=tmp_path)
    assert _status(sleeper.pid) != psutil.STATUS_STOPPED
    with pytest.raises(drills.DrillError, match="no fault that strikes the rollback"):
        drills.apply_environment(
            drills.drill("mcp-down"), emulator_url="", mcp_admin_url="", token="", at="rollback"
        )


def test_older_emulator_records_without_a_kind_clear_by_rule_id() -> None:
    records = [
        {"name": "latency-breach", "event": "injected", "phase": 3, "target": "emulator", "added": ["r1"]},
    ]
    assert drills.pending_injections(records, "latency-breach") == []  # pre-catalogue records carry no kind


def test_the_drill_token_is_read_from_the_sandbox_secrets_file_never_passed_in(tmp_path: Path) -> None:
    runtime = tmp_path / "sandbox"
    runtime.mkdir()
    assert drills.sandbox_admin_token(runtime) == "", "no secrets file yet"
    assert drills.sandbox_admin_token(None) == ""
    secrets, created = load_or_create_secrets(SandboxPaths.of(runtime).secrets)
    assert created
    assert drills.sandbox_admin_token(runtime) == secrets.emulator_admin_token != ""


def test_no_drill_task_passes_a_token_in_its_environment() -> None:
    tasks = (Path(__file__).resolve().parents[3] / "roles" / "drill" / "tasks").glob("*.yml")
    for path in tasks:
        text = path.read_text()
        assert "EMULATOR_ADMIN_TOKEN" not in text, path
        assert "environment:" not in text, path
