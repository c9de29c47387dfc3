#!/usr/bin/python
"""Ansible module: the shared deploy lock's status, its release by the run that holds it, or its hand-over."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: deploy_lock
short_description: Report, release or hand over the shared deploy lock (DynamoDB)
description:
  - C(state=status) reports who holds the lock, for how long, its last heartbeat and expiry, and
    whether it looks stale (missed heartbeats) or has expired. A stale lock is reported, never broken
    here; breaking it is an operator's audited decision (C(bedrock-release lock break --reason ...)).
  - C(state=absent) releases the lock if, and only if, this controller holds it for the given run
    (journaled C(lock_released)); the run's heartbeat stops.
  - C(state=handed_over) gives the run's lock to a person (C(to), e.g. on-call) with a C(reason),
    journaled C(lock_handed_over) - for a rollback that could not finish. No deploy can start over its
    half-done state, the watchdog leaves it alone, and only that person's release or an audited break
    frees it.
  - Acquiring happens in C(run_context) (start, lock), where a refusal can be recorded with the run.
  - Logic in C(bedrock_release.pipeline.lock) and C(bedrock_release.pipeline.run).
options:
  state:
    description: C(status), C(absent) or C(handed_over).
    type: str
    choices: [status, absent, handed_over]
    default: status
  runs_dir:
    description: The runtime folder holding the runs.
    type: path
    required: true
  run_id:
    description: The run releasing or handing over its lock (C(state=absent), C(state=handed_over)).
    type: str
  shared_state:
    description: The shared lock and state (C(release_shared_state)); default the run's own (its target.json).
    type: dict
  to:
    description: Whom the lock is handed over to (C(state=handed_over)), e.g. the on-call primary.
    type: str
  reason:
    description: Why it is handed over (C(state=handed_over)), e.g. the rollback step that could not finish.
    type: str
author: Release Team
"""

EXAMPLES = r"""
- name: Deploy lock is released by this run
  bedrock.release.deploy_lock:
    state: absent
    runs_dir: "{{ release_run.runs_dir }}"
    run_id: "{{ release_run.run_id }}"

- name: Deploy lock is handed over to on-call (the rollback could not finish)
  bedrock.release.deploy_lock:
    state: handed_over
    runs_dir: "{{ release_run.runs_dir }}"
    run_id: "{{ release_run.run_id }}"
    to: "DevOps Team Lead (on-call primary)"
    reason: "full rollback failed at 'Live traffic weights are known': traffic 95/5"
"""

RETURN = r"""
held:
  description: Whether the lock is held (after the action).
  returned: always
  type: bool
description:
  description: One line naming the holder, its age, heartbeat and expiry, and any staleness.
  returned: always
  type: str
stale:
  description: Whether the holder looks gone (missed heartbeats).
  returned: always
  type: bool
expired:
  description: Whether the lock is past its expiry (the watchdog acts).
  returned: always
  type: bool
"""

from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import require_library

try:
    from bedrock_release.pipeline.lock import DeployLock
    from bedrock_release.pipeline.run import RunPaths, hand_over_lock, release_lock, run_shared_state
    from bedrock_release.pipeline.shared_state import SharedState
except ImportError:
    DeployLock = None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["status", "absent", "handed_over"], "default": "status"},
            "runs_dir": {"type": "path", "required": True},
            "run_id": {"type": "str"},
            "shared_state": {"type": "dict"},
            "to": {"type": "str"},
            "reason": {"type": "str"},
        },
        required_if=[
            ("state", "absent", ("run_id",)),
            ("state", "handed_over", ("run_id", "to", "reason")),
        ],
        required_one_of=[("run_id", "shared_state")],
        supports_check_mode=True,
    )
    require_library(module)
    p = module.params
    paths = RunPaths(Path(p["runs_dir"]), p["run_id"] or "")
    changed = False
    try:
        shared = SharedState.from_mapping(p["shared_state"]) if p["shared_state"] else run_shared_state(paths)
        if p["state"] == "absent" and not module.check_mode:
            changed = release_lock(paths)
        if p["state"] == "handed_over" and not module.check_mode:
            hand_over_lock(paths, to=p["to"], reason=p["reason"])
            changed = True
        status = DeployLock(shared).status()
    except (RuntimeError, ValueError, OSError) as exc:  # RunError, the lock's errors, bad shared_state
        module.fail_json(msg=str(exc))
    module.exit_json(
        changed=changed,
        held=status.held,
        stale=status.stale,
        expired=status.expired,
        description=status.describe(),
    )


if __name__ == "__main__":
    main()
