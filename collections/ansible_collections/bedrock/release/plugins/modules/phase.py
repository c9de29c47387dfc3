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
    latest start and the plan's budget times the run's time scale.
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
    journal.phase_finished(spec.id, p["state"], duration_s=duration, budget_s=budget, reason=p["reason"])
    module.exit_json(
        changed=True,
        duration_s=round(duration, 3),
        budget_s=budget,
        over_budget=duration > budget,
        state=state_of(p["run_dir"]),
    )


if __name__ == "__main__":
    main()
