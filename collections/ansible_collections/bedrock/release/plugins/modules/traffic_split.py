#!/usr/bin/python
"""Ansible module: observe the traffic split through the load balancer."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: traffic_split
short_description: Count which slot answers requests sent through the load balancer
description:
  - Sends GET requests to C(url) (through the load balancer) and counts the C(X-Slot) header of the
    answers. The number of requests is the split test's sample size
    (C(bedrock_release.gates.canary_split), docs/gates.md, Canary split) - the smallest multiple of
    the GCD-reduced weight total, at least C(min_requests), with which a healthy canary passes all
    partial C(canary_steps) with probability >= 0.999 and a share off by twice the tolerance fails
    with >= 0.99, under random routing (an ALB) as under Caddy's rotation.
  - Journals C(traffic_split_observed) and a C(gate_evaluated) record (the deviation of the new slot's
    share from its weight, against the tolerance). Never fails by itself; the role asserts.
  - Only 127.0.0.1 may be the target unless C(allow_remote) (staging, production).
options:
  url:
    description: URL through the load balancer (e.g. C(http://127.0.0.1:18080/version)).
    type: str
    required: true
  weights:
    description: The weights in force, C({blue, green}).
    type: dict
    required: true
  new_slot:
    description: The slot of the release under deployment.
    type: str
    choices: [blue, green]
    required: true
  min_requests:
    description: At least this many requests.
    type: int
    default: 40
  tolerance_pp:
    description: Allowed deviation of the new slot's share, in percentage points (above 0, below 50).
    type: float
    default: 5.0
  canary_steps:
    description: Every share of the canary (percent); those between 0 and 100 share the 0.999.
    type: list
    elements: int
    default: [5, 25, 50, 100]
  allow_remote:
    description: Allow a non-loopback URL (an ALB in staging or production).
    type: bool
    default: false
  concurrency:
    description: Parallel requests (1 keeps Caddy's round robin deterministic).
    type: int
    default: 1
  timeout_s:
    description: Timeout of each request.
    type: float
    default: 5.0
  run_dir:
    description: Run folder whose journal records the observation.
    type: path
  phase:
    description: Phase the observation belongs to (for the gate record).
    type: int
    default: 2
author: Release Team
"""

EXAMPLES = r"""
- name: Observed split matches the 5% canary step
  bedrock.release.traffic_split:
    url: http://127.0.0.1:18080/version
    weights: {blue: 95, green: 5}
    new_slot: green
    run_dir: "{{ release_run.run_dir }}"
  register: __traffic_split
"""

RETURN = r"""
observation:
  description: counts, requests, errors, expected and observed share, within_tolerance.
  returned: always
  type: dict
within_tolerance:
  description: Whether the split test passed (share within the tolerance on enough answers, no errors).
  returned: always
  type: bool
summary:
  description: One line for task output.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import (
    journal_of,
    require_library,
)

try:
    from bedrock_release.gates.canary_split import SplitTest, partial_steps
    from bedrock_release.pipeline.traffic import (
        TrafficError,
        check_loopback,
        evaluate_split,
        observe_split,
        reduced,
    )
except ImportError:
    observe_split = None
    TrafficError = RuntimeError


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "weights": {"type": "dict", "required": True},
            "new_slot": {"type": "str", "choices": ["blue", "green"], "required": True},
            "min_requests": {"type": "int", "default": 40},
            "tolerance_pp": {"type": "float", "default": 5.0},
            "canary_steps": {"type": "list", "elements": "int", "default": [5, 25, 50, 100]},
            "allow_remote": {"type": "bool", "default": False},
            "concurrency": {"type": "int", "default": 1},
            "timeout_s": {"type": "float", "default": 5.0},
            "run_dir": {"type": "path"},
            "phase": {"type": "int", "default": 2},
        },
        supports_check_mode=True,
    )
    require_library(module)
    p = module.params
    weights = {k: int(v) for k, v in p["weights"].items()}
    try:
        check_loopback(p["url"], allow_remote=p["allow_remote"])
        steps = partial_steps(p["canary_steps"])
        test = SplitTest(tolerance_pp=p["tolerance_pp"], partial_steps=steps)
        requests = test.sample_size(
            weights[p["new_slot"]], at_least=p["min_requests"], multiple_of=sum(reduced(weights))
        )
    except (TrafficError, ValueError, KeyError) as exc:
        module.fail_json(msg=str(exc))
    if module.check_mode:
        module.exit_json(
            changed=False, observation={}, within_tolerance=True, summary="check mode: not observed"
        )
    observation = observe_split(
        p["url"],
        weights,
        p["new_slot"],
        requests=requests,
        tolerance_pp=p["tolerance_pp"],
        timeout_s=p["timeout_s"],
        concurrency=p["concurrency"],
        partial_steps=steps,
    )
    gate = observation.gate(source=f"{requests} GET {p['url']} (X-Slot header)")
    if p["run_dir"]:
        journal = journal_of(p["run_dir"])
        journal.record("traffic_split_observed", observation.to_dict())
        journal.record("gate_evaluated", {"phase": p["phase"], "marker": "canary", "gate": gate.to_dict()})
    module.exit_json(
        changed=False,
        observation=observation.to_dict(),
        within_tolerance=observation.within_tolerance,
        gate=gate.to_dict(),
        summary=evaluate_split(observation),
    )


if __name__ == "__main__":
    main()
