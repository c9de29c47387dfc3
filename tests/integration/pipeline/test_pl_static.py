"""Every playbook passes --syntax-check against each inventory; inventories list; ansible-lint production."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
INVENTORIES = ("local", "staging", "production")
PLAYBOOKS = (
    "deploy.yml",
    *sorted(str(p.relative_to(REPO)) for p in (REPO / "playbooks").glob("*.yml") if p.name != "sandbox.yml"),
)

pytestmark = pytest.mark.integration


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False, timeout=600)


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_every_playbook_passes_syntax_check(inventory: str) -> None:
    for playbook in PLAYBOOKS:
        proc = _run(
            str(BIN / "ansible-playbook"), "-i", f"inventories/{inventory}", "--syntax-check", playbook
        )
        assert proc.returncode == 0, f"{playbook} against {inventory}: {proc.stderr[-2000:]}"


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_inventory_lists(inventory: str) -> None:
    proc = _run(str(BIN / "ansible-inventory"), "-i", f"inventories/{inventory}", "--list")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert "localhost" in data["_meta"]["hostvars"]
    if inventory != "local":
        assert data["slot_blue"]["hosts"]
        assert data["slot_green"]["hosts"]


@pytest.mark.parametrize("inventory", ["staging", "production"])
def test_aws_inventories_are_eu_with_no_sandbox_and_no_faults(inventory: str) -> None:
    text = "\n".join(p.read_text() for p in (REPO / "inventories" / inventory).rglob("*.yml"))
    assert "SUPPORT_FAULTS" not in text.replace("never SUPPORT_FAULTS", "")
    assert "sandbox_" not in text
    assert "aws_region: eu-" in text
    assert "release_traffic_backend: alb" in text
    assert "release_backend: systemd" in text


@pytest.mark.slow
def test_ansible_lint_production_profile_passes() -> None:
    targets = ["deploy.yml", "playbooks/", "roles/", "collections/", "inventories/"]
    proc = _run(str(BIN / "ansible-lint"), "--nocolor", "--format=pep8", *targets)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
