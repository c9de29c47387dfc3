"""Probes that tell whether each sandbox part answers, and a bounded wait for all of them."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from ._loopback import LOOPBACK
from .errors import SandboxError
from .paths import SandboxPaths
from .settings import SandboxSettings
from .supervisor_rpc import Supervisor

__all__ = ["PartNotReadyError", "Probe", "log_tail", "probe", "wait_ready"]

_PROBE_TIMEOUT_S = 2.0
_LOG_TAIL_LINES = 20


class PartNotReadyError(SandboxError):
    """A part did not answer in time; carries its name, the last probe result and its log tail."""

    def __init__(self, part: str, detail: str, tail: str) -> None:
        self.part = part
        self.detail = detail
        self.tail = tail
        super().__init__(f"{part} did not come up: {detail}\n--- last lines of its log ---\n{tail}")


@dataclass(frozen=True)
class Probe:
    """One readiness check of one part."""

    part: str
    ok: bool
    detail: str
    after_s: float = 0.0  # seconds into the wait when this result was taken


def _get(port: int, path: str) -> tuple[int, bytes, dict[str, str]]:
    # http.client, not requests/urllib: it never consults proxy environment variables.
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=_PROBE_TIMEOUT_S)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def _tcp_open(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=_PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def _probe_http(part: str, port: int, path: str) -> Probe:
    try:
        status, _, _ = _get(port, path)
    except (OSError, http.client.HTTPException) as exc:
        return Probe(part, False, f"GET {path} on port {port}: {exc}")
    return Probe(part, status == 200, f"GET {path} on port {port} -> {status}")


def _probe_slot(part: str, port: int, release: str | None) -> Probe:
    try:
        status, body, headers = _get(port, "/version")
    except (OSError, http.client.HTTPException) as exc:
        return Probe(part, False, f"GET /version on port {port}: {exc}")
    if status != 200:
        return Probe(part, False, f"GET /version on port {port} -> {status}")
    try:
        served = json.loads(body).get("release") or headers.get("x-release")
    except (ValueError, AttributeError):
        served = headers.get("x-release")
    if release is not None and served != release:
        # An old process still answering after a switch is not the release that was asked for.
        return Probe(part, False, f"port {port} serves release {served!r}, expected {release!r}")
    return Probe(part, True, f"serves release {served}")


def probe(part: str, settings: SandboxSettings, release: str | None = None) -> Probe:
    """Check one part (a program name); release, for a slot, is the one it must serve."""
    ports = settings.ports()
    if part == "moto":
        return _probe_http(part, ports[part], "/moto-api/")
    if part == "bedrock-emulator":
        return _probe_http(part, ports[part], "/_emulator/health")
    if part == "mcp-server":
        return _probe_http(part, ports[part], "/_admin/health")
    if part == "caddy":
        admin = _probe_http(part, ports["caddy-admin"], "/config/")
        if admin.ok and not _tcp_open(ports["caddy"]):
            return Probe(part, False, f"admin answers but the proxy port {ports['caddy']} is closed")
        return admin
    if part.startswith("slot-"):
        return _probe_slot(part, ports[part], release)
    raise ValueError(f"unknown sandbox part {part!r}")


def log_tail(paths: SandboxPaths, program: str, lines: int = _LOG_TAIL_LINES) -> str:
    """The last lines of a program's log, or a note that it has none."""
    log = paths.log(program)
    if not log.exists():
        return f"(no log at {log})"
    with log.open("rb") as handle:
        handle.seek(0, 2)
        handle.seek(max(0, handle.tell() - 16_384))
        text = handle.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def wait_ready(
    settings: SandboxSettings,
    supervisor: Supervisor,
    parts: Iterable[str],
    timeout_s: float,
    releases: Mapping[str, str] | None = None,
) -> dict[str, Probe]:
    """Wait until every part answers; raise PartNotReadyError naming the first that does not."""
    paths = SandboxPaths.of(settings.runtime_dir)
    releases = releases or {}
    pending = list(parts)
    done: dict[str, Probe] = {}
    last: dict[str, Probe] = {}
    started = time.monotonic()
    deadline = started + timeout_s
    while pending:
        processes = supervisor.processes()
        for part in list(pending):
            info = processes.get(part)
            if info is not None and info.fatal:
                # supervisord gave up on it: waiting longer cannot help.
                raise PartNotReadyError(
                    part, f"supervisord reports FATAL ({info.description})", log_tail(paths, part)
                )
            result = probe(part, settings, releases.get(part))
            last[part] = result
            if result.ok:
                done[part] = replace(result, after_s=round(time.monotonic() - started, 3))
                pending.remove(part)
        if pending and time.monotonic() > deadline:
            part = pending[0]
            raise PartNotReadyError(
                part, f"{last[part].detail} (waited {timeout_s:.0f} s)", log_tail(paths, part)
            )
        if pending:
            time.sleep(0.1)
    return done
