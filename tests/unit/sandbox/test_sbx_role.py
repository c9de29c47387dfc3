"""The Ansible role's inputs: defaults and argument_specs agree, and agree with the Python settings."""

from __future__ import annotations

from pathlib import Path

import yaml

from sandbox.settings import PORT_FIELDS, REPO_ROOT, SandboxSettings

ROLE = REPO_ROOT / "roles" / "sandbox"


def _load(path: Path) -> dict[str, object]:
    return yaml.safe_load(path.read_text())


def test_every_default_is_documented_and_every_documented_input_has_a_default() -> None:
    defaults = _load(ROLE / "defaults" / "main.yml")
    options = _load(ROLE / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]  # type: ignore[index]
    assert set(defaults) == set(options)
    assert all(name.startswith("sandbox_") for name in defaults)
    for name, spec in options.items():
        assert spec["description"], name
        assert str(spec["default"]) == str(defaults[name]), name


def test_role_defaults_match_the_python_settings() -> None:
    defaults = _load(ROLE / "defaults" / "main.yml")
    settings = SandboxSettings()
    for field in PORT_FIELDS.values():
        assert defaults[f"sandbox_{field}"] == getattr(settings, field), field
    for field in ("flags_path", "budget_name", "budget_usd", "baseline_release", "bedrock_model_id"):
        assert defaults[f"sandbox_{field}"] == getattr(settings, field), field


def test_every_settings_field_the_role_sets_exists() -> None:
    variables = _load(ROLE / "vars" / "main.yml")["_sandbox_environment"]
    names = {key.removeprefix("SANDBOX_").lower() for key in variables if key.startswith("SANDBOX_")}  # type: ignore[union-attr]
    assert names <= set(SandboxSettings.model_fields)
