"""bedrock_release.pipeline.retry: transient failures tried again with backoff until a deadline, no longer."""

from __future__ import annotations

import json
import urllib.error
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from pl_journal_helpers import Clock

from bedrock_release.pipeline import retry
from bedrock_release.pipeline.traffic import TrafficError, TrafficUnavailableError


def _client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutParameter"
    )


@pytest.mark.parametrize(
    "exc",
    [
        _client_error("ThrottlingException"),
        _client_error("RequestLimitExceeded"),
        _client_error("InternalError", 500),
        _client_error("Whatever", 503),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
        ReadTimeoutError(endpoint_url="http://127.0.0.1:9"),
        urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")),
        urllib.error.HTTPError("http://lb", 503, "Service Unavailable", {}, None),  # type: ignore[arg-type]
        urllib.error.HTTPError("http://lb", 429, "Too Many Requests", {}, None),  # type: ignore[arg-type]
        requests.ConnectionError("refused"),
        requests.Timeout("slow"),
        TimeoutError("timed out"),
        TrafficUnavailableError("Caddy admin GET: connection refused"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_failure_that_may_pass_by_itself_is_transient(exc: BaseException) -> None:
    assert retry.is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        _client_error("AccessDeniedException", 403),
        _client_error("ValidationException", 400),
        _client_error("ParameterNotFound", 400),
        urllib.error.HTTPError("http://lb", 403, "Forbidden", {}, None),  # type: ignore[arg-type]
        TrafficError("Caddy weights are None, expected [blue, green]"),
        ValueError("weights must sum to 100"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_refusal_or_a_bad_input_is_not_transient(exc: BaseException) -> None:
    assert not retry.is_transient(exc)


class _Flaky:
    """Fails with ``error`` the first ``failures`` calls, then answers; counts the calls."""

    def __init__(self, failures: int, error: BaseException) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "answer"


def _retry(clock: Clock, until_s: float, seen: list[retry.Attempt]) -> retry.Retry:
    return retry.Retry(
        until=clock() + timedelta(seconds=until_s),
        on_retry=seen.append,
        clock=clock,
        sleep=clock.advance,
        draw=lambda: 1.0,  # the ceiling of each jittered wait
    )


def test_a_transient_failure_is_tried_again_with_growing_waits_until_it_answers() -> None:
    clock, seen = Clock(), []
    flaky = _Flaky(4, TrafficUnavailableError("connection refused"))
    assert _retry(clock, 60, seen)(flaky, "read the weights") == "answer"
    assert flaky.calls == 5
    assert [a.wait_s for a in seen] == [0.5, 1.0, 2.0, 4.0]
    assert [a.attempt for a in seen] == [1, 2, 3, 4]
    assert seen[0].error == "TrafficUnavailableError: connection refused"


def test_waits_stop_growing_at_the_ceiling_and_are_jittered_into_its_upper_half() -> None:
    backoff = retry.Backoff(first_s=0.5, factor=2.0, max_s=8.0)
    assert [backoff.wait_s(n, lambda: 1.0) for n in (1, 5, 6, 12)] == [0.5, 8.0, 8.0, 8.0]
    assert backoff.wait_s(3, lambda: 0.0) == 1.0  # half of the 2 s ceiling
    with pytest.raises(ValueError, match="first_s > 0"):
        retry.Backoff(first_s=0)


def test_the_deadline_ends_the_retries_naming_the_call_the_attempts_and_the_last_error() -> None:
    clock, seen = Clock(), []
    never = _Flaky(10_000, TrafficUnavailableError("Caddy admin GET http://127.0.0.1:1: connection refused"))
    with pytest.raises(retry.RetryExhaustedError) as exhausted:
        _retry(clock, 30, seen)(never, "read the weights (caddy)")
    message = str(exhausted.value)
    assert message.startswith("read the weights (caddy): still failing after")
    assert "the rollback's time target" in message
    assert "connection refused" in message
    assert exhausted.value.elapsed_s == pytest.approx(30.0)
    assert sum(a.wait_s for a in seen) == pytest.approx(30.0), "the last wait is cut to the deadline"
    assert exhausted.value.attempts == never.calls == len(seen) + 1


def test_a_permanent_failure_is_raised_at_once_and_without_a_deadline_nothing_is_retried() -> None:
    clock, seen = Clock(), []
    refused = _Flaky(1, TrafficError("HTTP Error 403: Forbidden"))
    with pytest.raises(TrafficError, match="403"):
        _retry(clock, 60, seen)(refused, "set the weights")
    assert (refused.calls, seen) == (1, [])
    once = _Flaky(1, TrafficUnavailableError("connection refused"))
    with pytest.raises(TrafficUnavailableError):
        retry.NO_RETRY(once, "read the weights")
    assert once.calls == 1


def test_a_backend_error_page_becomes_one_short_line() -> None:
    clock, seen = Clock(), []
    html = TrafficUnavailableError("<html>\n<body>\n<h1>500 Internal Server Error</h1>" + "x" * 500)
    _retry(clock, 5, seen)(_Flaky(1, html), "read")
    assert "\n" not in seen[0].error
    assert len(seen[0].error) <= 300


def test_retries_are_journaled_with_the_deadline(tmp_path: Path) -> None:
    hook = retry.journal_retries(tmp_path)
    assert hook is not None
    until = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    hook(retry.Attempt("read the weights (caddy)", 1, "TrafficUnavailableError: refused", 0.5, until))
    (record,) = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert record["action"] == "backend_retry"
    assert record["data"] == {
        "what": "read the weights (caddy)",
        "attempt": 1,
        "error": "TrafficUnavailableError: refused",
        "wait_s": 0.5,
        "until": "2026-11-27T10:00:00Z",
    }
    assert retry.journal_retries(None) is None


def test_retry_until_is_parsed_strictly_naming_the_input() -> None:
    assert retry.parse_until("") is None
    assert retry.parse_until("2026-11-27T10:00:00Z") == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="retry_until = 'soon': not an RFC 3339 time"):
        retry.parse_until("soon")
    with pytest.raises(ValueError, match="needs its zone"):
        retry.parse_until("2026-11-27T10:00:00")
    assert retry.retry_until("") is retry.NO_RETRY
    assert retry.retry_until("2026-11-27T10:00:00Z").until == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_remaining_time_is_never_negative() -> None:
    clock = Clock()
    assert retry.remaining_s(clock() + timedelta(seconds=12), clock) == 12
    assert retry.remaining_s(clock() - timedelta(seconds=12), clock) == 0
    assert retry.remaining_s(None, clock) == 0
