"""bedrock_release.pipeline.flags: the five flags in SSM (moto)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from bedrock_release.pipeline.flags import FlagStore, FlagStoreError
from bedrock_release.plan import FLAGS

PATH = "/bedrock-support/test/flags"


@pytest.fixture
def store() -> Iterator[FlagStore]:
    """A flag store on moto's SSM with every flag seeded off."""
    with mock_aws():
        client = boto3.client("ssm", region_name="eu-central-1")
        for flag in FLAGS[:4]:
            client.put_parameter(Name=f"{PATH}/{flag}", Value="false", Type="String")
        yield FlagStore(client, PATH)


def test_snapshot_reports_absent_flags_as_none(store: FlagStore) -> None:
    snap = store.snapshot()
    assert list(snap) == list(FLAGS)
    assert snap[FLAGS[4]] is None
    assert snap[FLAGS[0]] is False


def test_set_writes_once_and_reports_the_previous_value(store: FlagStore) -> None:
    change = store.set(FLAGS[0], True)
    assert (change.previous, change.value) == (False, True)
    assert store.get(FLAGS[0]) is True
    again = store.set(FLAGS[0], True)
    assert again.previous is True
    assert store.set(FLAGS[4], True).previous is None


def test_check_mode_changes_nothing(store: FlagStore) -> None:
    store.set(FLAGS[1], True, check_mode=True)
    assert store.get(FLAGS[1]) is False


def test_restore_puts_the_snapshot_back(store: FlagStore) -> None:
    before = store.snapshot()
    for flag in FLAGS:
        store.set(flag, True)
    store.restore(before)
    assert {f: bool(v) for f, v in store.snapshot().items()} == {f: bool(v) for f, v in before.items()}


def test_bad_value_and_unknown_flag_are_named(store: FlagStore) -> None:
    store.client.put_parameter(Name=f"{PATH}/{FLAGS[2]}", Value="yes", Type="String", Overwrite=True)
    with pytest.raises(FlagStoreError, match="holds 'yes'"):
        store.get(FLAGS[2])
    with pytest.raises(ValueError, match="not one of the plan's flags"):
        store.set("ENABLE_X", True)
