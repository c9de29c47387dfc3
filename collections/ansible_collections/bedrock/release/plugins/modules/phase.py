#!/usr/bin/python
"""Ansible module: record a plan phase's start or end (duration against its scaled budget)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: phase
short_description: Record the start or the end of a plan phase in the deploy journal
description:
  - C(state=started) appends C(phase_started).
  - C(state=passed) or C(state=failed) appends C(phase_finished) with the duration since the phase's
    latest start, the plan's budget times the run's time scale and the budget policy.
  - An overrun is judged by C(budget_policy) (C(bedrock_release.pipeline.phase_budget)). C(record)
    journals it, C(warn) also warns, C(fail) fails the task instead of recording a pass, so the
    phase's failure path runs.
  - Returns the folded run state, including C(phases_passed), so a resumed run skips finished phases.
options:
  run_dir:
    description: The run folder.
    type: path
    required: true
  phase:
    description: Plan phase id (1 to 7).
    type: int
    required: true
  state:
    description: What happened to the phase.
    type: str
    choices: [started, passed, failed]
    required: true
  reason:
    description: Why it ended so (failed phases name the failed gate or step).
    type: str
    default: ""
  budget_policy:
    description: What an overrun of the phase's budget does.
    type: str
    choices: [record, warn, fail]
    default: warn
author: Release Team
"""

EXAMPLES = r"""
- name: Phase 3 is recorded as started
  bedrock.release.phase:
    run_dir: "{{ release_run.run_dir }}"
    phase: 3
    state: started
"""

RETURN = r"""
duration_s:
  description: Seconds since the phase started (finished states).
  returned: when finished
  type: float
budget_s:
  description: The plan's budget times the time scale.
  returned: always
  type: float
over_budget:
  description: Whether the phase took longer than its budget.
  returned: when finished
  type: bool
budget_policy:
  description: The policy the overrun was judged by.
  returned: when finished
  type: str
budget_message:
  description: The duration against the budget and what the policy did, in one sentence.
  returned: when finished
  type: str
state:
  description: The folded run state.
  returned: always
  type: dict
"""

from datetime import UTC, datetime

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import (
    journal_of,
    require_library,
    state_of,
)

try:
    from bedrock_release.pipeline.journal import parse_ts, read_state
    from bedrock_release.pipeline.phase_budget import judge
    from bedrock_release.plan import phase as plan_phase
except ImportError:
    plan_phase = None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "run_dir": {"type": "path", "required": True},
            "phase": {"type": "int", "required": True},
            "state": {"type": "str", "choices": ["started", "passed", "failed"], "required": True},
            "reason": {"type": "str", "default": ""},
            "budget_policy": {"type": "str", "choices": ["record", "warn", "fail"], "default": "warn"},
        },
    )
    require_library(module)
    p = module.params
    try:
        spec = plan_phase(p["phase"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    run = read_state(p["run_dir"])
    if run.time_scale is None:
        module.fail_json(msg=f"{p['run_dir']}: the journal has no run_started record")
    budget = spec.scaled_budget_s(run.time_scale)
    journal = journal_of(p["run_dir"])
    if p["state"] == "started":
        journal.phase_started(spec.id)
        module.exit_json(changed=True, budget_s=budget, state=state_of(p["run_dir"]))
    current = run.phases.get(spec.id)
    started = parse_ts(current.started_at) if current else datetime.now(UTC)
    duration = max((datetime.now(UTC) - started).total_seconds(), 0.0)
    verdict = judge(spec.id, duration, budget, p["budget_policy"])
    result = {
        "duration_s": round(duration, 3),
        "budget_s": budget,
        "over_budget": verdict.over,
        "budget_policy": verdict.policy.value,
        "budget_message": verdict.message(),
    }
    if p["state"] == "passed" and verdict.fails:
        # Not journaled as passed: the phase's rescue records it as failed, with this message as the reason.
        module.fail_json(msg=verdict.message(), **result)
    journal.phase_finished(
        spec.id,
        p["state"],
        duration_s=duration,
        budget_s=budget,
        reason=p["reason"],
        budget_policy=verdict.policy.value,
    )
    if p["state"] == "passed" and verdict.warns:
        module.warn(verdict.message())
    module.exit_json(changed=True, state=state_of(p["run_dir"]), **result)


if __name__ == "__main__":
    main()
