"""A CloudWatch stand-in for GetMetricData: values per (metric label, stat), optional refusals."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from bedrock_release.monitoring import MetricKey


class FakeCloudWatch:
    """GetMetricData from a table, points in [StartTime, EndTime); refuses the stats in ``refuse``."""

    def __init__(
        self,
        data: Mapping[tuple[str, str], list[tuple[datetime, float]]] | None = None,
        *,
        refuse: frozenset[str] = frozenset(),
        down: bool = False,
    ) -> None:
        self.data = dict(data or {})
        self.refuse = refuse
        self.down = down
        self.calls: list[list[str]] = []
        self.states: list[dict[str, Any]] = []

    def get_metric_data(self, **kwargs: Any) -> dict[str, Any]:
        stats = [q["MetricStat"]["Stat"] for q in kwargs["MetricDataQueries"]]
        self.calls.append(stats)
        if self.down or any(s in self.refuse for s in stats):
            raise ClientError(
                {
                    "Error": {"Code": "InternalFailure", "Message": "boom"},
                    "ResponseMetadata": {"HTTPStatusCode": 500},
                },
                "GetMetricData",
            )
        results = []
        for q in kwargs["MetricDataQueries"]:
            metric = q["MetricStat"]["Metric"]
            key = MetricKey.of(
                metric["Namespace"],
                metric["MetricName"],
                {d["Name"]: d["Value"] for d in metric["Dimensions"]},
            )
            points = [
                (t, v)
                for t, v in self.data.get((key.label(), q["MetricStat"]["Stat"]), [])
                if kwargs["StartTime"] <= t < kwargs["EndTime"]
            ]
            results.append(
                {"Id": q["Id"], "Timestamps": [t for t, _ in points], "Values": [v for _, v in points]}
            )
        return {"MetricDataResults": results}

    def set_alarm_state(self, **kwargs: Any) -> None:
        self.states.append(kwargs)
