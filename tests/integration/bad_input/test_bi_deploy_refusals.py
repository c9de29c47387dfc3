"""Bad input through ``ansible-playbook deploy.yml`` in a private sandbox: named, and nothing changed.

Also, on the same sandbox: every admin endpoint of the slots, the Bedrock emulator and the MCP server
refuses a call without its token (401) or with a wrong one (401/403), and every program of the sandbox
listens on 127.0.0.1 only.

One environment for the module (own runs folder and ports, the pipeline tests' stand-ins). The first
tests are refused in the preflight, before the sandbox even starts; then a deploy of a release that
was never built starts the sandbox (its baseline) and is refused at admission, and the later ones
are refused by phase 1, with the slots, the traffic weights, the flags and the deploy lock exactly
as that baseline.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from pipeline_env import REPO, PipelineEnv

pytestmark = [pytest.mark.integration, pytest.mark.slow]
_HTTP = requests.Session()
_HTTP.trust_env = False


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineEnv]:
    """The module's private environment; its sandbox is stopped afterwards whatever happened."""
    pipeline = PipelineEnv(tmp_path_factory.mktemp("bi")).prepare(("1.0.0", "1.1.0"))
    try:
        yield pipeline
    finally:
        pipeline.sandbox_down()


def _nothing_started(env: PipelineEnv) -> None:
    assert not (env.runs / "sandbox" / "state.json").exists(), "the sandbox was started"
    assert not list(env.runs.glob("2*-*")), "a run was created"
    assert not list(env.runs.glob("*/lock-holder.json")), "the deploy lock was taken"


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (
            {"release": "v1.1", "release_time_scale": 5},
            [
                "deploy_run_release = 'v1.1': must be a semantic version",
                "deploy_run_time_scale = ",
                "must be in (0, 1]",
            ],
        ),
        (
            {
                "release": "1.1.0",
                "traffic_canary_steps": [5, 25, 50],
                "feature_flags_names": ["ENABLE_HYBRID_HEALTH_MONITORING", "ENABLE_HYBRID_ROUTING"],
                "traffic_tolerance_pp": 150,
                "traffic_bake_s": -1,
                "feature_flags_propagation_timeout_s": 0,
            },
            [
                "traffic_canary_steps = [5, 25, 50]: must end at 100",
                "feature_flags_names[1] = 'ENABLE_HYBRID_ROUTING': must be one of",
                "did you mean ENABLE_HYBRID_HEALTH_MONITORING?",
                "traffic_tolerance_pp = 150: must be between 0 and 100",
                "traffic_bake_s = -1: must be >= 0",
                "feature_flags_propagation_timeout_s = 0: must be > 0 seconds",
            ],
        ),
    ],
    ids=["release-and-time-scale", "canary-flags-windows"],
)
def test_bi_bad_inventory_values_are_all_named_before_anything_starts(
    env: PipelineEnv, extra: dict[str, Any], named: list[str]
) -> None:
    proc = env.playbook("deploy.yml", **extra)
    assert proc.returncode != 0
    for needle in named:
        assert needle in proc.stdout, f"{needle!r} not in the output:\n{proc.stdout[-3000:]}"
    _nothing_started(env)


def test_bi_a_loosened_feature_threshold_is_refused_before_anything_starts(
    env: PipelineEnv, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    shutil.copy(REPO / "docs" / "deployment-plan.md", project / "docs")
    shutil.copytree(REPO / "features", project / "features")
    feature = project / "features" / "slo_gates.feature"
    feature.write_text(feature.read_text().replace("is at most 300 ms", "is at most 450 ms"))
    proc = env.playbook("deploy.yml", release="1.1.0", release_project_dir=str(project))
    assert proc.returncode != 0
    out = proc.stdout.replace("\n", " ")
    assert "threshold drift" in out
    assert "features/slo_gates.feature:" in out
    assert "scenario 'P95 latency of cached requests'" in out
    assert "at most 450 ms but the plan (docs/deployment-plan.md:56) says at most 300 ms: loosened" in out
    _nothing_started(env)


def test_bi_each_refused_sandbox_input_is_named_with_its_value(env: PipelineEnv) -> None:
    proc = env.playbook("deploy.yml", release="1.1.0", sandbox_wait_timeout_s=0, sandbox_budget_usd=-1)
    assert proc.returncode != 0
    for needle in (
        "sandbox_wait_timeout_s is 0: it must be a number of seconds from 1 to 600",
        "sandbox_budget_usd is -1: it must be a positive amount of USD",
    ):
        assert needle in proc.stdout, f"{needle!r} not in the output:\n{proc.stdout[-3000:]}"
    assert "sandbox_start_timeout_s is" not in proc.stdout  # the inputs in range are not blamed
    assert not (env.runs / "sandbox" / "state.json").exists(), "the sandbox was started"


def _url(env: PipelineEnv, port_var: str) -> str:
    return f"http://127.0.0.1:{env.ports[port_var]}"


def _snapshot(env: PipelineEnv) -> dict[str, Any]:
    """What a refused deploy must not change: weights, the slots' releases and flags, the lock."""
    weights = _HTTP.get(
        f"{_url(env, 'sandbox_caddy_admin_port')}/id/slots/load_balancing/selection_policy/weights", timeout=5
    ).json()
    slots = {}
    for slot in ("blue", "green"):
        base = _url(env, f"sandbox_slot_{slot}_port")
        slots[slot] = {
            "release": _HTTP.get(f"{base}/version", timeout=5).json()["release"],
            "flags": _HTTP.get(f"{base}/v1/flags", timeout=5).json()["values"],
        }
    return {
        "weights": weights,
        "slots": slots,
        "lock_held": env.lock().status().held,
    }


@pytest.fixture(scope="module")
def unbuilt(env: PipelineEnv) -> tuple[Any, dict[str, Any]]:
    """A deploy of a release that was never built: it starts the sandbox (baseline) and is refused."""
    proc = env.playbook("deploy.yml", release="1.9.0")
    return proc, _snapshot(env)


@pytest.fixture(scope="module")
def live(unbuilt: tuple[Any, dict[str, Any]]) -> dict[str, Any]:
    """The sandbox on the baseline, as the refused deploy left it: what every later refusal keeps."""
    return unbuilt[1]


def test_bi_a_release_that_was_never_built_is_refused_at_admission(
    env: PipelineEnv, unbuilt: tuple[Any, dict[str, Any]]
) -> None:
    proc, after = unbuilt
    assert proc.returncode != 0
    assert "deploy refused before anything changed" in proc.stdout
    assert "release 1.9.0 is not built" in proc.stdout
    refused = sorted(env.runs.glob("2*-1.9.0"))[-1]
    assert env.report(refused)["outcome"] == "no_go"
    # the sandbox's baseline, untouched: blue serves 1.0.0 with every flag off, no lock left
    assert after["weights"][0] > 0
    assert after["weights"][1] == 0
    assert after["slots"]["blue"]["release"] == "1.0.0"
    assert not any(after["slots"]["blue"]["flags"].values())
    assert not any(after["slots"]["green"]["flags"].values())
    assert after["lock_held"] is False


def _approvals(env: PipelineEnv, release: str = "1.1.0") -> Path:
    return env.releases / release / "evidence" / "approvals"


def _forged(env: PipelineEnv) -> None:
    path = _approvals(env) / "security.json"
    record = json.loads(path.read_text())
    record["statement"] = record["statement"] + " (and everything else)"
    path.write_text(json.dumps(record), encoding="utf-8")


@pytest.mark.parametrize(
    ("spoil", "named"),
    [
        # One end to end (each costs a full phase 1); the other kinds are unit-tested in
        # tests/unit/release/test_approvals.py and tests/unit/bad_input/test_bi_approvals.py.
        (_forged, ["bad_signature", "security"]),
    ],
    ids=["forged-signature"],
)
def test_bi_a_bad_approval_stops_phase_1_naming_it_and_nothing_changes(
    env: PipelineEnv, live: dict[str, Any], spoil: Any, named: list[str]
) -> None:
    shutil.rmtree(_approvals(env))
    env.sign("1.1.0")
    spoil(env)
    try:
        proc = env.playbook("deploy.yml", release="1.1.0")
    finally:
        shutil.rmtree(_approvals(env))
        env.sign("1.1.0")
    assert proc.returncode != 0
    assert "phase 1 failed" in proc.stdout
    failure = next(line for line in proc.stdout.splitlines() if "approvals:" in line and "no-go" in line)
    for needle in named:
        assert needle in failure, failure
    report = env.report()
    assert report["release"] == "1.1.0"
    assert report["outcome"] == "no_go"
    assert [p["status"] for p in report["phases"]][:2] == ["failed", "not_run"] or report["phases"][0][
        "status"
    ] == "failed"
    assert _snapshot(env) == live


_SERVICE_ADMIN = [
    ("GET", "/admin/circuits"),
    ("POST", "/admin/circuits/bedrock/open"),
    ("POST", "/admin/circuits/bedrock/reset"),
    ("POST", "/admin/cache/clear"),
    ("GET", "/admin/audit"),
    ("GET", "/admin/compliance/violations"),
    ("POST", "/admin/components/ComplianceValidator/activate"),
]
_EMULATOR_ADMIN = [
    ("GET", "/_emulator/faults"),
    ("PUT", "/_emulator/faults"),
    ("DELETE", "/_emulator/faults"),
    ("GET", "/_emulator/requests"),
    ("DELETE", "/_emulator/requests"),
    ("GET", "/_emulator/counters"),
]
_MCP_ADMIN = [("GET", "/_admin/faults"), ("PUT", "/_admin/faults"), ("GET", "/_admin/requests")]


def _tokens(env: PipelineEnv) -> dict[str, str]:
    lines = (env.runs / "sandbox" / "secrets.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def _admin_targets(env: PipelineEnv) -> list[tuple[str, str, str, str]]:
    """(base URL, method, path, name of the token that protects it) of every admin endpoint."""
    out = []
    for slot in ("blue", "green"):
        base = _url(env, f"sandbox_slot_{slot}_port")
        out += [(base, m, p, "SUPPORT_ADMIN_TOKEN") for m, p in _SERVICE_ADMIN]
    out += [(_url(env, "sandbox_emulator_port"), m, p, "EMULATOR_ADMIN_TOKEN") for m, p in _EMULATOR_ADMIN]
    out += [(_url(env, "sandbox_mcp_port"), m, p, "EMULATOR_ADMIN_TOKEN") for m, p in _MCP_ADMIN]
    return out


def test_bi_admin_endpoints_refuse_calls_without_the_right_token(
    env: PipelineEnv, live: dict[str, Any]
) -> None:
    targets = _admin_targets(env)
    tokens = _tokens(env)
    other = {"SUPPORT_ADMIN_TOKEN": "EMULATOR_ADMIN_TOKEN", "EMULATOR_ADMIN_TOKEN": "SUPPORT_ADMIN_TOKEN"}
    for base, method, path, token_name in targets:
        anonymous = _HTTP.request(method, base + path, json={}, timeout=10)
        assert anonymous.status_code == 401, (method, base + path, anonymous.status_code)
        for wrong_token in ("not-the-token", tokens[other[token_name]]):  # a made-up one, another program's
            wrong = _HTTP.request(
                method, base + path, json={}, headers={"Authorization": f"Bearer {wrong_token}"}, timeout=10
            )
            assert wrong.status_code in (401, 403), (method, base + path, wrong.status_code)
    # the right token is accepted, so the refusals above are about the token and nothing else
    for base, path, token_name in [
        (_url(env, "sandbox_slot_blue_port"), "/admin/circuits", "SUPPORT_ADMIN_TOKEN"),
        (_url(env, "sandbox_emulator_port"), "/_emulator/counters", "EMULATOR_ADMIN_TOKEN"),
        (_url(env, "sandbox_mcp_port"), "/_admin/requests", "EMULATOR_ADMIN_TOKEN"),
    ]:
        answer = _HTTP.get(base + path, headers={"Authorization": f"Bearer {tokens[token_name]}"}, timeout=10)
        assert answer.status_code == 200, (base + path, answer.status_code)
    assert _snapshot(env) == live, "a refused admin call changed something"
    print(
        f"\nadmin calls refused: {3 * len(targets)} ({len(targets)} endpoints x no / made-up / other token)"
    )


def test_bi_every_sandbox_program_listens_on_loopback_only(env: PipelineEnv, live: dict[str, Any]) -> None:
    ports = set(env.ports.values())
    listeners = [
        c
        for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.laddr.port in ports
    ]
    assert {c.laddr.port for c in listeners} == ports, "a sandbox port is not listening"
    pids = {c.pid for c in listeners if c.pid}
    every = [
        (c.pid, c.laddr.ip, c.laddr.port)
        for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.pid in pids
    ]
    assert every
    assert {ip for _, ip, _ in every} == {"127.0.0.1"}, every
