"""Sandbox control: up, down, status and switching a slot's release (the API behind the CLI)."""

from __future__ import annotations

import errno
import http.client
import json
import os
import socket
import stat
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from ._loopback import LOOPBACK
from .caddy_config import WEIGHTS_PATH, caddy_config
from .errors import PortInUseError, SandboxConflictError, SandboxError, SandboxNotRunningError
from .launch import write_spec
from .lock import control_lock
from .paths import SandboxPaths
from .procs import orphans, terminate, track, wait_gone
from .programs import SlotRelease, base_env, program_specs
from .readiness import probe, wait_ready
from .releases import RELEASE_PATTERN, ReleaseError, artifact_path, find_package_root, install_release
from .results import DownResult, PartStatus, SandboxStatus, SlotSwitch, UpResult
from .secrets_file import load_or_create_secrets
from .seed import seed_moto
from .settings import PROGRAMS, REPO_ROOT, SLOTS, SandboxSettings
from .state import SandboxState, load_state, save_state
from .supervisor_config import supervisord_conf
from .supervisor_rpc import Supervisor, launch_supervisord

__all__ = [
    "DownResult",
    "PartStatus",
    "SandboxStatus",
    "SlotSwitch",
    "UpResult",
    "down",
    "set_slot_release",
    "status",
    "up",
]

_STOP_TIMEOUT_S = 30.0


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe_socket:
        # SO_REUSEADDR as the servers use it: TIME_WAIT leftovers do not count as taken.
        probe_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe_socket.bind((LOOPBACK, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def _check_ports_free(settings: SandboxSettings) -> None:
    taken = [f"{part} ({port})" for part, port in settings.ports().items() if not _port_free(port)]
    if taken:
        raise PortInUseError(
            f"ports already in use on {LOOPBACK}: {', '.join(taken)}; free them or choose other ports"
        )


# The baseline is the system already in production: it boots with every component active,
# while a new release is activated component by component by the rollout.
_BASELINE_ENV = {"SUPPORT_AUTO_ACTIVATE": "true"}


def _baseline_slot(
    settings: SandboxSettings, paths: SandboxPaths, slot: str, warnings: list[str]
) -> SlotRelease:
    release = settings.baseline_release
    if settings.baseline_dir is not None:
        explicit = find_package_root(settings.baseline_dir, settings.slot_module)
        if explicit is None:
            raise ReleaseError(
                f"baseline_dir {settings.baseline_dir} has no {settings.slot_module!r} package"
            )
        return SlotRelease(slot, release, explicit, "explicit", _BASELINE_ENV)
    root = install_release(paths.slots, settings.releases_dir, slot, release, settings.slot_module)
    if root is not None:
        return SlotRelease(slot, release, root, "artifact", _BASELINE_ENV)
    # Until the pipeline builds artifacts, the slots run the working tree under the baseline's label.
    warnings.append(
        f"no artifact {artifact_path(settings.releases_dir, release)}: slot {slot} runs the source tree "
        f"{REPO_ROOT / 'src'} labelled {release}"
    )
    return SlotRelease(slot, release, REPO_ROOT / "src", "source-tree", _BASELINE_ENV)


def _write_programs(state: SandboxState, paths: SandboxPaths) -> None:
    specs = program_specs(state.settings, state.slots)
    digests = {name: write_spec(paths.program_spec(name), specs[name]) for name in PROGRAMS}
    conf = paths.supervisord_conf
    conf.write_text(supervisord_conf(state.settings, digests), encoding="utf-8")
    conf.chmod(0o600)


def _prepare(paths: SandboxPaths) -> None:
    for folder in (
        paths.root,
        paths.logs,
        paths.programs,
        paths.slots,
        paths.audit,
        paths.home,
        paths.caddy_home,
    ):
        folder.mkdir(parents=True, exist_ok=True)
    _private_socket_dir(paths.socket.parent)


def _private_socket_dir(folder: Path) -> None:
    """The socket's folder exists, is the user's own and nobody else's (0700), or the start is refused."""
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise SandboxConflictError(
            f"socket folder {folder} must be a directory of uid {os.getuid()} with mode 0700, "
            f"found uid {info.st_uid} mode {stat.filemode(info.st_mode)}; remove it and start again"
        )


def _slot_releases(state: SandboxState) -> dict[str, str]:
    return {f"slot-{name}": slot.release for name, slot in state.slots.items()}


def _slots_view(state: SandboxState) -> dict[str, dict[str, object]]:
    return {name: slot.to_dict() for name, slot in state.slots.items()}


def up(settings: SandboxSettings | None = None) -> UpResult:
    """Start the sandbox, or make sure the running one is complete; idempotent."""
    settings = settings or SandboxSettings()
    started_at = time.monotonic()
    paths = SandboxPaths.of(settings.runtime_dir)
    supervisor = Supervisor(paths.socket)
    with control_lock(paths):
        if supervisor.alive():
            return _warm_up(settings, paths, supervisor, started_at)
        return _cold_up(settings, paths, supervisor, started_at)


def _warm_up(
    settings: SandboxSettings, paths: SandboxPaths, supervisor: Supervisor, started_at: float
) -> UpResult:
    state = load_state(paths.state)
    if state is None:
        raise SandboxConflictError(
            f"supervisord answers on {paths.socket} but {paths.state} is missing; run down"
        )
    if state.settings.ports() != settings.ports():
        raise SandboxConflictError(
            f"the sandbox in {paths.root} already runs with ports {state.settings.ports()}; "
            "run `python -m sandbox down` before starting it with other ports"
        )
    restarted = tuple(sorted(name for name, info in supervisor.processes().items() if info.down))
    for name in restarted:
        supervisor.start(name)
    wait_ready(state.settings, supervisor, PROGRAMS, state.settings.start_timeout_s, _slot_releases(state))
    # moto keeps state in memory only: a restarted moto must be seeded again.
    seeded = seed_moto(state.settings) if "moto" in restarted else None
    return UpResult(
        changed=bool(restarted),
        already_running=not restarted,
        started=restarted,
        duration_s=round(time.monotonic() - started_at, 3),
        endpoints=state.settings.endpoints(),
        slots=_slots_view(state),
        seeded=seeded,
    )


def _cold_up(
    settings: SandboxSettings, paths: SandboxPaths, supervisor: Supervisor, started_at: float
) -> UpResult:
    _check_ports_free(settings)
    _prepare(paths)
    load_or_create_secrets(paths.secrets)
    warnings: list[str] = []
    state = SandboxState(settings, {slot: _baseline_slot(settings, paths, slot, warnings) for slot in SLOTS})
    paths.caddy_json.write_text(json.dumps(caddy_config(settings), indent=2), encoding="utf-8")
    # A cold start begins from caddy.json (ports may differ); only restarts resume the autosave.
    (paths.caddy_home / "config" / "caddy" / "autosave.json").unlink(missing_ok=True)
    _write_programs(state, paths)
    save_state(paths.state, state)
    try:
        launch_supervisord(
            settings.python,
            paths.supervisord_conf,
            base_env(settings),
            paths.socket,
            settings.start_timeout_s,
        )
        ready = wait_ready(settings, supervisor, PROGRAMS, settings.start_timeout_s, _slot_releases(state))
        seeded = seed_moto(settings)
    except BaseException:
        # A half-started sandbox is worse than none: stop what came up; the logs stay for diagnosis.
        if supervisor.alive():
            _stop(supervisor, started_at)
        raise
    return UpResult(
        changed=True,
        already_running=False,
        started=PROGRAMS,
        duration_s=round(time.monotonic() - started_at, 3),
        endpoints=settings.endpoints(),
        slots=_slots_view(state),
        seeded=seeded,
        warnings=tuple(warnings),
        ready_after_s={part: result.after_s for part, result in ready.items()},
    )


def _stop(supervisor: Supervisor, started_at: float) -> DownResult:
    programs = supervisor.processes()
    tracked = track([supervisor.pid(), *(info.pid for info in programs.values())])
    supervisor.stop_all()
    supervisor.shutdown()
    # Past the grace period a process that ignores TERM is killed: nothing may outlive `down`.
    killed = wait_gone(tracked, _STOP_TIMEOUT_S)
    return DownResult(
        changed=True,
        stopped=tuple(sorted(name for name, info in programs.items() if info.pid)),
        killed=killed,
        duration_s=round(time.monotonic() - started_at, 3),
    )


def down(settings: SandboxSettings | None = None) -> DownResult:
    """Stop every sandbox process; idempotent (nothing running is not an error)."""
    settings = settings or SandboxSettings()
    started_at = time.monotonic()
    paths = SandboxPaths.of(settings.runtime_dir)
    if not paths.root.exists():
        return DownResult(changed=False, stopped=(), killed=(), duration_s=0.0)
    with control_lock(paths):
        supervisor = Supervisor(paths.socket)
        if supervisor.alive():
            return _stop(supervisor, started_at)
        # supervisord died (kill -9, OOM) and left its programs behind: they still hold the ports.
        leftovers = orphans(paths.home)
        names = tuple(sorted(f"pid {process.pid}" for process in leftovers))
        killed = terminate(leftovers, _STOP_TIMEOUT_S)
        return DownResult(
            changed=bool(leftovers),
            stopped=names,
            killed=killed,
            duration_s=round(time.monotonic() - started_at, 3),
        )


def _weights(settings: SandboxSettings) -> dict[str, int] | None:
    connection = http.client.HTTPConnection(LOOPBACK, settings.caddy_admin_port, timeout=2)
    try:
        connection.request("GET", WEIGHTS_PATH)
        response = connection.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()
    if response.status != 200:
        return None
    return dict(zip(SLOTS, json.loads(body), strict=False))


def status(settings: SandboxSettings | None = None) -> SandboxStatus:
    """Each part's supervisord state and whether it answers; the slots' releases; Caddy's weights."""
    settings = settings or SandboxSettings()
    paths = SandboxPaths.of(settings.runtime_dir)
    supervisor = Supervisor(paths.socket)
    if not supervisor.alive():
        parts = tuple(PartStatus(name, "ABSENT", 0, False, "supervisord is not running") for name in PROGRAMS)
        return SandboxStatus(running=False, runtime_dir=str(paths.root), parts=parts)
    state = load_state(paths.state)
    effective = state.settings if state else settings
    releases = _slot_releases(state) if state else {}
    processes = supervisor.processes()
    parts = []
    for name in PROGRAMS:
        info = processes.get(name)
        result = probe(name, effective, releases.get(name))
        parts.append(
            PartStatus(
                name, info.state if info else "ABSENT", info.pid if info else 0, result.ok, result.detail
            )
        )
    return SandboxStatus(
        running=True,
        runtime_dir=str(paths.root),
        parts=tuple(parts),
        slots=_slots_view(state) if state else {},
        weights=_weights(effective),
        endpoints=effective.endpoints(),
    )


def set_slot_release(
    slot: str,
    release: str,
    extra_env: Mapping[str, str] | None = None,
    *,
    settings: SandboxSettings | None = None,
    release_dir: Path | None = None,
) -> SlotSwitch:
    """Make a slot run a release (restarting its program) and wait until it serves that release.

    The release comes from runs/releases/<release>/ (unpacked into runs/sandbox/slots/<slot>/<release>/)
    unless release_dir names a folder to run instead. extra_env is added to the contract's environment
    (e.g. SUPPORT_FAULTS for a drill) and replaces the previous extra_env of that slot.
    """
    started_at = time.monotonic()
    if slot not in SLOTS:
        raise SandboxError(f"slot must be one of {', '.join(SLOTS)}, not {slot!r}")
    if not RELEASE_PATTERN.match(release):
        raise ReleaseError(f"release {release!r} is not a semantic version")
    paths = SandboxPaths.of((settings or SandboxSettings()).runtime_dir)
    if not paths.root.exists():
        raise SandboxNotRunningError(f"no sandbox runs in {paths.root}; start it with `python -m sandbox up`")
    with control_lock(paths):
        supervisor = Supervisor(paths.socket)
        state = load_state(paths.state)
        if state is None or not supervisor.alive():
            raise SandboxNotRunningError(
                f"no sandbox runs in {paths.root}; start it with `python -m sandbox up`"
            )
        root, source = _release_root(paths, state.settings, slot, release, release_dir)
        wanted = SlotRelease(slot, release, root, source, dict(extra_env or {}))
        changed = _apply_slot(paths, supervisor, state, wanted)
        program = f"slot-{slot}"
        wait_ready(state.settings, supervisor, [program], state.settings.start_timeout_s, {program: release})
    return SlotSwitch(slot, release, str(root), source, changed, round(time.monotonic() - started_at, 3))


def _release_root(
    paths: SandboxPaths, active: SandboxSettings, slot: str, release: str, release_dir: Path | None
) -> tuple[Path, str]:
    if release_dir is not None:
        root = find_package_root(release_dir, active.slot_module)
        if root is None:
            raise ReleaseError(f"{release_dir} has no {active.slot_module!r} package")
        return root, "explicit"
    root = install_release(paths.slots, active.releases_dir, slot, release, active.slot_module)
    if root is None:
        raise ReleaseError(
            f"release {release} is not built: no {artifact_path(active.releases_dir, release)}"
        )
    return root, "artifact"


def _apply_slot(
    paths: SandboxPaths, supervisor: Supervisor, state: SandboxState, wanted: SlotRelease
) -> bool:
    """Rewrite the slot's spec and restart its program unless it already runs exactly that."""
    program = f"slot-{wanted.slot}"
    if state.slots.get(wanted.slot) == wanted and supervisor.processes()[program].running:
        return False
    state = replace(state, slots={**state.slots, wanted.slot: wanted})
    _write_programs(state, paths)
    save_state(paths.state, state)
    if program not in supervisor.update():
        # Same spec but the program was down: a plain start is enough.
        supervisor.start(program)
    return True
