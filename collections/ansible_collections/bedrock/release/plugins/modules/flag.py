#!/usr/bin/python
"""Ansible module: the feature flags in SSM Parameter Store."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flag
short_description: Snapshot, set or restore the five hybrid routing flags in SSM Parameter Store
description:
  - C(state=snapshot) reads every flag (journaled as C(flags_snapshot): the configuration before the deploy).
  - C(state=present) sets one flag to C(value) (C(put_parameter), a no-op when it already holds it;
    journaled as C(flag_set) with the previous value and whether it changed, unchanged flags too).
  - C(state=restored) puts every flag back to C(snapshot) (the full rollback).
  - The backend is always SSM (moto in the sandbox); credentials come from the environment.
  - With C(retry_until), every SSM call that is throttled, unanswered or answered with a 5xx is tried
    again with backoff until that time (C(bedrock_release.pipeline.retry)), each retry journaled
    (C(backend_retry)) when C(run_dir) is given; access denied or a bad value fails at once.
options:
  state:
    description: What to do.
    type: str
    choices: [snapshot, present, restored]
    default: present
  flags_path:
    description: SSM path of the flags (C(<path>/<FLAG>)).
    type: str
    required: true
  flag:
    description: One of the plan's five flags (C(state=present)).
    type: str
  value:
    description: On or off (C(state=present)).
    type: bool
  snapshot:
    description: Flag values to restore (C(state=restored)); null means absent (off).
    type: dict
  aws_region:
    description: Region of SSM.
    type: str
    required: true
  aws_endpoint_url:
    description: Endpoint override (moto in the sandbox); empty for AWS.
    type: str
    default: ""
  run_dir:
    description: Run folder whose journal records the change and every retry.
    type: path
  retry_until:
    description: RFC 3339 time until which a transient SSM failure is tried again; empty - one attempt.
    type: str
    default: ""
author: Release Team
"""

EXAMPLES = r"""
- name: ENABLE_HYBRID_HEALTH_MONITORING is on in the flag store
  bedrock.release.flag:
    flags_path: /bedrock-support/local/flags
    flag: ENABLE_HYBRID_HEALTH_MONITORING
    value: true
    aws_region: eu-central-1
    aws_endpoint_url: http://127.0.0.1:18150
    run_dir: "{{ release_run.run_dir }}"
"""

RETURN = r"""
values:
  description: Every flag's stored value after the call (null = absent).
  returned: always
  type: dict
changes:
  description: The flags written, with their previous values.
  returned: always
  type: list
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import (
    journal_of,
    require_library,
)

try:
    from bedrock_release.pipeline.flags import FlagStore, FlagStoreError, ssm_client
    from bedrock_release.pipeline.retry import RetryExhaustedError, retry_until
except ImportError:
    FlagStore = None
    FlagStoreError = RuntimeError
    RetryExhaustedError = RuntimeError


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["snapshot", "present", "restored"], "default": "present"},
            "flags_path": {"type": "str", "required": True},
            "flag": {"type": "str"},
            "value": {"type": "bool"},
            "snapshot": {"type": "dict"},
            "aws_region": {"type": "str", "required": True},
            "aws_endpoint_url": {"type": "str", "default": ""},
            "run_dir": {"type": "path"},
            "retry_until": {"type": "str", "default": ""},
        },
        required_if=[("state", "present", ("flag", "value")), ("state", "restored", ("snapshot",))],
        supports_check_mode=True,
    )
    require_library(module)
    p = module.params
    journal = journal_of(p["run_dir"]) if p["run_dir"] else None
    try:
        store = FlagStore(
            ssm_client(p["aws_region"], p["aws_endpoint_url"]),
            p["flags_path"],
            retry=retry_until(p["retry_until"], p["run_dir"]),
        )
        if p["state"] == "snapshot":
            values = store.snapshot()
            if journal and not module.check_mode:
                journal.record("flags_snapshot", {"values": values, "flags_path": p["flags_path"]})
            module.exit_json(changed=False, values=values, changes=[])
        if p["state"] == "present":
            changes = [store.set(p["flag"], p["value"], check_mode=module.check_mode)]
        else:
            changes = store.restore(p["snapshot"], check_mode=module.check_mode)
        written = [c for c in changes if c.previous is not c.value]
        if journal and not module.check_mode:
            # Every flag this call is about is journaled, unchanged ones too: "the flag just activated"
            # is the one whose monitoring window follows, even if a partial rollback had left it on.
            for change in changes:
                journal.record(
                    "flag_set",
                    {
                        "flag": change.flag,
                        "value": change.value,
                        "previous": change.previous,
                        "changed": change.previous is not change.value,
                    },
                )
        values = store.snapshot()
    except (FlagStoreError, RetryExhaustedError, ValueError) as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # botocore: unreachable endpoint, access denied
        module.fail_json(msg=f"SSM {p['flags_path']}: {type(exc).__name__}: {exc}")
    module.exit_json(
        changed=bool(written),
        values=values,
        changes=[{"flag": c.flag, "value": c.value, "previous": c.previous} for c in written],
    )


if __name__ == "__main__":
    main()
