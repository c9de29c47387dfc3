"""target.json (docs/contracts.md) as the suite reads it, and the target built from an inventory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bedrock_release.suite.target import TargetError, load_target, parse_target, target_from_inventory

DATA = Path(__file__).parent / "data" / "target.json"


def contract() -> dict[str, Any]:
    return json.loads(DATA.read_text())


def test_the_contract_example_loads(tmp_path: Path) -> None:
    target = load_target(DATA, base_dir=tmp_path)
    assert target.release == "1.1.0"
    assert target.new_slot == "green"
    assert target.previous_slot == "blue"
    assert target.is_sandbox
    assert target.scaled(300) == pytest.approx(15)
    assert target.results_dir == tmp_path / "runs/20261126T150000Z-1.1.0/results"
    assert target.journal is None
    assert target.endpoints.slot("green") == "http://127.0.0.1:18102"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"schema": 2}, "unsupported schema"),
        ({"time_scale": 0}, "time_scale"),
        ({"time_scale": "fast"}, "time_scale"),
        ({"release": "v1"}, "semantic version"),
        ({"slots": {"active": "blue", "idle": "blue"}}, "'slots'"),
        ({"endpoints": {"traffic": "ftp://x"}}, "http(s) URL"),
        ({"endpoints": {"traffic": "http://10.0.0.1:80"}}, "may only target 127.0.0.1"),
        ({"endpoints": {"slots": {"purple": "http://127.0.0.1:1"}}}, "unknown slots"),
        ({"load": {"workers": 0}}, "'load'"),
        ({"load": {"workers": "2"}}, "'load'"),
        ({"load": {"workers": True}}, "'load'"),
        ({"load": 2}, "'load'"),
    ],
)
def test_bad_targets_are_refused_naming_the_problem(
    change: dict[str, Any], problem: str, tmp_path: Path
) -> None:
    with pytest.raises(TargetError) as caught:
        parse_target({**contract(), **change}, source="t.json", base_dir=tmp_path)
    assert problem in str(caught.value)
    assert str(caught.value).startswith("t.json: ")


def test_missing_key_and_unreadable_file(tmp_path: Path) -> None:
    data = contract()
    del data["budget_name"]
    with pytest.raises(TargetError, match="missing 'budget_name'"):
        parse_target(data, source="t.json", base_dir=tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(TargetError, match="not JSON"):
        load_target(bad)


def test_null_endpoints_stay_null_outside_the_sandbox(tmp_path: Path) -> None:
    data = {**contract(), "environment": "production"}
    data["endpoints"] = {
        "traffic": "https://support.example.com",
        "slots": {},
        "mcp": None,
        "bedrock": None,
        "aws": None,
    }
    target = parse_target(data, source="t.json", base_dir=tmp_path)
    assert target.endpoints.bedrock is None
    assert target.endpoints.slot("green") is None
    assert not target.is_sandbox


def test_the_local_inventory_gives_the_sandbox_endpoints(tmp_path: Path) -> None:
    folder = tmp_path / "inventories" / "local" / "group_vars" / "all"
    folder.mkdir(parents=True)
    ports = {
        "caddy_proxy": 1,
        "caddy_admin": 2,
        "slot_blue": 3,
        "slot_green": 4,
        "moto": 5,
        "emulator": 6,
        "mcp": 7,
    }
    (folder / "sandbox.yml").write_text("".join(f"sandbox_{k}_port: {18000 + v}\n" for k, v in ports.items()))
    target = target_from_inventory(tmp_path, "local", release="1.1.0", time_scale=0.05)
    assert target.endpoints.traffic == "http://127.0.0.1:18001"
    assert target.endpoints.mcp == "http://127.0.0.1:18007/mcp"
    assert target.environment == "local"
    with pytest.raises(TargetError, match="no release"):
        target_from_inventory(tmp_path, "local")
    with pytest.raises(TargetError, match="no such inventory"):
        target_from_inventory(tmp_path, "staging", release="1.1.0")


def test_an_aws_inventory_has_no_emulator(tmp_path: Path) -> None:
    folder = tmp_path / "inventories" / "production" / "group_vars" / "all"
    folder.mkdir(parents=True)
    (folder / "main.yml").write_text("environment_name: production\ntime_scale: 1\n")
    target = target_from_inventory(tmp_path, "production", release="1.1.0")
    assert target.endpoints.bedrock is None
    assert target.endpoints.mcp is None
    assert target.time_scale == 1


def test_the_load_runs_on_the_workers_the_inventory_gives(tmp_path: Path) -> None:
    assert parse_target(contract(), source="t.json", base_dir=tmp_path).load_workers == 1  # absent: 1
    target = parse_target({**contract(), "load": {"workers": 2}}, source="t.json", base_dir=tmp_path)
    assert target.load_workers == 2
    assert target.to_dict()["load"] == {"workers": 2}
