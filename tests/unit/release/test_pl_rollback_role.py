"""The rollback role as written: every backend call of a step retries until the rollback's deadline.

A new step that calls the load balancer, SSM or a slot without ``retry_until`` would give up at the
first transient failure and leave a rollback half done; this test names it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
#: Modules that call a backend (load balancer, SSM, a slot) and take retry_until.
BACKEND_MODULES = (
    "bedrock.release.traffic_weights",
    "bedrock.release.flag",
    "bedrock.release.slot_flags",
    "bedrock.release.http_request",
)
#: Reads that are allowed to fail, for the record only (rollback_finished.traffic_left), never a step.
FOR_THE_RECORD = {"Traffic split the rollback leaves is read for the record"}


def _tasks(path: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for task in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
        out.append(task)
        for key in ("block", "rescue", "always"):
            out.extend(task.get(key) or [])
    return out


def _backend_calls(paths: list[Path]) -> list[tuple[str, str, dict[str, Any]]]:
    calls = []
    for path in paths:
        for task in _tasks(path):
            for module in BACKEND_MODULES:
                if module in task:
                    calls.append((path.name, task["name"], task[module]))
    return calls


ROLLBACK_CALLS = _backend_calls(sorted((REPO / "roles" / "rollback" / "tasks").glob("*.yml")))


def test_the_rollback_role_calls_backends_at_all() -> None:
    assert len(ROLLBACK_CALLS) >= 8, ROLLBACK_CALLS  # the test would pass on an empty list otherwise


@pytest.mark.parametrize(
    ("file", "name", "args"), ROLLBACK_CALLS, ids=[f"{f}:{n}" for f, n, _ in ROLLBACK_CALLS]
)
def test_every_backend_call_of_a_rollback_step_retries_until_the_deadline(
    file: str, name: str, args: dict[str, Any]
) -> None:
    if name in FOR_THE_RECORD:
        assert "retry_until" not in args, "the record's read must not spend the deadline again"
        return
    assert args.get("retry_until") == "{{ _rollback_retry_until }}", f"{file}: {name!r} gives up at once"


def test_the_flags_a_partial_rollback_re_enables_retry_too() -> None:
    calls = _backend_calls([REPO / "roles" / "feature_flags" / "tasks" / "flag.yml"])
    assert len(calls) == 2
    assert all(args.get("retry_until") == "{{ feature_flags_retry_until }}" for _f, _n, args in calls)
    partial = (REPO / "roles" / "rollback" / "tasks" / "partial.yml").read_text(encoding="utf-8")
    assert 'feature_flags_retry_until: "{{ _rollback_retry_until }}"' in partial


def test_the_live_read_is_inside_the_block_that_its_rescue_covers() -> None:
    main = yaml.safe_load((REPO / "roles" / "rollback" / "tasks" / "main.yml").read_text(encoding="utf-8"))
    (block,) = [t for t in main if "block" in t]
    imported = [t.get("ansible.builtin.import_tasks") for t in block["block"]]
    assert "live.yml" in imported
    preflight = (REPO / "roles" / "rollback" / "tasks" / "preflight.yml").read_text(encoding="utf-8")
    assert "traffic_weights" not in preflight, "a backend read before the block would end the play unrescued"
