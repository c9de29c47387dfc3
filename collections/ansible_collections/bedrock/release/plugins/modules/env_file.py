#!/usr/bin/python
"""Ansible module: read a KEY=VALUE secrets file (use it with no_log)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: env_file
short_description: Read KEY=VALUE lines of a secrets file such as runs/sandbox/secrets.env
description:
  - Returns the values of the named keys. The result holds secrets; every task using this module
    must set C(no_log=true).
options:
  path:
    description: The file (mode 0600 in the sandbox).
    type: path
    required: true
  keys:
    description: Keys that must be present; missing ones fail the task naming them.
    type: list
    elements: str
    required: true
author: Release Team
"""

EXAMPLES = r"""
- name: Sandbox admin tokens are loaded
  bedrock.release.env_file:
    path: "{{ sandbox_runtime_dir }}/secrets.env"
    keys: [SUPPORT_ADMIN_TOKEN, EMULATOR_ADMIN_TOKEN]
  register: __deploy_run_secrets
  no_log: true
"""

RETURN = r"""
values:
  description: The requested keys and their values.
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "keys": {"type": "list", "elements": "str", "required": True, "no_log": False},
        },
        supports_check_mode=True,
    )
    path = module.params["path"]
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        module.fail_json(msg=f"{path}: cannot read the secrets file: {exc.strerror}")
    values = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            values[key.strip()] = value.strip()
    missing = [key for key in module.params["keys"] if not values.get(key)]
    if missing:
        module.fail_json(msg=f"{path}: lacks {', '.join(missing)}")
    module.exit_json(changed=False, values={key: values[key] for key in module.params["keys"]})


if __name__ == "__main__":
    main()
