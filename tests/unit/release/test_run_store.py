"""The S3 copy of a run: never backwards, never forked; fetching brings a run onto another controller."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import boto3
import pytest

from bedrock_release.pipeline.run_store import (
    JournalDivergedError,
    RunNotFoundError,
    RunStore,
    upload_evidence,
)
from bedrock_release.pipeline.shared_state import SharedState

RUN = "20261126T150000Z-1.1.0"


def _s3(shared: SharedState):
    return boto3.client("s3", endpoint_url=shared.endpoint_url, region_name=shared.region)


def _run(root: Path, shared: SharedState, journal: bytes) -> Path:
    run_dir = root / RUN
    run_dir.mkdir(parents=True)
    (run_dir / "audit.jsonl").write_bytes(journal)
    target = {"run_id": RUN, "journal": str(run_dir / "audit.jsonl"), "results_dir": str(run_dir / "results")}
    (run_dir / "target.json").write_text(json.dumps({**target, "shared_state": shared.to_dict()}))
    return run_dir


def _remote(shared: SharedState, name: str = "audit.jsonl") -> bytes:
    return _s3(shared).get_object(Bucket=shared.bucket, Key=f"runs/{RUN}/{name}")["Body"].read()


def test_the_journal_is_mirrored_only_forwards(tmp_path: Path, shared_state: SharedState) -> None:
    store = RunStore(shared_state)
    run_dir = _run(tmp_path / "a", shared_state, b"one\n")
    store.mirror_journal(run_dir)
    (run_dir / "audit.jsonl").write_bytes(b"one\ntwo\n")
    store.mirror_journal(run_dir)
    assert _remote(shared_state) == b"one\ntwo\n"
    (run_dir / ".shared-state.json").unlink()  # the etag we saw is lost (a crash): the prefix rule decides
    (run_dir / "audit.jsonl").write_bytes(b"one\ntwo\nthree\n")
    store.mirror_journal(run_dir)
    assert _remote(shared_state) == b"one\ntwo\nthree\n"


def test_a_controller_whose_copy_lacks_records_of_s3_is_stopped(
    tmp_path: Path, shared_state: SharedState
) -> None:
    store = RunStore(shared_state)
    run_dir = _run(tmp_path / "a", shared_state, b"one\n")
    store.mirror_journal(run_dir)
    _s3(shared_state).put_object(
        Bucket=shared_state.bucket, Key=f"runs/{RUN}/audit.jsonl", Body=b"one\nB's\n"
    )
    (run_dir / "audit.jsonl").write_bytes(b"one\nA's\n")
    with pytest.raises(JournalDivergedError, match="another controller drives this run"):
        store.mirror_journal(run_dir)
    assert _remote(shared_state) == b"one\nB's\n"


def test_fetch_brings_the_run_with_its_paths_made_local(tmp_path: Path, shared_state: SharedState) -> None:
    store = RunStore(shared_state)
    run_dir = _run(tmp_path / "a", shared_state, b"one\ntwo\n")
    store.mirror_journal(run_dir)
    store.put_file(run_dir, "target.json", once=True)
    fetched = store.fetch(tmp_path / "b", RUN)
    assert (fetched / "audit.jsonl").read_bytes() == b"one\ntwo\n"
    target = json.loads((fetched / "target.json").read_text())
    assert target["journal"] == str(fetched / "audit.jsonl")
    assert target["results_dir"] == str(fetched / "results")
    assert target["fetched_from"] == f"s3://{shared_state.bucket}/runs/{RUN}/target.json"
    assert json.loads(_remote(shared_state, "target.json"))["journal"] == str(run_dir / "audit.jsonl")
    (run_dir / "audit.jsonl").write_bytes(b"one\ntwo\nthree\n")
    store.mirror_journal(run_dir)
    store.fetch(tmp_path / "b", RUN)  # a copy behind S3 is brought up to date
    assert (fetched / "audit.jsonl").read_bytes() == b"one\ntwo\nthree\n"
    (fetched / "audit.jsonl").write_bytes(b"one\ntwo\nthree\nfour\n")
    store.fetch(tmp_path / "b", RUN)  # a copy ahead of S3 (an upload failed) is uploaded instead
    assert _remote(shared_state) == b"one\ntwo\nthree\nfour\n"
    (fetched / "audit.jsonl").write_bytes(b"one\nother\n")
    with pytest.raises(JournalDivergedError, match="different histories"):
        store.fetch(tmp_path / "b", RUN)
    with pytest.raises(RunNotFoundError, match=f"not in state bucket {shared_state.bucket}"):
        store.fetch(tmp_path / "b", "20260101T000000Z-9.9.9")


def test_target_json_is_uploaded_once_and_latest_points_at_the_newest_run(
    tmp_path: Path, shared_state: SharedState
) -> None:
    store = RunStore(shared_state)
    run_dir = _run(tmp_path / "a", shared_state, b"one\n")
    store.put_file(run_dir, "target.json", once=True)
    (run_dir / "target.json").write_text("{}")
    store.put_file(run_dir, "target.json", once=True)
    assert json.loads(_remote(shared_state, "target.json"))["run_id"] == RUN
    assert store.latest() is None
    store.put_latest(RUN)
    assert store.latest() == RUN


def test_evidence_is_uploaded_file_by_file(tmp_path: Path, shared_state: SharedState) -> None:
    run_dir = _run(tmp_path / "a", shared_state, b"one\n")
    (run_dir / "report.json").write_text("{}")
    (run_dir / "bundle" / "audit").mkdir(parents=True)
    (run_dir / "bundle" / "manifest.json").write_text("{}")
    (run_dir / "bundle" / "audit" / "audit.jsonl").write_text("one\n")
    (run_dir / "lock-holder.json").write_text("{}")
    assert upload_evidence(run_dir) is None
    listed = _s3(shared_state).list_objects_v2(Bucket=shared_state.bucket)["Contents"]
    keys = {o["Key"] for o in listed}
    assert keys == {
        f"runs/{RUN}/report.json",
        f"runs/{RUN}/bundle/manifest.json",
        f"runs/{RUN}/bundle/audit/audit.jsonl",
    }
    RunStore(shared_state).mirror_journal(run_dir)
    fetched = RunStore(shared_state).fetch(tmp_path / "b", RUN, evidence=True)
    assert (fetched / "bundle" / "audit" / "audit.jsonl").read_text() == "one\n"
    assert (fetched / "report.json").read_text() == "{}"


def test_an_unreachable_bucket_is_named(tmp_path: Path, shared_state: SharedState) -> None:
    silent = replace(shared_state, endpoint_url="http://127.0.0.1:9")
    run_dir = _run(tmp_path / "a", silent, b"one\n")
    (run_dir / "report.json").write_text("{}")
    problem = upload_evidence(run_dir)
    assert problem is not None
    assert f"state bucket {shared_state.bucket} at http://127.0.0.1:9" in problem
    assert "evidence upload failed" in (run_dir / "shared-state.log").read_text()
