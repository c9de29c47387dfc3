#!/usr/bin/python
"""Ansible module: wait until every slot reports the expected flag values (GET /v1/flags)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: slot_flags
short_description: Wait until every slot routes by the expected flag values
description:
  - Polls C(<url>/v1/flags) of every slot until each reports the C(expected) values (flags not named
    are not checked) and, with C(store_ok), a healthy flag store; fails naming every slot and flag
    that still differs when C(timeout_s) has passed. An unreachable slot is a mismatch, never a pass.
  - Read-only; the flag store writes are C(bedrock.release.flag)'s.
  - With C(retry_until) (a rollback's deadline), the wait lasts until that time if it is later than
    C(timeout_s) - a slot that is briefly unreachable or slow to poll is waited for, within the target.
options:
  slot_urls:
    description: Base URL of every slot to check.
    type: list
    elements: str
    required: true
  expected:
    description: Flag name to the value every slot must report.
    type: dict
    required: true
  store_ok:
    description: Also require every slot's flag store to report C(ok).
    type: bool
    default: true
  timeout_s:
    description: Give up after this many seconds.
    type: float
    default: 30
  interval_s:
    description: Seconds between two polls of the slots.
    type: float
    default: 0.1
  retry_until:
    description: RFC 3339 time the wait may last until, when later than C(timeout_s) from now.
    type: str
    default: ""
author: Release Team
"""

EXAMPLES = r"""
- name: Every slot reports MCP-only operation
  bedrock.release.slot_flags:
    slot_urls: "{{ rollback_slot_urls.values() | list }}"
    expected: {ENABLE_BEDROCK_SUPPORT_MODE: false}
    timeout_s: 30
"""

RETURN = r"""
elapsed_s:
  description: Seconds until every slot reported the expected values (or until the timeout).
  returned: always
  type: float
polls:
  description: How many rounds of GETs it took.
  returned: always
  type: int
slots:
  description: Per slot URL its last values, store state and error.
  returned: always
  type: dict
problems:
  description: Per slot URL what still differs (empty when all match).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import require_library

try:
    from bedrock_release.pipeline.retry import parse_until, remaining_s
    from bedrock_release.pipeline.slot_flags import wait_for_slot_flags
except ImportError:
    wait_for_slot_flags = None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "slot_urls": {"type": "list", "elements": "str", "required": True},
            "expected": {"type": "dict", "required": True},
            "store_ok": {"type": "bool", "default": True},
            "timeout_s": {"type": "float", "default": 30},
            "interval_s": {"type": "float", "default": 0.1},
            "retry_until": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    require_library(module)
    p = module.params
    expected = {}
    for flag, value in p["expected"].items():
        if not isinstance(value, bool):
            module.fail_json(msg=f"expected: {flag} must be true or false, not {value!r}")
        expected[str(flag)] = value
    try:
        timeout_s = max(p["timeout_s"], remaining_s(parse_until(p["retry_until"])))
        result = wait_for_slot_flags(
            p["slot_urls"],
            expected,
            timeout_s=timeout_s,
            store_ok=p["store_ok"],
            interval_s=p["interval_s"],
        )
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if not result.ok:
        module.fail_json(msg=result.message(), **result.to_dict())
    module.exit_json(changed=False, msg=result.message(), **result.to_dict())


if __name__ == "__main__":
    main()
