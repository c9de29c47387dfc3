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
    the sandbox's secrets file in C(runtime_dir), never a task argument or task environment;
    a sandbox program stopped or frozen; Caddy's admin API
    refusing changes) that strikes C(phase), or with C(at=rollback) the drill's rollback fault, and
    journals C(drill_fault) C(injected) with the facts needed to clear it.
  - C(state=absent) clears every environment fault this run injected and has not cleared, and journals
    C(cleared) for each; a no-op when none.
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
  runtime_dir:
    description: Sandbox runtime folder (supervisord socket) for process faults.
    type: path
  caddy_admin_url:
    description: Caddy admin API base URL.
    type: str
    default: ""
  at:
    description: Inject the fault that strikes the phase, or the one that strikes the rollback.
    type: str
    choices: [phase, rollback]
    default: phase
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

from ansible_collections.bedrock.release.plugins.module_utils.release_common import require_library

try:
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
            "runtime_dir": {"type": "path"},
            "caddy_admin_url": {"type": "str", "default": ""},
            "at": {"type": "str", "choices": ["phase", "rollback"], "default": "phase"},
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
    result = {"drill": drill.to_dict(), "strikes": strikes, "slot_env": slot_env}
    if p["state"] == "planned":
        module.exit_json(changed=False, **result)
    targets = drills.SandboxTargets(
        emulator_url=p["emulator_url"],
        mcp_admin_url=p["mcp_admin_url"],
        token=os.environ.get("EMULATOR_ADMIN_TOKEN") or drills.sandbox_admin_token(p["runtime_dir"]),
        runtime_dir=p["runtime_dir"] or "",
        caddy_admin_url=p["caddy_admin_url"],
    )
    try:
        if p["state"] == "present":
            answer = drills.inject(drill, phase=p["phase"], at=p["at"], targets=targets, run_dir=p["run_dir"])
            module.exit_json(changed=answer is not None, answer=answer, **result)
        if not p["run_dir"]:
            module.fail_json(msg="state=absent needs run_dir (the journal says what was injected)")
        cleared = drills.clear_injected(drill, phase=p["phase"], targets=targets, run_dir=p["run_dir"])
    except drills.DrillError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=bool(cleared), cleared=cleared, **result)


if __name__ == "__main__":
    main()
