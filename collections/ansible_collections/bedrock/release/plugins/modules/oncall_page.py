#!/usr/bin/python
"""Ansible module: page on-call (SNS) when automation has run out; journaled as oncall_paged."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: oncall_page
short_description: Page the on-call rotation of the plan through SNS and journal it
description:
  - Publishes to the SNS topic C(topic) (created when missing) with bounded timeouts, and journals
    C(oncall_paged) (to, reason, delivered, message id or error) in the run's audit chain.
  - Never fails on an undeliverable page (the journal says so); calls
    C(bedrock_release.pipeline.paging.page_oncall).
options:
  run_dir:
    description: The run folder.
    type: path
    required: true
  reason:
    description: Why a person is needed.
    type: str
    required: true
  topic:
    description: SNS topic name.
    type: str
    default: bedrock-release-oncall
  aws_region:
    description: AWS region.
    type: str
    required: true
  aws_endpoint_url:
    description: AWS endpoint override (moto); empty for AWS.
    type: str
    default: ""
author: Release Team
"""

EXAMPLES = r"""
- name: On-call is paged
  bedrock.release.oncall_page:
    run_dir: "{{ deploy_run_context.run_dir }}"
    reason: "the immediate rollback failed: manual intervention required"
    aws_region: eu-central-1
"""

RETURN = r"""
page:
  description: The journaled oncall_paged data (to, reason, channel, topic, delivered, message_id or error).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import require_library

try:
    from bedrock_release.pipeline.paging import page_oncall
except ImportError:
    page_oncall = None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "run_dir": {"type": "path", "required": True},
            "reason": {"type": "str", "required": True},
            "topic": {"type": "str", "default": "bedrock-release-oncall"},
            "aws_region": {"type": "str", "required": True},
            "aws_endpoint_url": {"type": "str", "default": ""},
        },
    )
    require_library(module)
    p = module.params
    page = page_oncall(
        p["run_dir"],
        p["reason"],
        topic=p["topic"],
        region=p["aws_region"],
        endpoint_url=p["aws_endpoint_url"],
    )
    module.exit_json(changed=True, page=page)


if __name__ == "__main__":
    main()
