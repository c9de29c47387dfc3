#!/usr/bin/python
"""Ansible module: read or set the blue/green traffic weights on the load balancer."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: traffic_weights
short_description: Read or set the blue/green weights (Caddy admin API or ALB weighted target groups)
description:
  - C(backend=caddy) talks to Caddy's admin API (the sandbox); weights are reduced by their GCD
    before the PATCH, because Caddy's weighted round robin serves each weight in a row.
  - C(backend=alb) modifies an ALB listener's default action (or a listener rule) to a weighted
    forward to the two slots' target groups (boto3 elbv2).
  - Weights are whole percents summing to 100, so two slots never both take 100%.
  - Setting the weights already in place is a no-op. Changes are journaled (C(traffic_weights_set)).
  - With C(retry_until), a load balancer that does not answer (or answers 429/5xx, or throttles) is
    asked again with backoff until that time (C(bedrock_release.pipeline.retry)); each retry is
    journaled (C(backend_retry)) when C(run_dir) is given. A refusal (4xx, access denied) fails at once.
options:
  state:
    description: C(query) reads; C(present) sets C(weights).
    type: str
    choices: [query, present]
    default: present
  backend:
    description: The load balancer.
    type: str
    choices: [caddy, alb]
    required: true
  weights:
    description: Percent per slot, C({blue, green}), summing to 100.
    type: dict
  caddy_admin_url:
    description: Caddy admin API base URL (loopback).
    type: str
    default: ""
  alb_listener_arn:
    description: The listener whose default action forwards to the slots.
    type: str
    default: ""
  alb_rule_arn:
    description: A listener rule to change instead of the default action.
    type: str
    default: ""
  alb_target_groups:
    description: Target group ARN per slot, C({blue, green}).
    type: dict
    default: {}
  aws_region:
    description: Region of the ALB.
    type: str
    default: ""
  aws_endpoint_url:
    description: Endpoint override (moto in tests); empty for AWS.
    type: str
    default: ""
  run_dir:
    description: Run folder whose journal records the change and every retry.
    type: path
  retry_until:
    description: RFC 3339 time until which a transient failure is tried again; empty - one attempt.
    type: str
    default: ""
  reason:
    description: Why the weights change (canary step, rollback).
    type: str
    default: ""
author: Release Team
"""

EXAMPLES = r"""
- name: Green slot takes 25% of the traffic
  bedrock.release.traffic_weights:
    backend: caddy
    caddy_admin_url: http://127.0.0.1:18019
    weights: {blue: 75, green: 25}
    run_dir: "{{ release_run.run_dir }}"
"""

RETURN = r"""
weights:
  description: The weights after the call, in percent.
  returned: always
  type: dict
previous:
  description: The weights before the call.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import (
    journal_of,
    require_library,
)

try:
    from bedrock_release.pipeline.retry import RetryExhaustedError, retry_until
    from bedrock_release.pipeline.traffic import SLOTS, TrafficError, check_loopback, weights_backend
except ImportError:
    weights_backend = None
    TrafficError = RuntimeError
    RetryExhaustedError = RuntimeError


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["query", "present"], "default": "present"},
            "backend": {"type": "str", "choices": ["caddy", "alb"], "required": True},
            "weights": {"type": "dict"},
            "caddy_admin_url": {"type": "str", "default": ""},
            "alb_listener_arn": {"type": "str", "default": ""},
            "alb_rule_arn": {"type": "str", "default": ""},
            "alb_target_groups": {"type": "dict", "default": {}},
            "aws_region": {"type": "str", "default": ""},
            "aws_endpoint_url": {"type": "str", "default": ""},
            "run_dir": {"type": "path"},
            "reason": {"type": "str", "default": ""},
            "retry_until": {"type": "str", "default": ""},
        },
        required_if=[("state", "present", ("weights",)), ("backend", "caddy", ("caddy_admin_url",))],
        supports_check_mode=True,
    )
    require_library(module)
    p = module.params
    try:
        if p["backend"] == "caddy":
            check_loopback(p["caddy_admin_url"], allow_remote=False)
        backend = weights_backend(
            p["backend"],
            caddy_admin_url=p["caddy_admin_url"],
            alb_listener_arn=p["alb_listener_arn"],
            alb_rule_arn=p["alb_rule_arn"],
            alb_target_groups=p["alb_target_groups"],
            aws_region=p["aws_region"],
            aws_endpoint_url=p["aws_endpoint_url"],
        )
        retry = retry_until(p["retry_until"], p["run_dir"])
        previous = retry(backend.get, "read the weights")
        if p["state"] == "query":
            module.exit_json(changed=False, weights=previous, previous=previous)
        wanted = {slot: int(p["weights"].get(slot, -1)) for slot in SLOTS}
        if any(v < 0 or v > 100 for v in wanted.values()) or sum(wanted.values()) != 100:
            module.fail_json(
                msg=f"weights must be whole percents for blue and green summing to 100, got {p['weights']}"
            )
        if wanted == previous:
            module.exit_json(changed=False, weights=previous, previous=previous)
        if not module.check_mode:

            def apply() -> dict:
                backend.set(wanted)
                return backend.get()

            now = retry(apply, f"set the weights {wanted}")
            if now != wanted:
                module.fail_json(msg=f"the load balancer reports {now} after setting {wanted}", weights=now)
            if p["run_dir"]:
                journal_of(p["run_dir"]).record(
                    "traffic_weights_set",
                    {"weights": wanted, "previous": previous, "backend": p["backend"], "reason": p["reason"]},
                )
    except (TrafficError, RetryExhaustedError, ValueError, KeyError) as exc:
        module.fail_json(msg=f"traffic weights ({p['backend']}): {exc}")
    except Exception as exc:  # botocore errors carry the AWS error code in their message
        module.fail_json(msg=f"traffic weights ({p['backend']}): {type(exc).__name__}: {exc}")
    module.exit_json(changed=True, weights=wanted, previous=previous)


if __name__ == "__main__":
    main()
