#!/usr/bin/python
"""Ansible module: append one contract action to the deploy journal."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: journal
short_description: Append an action to the run's deploy journal (runs/<run-id>/audit.jsonl)
description:
  - Appends one record of docs/contracts.md "The deploy journal" after checking that its data has
    the action's required fields, and returns the run state folded from the journal.
  - Logic in C(bedrock_release.pipeline.journal).
options:
  run_dir:
    description: The run folder.
    type: path
    required: true
  action:
    description: The journal action (C(decision), C(flags_snapshot), C(rollback_step), ...).
    type: str
    required: true
  data:
    description: The action's data.
    type: dict
    default: {}
  actor:
    description: Who writes (C(pipeline), C(operator:<user>)).
    type: str
    default: pipeline
author: Release Team
"""

EXAMPLES = r"""
- name: Rollback step is recorded
  bedrock.release.journal:
    run_dir: "{{ release_run.run_dir }}"
    action: rollback_step
    data: {tier: immediate, step: Disable all hybrid routing feature flags, status: done}
"""

RETURN = r"""
seq:
  description: Sequence number of the appended record.
  returned: success
  type: int
state:
  description: The run state folded from the journal after the append.
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import (
    journal_of,
    require_library,
    state_of,
)

try:
    from bedrock_release.pipeline.journal import JournalError
except ImportError:
    JournalError = ValueError


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "run_dir": {"type": "path", "required": True},
            "action": {"type": "str", "required": True},
            "data": {"type": "dict", "default": {}},
            "actor": {"type": "str", "default": "pipeline"},
        },
        supports_check_mode=True,
    )
    require_library(module)
    p = module.params
    if module.check_mode:
        module.exit_json(changed=True, seq=None, state=state_of(p["run_dir"]))
    try:
        record = journal_of(p["run_dir"]).record(p["action"], p["data"], actor=p["actor"])
    except (JournalError, ValueError, OSError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=True, seq=record.seq, state=state_of(p["run_dir"]))


if __name__ == "__main__":
    main()
