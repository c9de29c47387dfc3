#!/usr/bin/python
"""Ansible module: page on-call (SNS) at a run's no-go or when automation has run out; journaled."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: oncall_page
short_description: Page the on-call rotation of the plan through SNS and journal it
description:
  - Publishes to the SNS topic C(topic) (created when missing) with bounded timeouts, and journals
    C(oncall_paged) (event, to, reason, delivered, message id or error) in the run's audit chain.
  - C(event=no_go) (every run that does not deploy - refused, preflight failed, a failed phase, a
    watch breach) writes the page from the run's journal (C(bedrock_release.pipeline.paging.no_go_message) -
    what stopped the run, the rollback and whether it was verified, the traffic state it left, the
    deploy lock, the command to run next), with C(reason) appended.
  - C(event=rollback_failed) pages C(reason) as it is (a rollback that itself failed).
  - Never fails on an undeliverable page (the journal says so).
options:
  event:
    description: Why on-call is paged.
    type: str
    choices: [no_go, rollback_failed]
    default: rollback_failed
  run_dir:
    description: The run folder.
    type: path
    required: true
  reason:
    description: Why a person is needed (C(event=rollback_failed)); appended to the no-go page.
    type: str
    default: ""
  lock:
    description: The deploy lock's state in words (C(event=no_go); default from the journal).
    type: str
    default: ""
  report:
    description: Where the run's report is (C(event=no_go)).
    type: str
    default: ""
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
    from bedrock_release.pipeline.paging import page_no_go, page_oncall
except ImportError:
    page_oncall = page_no_go = None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "run_dir": {"type": "path", "required": True},
            "event": {"type": "str", "choices": ["no_go", "rollback_failed"], "default": "rollback_failed"},
            "reason": {"type": "str", "default": ""},
            "lock": {"type": "str", "default": ""},
            "report": {"type": "str", "default": ""},
            "topic": {"type": "str", "default": "bedrock-release-oncall"},
            "aws_region": {"type": "str", "required": True},
            "aws_endpoint_url": {"type": "str", "default": ""},
        },
        required_if=[("event", "rollback_failed", ("reason",))],
    )
    require_library(module)
    p = module.params
    where = {"topic": p["topic"], "region": p["aws_region"], "endpoint_url": p["aws_endpoint_url"]}
    try:
        if p["event"] == "no_go":
            page = page_no_go(p["run_dir"], lock=p["lock"], report=p["report"], detail=p["reason"], **where)
        else:
            page = page_oncall(p["run_dir"], p["reason"], event="rollback_failed", **where)
    except (OSError, ValueError) as exc:  # the run's journal cannot be read or written
        module.fail_json(msg=f"on-call page not recorded: {exc}")
    module.exit_json(changed=True, page=page)


if __name__ == "__main__":
    main()
