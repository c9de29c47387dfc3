"""Options shared by the monitoring modules (bedrock.release.monitoring_*, cloudwatch_*)."""

from __future__ import annotations


class ModuleDocFragment:
    """Where the monitoring of one environment lives and what it is called."""

    DOCUMENTATION = r"""
options:
  name_prefix:
    description: Prefix of every name (alarms, dashboard, topic), e.g. C(bedrock-support-local-).
    type: str
    required: true
  namespace:
    description: CloudWatch namespace the service publishes to (C(SUPPORT_CLOUDWATCH_NAMESPACE)).
    type: str
    required: true
  release_slot:
    description: Slot that serves the new release (health and circuit alarms watch it).
    type: str
    choices: [blue, green]
    required: true
  budget_usd:
    description: Allocated budget in USD; 0 reads it from AWS Budgets (C(budget_name)).
    type: float
    default: 0
  budget_name:
    description: AWS Budgets budget holding the allocated budget (used when C(budget_usd) is 0).
    type: str
    default: ""
  topic_name:
    description: On-call SNS topic; empty means C(<name_prefix>oncall).
    type: str
    default: ""
  delivery_queue_name:
    description: SQS queue subscribed to the topic to observe alarm notifications; empty for none.
    type: str
    default: ""
  features_dir:
    description: Folder of the feature files the thresholds are read from.
    type: path
    required: true
  aws_region:
    description: Region of CloudWatch, SNS, SQS and Budgets.
    type: str
    required: true
  aws_endpoint_url:
    description:
      - Endpoint of every AWS API (moto in the sandbox).
      - Empty for AWS, or boto3's standard AWS_ENDPOINT_URL_* variables.
    type: str
    default: ""
notes:
  - Credentials come from the environment (the role's C(monitoring_aws_environment)).
  - The logic lives in the C(bedrock_release.monitoring) package; see docs/monitoring.md.
"""
