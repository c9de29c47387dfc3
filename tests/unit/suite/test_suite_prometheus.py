"""Prometheus scrapes: parsing, label selection, counter deltas over slots, resets refused."""

from __future__ import annotations

import pytest

from bedrock_release.suite.prometheus import MetricsError, SlotScrapes, parse_metrics

TEXT = """# TYPE support_cache_requests_total counter
support_cache_requests_total{{query_class="frequent",result="hit"}} {hit}
support_cache_requests_total{{query_class="frequent",result="miss"}} {miss}
support_cache_requests_total{{query_class="other",result="miss"}} 7
# TYPE support_request_duration_seconds histogram
support_request_duration_seconds_bucket{{operation="generation",route="direct",le="0.3"}} {fast}
support_request_duration_seconds_bucket{{operation="generation",route="direct",le="+Inf"}} {total}
support_request_duration_seconds_count{{operation="generation",route="direct"}} {total}
support_request_duration_seconds_sum{{operation="generation",route="direct"}} 1.0
"""


def scrape(slot: str, hit: int, miss: int, fast: int = 1, total: int = 2) -> SlotScrapes:
    text = TEXT.format(hit=hit, miss=miss, fast=fast, total=total)
    return SlotScrapes({slot: parse_metrics(text, source=f"http://{slot}/metrics")})


def test_select_and_total_by_labels() -> None:
    snap = scrape("green", 8, 2).by_slot["green"]
    assert snap.total("support_cache_requests_total", query_class="frequent") == 10
    assert snap.total("support_cache_requests_total", result="miss") == 9
    assert snap.total("support_nothing_total") == 0
    assert snap.buckets("support_request_duration_seconds", operation="generation") == {
        "0.3": 1.0,
        "+Inf": 2.0,
    }


def test_deltas_sum_over_slots() -> None:
    before = SlotScrapes({**scrape("blue", 1, 1).by_slot, **scrape("green", 10, 0).by_slot})
    after = SlotScrapes({**scrape("blue", 5, 1).by_slot, **scrape("green", 30, 2).by_slot})
    assert after.delta(before, "support_cache_requests_total", query_class="frequent", result="hit") == 24
    buckets = after.bucket_delta(before, "support_request_duration_seconds")
    assert buckets["+Inf"] == 0


def test_a_counter_that_went_down_is_a_reset() -> None:
    with pytest.raises(MetricsError, match="went down"):
        scrape("green", 1, 0).delta(scrape("green", 9, 0), "support_cache_requests_total")


def test_a_slot_without_an_earlier_scrape_is_refused() -> None:
    with pytest.raises(MetricsError, match="no earlier scrape"):
        scrape("green", 1, 0).delta(scrape("blue", 1, 0), "support_cache_requests_total")


def test_not_prometheus_text() -> None:
    with pytest.raises(MetricsError, match="not Prometheus text"):
        parse_metrics("metric{broken 1\n", source="x")
