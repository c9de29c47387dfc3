"""Every inventory passes the deploy's own input validation; a wrong value names variable, value and file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bedrock_release.pipeline.inventory_check import check_inventory, parse_env_file

REPO = Path(__file__).resolve().parents[3]
INVENTORIES = sorted(p.name for p in (REPO / "inventories").iterdir() if p.is_dir())
RELEASE = "1.1.0"
#: Inputs each inventory must reach (a check that validated nothing would pass anything).
REQUIRED = {
    "release_decision_points_interactive",
    "release_time_scale",
    "deploy_run_environment",
    "deploy_run_aws_region",
    "flags_path",
    "traffic_canary_steps",
    "decision_point_interactive",
}


def _copy(tmp_path: Path, inventory: str) -> Path:
    target = tmp_path / "inventories" / inventory
    shutil.copytree(REPO / "inventories" / inventory, target)
    return target


def _edit(path: Path, **changes: object) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        node = data
        *parents, leaf = dotted.split("__")
        for key in parents:
            node = node[key]
        if value is None:
            node.pop(leaf)
        else:
            node[leaf] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_the_project_has_the_three_inventories() -> None:
    assert INVENTORIES == ["local", "production", "staging"]


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_every_inventory_passes_the_deploys_input_validation(inventory: str) -> None:
    result = check_inventory(REPO / "inventories" / inventory, release=RELEASE, project_dir=REPO)
    assert result.ok, result.summary()
    assert sorted(REQUIRED - set(result.checked)) == []
    # What only a running deploy knows is named, not silently passed.
    assert "traffic_url" in result.run_time
    assert not set(result.checked) & set(result.run_time)


@pytest.mark.parametrize("inventory", ["staging", "production"])
def test_the_slots_service_environment_is_validated_by_the_services_settings(inventory: str) -> None:
    result = check_inventory(REPO / "inventories" / inventory, release=RELEASE, project_dir=REPO)
    assert "component_rollout_service_env" in result.checked


@pytest.mark.parametrize("inventory", INVENTORIES)
@pytest.mark.parametrize("value", ["bedrock-support-production", "maybe", 2])
def test_a_wrong_boolean_names_the_variable_the_value_and_the_file(
    tmp_path: Path, inventory: str, value: object
) -> None:
    inv = _copy(tmp_path, inventory)
    release_yml = inv / "group_vars" / "all" / "release.yml"
    _edit(release_yml, release_decision_points_interactive=value)
    result = check_inventory(inv, release=RELEASE, project_dir=REPO)
    assert not result.ok
    problem = next(p for p in result.problems if p.variable == "release_decision_points_interactive")
    assert problem.value == value
    assert problem.problem == "must be true or false"
    assert problem.files == (str(release_yml),)
    text = str(problem)
    assert text.startswith(f"{release_yml}: release_decision_points_interactive = {value!r}: ")
    assert "roles/deploy_run/tasks/preflight.yml" in text  # the task that refuses it in a deploy


def test_a_role_input_derived_from_the_inventory_names_the_inventory_file(tmp_path: Path) -> None:
    inv = _copy(tmp_path, "staging")
    release_yml = inv / "group_vars" / "all" / "release.yml"
    _edit(release_yml, aws_region="us-east-1")
    result = check_inventory(inv, release=RELEASE, project_dir=REPO)
    by_variable = {p.variable: p for p in result.problems}
    derived = by_variable["deploy_run_aws_region"]
    assert derived.value == "us-east-1"
    assert "EU region" in derived.problem
    assert derived.files == (str(release_yml),)
    assert derived.via == ("deploy_run_aws_region", "aws_region")


@pytest.mark.parametrize("inventory", ["staging", "production"])
@pytest.mark.parametrize(
    ("entry", "value", "needle"),
    [
        ("SUPPORT_BUDGET_USD", "true", "valid number"),
        ("SUPPORT_BUDGET_USD", "0", "greater than 0"),
        ("SUPPORT_ENVIRONMENT", "prod", "'local', 'staging' or 'production'"),
        ("SUPPORT_ALLOWED_BEDROCK_REGIONS", "us-east-1", "EU region codes"),
        ("SUPPORT_FLAGS_POLL_INTERVAL_S", "soon", "valid number"),
    ],
)
def test_a_service_setting_the_service_refuses_is_named(
    tmp_path: Path, inventory: str, entry: str, value: str, needle: str
) -> None:
    inv = _copy(tmp_path, inventory)
    release_yml = inv / "group_vars" / "all" / "release.yml"
    _edit(release_yml, **{f"component_rollout_service_env__{entry}": value})
    result = check_inventory(inv, release=RELEASE, project_dir=REPO)
    (problem,) = result.problems
    assert problem.variable == f"component_rollout_service_env.{entry}"
    assert problem.value == value
    assert needle in problem.problem
    assert problem.files == (str(release_yml),)
    assert "support_service.settings.Settings" in problem.check


def test_a_missing_or_short_admin_token_is_named_without_showing_it(tmp_path: Path) -> None:
    inv = _copy(tmp_path, "production")
    release_yml = inv / "group_vars" / "all" / "release.yml"
    _edit(release_yml, component_rollout_service_env__SUPPORT_ADMIN_TOKEN="hunter2")
    (short,) = check_inventory(inv, release=RELEASE, project_dir=REPO).problems
    assert short.variable == "component_rollout_service_env.SUPPORT_ADMIN_TOKEN"
    assert short.value == "<secret>"
    assert "hunter2" not in str(short)
    _edit(release_yml, component_rollout_service_env__SUPPORT_ADMIN_TOKEN=None)
    (missing,) = check_inventory(inv, release=RELEASE, project_dir=REPO).problems
    assert missing.variable == "component_rollout_service_env.SUPPORT_ADMIN_TOKEN"
    assert "required" in missing.problem.lower()


def test_a_systemd_inventory_without_a_service_environment_is_refused(tmp_path: Path) -> None:
    inv = _copy(tmp_path, "staging")
    _edit(inv / "group_vars" / "all" / "release.yml", component_rollout_service_env=None)
    result = check_inventory(inv, release=RELEASE, project_dir=REPO)
    (problem,) = result.problems
    assert problem.variable == "component_rollout_service_env"
    assert "SUPPORT_*" in problem.problem


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    inv = _copy(tmp_path, "production")
    _edit(
        inv / "group_vars" / "all" / "release.yml",
        release_time_scale=0,
        flags_path="flags/",
        component_rollout_service_env__SUPPORT_BUDGET_USD="lots",
    )
    variables = {p.variable for p in check_inventory(inv, release=RELEASE, project_dir=REPO).problems}
    assert {
        "release_time_scale",
        "flags_path",
        "component_rollout_service_env.SUPPORT_BUDGET_USD",
    } <= variables


def test_env_file_lines_are_read_as_systemd_reads_them() -> None:
    text = "# comment\n\nA=1\nB = two words \nC='quoted'\nD=\"x=y\"\n; also a comment\n"
    assert parse_env_file(text) == {"A": "1", "B": "two words", "C": "quoted", "D": "x=y"}
    with pytest.raises(ValueError, match="not KEY=value"):
        parse_env_file("JUSTAWORD\n")
