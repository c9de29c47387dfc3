"""Inventory variables for the commands that run outside a playbook (``bedrock-release lock``, ``status``,
``verify``, ``watchdog``): read with Ansible's own loader and templating, so a command on any controller
finds the same lock table and state bucket as the playbooks of that inventory.

``-i INVENTORY`` (default: the repository's ``inventories/local``, as in ansible.cfg) and
``-e KEY=VALUE`` / ``-e JSON`` (extra variables, highest precedence) mean what they mean to
``ansible-playbook``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bedrock_release.inventory_validation import InvalidValueError
from bedrock_release.pipeline.shared_state import SharedState

__all__ = [
    "DEFAULT_INVENTORY",
    "SHARED_STATE_VAR",
    "add_arguments",
    "extra_vars",
    "inventory_value",
    "shared_state",
]

DEFAULT_INVENTORY = Path(__file__).resolve().parents[3] / "inventories" / "local"
#: The inventory variable that composes the shared lock and state (docs/pipeline.md).
SHARED_STATE_VAR = "release_shared_state"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``-i/--inventory`` and ``-e/--extra-vars``."""
    parser.add_argument(
        "-i",
        "--inventory",
        type=Path,
        default=DEFAULT_INVENTORY,
        help="the inventory (default inventories/local)",
    )
    parser.add_argument(
        "-e",
        "--extra-vars",
        action="append",
        default=[],
        metavar="KEY=VALUE|JSON",
        help="extra variables, as for ansible-playbook (repeatable)",
    )


def extra_vars(items: Sequence[str]) -> dict[str, Any]:
    """Parse ``-e`` values: a JSON object, or space-separated KEY=VALUE pairs; InvalidValueError otherwise."""
    found: dict[str, Any] = {}
    for item in items:
        text = item.strip()
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise InvalidValueError("-e", item, f"is not a JSON object ({exc})") from None
            if not isinstance(data, dict):
                raise InvalidValueError("-e", item, "must be a JSON object")
            found.update(data)
            continue
        for pair in text.split():
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise InvalidValueError("-e", item, "must be KEY=VALUE or a JSON object")
            found[key] = value
    return found


def _plain(value: Any) -> Any:
    """Ansible's tagged values as plain Python values (JSON round trip)."""
    return json.loads(json.dumps(value))


def inventory_value(inventory: Path, name: str, extra: Mapping[str, Any] | None = None) -> Any:
    """The templated value of a variable for ``localhost`` of an inventory; InvalidValueError if undefined."""
    from ansible.inventory.manager import InventoryManager  # noqa: PLC0415 - ansible is slow to import
    from ansible.parsing.dataloader import DataLoader  # noqa: PLC0415
    from ansible.template import Templar  # noqa: PLC0415
    from ansible.vars.manager import VariableManager  # noqa: PLC0415

    if not Path(inventory).exists():
        raise InvalidValueError("--inventory", str(inventory), "no such inventory")
    loader = DataLoader()
    manager = InventoryManager(loader=loader, sources=[str(inventory)])
    host = manager.get_host("localhost")
    if host is None:
        raise InvalidValueError("--inventory", str(inventory), "has no host localhost (the controller)")
    # Extra variables win over everything, exactly as -e does for ansible-playbook.
    variables = {**VariableManager(loader=loader, inventory=manager).get_vars(host=host), **(extra or {})}
    if name not in variables:
        raise InvalidValueError(name, None, f"is not defined in inventory {inventory}")
    try:
        return _plain(Templar(loader=loader, variables=variables).template(variables[name]))
    except Exception as exc:  # an undefined variable inside, a template error
        raise InvalidValueError(
            name, None, f"cannot be templated from inventory {inventory}: {exc}"
        ) from None


def shared_state(args: argparse.Namespace) -> SharedState:
    """The shared lock and state the inventory of ``args`` names (``release_shared_state``)."""
    raw = inventory_value(args.inventory, SHARED_STATE_VAR, extra_vars(args.extra_vars))
    return SharedState.from_mapping(raw, f"{args.inventory}: {SHARED_STATE_VAR}")
