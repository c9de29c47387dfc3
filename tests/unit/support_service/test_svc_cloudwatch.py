"""CloudWatch publishing: aggregation, batches within the API limit, failures counted not raised,
and a real PutMetricData round trip against a moto server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from support_service.cloudwatch import MAX_DATUMS_PER_REQUEST, CloudWatchPublisher, GaugeSample

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class RecordingCloudWatch:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail = fail

    def put_metric_data(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)
        if self.fail:
            raise ConnectionError("cloudwatch unreachable")


def test_counts_are_summed_and_latencies_become_values_and_counts() -> None:
    cw = RecordingCloudWatch()
    pub = CloudWatchPublisher(cw, "NS", interval_s=60, now=lambda: NOW)
    for _ in range(3):
        pub.count("Requests", {"Status": "ok", "Route": "mcp"})
    pub.observe("RequestLatency", {"Route": "mcp"}, 12.04)
    pub.observe("RequestLatency", {"Route": "mcp"}, 12.01)
    pub.observe("RequestLatency", {"Route": "mcp"}, 250.0)
    result = pub.flush()
    assert (result.datums, result.batches, result.failed_batches) == (2, 1, 0)
    data = {d["MetricName"]: d for d in cw.calls[0]["MetricData"]}
    assert cw.calls[0]["Namespace"] == "NS"
    assert data["Requests"]["Value"] == 3
    assert data["Requests"]["Dimensions"] == [
        {"Name": "Route", "Value": "mcp"},
        {"Name": "Status", "Value": "ok"},
    ]
    assert data["RequestLatency"]["Values"] == [12.0, 250.0]
    assert data["RequestLatency"]["Counts"] == [2.0, 1.0]
    assert data["RequestLatency"]["Unit"] == "Milliseconds"
    assert pub.flush().datums == 0  # nothing is sent twice


def test_batches_never_exceed_the_api_limit() -> None:
    cw = RecordingCloudWatch()
    pub = CloudWatchPublisher(cw, "NS", interval_s=60)
    for i in range(2500):
        pub.count("Requests", {"Series": str(i)})
    result = pub.flush()
    assert result.batches == 3
    assert [len(c["MetricData"]) for c in cw.calls] == [MAX_DATUMS_PER_REQUEST, MAX_DATUMS_PER_REQUEST, 500]
    assert pub.published_datums == 2500


def test_many_distinct_latencies_are_split_into_datums_of_150_values() -> None:
    cw = RecordingCloudWatch()
    pub = CloudWatchPublisher(cw, "NS", interval_s=60)
    for i in range(400):
        pub.observe("RequestLatency", {}, float(i))
    pub.flush()
    assert [len(d["Values"]) for d in cw.calls[0]["MetricData"]] == [150, 150, 100]


def test_failures_are_counted_not_raised() -> None:
    failures: list[Exception] = []
    pub = CloudWatchPublisher(RecordingCloudWatch(fail=True), "NS", interval_s=60, on_failure=failures.append)
    pub.count("Requests", {})
    result = pub.flush()
    assert result.failed_batches == 1
    assert pub.failed_batches == 1
    assert "unreachable" in (pub.stats()["last_error"] or "")
    assert len(failures) == 1


def test_gauges_are_sampled_at_flush_and_a_broken_source_does_not_stop_counters() -> None:
    cw = RecordingCloudWatch()
    pub = CloudWatchPublisher(
        cw, "NS", interval_s=60, gauges=lambda: [GaugeSample("CircuitState", {"Circuit": "bedrock"}, 2.0)]
    )
    pub.flush()
    assert cw.calls[0]["MetricData"][0]["Value"] == 2.0

    def broken() -> list[GaugeSample]:
        raise RuntimeError("boom")

    pub2 = CloudWatchPublisher(cw, "NS", interval_s=60, gauges=broken)
    pub2.count("Requests", {})
    assert pub2.flush().datums == 1


def test_background_thread_flushes_on_stop() -> None:
    cw = RecordingCloudWatch()
    pub = CloudWatchPublisher(cw, "NS", interval_s=3600)
    pub.start()
    pub.count("Requests", {})
    pub.stop()
    assert sum(len(c["MetricData"]) for c in cw.calls) == 1


def test_invalid_batch_size() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        CloudWatchPublisher(RecordingCloudWatch(), "NS", interval_s=1, batch_size=1001)


@pytest.fixture
def moto_cloudwatch() -> Iterator[Any]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    yield boto3.client(
        "cloudwatch",
        region_name="eu-central-1",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    server.stop()


def test_round_trip_through_the_real_api(moto_cloudwatch: Any) -> None:
    namespace = "BedrockSupport/unit"
    pub = CloudWatchPublisher(moto_cloudwatch, namespace, interval_s=60)
    pub.count("Requests", {"Status": "error"}, 4)
    pub.observe("RequestLatency", {"Slot": "blue"}, 100.0)
    assert pub.flush().failed_batches == 0
    names = {m["MetricName"] for m in moto_cloudwatch.list_metrics(Namespace=namespace)["Metrics"]}
    assert names == {"Requests", "RequestLatency"}
    stats = moto_cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName="Requests",
        Dimensions=[{"Name": "Status", "Value": "error"}],
        StartTime=datetime.now(UTC) - timedelta(minutes=5),
        EndTime=datetime.now(UTC) + timedelta(minutes=5),
        Period=60,
        Statistics=["Sum"],
    )
    assert sum(p["Sum"] for p in stats["Datapoints"]) == 4
