#!/usr/bin/python
"""Ansible module: what a sandbox slot runs (supervisor backend), set or reverted."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: slot_release
short_description: Make a sandbox slot run a release, revert it, or report what the slots run
description:
  - The C(supervisor) backend of the component rollout (the sandbox). Calls
    C(sandbox.control.set_slot_release), which installs the built artifact, restarts only that slot
    and waits until its C(/version) reports the release. The same release with the same extra
    environment is a no-op.
  - C(state=reverted) puts the slot back to exactly what it ran before this run first changed it
    (release, source folder, extra environment), as journaled in C(slot_release_set).
  - Every change is journaled (C(slot_release_set)) when C(run_dir) is given.
  - The C(systemd) backend (staging, production) is plain ansible.builtin tasks in the role.
options:
  state:
    description: C(query), C(present) or C(reverted).
    type: str
    choices: [query, present, reverted]
    default: present
  runtime_dir:
    description: The sandbox runtime folder (C(runs/sandbox)).
    type: path
    required: true
  slot:
    description: blue or green.
    type: str
    choices: [blue, green]
  release:
    description: Release to run (C(state=present)).
    type: str
  extra_env:
    description: Extra slot environment (drills only, e.g. C(SUPPORT_FAULTS)); replaces the previous one.
    type: dict
    default: {}
  run_dir:
    description: The run folder whose journal records the change.
    type: path
  reason:
    description: Why (recorded with the change).
    type: str
    default: ""
author: Release Team
"""

EXAMPLES = r"""
- name: Green slot runs release 1.1.0
  bedrock.release.slot_release:
    runtime_dir: "{{ component_rollout_sandbox_runtime_dir }}"
    slot: green
    release: 1.1.0
    run_dir: "{{ release_run.run_dir }}"
"""

RETURN = r"""
slots:
  description: What each slot runs (release, pythonpath, source, extra_env).
  returned: always
  type: dict
previous:
  description: What the slot ran before this call.
  returned: when state is present or reverted
  type: dict
"""

from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import (
    journal_of,
    require_library,
)

try:
    from bedrock_release.pipeline.journal import read_state
    from sandbox import control
    from sandbox.errors import SandboxError
    from sandbox.paths import SandboxPaths
    from sandbox.settings import SandboxSettings
    from sandbox.state import load_state
except ImportError:
    control = None
    SandboxError = RuntimeError


def _slots(runtime_dir: Path) -> dict:
    state = load_state(SandboxPaths.of(runtime_dir).state)
    if state is None:
        return {}
    return {name: slot.to_dict() for name, slot in state.slots.items()}


def _previous_of_run(run_dir: str, slot: str) -> dict | None:
    for record in read_state(run_dir).slot_releases:
        if record.get("slot") == slot and isinstance(record.get("previous"), dict):
            return dict(record["previous"])
    return None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["query", "present", "reverted"], "default": "present"},
            "runtime_dir": {"type": "path", "required": True},
            "slot": {"type": "str", "choices": ["blue", "green"]},
            "release": {"type": "str"},
            "extra_env": {"type": "dict", "default": {}},
            "run_dir": {"type": "path"},
            "reason": {"type": "str", "default": ""},
        },
        required_if=[
            ("state", "present", ("slot", "release")),
            ("state", "reverted", ("slot", "run_dir")),
        ],
        supports_check_mode=True,
    )
    require_library(module)
    p = module.params
    runtime_dir = Path(p["runtime_dir"])
    slots = _slots(runtime_dir)
    if p["state"] == "query":
        module.exit_json(changed=False, slots=slots)
    previous = slots.get(p["slot"])
    if previous is None:
        module.fail_json(msg=f"no sandbox state in {runtime_dir}: is the sandbox running?", slots=slots)
    release, extra_env, release_dir = p["release"], {str(k): str(v) for k, v in p["extra_env"].items()}, None
    if p["state"] == "reverted":
        target = _previous_of_run(p["run_dir"], p["slot"])
        if target is None:
            module.exit_json(
                changed=False, slots=slots, previous=previous, msg="this run never changed the slot"
            )
        release, extra_env = target["release"], dict(target.get("extra_env") or {})
        if target.get("source") != "artifact":
            release_dir = Path(target["pythonpath"])
    wanted_same = previous["release"] == release and dict(previous.get("extra_env") or {}) == extra_env
    if module.check_mode:
        module.exit_json(changed=not wanted_same, slots=slots, previous=previous)
    try:
        switch = control.set_slot_release(
            p["slot"],
            release,
            extra_env,
            settings=SandboxSettings(runtime_dir=runtime_dir),
            release_dir=release_dir,
        )
    except (SandboxError, OSError, ValueError) as exc:
        module.fail_json(msg=f"slot {p['slot']} could not run release {release}: {exc}", previous=previous)
    if switch.changed and p["run_dir"]:
        journal_of(p["run_dir"]).record(
            "slot_release_set",
            {
                "slot": p["slot"],
                "release": release,
                "previous_release": previous["release"],
                "previous": previous,
                "extra_env": extra_env,
                "reverted": p["state"] == "reverted",
                "reason": p["reason"],
                "duration_s": switch.duration_s,
            },
        )
    module.exit_json(
        changed=switch.changed, slots=_slots(runtime_dir), previous=previous, switch=switch.to_dict()
    )


if __name__ == "__main__":
    main()
