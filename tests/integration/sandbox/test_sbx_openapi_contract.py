"""The service's contract is its OpenAPI document: schemathesis against a live slot finds no failure.

schemathesis (its CLI, every default check: server errors, status codes, content types, response
schemas, negative data rejected, positive data accepted, auth enforced, unsupported methods) runs
against the blue slot of a private sandbox with the admin token, bounded in cases and time, with a
fixed seed so a failure is reproducible.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import control
from sandbox.paths import SandboxPaths
from sandbox.secrets_file import read_secrets
from sandbox.settings import SandboxSettings

pytestmark = [pytest.mark.integration]

#: Cases per API operation and the seed: a few hundred cases in all, the same ones every run.
MAX_EXAMPLES = 20
SEED = 20261126


def test_a_live_slot_answers_as_its_openapi_document_says(
    live: control.UpResult, live_settings: SandboxSettings, tmp_path: Path
) -> None:
    token = read_secrets(SandboxPaths.of(live_settings.runtime_dir).secrets).support_admin_token
    slot = live_settings.url("slot-blue")
    report = tmp_path / "schemathesis.json"
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{slot}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--seed",
        str(SEED),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--generation-deterministic",  # implies no example database: nothing is kept between runs
        "--workers",
        "1",
        "--request-timeout",
        "15",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--no-color",
    ]
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=400, check=False, env=_env()
    )
    output = (done.stdout + done.stderr).replace(token, "<SUPPORT_ADMIN_TOKEN>")
    summary = json.loads(report.read_text()) if report.exists() else {}
    assert done.returncode == 0, output[-6000:]
    cases = _cases(summary)
    seconds = summary.get("running_time", 0)
    print(f"schemathesis: {cases} cases in {seconds:.0f} s, failures {summary.get('failures')}")
    assert 100 <= cases <= 1000, (
        f"{cases} cases: the run is not the bounded one it should be\n{output[-2000:]}"
    )


def _env() -> dict[str, str]:
    import os  # noqa: PLC0415

    # Loopback only: no proxy of the caller's shell may carry the test traffic.
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()} | {"NO_PROXY": "127.0.0.1"}


def _cases(summary: dict) -> int:
    """The number of test cases the run generated (its JSON report's totals)."""
    try:
        return int(summary["test_cases"]["generated"])
    except (KeyError, TypeError, ValueError):
        raise AssertionError(f"no case count in the schemathesis report: {sorted(summary)}") from None
