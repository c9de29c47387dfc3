"""A private pipeline environment for the fault drills, with what every drill test asserts afterwards.

Built on tests/integration/pipeline/pipeline_env.py (own runs folder, ports, stand-in suite); adds the
stand-in checks of ``standin_faults/`` (canary error rate, metrics source), playbook runs in their own
process group (to SIGKILL the whole deploy), a Caddy weights recorder, and ``assert_back_on_previous``:
the sandbox serves the previous release at 100% with every flag off, no drill fault left, the lock free
and the run's audit chain intact.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from pipeline_env import ANSIBLE_PLAYBOOK, HERE, REPO, PipelineEnv

from audit_trail import verify
from bedrock_release.pipeline.drills import pending_injections
from bedrock_release.plan import FLAGS
from bedrock_release.report.model import Report

__all__ = ["FaultEnv", "WeightsRecorder"]

FAULTS_HERE = Path(__file__).resolve().parent
_HTTP = requests.Session()
_HTTP.trust_env = False


class FaultEnv(PipelineEnv):
    """PipelineEnv plus the fault tests' stand-in checks, async playbooks and after-drill checks."""

    def write_inventory(self) -> None:
        """The pipeline's private inventory, with the extra stand-in checks of standin_faults/."""
        super().write_inventory()
        private = self.inventory / "group_vars" / "all" / "zz_private.yml"
        data = json.loads(private.read_text(encoding="utf-8").removeprefix("---\n"))
        data["release_verification_test_paths"] = [
            *data.get("release_verification_test_paths", []),
            str(FAULTS_HERE / "standin_faults" / "checks_faults.py"),
        ]
        private.write_text("---\n" + json.dumps(data, indent=2) + "\n", encoding="utf-8")

    # --- running playbooks --------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "ANSIBLE_ROLES_PATH": f"{REPO / 'roles'}:{HERE / 'roles'}",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_NOCOLOR": "1",
            "PYTHONUNBUFFERED": "1",
        }

    def start_playbook(
        self, playbook: str, *, args: tuple[str, ...] = (), **extra: Any
    ) -> subprocess.Popen[str]:
        """Start a playbook in its own process group (``kill_group`` ends it and every worker)."""
        argv = [ANSIBLE_PLAYBOOK, "-i", str(self.inventory), playbook, *args]
        if extra:
            argv += ["-e", json.dumps(extra)]
        log = self.root / "playbook-logs"
        log.mkdir(exist_ok=True)
        out = (log / f"{time.strftime('%H%M%S')}-{Path(playbook).stem}-async.log").open("w", encoding="utf-8")
        return subprocess.Popen(
            argv,
            cwd=REPO,
            env=self._env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    @staticmethod
    def kill_group(proc: subprocess.Popen[str]) -> None:
        """SIGKILL the playbook's whole process group (ansible-playbook, its forks, module runs, pytest)."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    # --- reading the sandbox ------------------------------------------------------------------------

    def url(self, port_var: str) -> str:
        """Loopback base URL of a sandbox part."""
        return f"http://127.0.0.1:{self.ports[port_var]}"

    def token(self) -> str:
        """The sandbox's emulator / MCP admin token."""
        text = (self.runs / "sandbox" / "secrets.env").read_text(encoding="utf-8")
        return text.split("EMULATOR_ADMIN_TOKEN=")[1].split()[0]

    def weights(self) -> dict[str, int]:
        """Caddy's live weights as shares {blue, green} (percent)."""
        raw = _HTTP.get(
            f"{self.url('sandbox_caddy_admin_port')}/id/slots/load_balancing/selection_policy/weights",
            timeout=5,
        )
        raw.raise_for_status()
        values = raw.json()
        return {"blue": round(100 * values[0] / sum(values)), "green": round(100 * values[1] / sum(values))}

    def slot_get(self, slot: str, path: str) -> Any:
        """GET a slot's endpoint (JSON)."""
        return _HTTP.get(f"{self.url(f'sandbox_slot_{slot}_port')}{path}", timeout=10).json()

    def emulator_rules(self) -> list[Any]:
        """The emulator's fault rules in force."""
        answer = _HTTP.get(
            f"{self.url('sandbox_emulator_port')}/_emulator/faults",
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=5,
        )
        return answer.json()["rules"]

    def wait_journal(
        self, run_dir: Path, pred: Callable[[list[dict[str, Any]]], bool], timeout: float
    ) -> None:
        """Wait until the run's journal records satisfy ``pred``."""
        deadline = time.monotonic() + timeout
        journal = run_dir / "audit.jsonl"
        while time.monotonic() < deadline:
            if journal.exists():
                lines = journal.read_text(encoding="utf-8").splitlines()
                records = [json.loads(line) for line in lines if line.endswith("}")]
                if pred(records):
                    return
            time.sleep(0.2)
        raise AssertionError(f"journal {journal} did not reach the awaited state in {timeout} s")

    def newest_run(self, release: str) -> Path:
        """The newest run folder of a release."""
        return sorted(self.runs.glob(f"2*-{release}"))[-1]

    # --- after a drill ------------------------------------------------------------------------------

    def checked_report(self, run_dir: Path) -> dict[str, Any]:
        """report.json validated against the contract, with the audit chain verified."""
        Report.load(run_dir / "report.json")
        verdict = verify(run_dir / "audit.jsonl")
        assert verdict.ok, verdict.summary()
        return json.loads((run_dir / "report.json").read_text(encoding="utf-8"))

    def assert_back_on_previous(self, run_dir: Path, *, previous: str = "1.0.0", old: str = "blue") -> None:
        """Previous release 100% on the old slot, every flag off (MCP-only), no fault left, lock free."""
        new = "green" if old == "blue" else "blue"
        assert self.weights() == {old: 100, new: 0}
        assert self.slot_get(old, "/version")["release"] == previous
        for slot in (old, new):
            flags = self.slot_get(slot, "/v1/flags")
            assert flags["values"] == dict.fromkeys(FLAGS, False), (slot, flags)
            assert flags.get("store") == "ok", (slot, flags)
        assert self.slot_get(old, "/health")["status"] in ("ok", "degraded")
        for slot in (old, new):
            assert "drill_faults" not in self.slot_get(slot, "/health"), (
                f"slot {slot} still runs a drill fault"
            )
        assert self.emulator_rules() == []
        mcp = _HTTP.get(f"{self.url('sandbox_mcp_port')}/_admin/health", timeout=5).json()
        assert mcp == {"status": "ok", "down": False}
        state = self.state(run_dir)
        assert pending_injections(state.drill, state.fault or "") == [], state.drill
        assert not self.lock().status().held
        assert verify(run_dir / "audit.jsonl").ok


class WeightsRecorder:
    """Samples Caddy's weights every ``period_s`` in a thread: the traffic timeline of a test."""

    def __init__(self, env: FaultEnv, period_s: float = 0.25) -> None:
        self.env, self.period_s = env, period_s
        self.samples: list[tuple[float, dict[str, int]]] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="weights-recorder", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.time(), self.env.weights()))
            except (requests.RequestException, ValueError, ZeroDivisionError):
                self.errors += 1
            self._stop.wait(self.period_s)

    def __enter__(self) -> WeightsRecorder:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
