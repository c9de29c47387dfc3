#!/usr/bin/python
"""Ansible module: the sandbox fault drills (plan, inject, clear)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: drill_fault
short_description: Look up, inject and clear a sandbox fault drill
description:
  - The catalogue is C(bedrock_release.pipeline.drills.CATALOGUE) (name, phase it strikes, injection,
    expected verdict and rollback tier).
  - C(state=planned) returns the drill and whether it strikes C(phase), with the slot environment
    of a release defect.
  - C(state=present) sets an environment fault (Bedrock emulator or MCP server admin API, token from
    C(EMULATOR_ADMIN_TOKEN) in the environment) and journals C(drill_fault) C(injected).
  - C(state=absent) clears the faults this run injected and journals C(cleared); a no-op when none.
options:
  state:
    description: What to do.
    type: str
    choices: [planned, present, absent]
    default: planned
  name:
    description: Drill name (empty = no drill).
    type: str
    default: ""
  phase:
    description: The phase about to run.
    type: int
    default: 0
  emulator_url:
    description: Bedrock emulator base URL.
    type: str
    default: ""
  mcp_admin_url:
    description: MCP server base URL (without C(/mcp)).
    type: str
    default: ""
  run_dir:
    description: The run folder.
    type: path
author: Release Team
"""

EXAMPLES = r"""
- name: Drill for this phase is known
  bedrock.release.drill_fault:
    name: "{{ release_run.fault }}"
    phase: 3
  register: __drill
"""

RETURN = r"""
drill:
  description: The drill (null when none).
  returned: always
  type: dict
strikes:
  description: Whether the drill strikes the given phase.
  returned: always
  type: bool
slot_env:
  description: Extra slot environment of a release defect that strikes this phase.
  returned: always
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import (
    journal_of,
    require_library,
)

try:
    from bedrock_release.journal import read_state
    from bedrock_release.pipeline import drills
except ImportError:
    drills = None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["planned", "present", "absent"], "default": "planned"},
            "name": {"type": "str", "default": ""},
            "phase": {"type": "int", "default": 0},
            "emulator_url": {"type": "str", "default": ""},
            "mcp_admin_url": {"type": "str", "default": ""},
            "run_dir": {"type": "path"},
        },
    )
    require_library(module)
    p = module.params
    if not p["name"]:
        module.exit_json(changed=False, drill=None, strikes=False, slot_env={})
    try:
        drill = drills.drill(p["name"])
    except drills.DrillError as exc:
        module.fail_json(msg=str(exc), known=list(drills.CATALOGUE))
    strikes = drill.phase == p["phase"]
    slot_env = drill.injection.slot_env() if strikes else {}
    if p["state"] == "planned":
        module.exit_json(changed=False, drill=drill.to_dict(), strikes=strikes, slot_env=slot_env)
    token = os.environ.get("EMULATOR_ADMIN_TOKEN", "")
    journal = journal_of(p["run_dir"]) if p["run_dir"] else None
    try:
        if p["state"] == "present":
            if not strikes or drill.injection.kind == "slot_env":
                module.exit_json(changed=False, drill=drill.to_dict(), strikes=strikes, slot_env=slot_env)
            answer = drills.apply_environment(
                drill, emulator_url=p["emulator_url"], mcp_admin_url=p["mcp_admin_url"], token=token
            )
            if journal:
                journal.record(
                    "drill_fault", {"name": drill.name, "event": "injected", "phase": p["phase"], **answer}
                )
            module.exit_json(changed=True, drill=drill.to_dict(), strikes=True, slot_env={}, answer=answer)
        injected = [
            d
            for d in (read_state(p["run_dir"]).drill if p["run_dir"] else ())
            if d.get("event") == "injected" and d.get("name") == drill.name
        ]
        cleared = [
            d for d in (read_state(p["run_dir"]).drill if p["run_dir"] else ()) if d.get("event") == "cleared"
        ]
        if drill.injection.kind == "slot_env" or not injected or len(cleared) >= len(injected):
            module.exit_json(changed=False, drill=drill.to_dict(), strikes=strikes, slot_env={})
        rule_ids = tuple(rule for d in injected for rule in d.get("added", []))
        answer = drills.clear_environment(
            drill,
            emulator_url=p["emulator_url"],
            mcp_admin_url=p["mcp_admin_url"],
            token=token,
            rule_ids=rule_ids,
        )
        if journal:
            journal.record(
                "drill_fault", {"name": drill.name, "event": "cleared", "phase": p["phase"], **answer}
            )
    except drills.DrillError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=True, drill=drill.to_dict(), strikes=strikes, slot_env={}, answer=answer)


if __name__ == "__main__":
    main()
