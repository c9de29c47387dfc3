"""Helpers of the sandbox integration tests: free ports, artifacts, process inspection."""

from __future__ import annotations

import contextlib
import socket
import tarfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import requests

from sandbox.paths import SandboxPaths
from sandbox.settings import PORT_FIELDS, REPO_ROOT

STANDIN = Path(__file__).resolve().parent / "standin"


def free_ports(count: int) -> list[int]:
    """Distinct loopback ports that were free a moment ago (held together so they differ)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def port_settings() -> dict[str, int]:
    """Settings overrides giving every part a fresh ephemeral port."""
    return dict(zip(PORT_FIELDS.values(), free_ports(len(PORT_FIELDS)), strict=True))


def build_artifact(releases: Path, release: str) -> Path:
    """Pack the working tree's service like the pipeline does (support_service + audit_trail)."""
    folder = releases / release
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"support-service-{release}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for package in ("support_service", "audit_trail"):
            archive.add(
                REPO_ROOT / "src" / package,
                arcname=package,
                filter=lambda info: None if "__pycache__" in info.name else info,
            )
    return path


def supervisord_tree(runtime_dir: Path) -> list[psutil.Process]:
    """supervisord of a runtime folder and all its descendants (empty if it is not running)."""
    pidfile = SandboxPaths.of(runtime_dir).pidfile
    if not pidfile.exists():
        return []
    try:
        root = psutil.Process(int(pidfile.read_text().strip()))
        return [root, *root.children(recursive=True)]
    except (psutil.NoSuchProcess, ValueError):
        return []


def alive(process: psutil.Process) -> bool:
    """Whether a process still runs (an exited, not yet reaped zombie does not count)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def processes_using(runtime_dir: Path) -> list[psutil.Process]:
    """Live processes whose command line mentions the runtime folder (a leak detector)."""
    marker = str(runtime_dir)
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        with contextlib.suppress(psutil.Error):
            if process.info["status"] != psutil.STATUS_ZOMBIE and marker in " ".join(
                process.info["cmdline"] or []
            ):
                found.append(process)
    return found


@contextlib.contextmanager
def http() -> Iterator[requests.Session]:
    """A session that never uses a proxy (loopback only)."""
    session = requests.Session()
    session.trust_env = False
    try:
        yield session
    finally:
        session.close()
