"""The slot crash fault, paging on-call, and a journal torn by a SIGKILL taken over without a lost record."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from audit_trail import verify
from bedrock_release.pipeline.journal import Journal
from bedrock_release.pipeline.lock import DeployLock
from bedrock_release.pipeline.paging import page_oncall
from bedrock_release.pipeline.run import RunPaths, take_lock
from bedrock_release.pipeline.shared_state import SharedState
from support_service.crash import CrashUnderTrafficMiddleware


def _app(exits: list[int], after: int) -> TestClient:
    app = Starlette(routes=[Route("/version", lambda _r: PlainTextResponse("ok"))])
    app.add_middleware(CrashUnderTrafficMiddleware, after=after, exit_fn=exits.append)
    return TestClient(app)


def test_only_requests_through_the_load_balancer_count_towards_the_crash() -> None:
    exits: list[int] = []
    client = _app(exits, after=3)
    for _ in range(10):
        assert client.get("/version").status_code == 200  # health checks and direct calls
    assert exits == []
    for _ in range(2):
        client.get("/version", headers={"X-Forwarded-For": "127.0.0.1"})
    assert exits == []
    client.get("/version", headers={"X-Forwarded-For": "127.0.0.1"})
    assert exits == [70]


def test_crash_count_must_be_positive() -> None:
    with pytest.raises(ValueError, match="after"):
        CrashUnderTrafficMiddleware(Starlette(), after=0)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
    }.items():
        monkeypatch.setenv(key, value)


def _journal(run_dir: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (run_dir / "audit.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.mark.usefixtures("aws_env")
def test_a_page_is_published_to_sns_and_journaled(tmp_path: Path) -> None:
    with mock_aws():
        page = page_oncall(tmp_path, "immediate rollback failed", region="eu-central-1")
        sns = boto3.client("sns", region_name="eu-central-1")
        assert [t["TopicArn"] for t in sns.list_topics()["Topics"]] == [page["topic_arn"]]
    assert page["delivered"] is True
    assert page["message_id"]
    assert page["to"] == [
        "primary: DevOps Team Lead",
        "secondary: AI Architecture Team Lead",
        "escalation: CTO",
    ]
    (record,) = _journal(tmp_path)
    assert record["action"] == "oncall_paged"
    assert record["data"] == page


@pytest.mark.usefixtures("aws_env")
def test_an_undeliverable_page_is_journaled_and_does_not_raise(tmp_path: Path) -> None:
    page = page_oncall(tmp_path, "rollback failed", region="eu-central-1", endpoint_url="http://127.0.0.1:9")
    assert page["delivered"] is False
    assert "EndpointConnectionError" in page["error"]
    assert _journal(tmp_path)[0]["data"]["delivered"] is False


def test_a_torn_last_record_is_quarantined_when_the_stale_lock_is_taken_over(
    tmp_path: Path, shared_state: SharedState
) -> None:
    paths = RunPaths(tmp_path, "20261127T000000Z-1.1.0")
    paths.run_dir.mkdir()
    paths.target.write_text(json.dumps({"run_id": paths.run_id, "shared_state": shared_state.to_dict()}))
    journal = Journal(paths.journal)
    journal.record(
        "run_started",
        {
            "run_id": paths.run_id,
            "release": "1.1.0",
            "previous_release": "1.0.0",
            "environment": "local",
            "time_scale": 0.05,
            "operator": "ci@host",
        },
    )
    journal.record("phase_started", {"phase": 2, "name": "Component Deployment"})
    # A holder whose last heartbeat is a minute old: its deploy died.
    a_minute_ago = DeployLock(shared_state, clock=lambda: datetime.now(UTC) - timedelta(minutes=1))
    a_minute_ago.acquire(paths.run_id, pid=2**22 + 12345, owner="ci@host")
    committed = paths.journal.read_bytes()
    with paths.journal.open("ab") as handle:  # the kill landed in the middle of a write
        handle.write(b'{"seq": 2, "ts": "2026-11-27T00:00:01Z", "actor": "pipel')
    ok, message = take_lock(paths, purpose="resume", operator="ci@host", pid=os.getpid())
    assert ok, message
    assert paths.journal.read_bytes().startswith(committed), "a committed record was lost"
    assert verify(paths.journal).ok
    actions = [r["action"] for r in _journal(paths.run_dir)]
    assert actions[:2] == ["run_started", "phase_started"]
    assert "audit.partial_tail_quarantined" in actions
    assert "lock_taken_over" in actions
    assert list(paths.run_dir.glob("audit.jsonl.partial-*"))
