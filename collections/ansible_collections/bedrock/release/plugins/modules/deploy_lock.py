#!/usr/bin/python
"""Ansible module: the deploy lock's status, or its release by the run that holds it."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: deploy_lock
short_description: Report or release the deploy lock (runs/deploy.lock)
description:
  - C(state=status) reports who holds the lock, for how long, and whether it looks stale
    (its holder's process is gone, or it is older than a deploy can rightly last). A stale lock is
    reported, never broken here; breaking it is an operator's audited decision
    (C(bedrock-release lock break --reason ...)).
  - C(state=absent) releases the lock if, and only if, the given run holds it (journaled).
  - Acquiring happens in C(run_context) (start), where a refusal can be recorded with the run.
options:
  state:
    description: C(status) or C(absent).
    type: str
    choices: [status, absent]
    default: status
  runs_dir:
    description: The runtime folder holding C(deploy.lock).
    type: path
    required: true
  run_id:
    description: The run releasing the lock (C(state=absent)).
    type: str
author: Release Team
"""

EXAMPLES = r"""
- name: Deploy lock is released by this run
  bedrock.release.deploy_lock:
    state: absent
    runs_dir: "{{ release_run.runs_dir }}"
    run_id: "{{ release_run.run_id }}"
"""

RETURN = r"""
held:
  description: Whether the lock is held (after the action).
  returned: always
  type: bool
description:
  description: One line naming the holder, its age and any staleness.
  returned: always
  type: str
stale:
  description: Whether the holder looks gone.
  returned: always
  type: bool
"""

from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import require_library

try:
    from bedrock_release.pipeline.lock import DeployLock
    from bedrock_release.pipeline.run import LOCK_NAME, RunPaths, release_lock
except ImportError:
    DeployLock = None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["status", "absent"], "default": "status"},
            "runs_dir": {"type": "path", "required": True},
            "run_id": {"type": "str"},
        },
        required_if=[("state", "absent", ("run_id",))],
        supports_check_mode=True,
    )
    require_library(module)
    runs_dir = Path(module.params["runs_dir"])
    changed = False
    if module.params["state"] == "absent" and not module.check_mode:
        changed = release_lock(RunPaths(runs_dir, module.params["run_id"]))
    status = DeployLock(runs_dir / LOCK_NAME).status()
    module.exit_json(changed=changed, held=status.held, stale=status.stale, description=status.describe())


if __name__ == "__main__":
    main()
