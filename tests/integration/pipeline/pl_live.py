"""Shared helpers of the deploy.yml modules (test_pl_deploy, test_pl_deploy_drills).

One environment for the module (its own runs folder and ports); the tests run in file order and each
leaves the sandbox in the state the next one starts from, as successive deploys of one team would.
The verification suite and the monitoring role are the stand-ins of this folder (inventory variables);
the real suite is exercised by its own tests and by ``make deploy``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pipeline_env import PipelineEnv

from audit_trail import verify
from bedrock_release.report.model import Report

#: Wall times of the playbook runs, printed when a module's environment stops.
TIMES: dict[str, float] = {}
_HTTP = requests.Session()
_HTTP.trust_env = False


def module_env(tmp_path_factory: pytest.TempPathFactory, releases: tuple[str, ...]) -> Iterator[PipelineEnv]:
    """A module's private environment; its sandboxes are stopped afterwards whatever happened."""
    pipeline = PipelineEnv(tmp_path_factory.mktemp("pl")).prepare(releases)
    try:
        yield pipeline
    finally:
        pipeline.sandbox_down()
        print("\nwall times (s):", json.dumps(TIMES, indent=1))


def url(env: PipelineEnv, port_var: str) -> str:
    return f"http://127.0.0.1:{env.ports[port_var]}"


def weights(env: PipelineEnv) -> dict[str, int]:
    raw = _HTTP.get(
        f"{url(env, 'sandbox_caddy_admin_port')}/id/slots/load_balancing/selection_policy/weights", timeout=5
    ).json()
    return {"blue": round(100 * raw[0] / sum(raw)), "green": round(100 * raw[1] / sum(raw))}


def flags(env: PipelineEnv, slot: str) -> dict[str, bool]:
    return _HTTP.get(f"{url(env, f'sandbox_slot_{slot}_port')}/v1/flags", timeout=5).json()["values"]


def release_of(env: PipelineEnv, slot: str) -> str:
    return _HTTP.get(f"{url(env, f'sandbox_slot_{slot}_port')}/version", timeout=5).json()["release"]


def emulator_rules(env: PipelineEnv) -> list[Any]:
    token = (env.runs / "sandbox" / "secrets.env").read_text().split("EMULATOR_ADMIN_TOKEN=")[1].split()[0]
    answer = _HTTP.get(
        f"{url(env, 'sandbox_emulator_port')}/_emulator/faults",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    return answer.json()["rules"]


def deploy(env: PipelineEnv, name: str, **extra: Any) -> Any:
    proc = env.playbook("deploy.yml", **extra)
    TIMES[name] = round(proc.duration_s, 1)
    return proc


def checked_report(env: PipelineEnv) -> dict[str, Any]:
    Report.load(env.latest() / "report.json")  # validates against the contract
    assert verify(env.latest() / "audit.jsonl").ok
    return env.report()
