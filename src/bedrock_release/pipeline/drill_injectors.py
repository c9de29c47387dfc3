"""How a drill's environment fault is set and cleared: admin APIs, supervisord, signals, Caddy.

Every injector has an ``apply`` that returns JSON-ready facts for the journal (rule ids, pids, the
admin config it replaced) and a ``clear`` that takes those facts back, so a fault is always cleared
exactly as it was set, also by a later playbook run (the facts live in the run's journal).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

__all__ = ["DrillError", "SandboxTargets", "apply", "clear"]

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class DrillError(RuntimeError):
    """An unknown drill, or an admin API / process manager that refused the fault."""


@dataclass(frozen=True)
class SandboxTargets:
    """Where the sandbox's parts answer: admin URLs, their token, the supervisord runtime folder."""

    emulator_url: str = ""
    mcp_admin_url: str = ""
    token: str = ""
    runtime_dir: str = ""
    caddy_admin_url: str = ""


def _call(method: str, url: str, token: str = "", body: Any = None, headers: Mapping[str, str] = {}) -> Any:
    data = None if body is None else json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json", **headers}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)  # noqa: S310 - loopback
    try:
        with _NO_PROXY.open(request, timeout=10) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as exc:
        raise DrillError(
            f"{method} {url}: HTTP {exc.code}: {exc.read().decode(errors='replace')[:300]}"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        raise DrillError(f"{method} {url}: {exc}") from None
    return json.loads(text) if text.strip() else None


def _supervisor(targets: SandboxTargets) -> Any:
    from sandbox.paths import SandboxPaths  # noqa: PLC0415 - sandbox only, not needed in AWS runs
    from sandbox.supervisor_rpc import Supervisor  # noqa: PLC0415

    if not targets.runtime_dir:
        raise DrillError("a process fault needs the sandbox runtime folder (drill_sandbox_runtime_dir)")
    supervisor = Supervisor(SandboxPaths.of(Path(targets.runtime_dir)).socket)
    if not supervisor.alive():
        raise DrillError(f"supervisord of {targets.runtime_dir} does not answer")
    return supervisor


def _program_pid(targets: SandboxTargets, program: str) -> int:
    info = _supervisor(targets).processes().get(program)
    if info is None or not info.running or info.pid <= 0:
        raise DrillError(f"sandbox program {program!r} is not running")
    return info.pid


def _wait_answers(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with _NO_PROXY.open(urllib.request.Request(url), timeout=2):  # noqa: S310 - loopback
                return
        except urllib.error.HTTPError:
            return  # it answers
        except (urllib.error.URLError, OSError) as exc:
            if time.monotonic() > deadline:
                raise DrillError(f"{url} does not answer after the fault was cleared: {exc}") from None
            time.sleep(0.3)


def _wait_stopped(pid: int, stopped: bool, timeout_s: float = 5.0) -> bool:
    """Wait until the process is (or is no longer) stopped; False if it does not get there in time.

    A signal reaches a process running on another CPU asynchronously: right after SIGSTOP it can
    still read as running, so a freeze is reported only once the kernel shows it.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            is_stopped = psutil.Process(pid).status() == psutil.STATUS_STOPPED
        except psutil.NoSuchProcess:
            return not stopped
        if is_stopped is stopped:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)


def _caddy_origin(targets: SandboxTargets) -> str:
    return targets.caddy_admin_url.rstrip("/").split("://", 1)[-1]


def _free_loopback_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def _answers(url: str) -> bool:
    try:
        with _NO_PROXY.open(urllib.request.Request(url), timeout=2):  # noqa: S310 - loopback
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def _wait_silent(url: str, timeout_s: float = 10.0) -> None:
    """Wait until nothing answers at url any more (Caddy moves its admin listener after the POST)."""
    deadline = time.monotonic() + timeout_s
    while _answers(url):
        if time.monotonic() > deadline:
            raise DrillError(f"{url} still answers {timeout_s:g} s after the admin endpoint was moved")
        time.sleep(0.1)


_CADDY_KINDS = ("caddy_admin_refuses", "caddy_admin_unreachable")


def _apply_caddy(kind: str, targets: SandboxTargets) -> dict[str, Any]:
    base = targets.caddy_admin_url.rstrip("/")
    before = _call("GET", f"{base}/config/admin") or {}
    if kind == "caddy_admin_refuses":
        origin = _caddy_origin(targets)
        refusing = {**before, "enforce_origin": True, "origins": [origin]}
        _call("POST", f"{base}/config/admin", body=refusing)
        return {"target": "caddy", "admin_before": before, "origin": origin}
    # caddy_admin_unreachable: the admin endpoint moves to a free loopback port, so nothing answers at the
    # address the pipeline knows (connection refused, as an admin API that is down), while the proxy serves.
    moved_to = _free_loopback_address()
    _call("POST", f"{base}/config/admin", body={**before, "listen": moved_to})
    _wait_silent(f"{base}/config/admin")
    return {"target": "caddy", "admin_before": before, "moved_to": moved_to}


def _clear_caddy(kind: str, facts: Mapping[str, Any], targets: SandboxTargets) -> dict[str, Any]:
    base = targets.caddy_admin_url.rstrip("/")
    if kind == "caddy_admin_refuses":
        origin = str(facts.get("origin") or _caddy_origin(targets))
        before = dict(facts.get("admin_before") or {"listen": origin})
        _call("POST", f"{base}/config/admin", body=before, headers={"Origin": f"http://{origin}"})
        _wait_answers(f"{base}/config/admin")
        return {"target": "caddy", "cleared": "admin API accepts changes again"}
    # caddy_admin_unreachable: idempotent - an endpoint already back (cleared by hand, or by an earlier
    # clear) is left alone; otherwise the config from before is posted to where the endpoint moved.
    if _answers(f"{base}/config/admin"):
        return {"target": "caddy", "cleared": "admin API already answers at its address"}
    before = dict(facts.get("admin_before") or {"listen": _caddy_origin(targets)})
    _call("POST", f"http://{facts['moved_to']}/config/admin", body=before)
    _wait_answers(f"{base}/config/admin")
    return {"target": "caddy", "cleared": "admin API answers at its address again"}


def apply(kind: str, payload: Mapping[str, Any], targets: SandboxTargets) -> dict[str, Any]:
    """Set one environment fault; return the facts ``clear`` needs (journaled with the injection)."""
    if kind == "emulator":
        answer = _call("POST", f"{targets.emulator_url.rstrip('/')}/_emulator/faults", targets.token, payload)
        return {"target": "emulator", "added": (answer or {}).get("added", [])}
    if kind == "mcp":
        _call("PUT", f"{targets.mcp_admin_url.rstrip('/')}/_admin/faults", targets.token, dict(payload))
        return {"target": "mcp"}
    if kind == "program_stop":
        program = str(payload["program"])
        _supervisor(targets).stop(program)
        facts: dict[str, Any] = {"target": "process", "program": program, "how": "stopped"}
        if program == "mcp-server" and targets.mcp_admin_url:
            facts["ready_url"] = f"{targets.mcp_admin_url.rstrip('/')}/_admin/health"
        return facts
    if kind == "program_freeze":
        # SIGSTOP: the port still accepts connections (kernel backlog) but nothing answers - the way an
        # overloaded or partitioned AWS endpoint looks to a client; its state survives the drill.
        program = str(payload["program"])
        pid = _program_pid(targets, program)
        os.kill(pid, signal.SIGSTOP)
        if not _wait_stopped(pid, stopped=True):
            raise DrillError(f"{program} (pid {pid}) did not stop after SIGSTOP")
        return {"target": "process", "program": program, "how": "frozen", "pid": pid}
    if kind in _CADDY_KINDS:
        return _apply_caddy(kind, targets)
    raise DrillError(f"unknown injection kind {kind!r}")


def clear(kind: str, facts: Mapping[str, Any], targets: SandboxTargets) -> dict[str, Any]:
    """Undo one environment fault from the facts its ``apply`` returned (idempotent)."""
    if kind == "emulator":
        base = f"{targets.emulator_url.rstrip('/')}/_emulator/faults"
        rule_ids = tuple(facts.get("added", ()))
        if not rule_ids:
            _call("DELETE", base, targets.token)
        for rule_id in rule_ids:
            try:
                _call("DELETE", f"{base}/{rule_id}", targets.token)
            except DrillError as exc:
                if "HTTP 404" not in str(exc):  # already gone is cleared
                    raise
        return {"target": "emulator", "cleared": list(rule_ids) or "all"}
    if kind == "mcp":
        _call("DELETE", f"{targets.mcp_admin_url.rstrip('/')}/_admin/faults", targets.token)
        return {"target": "mcp", "cleared": "all"}
    if kind == "program_stop":
        program = str(facts["program"])
        _supervisor(targets).start(program)
        url = facts.get("ready_url")
        if url:
            _wait_answers(str(url))
        return {"target": "process", "program": program, "cleared": "started"}
    if kind == "program_freeze":
        pid = int(facts["pid"])
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            return {"target": "process", "program": facts.get("program"), "cleared": "process gone"}
        if not _wait_stopped(pid, stopped=False):
            raise DrillError(f"{facts.get('program')} (pid {pid}) is still stopped after SIGCONT")
        return {"target": "process", "program": facts.get("program"), "cleared": "resumed", "pid": pid}
    if kind in _CADDY_KINDS:
        return _clear_caddy(kind, facts, targets)
    raise DrillError(f"unknown injection kind {kind!r}")
