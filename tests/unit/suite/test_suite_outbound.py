"""Production's sources of the phase 4/6 checks: invocation log records, the hosts' audit, the failure switch.

Fakes stand in for CloudWatch Logs and the service's admin API here; the real wire is exercised in
tests/unit/sandbox/test_sbx_invocation_log.py and the suite's integration tests.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bedrock_release.suite.checks import PII_PROBE
from bedrock_release.suite.failure_switch import SWITCH_BOUND_S, FailureSwitches
from bedrock_release.suite.invocation_logs import (
    InvocationLog,
    InvocationLogError,
    parse_invocation,
    read_invocations,
    wait_for_markers,
)
from bedrock_release.suite.operations import OperationReply
from bedrock_release.suite.outbound import marker_of, review_outbound
from bedrock_release.suite.service_audit import AuditRead, HostRecord, ServiceAuditError, read_service_audit
from bedrock_release.suite.target import load_target

DATA = Path(__file__).parent / "data" / "target.json"
T0 = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def record(text: str, *, region: str = "eu-central-1", error: str | None = None) -> dict[str, Any]:
    """A ModelInvocationLog record as Bedrock writes it for a Converse call."""
    out: dict[str, Any] = {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": "2026-11-26T15:00:01Z",
        "accountId": "123456789012",
        "identity": {"arn": "arn:aws:iam::123456789012:role/support"},
        "region": region,
        "requestId": "req-1",
        "operation": "Converse",
        "modelId": "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "input": {
            "inputContentType": "application/json",
            "inputBodyJson": {"messages": [{"role": "user", "content": [{"text": text}]}]},
            "inputTokenCount": 9,
        },
    }
    if error:
        out["errorCode"] = error
    else:
        out["output"] = {"outputContentType": "application/json", "outputBodyJson": {}, "outputTokenCount": 3}
    return out


class FakeLogs:
    """filter_log_events over a list of messages; the group can be missing."""

    class exceptions:  # noqa: N801 - boto3's spelling
        class ResourceNotFoundException(Exception):  # noqa: N818 - boto3's name
            pass

    def __init__(self, messages: list[str] | None = None, *, missing: bool = False) -> None:
        self.messages = messages or []
        self.missing = missing
        self.calls: list[dict[str, Any]] = []

    def get_paginator(self, name: str) -> Any:
        assert name == "filter_log_events"
        outer = self

        class _Pages:
            def paginate(self, **kwargs: Any) -> Any:
                outer.calls.append(kwargs)
                if outer.missing:
                    raise FakeLogs.exceptions.ResourceNotFoundException
                events = [
                    {"logStreamName": "s", "eventId": str(n), "message": m}
                    for n, m in enumerate(outer.messages)
                ]
                return iter([{"events": events[:1]}, {"events": events[1:]}])

        return _Pages()


def test_a_record_parses_to_its_region_user_text_and_outcome() -> None:
    ok = parse_invocation(json.dumps(record("hello [check abc]")), "g s 1")
    assert (ok.region, ok.operation, ok.ok, ok.user_texts()) == (
        "eu-central-1",
        "Converse",
        True,
        ("hello [check abc]",),
    )
    failed = parse_invocation(json.dumps(record("x", error="ThrottlingException")), "g s 2")
    assert (failed.ok, failed.error_code, failed.output_body) == (False, "ThrottlingException", None)


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ("not json", "not JSON"),
        (json.dumps({"schemaType": "Other"}), "not a ModelInvocationLog"),
        (
            json.dumps({k: v for k, v in record("x").items() if k != "output"}),
            "neither an output nor an errorCode",
        ),
        (json.dumps({**record("x"), "region": 7}), "'region' must be a str"),
        (json.dumps({**record("x"), "timestamp": "yesterday"}), "not RFC 3339"),
    ],
)
def test_a_record_not_in_the_documented_format_is_an_error_naming_the_event(
    message: str, problem: str
) -> None:
    with pytest.raises(InvocationLogError, match=problem) as caught:
        read_invocations(FakeLogs([message]), "grp", region="eu-central-1", start=T0)
    assert "grp s event 0" in str(caught.value)


def test_reading_pages_through_the_window_from_a_clock_margin_before_the_start() -> None:
    logs = FakeLogs([json.dumps(record(f"q{n}")) for n in range(3)])
    log = read_invocations(logs, "grp", region="eu-central-1", start=T0, end=T0 + timedelta(minutes=1))
    assert len(log.invocations) == 3
    assert logs.calls[0]["startTime"] == int((T0 - timedelta(seconds=30)).timestamp() * 1000)
    assert logs.calls[0]["endTime"] == int((T0 + timedelta(minutes=1)).timestamp() * 1000)


def test_a_missing_group_or_no_group_says_logging_is_not_set_up() -> None:
    with pytest.raises(InvocationLogError, match="does not exist in eu-central-1"):
        read_invocations(FakeLogs(missing=True), "grp", region="eu-central-1", start=T0)
    with pytest.raises(InvocationLogError, match="no invocation log group"):
        read_invocations(FakeLogs(), "", region="eu-central-1", start=T0)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_waiting_returns_as_soon_as_every_marker_is_delivered() -> None:
    logs, clock = FakeLogs(), Clock()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.now >= 2:  # delivered after two seconds
            logs.messages = [json.dumps(record("a [check aaa]")), json.dumps(record("b [check bbb]"))]

    log = wait_for_markers(
        logs, "grp", ["aaa", "bbb"], region="eu-central-1", start=T0, timeout_s=60, clock=clock, sleep=sleep
    )
    assert [len(log.with_marker(m)) for m in ("aaa", "bbb")] == [1, 1]
    assert clock.now == 2


def test_waiting_is_bounded_and_returns_what_arrived() -> None:
    logs, clock = FakeLogs([json.dumps(record("a [check aaa]"))]), Clock()
    log = wait_for_markers(
        logs,
        "grp",
        ["aaa", "zzz"],
        region="eu-central-1",
        start=T0,
        timeout_s=5,
        clock=clock,
        sleep=clock.sleep,
    )
    assert log.with_marker("zzz") == []
    assert 5 <= clock.now <= 5.5


def reply(op: str, route: str, marker: str, op_id: str) -> OperationReply:
    body = {"type": op, "route": route, "operation_id": op_id}
    return OperationReply(200, body, "green", 1.0, {"query": f"{PII_PROBE.text('q')} [check {marker}]"})


def audit(*records: tuple[str, dict[str, Any]]) -> AuditRead:
    rows = tuple(HostRecord("green", "g1", n, T0, a, d) for n, (a, d) in enumerate(records))
    return AuditRead(rows, {"green": {"g1": "http://127.0.0.1:1"}})


def log_of(*records: dict[str, Any]) -> InvocationLog:
    parsed = tuple(parse_invocation(json.dumps(r), "g") for r in records)
    return InvocationLog("grp", "eu-central-1", T0, T0, parsed)


def test_each_operation_is_found_where_its_route_sent_it() -> None:
    replies = [reply("emergency", "direct", "aaa", "op1"), reply("routine", "mcp", "bbb", "op2")]
    review = review_outbound(
        replies,
        log_of(record("[REDACTED_EMAIL] [check aaa]")),
        audit(
            ("mcp.tool_call", {"operation_id": "op2", "outcome": "ok", "arguments": {"query": "[check bbb]"}})
        ),
        PII_PROBE,
    )
    assert (review.missing_bedrock, review.missing_mcp, review.leaked) == ((), (), ())
    assert list(review.invocations) == ["aaa"]
    assert list(review.tool_calls) == ["op2"]
    assert marker_of(replies[0]) == "aaa"


def test_a_call_missing_from_its_source_is_named_and_a_failed_one_does_not_count() -> None:
    replies = [reply("critical", "direct", "aaa", "op1"), reply("routine", "mcp", "bbb", "op2")]
    review = review_outbound(
        replies,
        log_of(record("[check aaa]", error="ThrottlingException")),
        audit(("mcp.tool_call", {"operation_id": "op2", "outcome": "unavailable", "arguments": {}})),
    )
    assert review.missing_bedrock == ("critical op1 [check aaa]",)
    assert review.missing_mcp == ("routine op2",)


def test_personal_data_in_what_was_sent_is_a_leak_even_in_a_failed_call() -> None:
    replies = [reply("emergency", "direct", "aaa", "op1"), reply("routine", "mcp", "bbb", "op2")]
    review = review_outbound(
        replies,
        log_of(record(f"{PII_PROBE.email} [check aaa]", error="ValidationException")),
        audit(
            ("mcp.tool_call", {"operation_id": "op2", "outcome": "ok", "arguments": {"q": PII_PROBE.card}})
        ),
        PII_PROBE,
    )
    assert PII_PROBE.email in review.leaked
    assert PII_PROBE.card in review.leaked


class FakeSession:
    """requests.Session.request over canned JSON per (method, URL)."""

    def __init__(self, answers: dict[tuple[str, str], Any]) -> None:
        self.answers = answers
        self.seen: list[tuple[str, str, Any]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        self.seen.append((method, url, kwargs.get("params") or kwargs.get("json")))
        answer = self.answers.get((method, url.split("?", 1)[0]))
        if callable(answer):
            answer = answer(kwargs)

        class _Response:
            status_code = 500 if answer is None else 200
            content = b"x"
            text = "down" if answer is None else json.dumps(answer)

            def json(self) -> Any:
                return answer

        return _Response()


def two_hosts(tmp_path: Path) -> Any:
    target = load_target(DATA, base_dir=tmp_path)
    hosts = {"green": {"g1": "http://127.0.0.1:2001", "g2": "http://127.0.0.1:2002"}}
    return replace(target, endpoints=replace(target.endpoints, hosts=hosts))


def page(start: int, count: int, action: str = "mcp.tool_call") -> list[dict[str, Any]]:
    return [
        {"seq": n, "ts": "2026-11-26T15:00:00Z", "action": action, "data": {"operation_id": f"op{n}"}}
        for n in range(start, start + count)
    ]


def records(*pages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"records": [r for p in pages for r in p]}


def test_the_audit_of_every_host_is_read_page_by_page(tmp_path: Path) -> None:
    first = page(0, 1000)
    session = FakeSession(
        {
            ("GET", "http://127.0.0.1:2001/admin/audit"): lambda kw: (
                records(first) if kw["params"]["after_seq"] == -1 else records(page(1000, 2))
            ),
            ("GET", "http://127.0.0.1:2002/admin/audit"): records(
                page(0, 1, "support.operation"), page(1, 1)
            ),
        }
    )
    read = read_service_audit(session, two_hosts(tmp_path), "tok", ["green"], actions={"mcp.tool_call"})  # type: ignore[arg-type]
    assert {(r.host, len([x for x in read.records if x.host == r.host])) for r in read.records} == {
        ("g1", 1002),
        ("g2", 1),
    }
    assert "http://127.0.0.1:2002/admin/audit" in read.source
    assert read.of("mcp.tool_call", ["op1"])[0].data == {"operation_id": "op1"}


def test_a_host_that_does_not_answer_fails_the_read_naming_it(tmp_path: Path) -> None:
    session = FakeSession({("GET", "http://127.0.0.1:2001/admin/audit"): records()})
    with pytest.raises(ServiceAuditError, match="green/g2"):
        read_service_audit(session, two_hosts(tmp_path), "tok", ["green"], actions={"mcp.tool_call"})  # type: ignore[arg-type]


def test_the_failure_switch_is_armed_on_every_host_bounded_and_released(tmp_path: Path) -> None:
    answers: dict[tuple[str, str], Any] = {}
    for host in ("2001", "2002"):
        base = f"http://127.0.0.1:{host}/admin"
        answers[("POST", f"{base}/bedrock/failure")] = {"bedrock_failure": {"mode": "unavailable"}}
        answers[("DELETE", f"{base}/bedrock/failure")] = {"bedrock_failure": None}
        answers[("POST", f"{base}/circuits/bedrock/reset")] = {"state": "closed"}
    answers.pop(("POST", "http://127.0.0.1:2002/admin/circuits/bedrock/reset"))  # that host fails its reset
    session = FakeSession(answers)
    switches = FailureSwitches(session, "tok")  # type: ignore[arg-type]
    assert set(switches.arm(two_hosts(tmp_path), ["green"])) == {"green/g1", "green/g2"}
    bodies = [body for method, _, body in session.seen if method == "POST"]
    assert bodies == [{"mode": "unavailable", "duration_s": SWITCH_BOUND_S}] * 2
    problems = switches.release()
    assert len(problems) == 1
    assert problems[0].startswith("green/g2: POST http://127.0.0.1:2002/admin/circuits/bedrock/reset")
    assert [m for m, url, _ in session.seen if url.endswith("/bedrock/failure")].count("DELETE") == 2
    assert switches.armed == {}
