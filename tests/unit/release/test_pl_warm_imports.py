"""The controller-side import of the collection's modules (callback bedrock.release.warm_imports)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
PLUGINS = REPO / "collections" / "ansible_collections" / "bedrock" / "release" / "plugins"
CALLBACK = PLUGINS / "callback" / "warm_imports.py"


def _documentation(path: Path) -> dict:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DOCUMENTATION":
            return yaml.safe_load(ast.literal_eval(node.value))
    raise AssertionError(f"{path} has no DOCUMENTATION")


def test_its_documentation_is_valid_yaml_naming_the_plugin() -> None:
    # A callback whose DOCUMENTATION does not parse stops every ansible-playbook run at its start.
    doc = _documentation(CALLBACK)
    assert doc["name"] == "warm_imports"
    assert doc["type"] == "aggregate"


def test_every_module_of_the_collection_is_imported() -> None:
    # A fresh interpreter, as ansible-playbook's controller is: another test may have installed Ansible's
    # collection loader in this process, which then wants the collection's metadata for the same import.
    probe = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(REPO / 'collections')!r})\n"
        "from ansible_collections.bedrock.release.plugins.callback.warm_imports import warm_imports\n"
        "print(json.dumps({'imported': sorted(warm_imports()), 'boto3': 'boto3' in sys.modules}))\n"
    )
    answer = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    result = json.loads(answer.stdout.strip().splitlines()[-1])
    assert result["imported"] == sorted(p.stem for p in (PLUGINS / "modules").glob("*.py"))
    assert result["boto3"] is True


def test_ansible_cfg_enables_it() -> None:
    config = (REPO / "ansible.cfg").read_text(encoding="utf-8")
    assert "callbacks_enabled = bedrock.release.warm_imports" in config
