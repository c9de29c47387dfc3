"""What moto 5.2.5 does and does not do for monitoring (docs/monitoring.md cites these tests).

If a moto upgrade changes one of these, this file says which workaround to revisit.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from bedrock_release.monitoring import AwsClients

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
LATENCY = {"Operation": "generation", "Route": "direct"}


def _dims(d: dict[str, str]) -> list[dict[str, str]]:
    return [{"Name": k, "Value": v} for k, v in sorted(d.items())]


def _put_latency(clients: AwsClients, namespace: str = "NS") -> None:
    clients.cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": "RequestLatency",
                "Dimensions": _dims(LATENCY),
                "Timestamp": NOW,
                "Unit": "Milliseconds",
                "Values": [100.0, 2000.0],
                "Counts": [95.0, 5.0],
            }
        ],
    )


def _window() -> dict[str, datetime]:
    return {"StartTime": NOW - timedelta(minutes=5), "EndTime": NOW + timedelta(minutes=5)}


def test_get_metric_statistics_silently_omits_extended_statistics(clients: AwsClients) -> None:
    _put_latency(clients)
    points = clients.cloudwatch.get_metric_statistics(
        Namespace="NS",
        MetricName="RequestLatency",
        Dimensions=_dims(LATENCY),
        Period=600,
        ExtendedStatistics=["p95"],
        Statistics=["SampleCount", "Maximum"],
        **_window(),
    )["Datapoints"]
    assert len(points) == 1
    assert "ExtendedStatistics" not in points[0]  # no p95, and no error either
    assert (points[0]["SampleCount"], points[0]["Maximum"]) == (100.0, 2000.0)  # Values/Counts expanded


def test_get_metric_data_p95_is_an_internal_error(clients: AwsClients) -> None:
    _put_latency(clients)
    stat = {
        "Metric": {"Namespace": "NS", "MetricName": "RequestLatency", "Dimensions": _dims(LATENCY)},
        "Period": 600,
    }
    with pytest.raises(ClientError) as error:
        clients.cloudwatch.get_metric_data(
            MetricDataQueries=[{"Id": "a", "MetricStat": {**stat, "Stat": "p95"}}], **_window()
        )
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_get_metric_statistics_matches_dimensions_as_a_subset(clients: AwsClients) -> None:
    clients.cloudwatch.put_metric_data(
        Namespace="NS",
        MetricData=[
            {
                "MetricName": "Requests",
                "Dimensions": _dims({"Status": "error"}),
                "Value": 2,
                "Timestamp": NOW,
            },
            {
                "MetricName": "Requests",
                "Dimensions": _dims({"Slot": "green", "Status": "error"}),
                "Value": 2,
                "Timestamp": NOW,
            },
        ],
    )
    stats = clients.cloudwatch.get_metric_statistics(
        Namespace="NS",
        MetricName="Requests",
        Dimensions=_dims({"Status": "error"}),
        Period=600,
        Statistics=["Sum"],
        **_window(),
    )["Datapoints"]
    assert stats[0]["Sum"] == 4.0  # real CloudWatch: 2 (exact dimension set)
    exact = clients.cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "a",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "NS",
                        "MetricName": "Requests",
                        "Dimensions": _dims({"Status": "error"}),
                    },
                    "Period": 600,
                    "Stat": "Sum",
                },
            }
        ],
        **_window(),
    )["MetricDataResults"][0]["Values"]
    assert exact == [2.0]


def test_get_metric_data_with_dimensions_ignores_the_namespace(clients: AwsClients) -> None:
    for namespace, value in (("NS", 2), ("OTHER", 1000)):
        clients.cloudwatch.put_metric_data(
            Namespace=namespace,
            MetricData=[
                {
                    "MetricName": "Requests",
                    "Dimensions": _dims({"Status": "error"}),
                    "Value": value,
                    "Timestamp": NOW,
                }
            ],
        )
    values = clients.cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "a",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "NS",
                        "MetricName": "Requests",
                        "Dimensions": _dims({"Status": "error"}),
                    },
                    "Period": 600,
                    "Stat": "Sum",
                },
            }
        ],
        **_window(),
    )["MetricDataResults"][0]["Values"]
    assert values == [1002.0]  # real CloudWatch: 2


def test_list_metrics_lists_multi_dimension_metrics_once_per_sample(clients: AwsClients) -> None:
    _put_latency(clients)
    listed = clients.cloudwatch.list_metrics(Namespace="NS", MetricName="RequestLatency")["Metrics"]
    assert len(listed) == 100  # real CloudWatch: 1


def test_set_alarm_state_runs_no_action_but_sns_delivers_to_sqs(clients: AwsClients) -> None:
    topic = clients.sns.create_topic(Name="t")["TopicArn"]
    queue = clients.sqs.create_queue(QueueName="q")["QueueUrl"]
    arn = clients.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    clients.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    clients.cloudwatch.put_metric_alarm(
        AlarmName="a",
        MetricName="X",
        Namespace="NS",
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[topic],
    )
    assert (
        clients.cloudwatch.describe_alarms(AlarmNames=["a"])["MetricAlarms"][0]["StateValue"] == "OK"
    )  # never evaluated
    clients.cloudwatch.set_alarm_state(AlarmName="a", StateValue="ALARM", StateReason="test")
    time.sleep(1)
    assert "Messages" not in clients.sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)
    clients.sns.publish(TopicArn=topic, Message=json.dumps({"AlarmName": "a"}), Subject="ALARM")
    body = json.loads(clients.sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2)["Messages"][0]["Body"])
    assert body["Type"] == "Notification"
    assert json.loads(body["Message"]) == {"AlarmName": "a"}
