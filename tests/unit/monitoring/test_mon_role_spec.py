"""roles/monitoring's inputs: defaults and argument_specs agree; the modules' options match the library."""

from __future__ import annotations

import sys

import yaml
from mon_fixtures import REPO

ROLE = REPO / "roles" / "monitoring"
COLLECTIONS = REPO / "collections"


def _load(path):  # type: ignore[no-untyped-def]
    return yaml.safe_load(path.read_text())


def test_every_default_is_documented_and_every_documented_input_has_a_default() -> None:
    defaults = _load(ROLE / "defaults" / "main.yml")
    options = _load(ROLE / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(defaults) == set(options)
    assert all(name.startswith("monitoring_") for name in defaults)
    for name, spec in options.items():
        assert spec["description"], name
        assert str(spec["default"]) == str(defaults[name]), name


def test_internal_constants_are_prefixed() -> None:
    assert all(name.startswith("_monitoring_") for name in _load(ROLE / "vars" / "main.yml"))


def test_the_roles_check_list_is_the_modules() -> None:
    sys.path.insert(0, str(COLLECTIONS))
    try:
        from ansible_collections.bedrock.release.plugins.modules import monitoring_verify  # noqa: PLC0415
    finally:
        sys.path.remove(str(COLLECTIONS))
    assert _load(ROLE / "vars" / "main.yml")["_monitoring_checks"] == monitoring_verify.CHECKS
    documented = yaml.safe_load(monitoring_verify.DOCUMENTATION)["options"]["checks"]["choices"]
    assert documented == monitoring_verify.CHECKS


def test_common_module_options_are_the_doc_fragment() -> None:
    sys.path.insert(0, str(COLLECTIONS))
    try:
        from ansible_collections.bedrock.release.plugins.doc_fragments.monitoring import (  # noqa: PLC0415
            ModuleDocFragment,
        )
        from ansible_collections.bedrock.release.plugins.module_utils.monitoring_common import (  # noqa: PLC0415
            COMMON_OPTIONS,
        )
    finally:
        sys.path.remove(str(COLLECTIONS))
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert set(documented) == set(COMMON_OPTIONS)
    for name, spec in COMMON_OPTIONS.items():
        assert documented[name]["type"] == spec["type"], name
        assert documented[name].get("required", False) == spec.get("required", False), name
