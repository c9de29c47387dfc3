#!/usr/bin/python
"""Ansible module: the on-call SNS topic (and the SQS queue that observes its notifications)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: monitoring_topic
short_description: The on-call SNS topic every alarm notifies, and optionally a queue subscribed to it
description:
  - Creates the topic C(<name_prefix>oncall) when it is missing; with C(delivery_queue_name) also an SQS
    queue (with a policy that lets the topic deliver) and its subscription. Idempotent.
  - Calls C(bedrock_release.monitoring.ensure_topic).
extends_documentation_fragment: [bedrock.release.monitoring]
author: Release Team
"""

EXAMPLES = r"""
- name: On-call topic exists with its delivery queue
  bedrock.release.monitoring_topic:
    name_prefix: bedrock-support-local-
    namespace: BedrockSupport/local
    release_slot: green
    budget_usd: 50
    delivery_queue_name: bedrock-support-local-oncall-delivery-check
    features_dir: "{{ playbook_dir }}/../features"
    aws_region: eu-central-1
    aws_endpoint_url: http://127.0.0.1:18150
"""

RETURN = r"""
topic_arn:
  description: ARN of the on-call topic (predicted in check mode when it does not exist yet).
  returned: always
  type: str
queue_url:
  description: URL of the delivery queue, when one is configured and exists.
  returned: always
  type: str
created:
  description: What was (or in check mode would be) created.
  returned: always
  type: list
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.bedrock.release.plugins.module_utils.monitoring_common import (
    COMMON_OPTIONS,
    MONITORING_IMPORT_ERROR,
    clients_of,
    config_of,
)

try:
    from bedrock_release.monitoring import ensure_topic
except ImportError:
    ensure_topic = None


def main() -> None:
    module = AnsibleModule(argument_spec=dict(COMMON_OPTIONS), supports_check_mode=True)
    if MONITORING_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("bedrock_release"), exception=MONITORING_IMPORT_ERROR)
    try:
        result = ensure_topic(
            clients_of(module.params), config_of(module.params), check_mode=module.check_mode
        )
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # botocore: unreachable endpoint, access denied
        module.fail_json(msg=f"SNS/SQS: {type(exc).__name__}: {exc}")
    module.exit_json(
        changed=result.changed,
        topic_arn=result.topic_arn,
        queue_url=result.queue_url or "",
        queue_arn=result.queue_arn or "",
        subscription_arn=result.subscription_arn or "",
        created=list(result.created),
    )


if __name__ == "__main__":
    main()
