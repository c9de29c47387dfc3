#!/usr/bin/python
"""Ansible module: validate a role's inputs before anything changes."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: validate_inputs
short_description: Validate role inputs, failing with a message that names every bad variable
description:
  - Checks each input with a validator of C(bedrock_release.pipeline.inputs) (by kind) and fails
    before anything changes, naming the variable, its value and what is wrong.
  - Reports every bad input at once, not only the first.
options:
  inputs:
    description:
      - Mapping of variable name to C({value, kind}) or C({value, choices}).
      - Kinds include C(release), C(time_scale), C(canary_steps), C(flag), C(flags), C(percent),
        C(port), C(duration), C(positive_int), C(bool), C(slot), C(url), C(loopback_url),
        C(eu_region), C(arn), C(ssm_path), C(run_id), C(text), C(optional_text), C(list), C(slot_map).
    type: dict
    required: true
author: Release Team
"""

EXAMPLES = r"""
- name: Traffic inputs are valid
  bedrock.release.validate_inputs:
    inputs:
      traffic_canary_steps: {value: "{{ traffic_canary_steps }}", kind: canary_steps}
      traffic_backend: {value: "{{ traffic_backend }}", choices: [caddy, alb]}
"""

RETURN = r"""
values:
  description: The normalised values by variable name.
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import require_library

try:
    from bedrock_release.pipeline.inputs import validate
except ImportError:
    validate = None


def main() -> None:
    module = AnsibleModule(
        argument_spec={"inputs": {"type": "dict", "required": True}}, supports_check_mode=True
    )
    require_library(module)
    values, errors = validate(module.params["inputs"])
    if errors:
        module.fail_json(
            msg="invalid input: " + "; ".join(str(e) for e in errors),
            variables=[e.variable for e in errors],
            problems=[{"variable": e.variable, "value": e.value, "problem": e.problem} for e in errors],
        )
    module.exit_json(changed=False, values=values)


if __name__ == "__main__":
    main()
