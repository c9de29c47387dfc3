"""playbooks/watch.yml for real in a private sandbox: a fault part way through ends in a recorded rollback,
and the run's report (md, html with plots in headless Chromium) and verified evidence bundle show it.

The deployed state is made as the suite's acceptance tests make it (new release on green at 100 %,
all flags on) and journaled as the pipeline journals it, so the test needs no 6-minute deploy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "pipeline"), str(HERE.parent / "suite")]

from pipeline_env import PipelineEnv  # noqa: E402
from suite_sandbox import BASELINE, RELEASE, deploy_new_release, session, target_doc  # noqa: E402

from audit_trail import read  # noqa: E402
from bedrock_release.pipeline.journal import JOURNAL_NAME, Journal  # noqa: E402
from bedrock_release.plan import FLAGS, PHASES  # noqa: E402
from bedrock_release.report.bundle import verify  # noqa: E402
from sandbox.paths import SandboxPaths  # noqa: E402
from sandbox.secrets_file import read_secrets  # noqa: E402
from sandbox.seed import aws_client  # noqa: E402
from sandbox.settings import SandboxSettings  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RUN_ID = f"20261126T150000Z-{RELEASE}"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineEnv]:
    pipeline = PipelineEnv(tmp_path_factory.mktemp("er-watch")).prepare((BASELINE, RELEASE))
    try:
        up = pipeline.playbook("playbooks/sandbox.yml", timeout=300)
        assert up.returncode == 0, up.stdout[-3000:]
        yield pipeline
    finally:
        pipeline.sandbox_down()


def _settings(env: PipelineEnv) -> SandboxSettings:
    ports = {var.removeprefix("sandbox_"): port for var, port in env.ports.items()}
    return SandboxSettings(runtime_dir=env.runs / "sandbox", releases_dir=env.releases, **ports)


def _deployed_run(env: PipelineEnv, settings: SandboxSettings) -> Path:
    """The release live on green at 100 % with every flag on, journaled as a finished deploy."""
    run_dir = env.runs / RUN_ID
    run_dir.mkdir(parents=True)
    deploy_new_release(settings)
    ssm = aws_client("ssm", settings)
    for flag in FLAGS:
        ssm.put_parameter(Name=f"{settings.flags_path}/{flag}", Value="true", Type="String", Overwrite=True)
    journal = Journal(run_dir / JOURNAL_NAME)
    journal.record(
        "run_started",
        {
            "run_id": RUN_ID,
            "release": RELEASE,
            "previous_release": BASELINE,
            "environment": "local",
            "time_scale": 0.05,
            "operator": "watch-test",
            "fault": None,
            "slots": {"active": "blue", "idle": "green"},
            "weights": {"blue": 100, "green": 0},
        },
    )
    journal.record(
        "flags_snapshot", {"values": dict.fromkeys(FLAGS, False), "flags_path": settings.flags_path}
    )
    journal.record("slot_release_set", {"slot": "green", "release": RELEASE, "previous_release": BASELINE})
    for item in PHASES:
        journal.phase_started(item.id)
        if item.id == 2:
            journal.record("traffic_weights_set", {"weights": {"blue": 0, "green": 100}})
        if item.id == 5:
            for flag in FLAGS:
                journal.flag_set(flag, True, False)
        journal.phase_finished(item.id, "passed", duration_s=1.0, budget_s=item.scaled_budget_s(0.05))
    for dp in (1, 2, 3):
        journal.decision(dp, "go", "made by the watch test")
    journal.run_finished("deployed", "deployed by the watch test")
    target = target_doc(settings, run_dir, time_scale=0.05, journal=run_dir / JOURNAL_NAME)
    target.update(run_id=RUN_ID, results_dir=str(run_dir / "results"))
    # Where the deploy's run_context puts the shared lock and state (the rollback takes the lock there).
    target["shared_state"] = env.shared_state().to_dict()
    (run_dir / "target.json").write_text(json.dumps(target, indent=2), encoding="utf-8")
    (env.runs / "latest").symlink_to(RUN_ID)
    deadline = time.monotonic() + 15
    with session() as http:
        while time.monotonic() < deadline:
            values = http.get(f"{settings.url('slot-green')}/v1/flags", timeout=5).json()["values"]
            if all(values.values()):
                break
            time.sleep(0.5)
    return run_dir


def _inject_after_first_evaluation(run_dir: Path, settings: SandboxSettings, done: threading.Event) -> None:
    """Bedrock turns slow once the watch has recorded its first evaluation (a fault part way through)."""
    token = read_secrets(SandboxPaths.of(settings.runtime_dir).secrets).emulator_admin_token
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not done.is_set():
        records = read(run_dir / JOURNAL_NAME)
        if any(r.action == "gate_evaluated" and r.data.get("phase") == "watch" for r in records):
            with session() as http:
                http.put(
                    f"{settings.url('bedrock-emulator')}/_emulator/faults",
                    json={"kind": "latency", "distribution": "fixed", "mean_ms": 2500},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=5,
                ).raise_for_status()
            return
        time.sleep(0.5)


def test_watch_breach_rolls_back_and_the_evidence_shows_it(env: PipelineEnv, tmp_path: Path) -> None:
    settings = _settings(env)
    run_dir = _deployed_run(env, settings)
    done = threading.Event()
    injector = threading.Thread(target=_inject_after_first_evaluation, args=(run_dir, settings, done))
    injector.start()
    try:
        # Immediate tier: this journal is written by the test, without the sandbox's slot install records
        # (previous pythonpath, source) that the full tier needs to revert the new slot.
        proc = env.playbook("playbooks/watch.yml", timeout=600, watch_rollback_tier="immediate")
    finally:
        done.set()
        injector.join()
    log = proc.stdout[-5000:]
    records = read(run_dir / JOURNAL_NAME)
    watch = [r for r in records if r.action == "gate_evaluated" and r.data.get("phase") == "watch"]
    evaluations = sorted({r.data["evaluation"] for r in watch})
    assert evaluations[0] == 1, log
    assert len(evaluations) >= 2, log
    first = [r.data["gate"] for r in watch if r.data["evaluation"] == 1]
    assert all(g["verdict"] == "pass" for g in first), first
    last = [r.data["gate"] for r in watch if r.data["evaluation"] == evaluations[-1]]
    # Slow Bedrock answers fail the P95 gate, or (fewer generation answers complete in the window) leave
    # it without its minimum samples: inconclusive, which fails closed just the same. Never a pass.
    breached = [g for g in last if g["name"].endswith("p95-latency-generation")]
    assert breached, last
    assert breached[0]["verdict"] in {"fail", "inconclusive"}, last
    started = next(r for r in records if r.action == "rollback_started")
    assert started.data["trigger"].startswith("post-deployment watch evaluation"), started.data
    finished = next(r for r in records if r.action == "rollback_finished")
    assert finished.data["verified"] is True, log
    assert records[-1].action in {"run_finished", "lock_released"} or any(
        r.action == "run_finished" and r.data["outcome"] == "rolled_back" for r in records
    )
    assert proc.returncode == 0, log  # the breach was handled: rolled back and verified
    report = json.loads((run_dir / "report.json").read_text())
    assert report["outcome"] == "rolled_back"
    assert report["rollback"]["tier"] == "immediate"
    assert any(g["name"].startswith("watch-") for g in report["gates"])
    assert "Post-deployment watch" in (run_dir / "report.md").read_text()
    verdict = verify(env.runs / "latest")
    assert verdict.ok, verdict.summary()
    _screenshot_shows_the_plots(run_dir / "report.html", tmp_path)


def _screenshot_shows_the_plots(page: Path, tmp_path: Path) -> None:
    assert CHROMIUM.exists(), "Debian chromium is missing: run `make chromium`"
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
    ]  # fmt: skip
    dom = subprocess.run(
        [str(CHROMIUM), *flags, f"--user-data-dir={tmp_path / 'p1'}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    for key in ("phases", "latency", "errors", "weights", "flags"):
        assert f'id="plot-{key}" data-has-data="yes"' in dom, key
    assert dom.count("<svg") >= 5
    shot = tmp_path / "report.png"
    subprocess.run(
        [str(CHROMIUM), *flags, f"--user-data-dir={tmp_path / 'p2'}", "--window-size=1200,4000",
         f"--screenshot={shot}", page.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    _non_blank(shot)
    shutil.copyfile(shot, page.with_name("report-screenshot.png"))


def _non_blank(png: Path) -> None:
    """Many distinct colours: plots and text were painted, not a blank page."""
    import zlib  # noqa: PLC0415

    raw = png.read_bytes()
    pos, chunks = 8, b""
    width = int.from_bytes(raw[16:20], "big")
    while pos < len(raw):
        size = int.from_bytes(raw[pos : pos + 4], "big")
        if raw[pos + 4 : pos + 8] == b"IDAT":
            chunks += raw[pos + 8 : pos + 8 + size]
        pos += size + 12
    pixels = zlib.decompress(chunks)
    sample = {pixels[i : i + 3] for i in range(1, len(pixels) - 3, 97)}
    assert width > 0
    assert len(sample) > 20, f"the screenshot looks blank ({len(sample)} byte triples sampled)"
