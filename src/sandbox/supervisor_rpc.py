"""Talking to supervisord over its unix socket (XML-RPC), and starting it."""

from __future__ import annotations

import http.client
import subprocess
import time

# Hardened by defusedxml.xmlrpc.monkey_patch() below.
import xmlrpc.client  # nosec B411
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from defusedxml.xmlrpc import monkey_patch
from supervisor.xmlrpc import SupervisorTransport

from .errors import SandboxError

__all__ = ["ProcessInfo", "Supervisor", "SupervisorError", "launch_supervisord"]

# supervisord is our own process on a 0700 unix socket, but its XML answers are still parsed with
# the expansion limits of defusedxml rather than trusted.
monkey_patch()

# States in which a program is down and supervisord will not start it again by itself.
_DOWN = {"STOPPED", "FATAL", "UNKNOWN"}


class SupervisorError(SandboxError):
    """supervisord could not be started or did not do what was asked."""


@dataclass(frozen=True)
class ProcessInfo:
    """One program as supervisord sees it."""

    name: str
    state: str
    pid: int
    description: str
    exitstatus: int

    @property
    def running(self) -> bool:
        """Whether supervisord reports the program RUNNING."""
        return self.state == "RUNNING"

    @property
    def fatal(self) -> bool:
        """Whether supervisord gave up starting the program (it kept exiting too early)."""
        return self.state == "FATAL"

    @property
    def down(self) -> bool:
        """Whether the program is down and supervisord will not start it by itself."""
        return self.state in _DOWN


class Supervisor:
    """XML-RPC client bound to one supervisord unix socket (no TCP involved)."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        # The URL's host is a placeholder: SupervisorTransport connects to the unix socket.
        transport = SupervisorTransport(None, None, f"unix://{socket_path}")
        self._rpc: Any = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def alive(self) -> bool:
        """Whether a supervisord answers on the socket and is RUNNING."""
        if not self.socket_path.exists():
            return False
        try:
            return cast(dict[str, Any], self._rpc.supervisor.getState())["statename"] == "RUNNING"
        except (OSError, xmlrpc.client.Error, http.client.HTTPException):
            return False

    def pid(self) -> int:
        """supervisord's own pid."""
        return int(self._rpc.supervisor.getPID())

    def processes(self) -> dict[str, ProcessInfo]:
        """Every program, by name."""
        return {
            info["name"]: ProcessInfo(
                info["name"],
                info["statename"],
                int(info["pid"]),
                info["description"],
                int(info["exitstatus"]),
            )
            for info in self._rpc.supervisor.getAllProcessInfo()
        }

    def start(self, name: str) -> None:
        """Start one program without waiting for it to be RUNNING."""
        try:
            self._rpc.supervisor.startProcess(name, False)
        except xmlrpc.client.Fault as fault:
            if "ALREADY_STARTED" not in fault.faultString:
                raise SupervisorError(f"cannot start {name}: {fault.faultString}") from fault

    def stop(self, name: str) -> None:
        """Stop one program and wait for it to be down."""
        try:
            self._rpc.supervisor.stopProcess(name, True)
        except xmlrpc.client.Fault as fault:
            if "NOT_RUNNING" not in fault.faultString:
                raise SupervisorError(f"cannot stop {name}: {fault.faultString}") from fault

    def update(self) -> list[str]:
        """Apply a rewritten config like `supervisorctl update`; returns the programs (re)started."""
        added, changed, removed = self._rpc.supervisor.reloadConfig()[0]
        for name in [*changed, *removed]:
            self._rpc.supervisor.stopProcessGroup(name, True)
            self._rpc.supervisor.removeProcessGroup(name)
        for name in [*changed, *added]:
            self._rpc.supervisor.addProcessGroup(name)
        return sorted([*changed, *added])

    def stop_all(self) -> None:
        """Stop every program and wait until they are down."""
        self._rpc.supervisor.stopAllProcesses(True)

    def shutdown(self) -> None:
        """Ask supervisord to exit."""
        self._rpc.supervisor.shutdown()


def launch_supervisord(
    python: Path, conf: Path, env: dict[str, str], socket_path: Path, timeout_s: float
) -> None:
    """Start a daemonizing supervisord and wait until it answers on its socket."""
    completed = subprocess.run(  # noqa: S603 - argv built from the sandbox's own settings
        [str(python), "-m", "supervisor.supervisord", "-c", str(conf)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if completed.returncode != 0:
        output = (completed.stderr or completed.stdout).strip()
        raise SupervisorError(f"supervisord did not start (exit {completed.returncode}): {output}")
    supervisor = Supervisor(socket_path)
    deadline = time.monotonic() + timeout_s
    while not supervisor.alive():
        if time.monotonic() > deadline:
            raise SupervisorError(f"supervisord did not answer on {socket_path} within {timeout_s:.0f} s")
        time.sleep(0.05)
