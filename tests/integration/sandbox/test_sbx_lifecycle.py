"""Start/stop cycles of their own sandboxes: down leaves nothing, secrets persist, failures are named."""

from __future__ import annotations

import socket

import pytest
from sbx_live import STANDIN, alive, processes_using, supervisord_tree

from sandbox import control
from sandbox.cli import EXIT_ERROR, EXIT_NOT_RUNNING, main
from sandbox.errors import PortInUseError
from sandbox.paths import SandboxPaths
from sandbox.readiness import PartNotReadyError
from sandbox.secrets_file import read_secrets
from sandbox.settings import PORT_FIELDS, SandboxSettings

pytestmark = pytest.mark.integration


def test_up_down_up_keeps_secrets_and_down_leaves_no_process(own_settings: SandboxSettings) -> None:
    settings = own_settings.model_copy(update={"baseline_dir": STANDIN, "slot_module": "standin_service"})
    first = control.up(settings)
    assert first.changed is True
    paths = SandboxPaths.of(settings.runtime_dir)
    tokens = read_secrets(paths.secrets)
    tree = supervisord_tree(settings.runtime_dir)
    assert len(tree) == 7  # supervisord and its six programs

    stopped = control.down(settings)
    assert stopped.changed is True
    assert stopped.killed == ()
    assert not any(alive(process) for process in tree)
    assert processes_using(settings.runtime_dir) == []
    assert main(["status", "--runtime-dir", str(settings.runtime_dir)]) == EXIT_NOT_RUNNING
    assert control.down(settings).changed is False

    again = control.up(settings)
    assert again.changed is True
    assert read_secrets(paths.secrets) == tokens

    # supervisord killed outright leaves its programs behind; down still finds and ends them.
    supervisord, *programs = supervisord_tree(settings.runtime_dir)
    supervisord.kill()
    supervisord.wait(timeout=10)
    assert all(alive(process) for process in programs)
    cleaned = control.down(settings)
    assert cleaned.changed is True
    assert len(cleaned.stopped) == len(programs)
    assert not any(alive(process) for process in programs)


def test_a_taken_port_is_named_before_anything_starts(own_settings: SandboxSettings) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", own_settings.emulator_port))
        squatter.listen()
        with pytest.raises(PortInUseError, match=rf"bedrock-emulator \({own_settings.emulator_port}\)"):
            control.up(own_settings)
    assert supervisord_tree(own_settings.runtime_dir) == []


def test_a_part_that_cannot_start_is_named_with_its_log_and_nothing_is_left(
    own_settings: SandboxSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = own_settings.model_copy(
        update={"baseline_dir": STANDIN, "slot_module": "standin_service.missing", "start_timeout_s": 30}
    )
    # find_package_root accepts the folder (standin_service exists), but the module does not.
    with pytest.raises(PartNotReadyError) as raised:
        control.up(broken)
    assert raised.value.part in {"slot-blue", "slot-green"}
    assert "standin_service.missing" in raised.value.tail
    assert processes_using(broken.runtime_dir) == []
    code = main(
        [
            "up",
            "--runtime-dir",
            str(broken.runtime_dir),
            "--slot-module",
            "standin_service.missing",
            "--baseline-dir",
            str(STANDIN),
            "--start-timeout-s",
            "30",
            *(f"--{name.replace('_', '-')}={port}" for name, port in _port_fields(broken).items()),
        ]
    )
    assert code == EXIT_ERROR
    assert "did not come up" in capsys.readouterr().err


def _port_fields(settings: SandboxSettings) -> dict[str, int]:
    return {field: getattr(settings, field) for field in PORT_FIELDS.values()}
