"""Shared fixtures of the unit tests: a moto server for the shared lock and state (real wire protocol).

A server, not moto's in-process mock: the lock's heartbeat runs in its own process and must reach it.
Every test gets its own table and bucket; heartbeat processes a test started are stopped after it.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from bedrock_release.pipeline.heartbeat import forget_holder
from bedrock_release.pipeline.lock import LOCK_KEY
from bedrock_release.pipeline.run_store import HOLDER_NAME
from bedrock_release.pipeline.shared_state import SharedState
from bedrock_release.release import artifact as release_artifact

REPO = Path(__file__).resolve().parents[2]
_COUNTER = itertools.count()
_KEYS = {"aws_access_key_id": "AKIAUNITTEST0000", "aws_secret_access_key": "unit-test-secret"}


@pytest.fixture(scope="session")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """runs/releases with 1.1.0 built."""
    out = tmp_path_factory.mktemp("releases")
    release_artifact.build("1.1.0", REPO, out, components={"BedrockSupportManager": "1.1.0"})
    return out


@pytest.fixture
def deploy_process() -> Iterator[subprocess.Popen[bytes]]:
    """A process standing in for a deploy's ansible-playbook: the lock's heartbeat watches it."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield proc
    proc.kill()
    proc.wait()


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """One moto server for the session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def make_shared_state(moto_url: str, **over: object) -> SharedState:
    """A fresh lock table and versioned state bucket in moto, and the SharedState naming them."""
    n = next(_COUNTER)
    values: dict[str, object] = {
        "lock_table": f"unit-lock-{n}",
        "bucket": f"unit-state-{n}",
        "region": "eu-central-1",
        "endpoint_url": moto_url,
        "heartbeat_s": 1,
        "expiry_s": 6,
        "sandbox": False,
    }
    values.update(over)
    shared = SharedState.from_mapping(values)
    options = {"endpoint_url": moto_url, "region_name": "eu-central-1", **_KEYS}
    boto3.client("dynamodb", **options).create_table(
        TableName=shared.lock_table,
        KeySchema=[{"AttributeName": LOCK_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": LOCK_KEY, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    s3 = boto3.client("s3", **options)
    s3.create_bucket(Bucket=shared.bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    s3.put_bucket_versioning(Bucket=shared.bucket, VersioningConfiguration={"Status": "Enabled"})
    return shared


@pytest.fixture
def shared_state(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SharedState]:
    """A fresh table and bucket; the test's AWS keys in the environment; heartbeats stopped afterwards."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", _KEYS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", _KEYS["aws_secret_access_key"])
    yield make_shared_state(moto_url)
    for holder in tmp_path.rglob(HOLDER_NAME):
        forget_holder(holder.parent)
