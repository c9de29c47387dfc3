"""Every inventory composes a valid shared lock and state; the commands read it as the playbooks do."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bedrock_release.inventory_validation import InvalidValueError
from bedrock_release.pipeline import inventory_vars
from bedrock_release.pipeline.inputs import validate

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("environment", ["local", "staging", "production"])
def test_every_inventory_names_its_own_table_and_bucket(environment: str) -> None:
    args = argparse.Namespace(inventory=REPO / "inventories" / environment, extra_vars=[])
    shared = inventory_vars.shared_state(args)
    assert shared.lock_table == f"bedrock-support-{environment}-deploy-lock"
    assert shared.bucket == f"bedrock-support-{environment}-release-state"
    assert shared.region == "eu-central-1"
    assert shared.expiry_s > 3 * shared.heartbeat_s
    assert shared.sandbox is (environment == "local")
    assert (shared.endpoint_url is None) is (environment != "local")


def test_extra_vars_win_as_for_ansible_playbook() -> None:
    args = argparse.Namespace(
        inventory=REPO / "inventories" / "local",
        extra_vars=["sandbox_moto_port=41234", '{"release_lock_table": "my-locks"}'],
    )
    shared = inventory_vars.shared_state(args)
    assert shared.endpoint_url == "http://127.0.0.1:41234"
    assert shared.lock_table == "my-locks"


def test_bad_inputs_name_the_variable(tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError, match="-e = 'port': must be KEY=VALUE"):
        inventory_vars.extra_vars(["port"])
    with pytest.raises(InvalidValueError, match=r"--inventory = .*no such inventory"):
        inventory_vars.inventory_value(tmp_path / "nope", "release_shared_state")
    args = argparse.Namespace(
        inventory=REPO / "inventories" / "local", extra_vars=["release_lock_expiry_s=4"]
    )
    with pytest.raises(
        InvalidValueError, match=r"release_shared_state\.expiry_s = '4': must exceed 3 heartbeats"
    ):
        inventory_vars.shared_state(args)
    _good, errors = validate(
        {"deploy_run_shared_state": {"value": {"lock_table": "x"}, "kind": "shared_state"}}
    )
    assert "deploy_run_shared_state.lock_table = 'x'" in str(errors[0])
