#!/usr/bin/python
"""Ansible module: choose the rollback tier for a failure, and time the rollback against its target."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rollback_tier
short_description: Choose the rollback tier (rollback_policy.decide) and time the rollback
description:
  - C(state=decided) returns the plan's action for the run's failure (no_go, rollback with a tier,
    or manual_intervention), from the failed phase, whether canary traffic moved and the last flag
    activated (docs/rollback.md). Nothing is written.
  - C(state=started) journals C(rollback_started) with the moment the failure was known (the failed
    phase's end) or now (by hand), and C(retry_until) - that moment plus the tier's target at the run's
    time scale - the deadline until which every step retries a transient backend failure.
  - C(state=finished) journals C(rollback_finished) with the duration from the failure against the
    plan's target (300/600/1800 s, not scaled), whether the rollback was verified, and the traffic
    state it left (C(traffic_left) - C(live_weights) when the load balancer answered, otherwise the
    weights this run set last, naming C(weights_error)).
options:
  state:
    description: What to do.
    type: str
    choices: [decided, started, finished]
    default: decided
  run_dir:
    description: The run folder.
    type: path
    required: true
  phase:
    description: The failed phase (default the journal's failed phase).
    type: int
  failing_flag:
    description: The flag whose monitoring window degraded (default the last flag switched on in phase 5).
    type: str
  tier:
    description: Tier to start (C(state=started)) or to force by hand (C(state=decided)).
    type: str
    choices: [immediate, partial, full]
  trigger:
    description: What triggered the rollback (C(state=started)).
    type: str
    default: ""
  by_hand:
    description: A rollback run by hand is timed from its own start.
    type: bool
    default: false
  verified:
    description: Whether every check of the tier passed (C(state=finished)).
    type: bool
    default: false
  reason:
    description: Why it finished so.
    type: str
    default: ""
  live_weights:
    description: The weights just read from the load balancer (C(state=finished)); omitted if unanswered.
    type: dict
  weights_error:
    description: Why the load balancer's weights could not be read (C(state=finished)).
    type: str
    default: ""
author: Release Team
"""

EXAMPLES = r"""
- name: Rollback tier for this failure is chosen
  bedrock.release.rollback_tier:
    run_dir: "{{ release_run.run_dir }}"
  register: __phase_rollback
"""

RETURN = r"""
choice:
  description: action, tier, target_s, reenable_flags, page, reason, phase, failing_flag.
  returned: state is decided
  type: dict
record:
  description: The journaled data (started - with retry_until; finished - with traffic_left).
  returned: state is started or finished
  type: dict
manual_message:
  description: The message if this tier itself fails (manual intervention, on-call named).
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import require_library

try:
    from bedrock_release.pipeline import rollbacks
    from bedrock_release.pipeline.journal import read_state
except ImportError:
    rollbacks = None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["decided", "started", "finished"], "default": "decided"},
            "run_dir": {"type": "path", "required": True},
            "phase": {"type": "int"},
            "failing_flag": {"type": "str"},
            "tier": {"type": "str", "choices": ["immediate", "partial", "full"]},
            "trigger": {"type": "str", "default": ""},
            "by_hand": {"type": "bool", "default": False},
            "verified": {"type": "bool", "default": False},
            "reason": {"type": "str", "default": ""},
            "live_weights": {"type": "dict"},
            "weights_error": {"type": "str", "default": ""},
        },
        required_if=[("state", "started", ("tier",))],
    )
    require_library(module)
    p = module.params
    try:
        state = read_state(p["run_dir"])
        if p["state"] == "decided":
            choice = rollbacks.choose(state, phase=p["phase"], failing_flag=p["failing_flag"], tier=p["tier"])
            manual = rollbacks.manual_intervention(choice.tier or "full", choice.phase)
            module.exit_json(changed=False, choice=choice.to_dict(), manual_message=manual)
        tier = p["tier"] or (state.rollback.tier if state.rollback else "full")
        manual = rollbacks.manual_intervention(tier, p["phase"] or state.failed_phase or 7)
        if p["state"] == "started":
            record = rollbacks.start(p["run_dir"], tier, p["trigger"], by_hand=p["by_hand"])
        else:
            record = rollbacks.finish(
                p["run_dir"],
                verified=p["verified"],
                reason=p["reason"],
                live_weights=p["live_weights"],
                weights_error=p["weights_error"],
            )
    except (ValueError, OSError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=p["state"] != "decided", record=record, manual_message=manual)


if __name__ == "__main__":
    main()
