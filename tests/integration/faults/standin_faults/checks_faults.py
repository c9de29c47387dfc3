"""Two more stand-in checks for the fault drills: the canary's error rate and the SLO gates' metrics source.

The stand-in suite of tests/integration/pipeline checks the canary split on /version only and phase 3 by
latency only; the real suite (tests/features) also measures the canary's error rate and reads its
metrics sources, failing inconclusive when one does not answer (tests/integration/suite proves that).
These two checks stand in for those gates so the drills errors-under-load and metrics-unreachable are
caught where the real suite catches them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

_HTTP = requests.Session()
_HTTP.trust_env = False
_TYPES = ("emergency", "critical", "generation", "routine")
_MIN_NEW_SLOT_SAMPLES = 5


def _op(base: str, i: int) -> requests.Response | None:
    body = {"type": _TYPES[i % 4], "query": f"canary error probe {i % 23}", "customer_region": "eu-central-1"}
    try:
        return _HTTP.post(f"{base}/v1/support/operations", json=body, timeout=30)
    except requests.RequestException:
        return None


@pytest.mark.canary
@pytest.mark.phase2
def test_error_rate_of_the_new_slots_answers_is_at_most_1_percent(fault_target: dict[str, Any]) -> None:
    new = fault_target["slots"]["idle"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda i: _op(fault_target["endpoints"]["traffic"], i), range(200)))
    lost = sum(1 for a in answers if a is None or a.status_code in (502, 503))  # a slot that is not there
    ours = [a for a in answers if a is not None and a.headers.get("X-Slot") == new]
    errors = sum(1 for a in ours if a.status_code >= 500)
    assert lost <= 2, f"{lost} of {len(answers)} operations got no answer from a slot (502/503/connection)"
    if len(ours) < _MIN_NEW_SLOT_SAMPLES:
        return  # 5% of 200: too few to judge; the next canary step judges with more
    rate = 100.0 * errors / len(ours)
    assert rate <= 1.0, f"new slot {new}: {errors} of {len(ours)} operations failed ({rate:.1f}% > 1%)"


@pytest.mark.phase3
def test_the_slo_gates_metrics_source_answers(fault_target: dict[str, Any]) -> None:
    # One bounded attempt: a frozen source never answers; a slow one (a loaded machine) gets 10 s.
    config = Config(connect_timeout=3, read_timeout=10, retries={"total_max_attempts": 1})
    cloudwatch = boto3.client(
        "cloudwatch",
        region_name=fault_target["aws_region"],
        endpoint_url=fault_target["endpoints"]["aws"],
        config=config,
    )
    try:
        cloudwatch.describe_alarms(MaxRecords=1)
    except (BotoCoreError, ClientError) as exc:
        pytest.fail(f"INCONCLUSIVE: metrics source unavailable (CloudWatch): {type(exc).__name__}: {exc}")
