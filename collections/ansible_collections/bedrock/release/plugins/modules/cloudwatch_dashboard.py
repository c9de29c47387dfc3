#!/usr/bin/python
"""Ansible module: the hybrid-routing CloudWatch dashboard of plan phase 7."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudwatch_dashboard
short_description: The hybrid-routing dashboard of plan phase 7 (six widgets on the service's metrics)
description:
  - Puts the dashboard C(<name_prefix>hybrid-routing) unless an identical body is already there; its widgets
    retrieve exactly the metrics the service publishes (docs/metrics.md) and draw the features' thresholds.
  - Calls C(bedrock_release.monitoring.ensure_dashboard) with C(dashboard_definition).
extends_documentation_fragment: [bedrock.release.monitoring]
author: Release Team
"""

EXAMPLES = r"""
- name: Hybrid routing dashboard is in place
  bedrock.release.cloudwatch_dashboard:
    name_prefix: bedrock-support-local-
    namespace: BedrockSupport/local
    release_slot: green
    budget_name: bedrock-support-local
    features_dir: "{{ playbook_dir }}/../features"
    aws_region: eu-central-1
    aws_endpoint_url: http://127.0.0.1:18150
"""

RETURN = r"""
dashboard_name:
  description: Name of the dashboard.
  returned: always
  type: str
widgets:
  description: Widget titles.
  returned: always
  type: list
budget_usd:
  description: The allocated budget drawn on the cost widget, and where it came from.
  returned: always
  type: float
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.bedrock.release.plugins.module_utils.monitoring_common import (
    COMMON_OPTIONS,
    MONITORING_IMPORT_ERROR,
    clients_of,
    config_of,
)

try:
    from bedrock_release.monitoring import dashboard_definition, ensure_dashboard, resolve_budget
except ImportError:
    dashboard_definition = ensure_dashboard = resolve_budget = None


def main() -> None:
    module = AnsibleModule(argument_spec=dict(COMMON_OPTIONS), supports_check_mode=True)
    if MONITORING_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("bedrock_release"), exception=MONITORING_IMPORT_ERROR)
    try:
        cfg, clients = config_of(module.params), clients_of(module.params)
        budget, budget_source = resolve_budget(clients, cfg)
        definition = dashboard_definition(cfg, budget_usd=budget)
        result = ensure_dashboard(clients.cloudwatch, definition, check_mode=module.check_mode)
    except ValueError as exc:  # ThresholdError is one: the feature files disagree
        module.fail_json(msg=str(exc))
    except Exception as exc:  # botocore, MonitoringError
        module.fail_json(msg=f"CloudWatch dashboard: {type(exc).__name__}: {exc}")
    module.exit_json(
        changed=result.changed,
        dashboard_name=definition.name,
        widgets=[w.title for w in definition.widgets],
        created=list(result.created),
        updated=list(result.updated),
        budget_usd=budget,
        budget_source=budget_source,
    )


if __name__ == "__main__":
    main()
