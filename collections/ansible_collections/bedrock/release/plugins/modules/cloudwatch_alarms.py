#!/usr/bin/python
"""Ansible module: the alarms of plan phase 7, thresholds read from the feature files."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudwatch_alarms
short_description: The plan's performance, security and operational alarms, each notifying the on-call topic
description:
  - Puts the eight alarms of features/monitoring.feature (C(<name_prefix><feature name>)) and the alerting
    canary, each whose definition differs from what CloudWatch holds. Thresholds come from the feature files;
    an alarm threshold that differs from its SLO gate's stops the module.
  - Calls C(bedrock_release.monitoring.ensure_alarms) with C(alarm_definitions) and C(canary_definition).
extends_documentation_fragment: [bedrock.release.monitoring]
options:
  topic_arn:
    description: The on-call topic every alarm notifies (from C(bedrock.release.monitoring_topic)).
    type: str
    required: true
author: Release Team
"""

EXAMPLES = r"""
- name: Alarms exist with the features' thresholds
  bedrock.release.cloudwatch_alarms:
    name_prefix: bedrock-support-local-
    namespace: BedrockSupport/local
    release_slot: green
    budget_name: bedrock-support-local
    topic_arn: "{{ topic.topic_arn }}"
    features_dir: "{{ playbook_dir }}/../features"
    aws_region: eu-central-1
    aws_endpoint_url: http://127.0.0.1:18150
"""

RETURN = r"""
alarms:
  description: Each alarm with its threshold, unit and the feature line it comes from.
  returned: always
  type: list
created:
  description: Alarms created.
  returned: always
  type: list
updated:
  description: Alarms whose definition was put back.
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
    from bedrock_release.monitoring import alarm_definitions, canary_definition, ensure_alarms, resolve_budget
except ImportError:
    alarm_definitions = canary_definition = ensure_alarms = resolve_budget = None


def main() -> None:
    module = AnsibleModule(
        argument_spec={**COMMON_OPTIONS, "topic_arn": {"type": "str", "required": True}},
        supports_check_mode=True,
    )
    if MONITORING_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("bedrock_release"), exception=MONITORING_IMPORT_ERROR)
    topic = module.params["topic_arn"]
    try:
        cfg, clients = config_of(module.params), clients_of(module.params)
        budget, _ = resolve_budget(clients, cfg)
        definitions = alarm_definitions(cfg, topic_arn=topic, budget_usd=budget)
        result = ensure_alarms(
            clients.cloudwatch,
            [*definitions, canary_definition(cfg, topic_arn=topic)],
            check_mode=module.check_mode,
        )
    except ValueError as exc:  # ThresholdError is one: the feature files disagree
        module.fail_json(msg=str(exc))
    except Exception as exc:  # botocore, MonitoringError
        module.fail_json(msg=f"CloudWatch alarms: {type(exc).__name__}: {exc}")
    module.exit_json(
        changed=result.changed,
        alarms=[
            {
                "name": d.name,
                "alarm_name": d.alarm_name,
                "threshold": d.threshold.value,
                "unit": d.unit,
                "threshold_source": d.threshold.source,
            }
            for d in definitions
        ],
        created=list(result.created),
        updated=list(result.updated),
    )


if __name__ == "__main__":
    main()
