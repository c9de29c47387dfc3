#!/usr/bin/python
"""Ansible module: verify phase 7 monitoring (and the phase 4 monitoring health checks); fail closed."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: monitoring_verify
short_description: Verify the dashboard and alarms against what the release publishes; evaluate; test alerting
description:
  - C(dashboard) - every widget of the feature exists and shows a metric the service publishes,
    with datapoints since C(since) (and, for per-slot widgets, from C(release_slot)).
  - C(alarms) - every alarm exists with the features' threshold, its comparison, period and
    evaluation periods, and notifies the on-call topic.
  - C(metrics) - the release slot's own metrics are readable from CloudWatch.
  - C(operations_dashboard) - the pre-existing operations dashboard is readable.
  - C(alert_delivery) - a canary alarm raised with SetAlarmState reaches the topic's delivery queue
    (C(emulate_cloudwatch_action) where CloudWatch runs no alarm actions, i.e. moto).
  - C(evaluation) - every alarm evaluated by us from the published metrics is OK (INSUFFICIENT_DATA is not).
  - Fails naming every problem when any selected check is not OK; writes all evidence to C(evidence_path).
  - Calls C(bedrock_release.monitoring) verify_dashboard, verify_alarms, check_metrics_readable,
    check_dashboard_readable, check_alert_delivery and evaluate_alarms.
extends_documentation_fragment: [bedrock.release.monitoring]
options:
  checks:
    description: Which checks to run.
    type: list
    elements: str
    choices: [dashboard, alarms, metrics, operations_dashboard, alert_delivery, evaluation]
    default: [dashboard, alarms]
  since:
    description:
      - Start of the window for datapoints (ISO 8601), e.g. when the release slot went live.
      - Empty for the default look-back.
    type: str
    default: ""
  run_dir:
    description:
      - Run folder whose journal tells when C(release_slot) got the new release (C(slot_release_set));
        used as C(since) when C(since) is empty.
    type: path
    default: ""
  evaluation_window_s:
    description:
      - Window of the alarm evaluation in seconds.
      - 0 uses each alarm's period times its evaluation periods.
    type: float
    default: 0
  prometheus_urls:
    description: Base URLs of the release slots; their latency histograms decide a P95 CloudWatch cannot.
    type: list
    elements: str
    default: []
  reflect_state:
    description:
      - Write each evaluated state to CloudWatch with SetAlarmState.
      - Sandbox only; in AWS CloudWatch evaluates, and setting ALARM would page on-call.
    type: bool
    default: false
  emulate_cloudwatch_action:
    description: Publish the canary's notification to its action topic when CloudWatch does not (moto).
    type: bool
    default: false
  alert_timeout_s:
    description: How long to wait for the canary's notification.
    type: float
    default: 20
  operations_dashboard:
    description: Name of the pre-existing operations dashboard.
    type: str
    default: mcp-support-operations
  evidence_path:
    description: JSON file to write every check's evidence to; empty for none.
    type: path
    default: ""
author: Release Team
"""

EXAMPLES = r"""
- name: Dashboard and alarms match what the release publishes
  bedrock.release.monitoring_verify:
    name_prefix: bedrock-support-local-
    namespace: BedrockSupport/local
    release_slot: green
    budget_name: bedrock-support-local
    features_dir: "{{ playbook_dir }}/../features"
    aws_region: eu-central-1
    aws_endpoint_url: http://127.0.0.1:18150
    checks: [dashboard, alarms, alert_delivery]
    delivery_queue_name: bedrock-support-local-oncall-delivery-check
    emulate_cloudwatch_action: true
"""

RETURN = r"""
ok:
  description: Every selected check is OK.
  returned: always
  type: bool
problems:
  description: One line per problem found.
  returned: always
  type: list
results:
  description: The evidence of each check (the to_dict() of its result).
  returned: always
  type: dict
"""

import json
from datetime import datetime
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.bedrock.release.plugins.module_utils.monitoring_common import (
    COMMON_OPTIONS,
    MONITORING_IMPORT_ERROR,
    clients_of,
    config_of,
)

try:
    from bedrock_release import monitoring
except ImportError:
    monitoring = None

CHECKS = ["dashboard", "alarms", "metrics", "operations_dashboard", "alert_delivery", "evaluation"]


def _run(module: AnsibleModule) -> tuple[dict, list[str], bool]:
    p = module.params
    cfg, clients = config_of(p), clients_of(p)
    since = datetime.fromisoformat(p["since"]) if p["since"] else None
    if since is None and p["run_dir"]:
        since = monitoring.release_live_since(p["run_dir"], cfg.release_slot)
    results: dict = {"since": since.isoformat() if since else None}
    problems: list[str] = []
    changed = False
    if "dashboard" in p["checks"]:
        check = monitoring.verify_dashboard(
            clients.cloudwatch, cfg.dashboard_name, cfg.namespace, slot=cfg.release_slot, since=since
        )
        results["dashboard"] = check.to_dict()
        if not check.ok:
            problems.append(check.message())
    if "alarms" in p["checks"]:
        checks = monitoring.verify_alarms(clients, cfg)
        results["alarms"] = [c.to_dict() for c in checks]
        problems += [c.message() for c in checks if not c.ok]
    if "metrics" in p["checks"]:
        readable = monitoring.check_metrics_readable(
            clients.cloudwatch, cfg.namespace, cfg.release_slot, since=since
        )
        results["metrics"] = readable.to_dict()
        if not readable.ok:
            problems.append(readable.message())
    if "operations_dashboard" in p["checks"]:
        ops = monitoring.check_dashboard_readable(clients.cloudwatch, p["operations_dashboard"])
        results["operations_dashboard"] = ops.to_dict()
        if not ops.ok:
            problems.append(ops.message())
    if "alert_delivery" in p["checks"]:
        delivery = monitoring.check_alert_delivery(
            clients,
            cfg,
            timeout_s=p["alert_timeout_s"],
            emulate_cloudwatch_action=p["emulate_cloudwatch_action"],
        )
        results["alert_delivery"] = delivery.to_dict()
        changed = delivery.setup_changed
        if not delivery.ok:
            problems.append(delivery.message())
    if "evaluation" in p["checks"]:
        source = (
            monitoring.PrometheusSource(urls=tuple(p["prometheus_urls"])) if p["prometheus_urls"] else None
        )
        evaluations = monitoring.evaluate_alarms(
            clients,
            cfg,
            window_s=p["evaluation_window_s"] or None,
            prometheus=source,
            reflect_state=p["reflect_state"],
        )
        results["evaluation"] = [e.to_dict() for e in evaluations]
        problems += [e.message() for e in evaluations if not e.ok]
    return results, problems, changed


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **COMMON_OPTIONS,
            "checks": {
                "type": "list",
                "elements": "str",
                "choices": CHECKS,
                "default": ["dashboard", "alarms"],
            },
            "since": {"type": "str", "default": ""},
            "run_dir": {"type": "path", "default": ""},
            "evaluation_window_s": {"type": "float", "default": 0.0},
            "prometheus_urls": {"type": "list", "elements": "str", "default": []},
            "reflect_state": {"type": "bool", "default": False},
            "emulate_cloudwatch_action": {"type": "bool", "default": False},
            "alert_timeout_s": {"type": "float", "default": 20.0},
            "operations_dashboard": {"type": "str", "default": "mcp-support-operations"},
            "evidence_path": {"type": "path", "default": ""},
        },
        supports_check_mode=True,
    )
    if MONITORING_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("bedrock_release"), exception=MONITORING_IMPORT_ERROR)
    if module.check_mode:
        module.exit_json(
            changed=False, skipped=True, msg="verification reads live state; not run in check mode"
        )
    try:
        results, problems, changed = _run(module)
    except ValueError as exc:  # bad `since`, or the feature files disagree
        module.fail_json(msg=str(exc))
    except Exception as exc:  # botocore, MonitoringError
        module.fail_json(msg=f"monitoring verification: {type(exc).__name__}: {exc}")
    if module.params["evidence_path"]:
        path = Path(module.params["evidence_path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"problems": problems, "results": results}, indent=2, sort_keys=True))
    if problems:
        module.fail_json(
            msg="; ".join(problems), ok=False, problems=problems, results=results, changed=changed
        )
    module.exit_json(changed=changed, ok=True, problems=[], results=results)


if __name__ == "__main__":
    main()
