"""The pipeline's roles and modules document every input: defaults = argument specs, docs = argument_spec."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
ROLES = (
    "approvals",
    "component_rollout",
    "decision_point",
    "deploy_run",
    "drill",
    "feature_flags",
    "phase",
    "report",
    "rollback",
    "traffic",
    "verification",
)
MODULES = REPO / "collections" / "ansible_collections" / "bedrock" / "release" / "plugins" / "modules"
OWN_MODULES = (
    "approvals_check",
    "decision_point",
    "deploy_lock",
    "deploy_report",
    "drill_fault",
    "env_file",
    "flag",
    "http_request",
    "journal",
    "phase",
    "rollback_drill_record",
    "rollback_tier",
    "run_context",
    "slot_flags",
    "slot_release",
    "traffic_split",
    "traffic_weights",
    "validate_inputs",
    "verification_suite",
)


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _options(role: str) -> dict[str, dict[str, Any]]:
    specs = _yaml(REPO / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]
    merged: dict[str, dict[str, Any]] = {}
    for entry in specs.values():
        merged.update(entry.get("options") or {})
    return merged


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_documented_and_every_option_has_a_default_or_is_required(role: str) -> None:
    defaults = _yaml(REPO / "roles" / role / "defaults" / "main.yml")
    options = _options(role)
    assert set(defaults) <= set(options), f"undocumented defaults: {set(defaults) - set(options)}"
    for name, spec in options.items():
        assert spec.get("description"), f"{role}: {name} has no description"
        assert spec.get("type"), f"{role}: {name} has no type"
        if spec.get("required"):
            assert name not in defaults, f"{role}: required {name} also has a default"
        else:
            assert name in defaults, f"{role}: {name} has neither a default nor required"
            assert str(spec["default"]) == str(defaults[name]), (
                f"{role}: {name} default differs from the spec"
            )


@pytest.mark.parametrize("role", ROLES)
def test_names_carry_the_role_prefix(role: str) -> None:
    for name in _options(role):
        assert name.startswith(f"{role}_"), name
    vars_file = REPO / "roles" / role / "vars" / "main.yml"
    if vars_file.exists():
        for name in _yaml(vars_file):
            assert name.startswith(f"_{role}_"), name


@pytest.mark.parametrize("role", ROLES)
def test_tasks_main_starts_with_the_inputs_check(role: str) -> None:
    tasks_dir = REPO / "roles" / role / "tasks"
    first = _yaml(tasks_dir / "main.yml")[0]
    while "ansible.builtin.import_tasks" in first:
        first = _yaml(tasks_dir / first["ansible.builtin.import_tasks"])[0]
    assert "bedrock.release.validate_inputs" in first, f"{role}: tasks/main.yml begins with {first['name']!r}"


def _argument_spec_keys(source: str) -> set[str]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "AnsibleModule":
            for keyword in node.keywords:
                if keyword.arg == "argument_spec" and isinstance(keyword.value, ast.Dict):
                    return {k.value for k in keyword.value.keys if isinstance(k, ast.Constant)}
    raise AssertionError("no AnsibleModule(argument_spec={...}) found")


@pytest.mark.parametrize("module", OWN_MODULES)
def test_module_documentation_matches_its_argument_spec(module: str) -> None:
    source = (MODULES / f"{module}.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    docs = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and getattr(node.targets[0], "id", "") in {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    }
    assert set(docs) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    documentation = yaml.safe_load(docs["DOCUMENTATION"])
    assert documentation["module"] == module
    assert set(documentation.get("options") or {}) == _argument_spec_keys(source)
    yaml.safe_load(docs["EXAMPLES"])
    yaml.safe_load(docs["RETURN"])
