#!/usr/bin/python
"""Ansible module: take and record one of the plan's three go/no-go decisions."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: decision_point
short_description: Decide and record a go/no-go decision point from the phase's journaled evidence
description:
  - Decides with C(bedrock_release.pipeline.decisions.evaluate) (verification steps, gates, and for
    decision point 1 the component health checks and canary splits) and journals C(decision).
  - A person's verdict (the interactive pause) can turn a go into a no-go, never a no-go into a go.
  - C(verdict=no-go) with a C(reason) records a no-go without evaluating (the phase already failed).
  - Never fails by itself; the role asserts.
options:
  run_dir:
    description: The run folder.
    type: path
    required: true
  id:
    description: Decision point 1, 2 or 3.
    type: int
    choices: [1, 2, 3]
    required: true
  verdict:
    description: Record this verdict instead of evaluating (only C(no-go)).
    type: str
    choices: [no-go]
  reason:
    description: Reason of a recorded no-go.
    type: str
    default: ""
  person_verdict:
    description: What a person answered at the pause (go or no-go); empty when not asked.
    type: str
    default: ""
  person:
    description: Who answered.
    type: str
    default: ""
  record:
    description: Journal the decision (false only evaluates, to show the evidence before a person decides).
    type: bool
    default: true
author: Release Team
"""

EXAMPLES = r"""
- name: Decision point 2 is a recorded go
  bedrock.release.decision_point:
    run_dir: "{{ release_run.run_dir }}"
    id: 2
  register: __decision_point
"""

RETURN = r"""
verdict:
  description: go or no-go.
  returned: always
  type: str
reason:
  description: Why, in the plan's terms.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import (
    journal_of,
    require_library,
)

try:
    from bedrock_release.pipeline.decisions import decision_point, evaluate
    from bedrock_release.pipeline.journal import read_state
except ImportError:
    evaluate = None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "run_dir": {"type": "path", "required": True},
            "id": {"type": "int", "choices": [1, 2, 3], "required": True},
            "verdict": {"type": "str", "choices": ["no-go"]},
            "reason": {"type": "str", "default": ""},
            "person_verdict": {"type": "str", "default": ""},
            "person": {"type": "str", "default": ""},
            "record": {"type": "bool", "default": True},
        },
    )
    require_library(module)
    p = module.params
    dp = decision_point(p["id"])
    if p["verdict"] == "no-go":
        verdict, reason = (
            "no-go",
            f"{dp.name}: no-go ({dp.no_go_action}): {p['reason'] or 'the phase failed'}",
        )
    else:
        outcome = evaluate(read_state(p["run_dir"]), p["id"])
        verdict, reason = outcome.verdict, outcome.reason
        answer = p["person_verdict"].strip().lower()
        if answer:
            who = p["person"] or "the release engineer"
            if verdict == "go" and answer != "go":
                verdict, reason = (
                    "no-go",
                    f"{dp.name}: no-go decided by {who} at the pause ({answer!r}); evidence: {reason}",
                )
            else:
                reason = f"{reason}; confirmed by {who}"
    if p["record"]:
        journal_of(p["run_dir"]).decision(p["id"], verdict, reason)
    module.exit_json(changed=p["record"], verdict=verdict, reason=reason)


if __name__ == "__main__":
    main()
