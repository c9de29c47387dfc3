"""Service part of the bench: latency the service adds per route, cached throughput through Caddy, locust.

Against a running sandbox (the bench's private one, ephemeral ports):
  1. the direct route: client latency of an emergency operation sent to one slot, next to the
     client latency of the same Converse call made with stock boto3 straight to the emulator;
     the difference is what the service adds (PII check, routing, audit fsync, metrics, HTTP);
  2. the cached route: client latency of a cache hit on one slot - all of it is the service's own;
  3. the cached route's throughput through Caddy with locust (a subprocess) as the load generator,
     at a few user counts, with the CPU locust itself used: requests/s one core of locust sustains.
Numbers, not verdicts.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import psutil
import requests
from botocore.config import Config

from sandbox.settings import SANDBOX_AWS_ACCESS_KEY_ID, SANDBOX_AWS_SECRET_ACCESS_KEY, SandboxSettings

from . import stats

_FREQUENT_QUERIES = [f"How do I rotate the API key of workspace {n}?" for n in range(20)]
_QUERY = "Production outage: checkout API returns 502 for EU customers since 10:02"
_LOCUSTFILE = Path(__file__).with_name("locust_cached_route.py")


def _timed(call, repetitions: int) -> list[float]:
    samples = []
    for _ in range(repetitions):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def direct_route(settings: SandboxSettings, slot: str, token: str, repetitions: int) -> dict[str, object]:
    """Client latency of the direct route through one slot vs the same Converse call to the emulator."""
    base = settings.url(f"slot-{slot}")
    session = _session()
    body = {"type": "emergency", "query": _QUERY, "customer_region": "eu-central-1"}
    headers = {"X-Verification-Token": token}

    def via_service() -> None:
        response = session.post(f"{base}/v1/support/operations", json=body, headers=headers, timeout=10)
        response.raise_for_status()
        if response.json()["route"] != "direct":
            raise RuntimeError(f"expected the direct route, got {response.json()}")

    bedrock = boto3.client(
        "bedrock-runtime",
        region_name=settings.bedrock_region,
        endpoint_url=settings.url("bedrock-emulator"),
        aws_access_key_id=SANDBOX_AWS_ACCESS_KEY_ID,
        aws_secret_access_key=SANDBOX_AWS_SECRET_ACCESS_KEY,
        config=Config(retries={"total_max_attempts": 1}),
    )

    def via_emulator() -> None:
        bedrock.converse(
            modelId=settings.bedrock_model_id,
            messages=[{"role": "user", "content": [{"text": _QUERY}]}],
            inferenceConfig={"maxTokens": 512},
        )

    _timed(via_service, 10)  # warm both paths: connections, caches of the interpreter
    _timed(via_emulator, 10)
    service_ms, emulator_ms = [], []
    for _ in range(repetitions):  # interleaved, so drift of the machine hits both alike
        service_ms += _timed(via_service, 1)
        emulator_ms += _timed(via_emulator, 1)
    service, emulator = stats.quantiles(service_ms, 2), stats.quantiles(emulator_ms, 2)
    return {
        "samples": repetitions,
        "service_ms": service,
        "upstream_ms": emulator,
        "added_ms": {q: round(service[q] - emulator[q], 2) for q in ("p50", "p95", "p99")},
    }


def warm_cache(settings: SandboxSettings, token: str) -> None:
    """Make every frequent query a cache hit on both slots (frequent from its fourth sighting on)."""
    session = _session()
    for slot in ("blue", "green"):
        for query in _FREQUENT_QUERIES:
            for _ in range(4):
                session.post(
                    f"{settings.url(f'slot-{slot}')}/v1/support/operations",
                    json={"type": "routine", "query": query, "customer_region": "eu-central-1"},
                    headers={"X-Verification-Token": token},
                    timeout=10,
                ).raise_for_status()


def cached_route(settings: SandboxSettings, slot: str, token: str, repetitions: int) -> dict[str, object]:
    """Client latency of a cache hit on one slot: no upstream call, so all of it is the service's."""
    session = _session()
    url = f"{settings.url(f'slot-{slot}')}/v1/support/operations"
    headers = {"X-Verification-Token": token}
    index = iter(range(10**9))

    def hit() -> None:
        query = _FREQUENT_QUERIES[next(index) % len(_FREQUENT_QUERIES)]
        body = {"type": "routine", "query": query, "customer_region": "eu-central-1"}
        response = session.post(url, json=body, headers=headers, timeout=10)
        response.raise_for_status()
        if response.json()["route"] != "cache":
            raise RuntimeError(f"expected a cache hit, got {response.json()}")

    _timed(hit, 20)
    service = stats.quantiles(_timed(hit, repetitions), 2)
    return {"samples": repetitions, "service_ms": service, "upstream_ms": None,
            "added_ms": {q: service[q] for q in ("p50", "p95", "p99")}}  # fmt: skip


def locust_run(host: str, token: str, users: int, seconds: int) -> dict[str, object]:
    """One headless locust run on the cached route; requests/s, latencies and the CPU locust used."""
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "cached"
        env = {**os.environ, "SUPPORT_ADMIN_TOKEN": token, "NO_PROXY": "127.0.0.1,localhost"}
        command = [
            sys.executable, "-m", "locust", "-f", str(_LOCUSTFILE),
            "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
            "--host", host, "--csv", str(prefix), "--only-summary", "--loglevel", "ERROR",
        ]  # fmt: skip
        started = time.monotonic()
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
        watched = psutil.Process(proc.pid)
        cpu = 0.0
        while proc.poll() is None:
            try:
                times = watched.cpu_times()
                cpu = times.user + times.system
            except psutil.Error:
                break
            time.sleep(0.2)
        wall = time.monotonic() - started
        _, err = proc.communicate(timeout=seconds + 60)
        try:
            with open(f"{prefix}_stats.csv", newline="", encoding="utf-8") as handle:
                row = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
        except (OSError, StopIteration):
            raise RuntimeError(
                f"locust wrote no stats (exit {proc.returncode}): {err.decode()[-800:]}"
            ) from None
    rps = float(row["Requests/s"])
    core_share = cpu / wall if wall else 0.0
    return {
        "users": users,
        "seconds": seconds,
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "rps": round(rps, 1),
        "p50_ms": float(row["50%"]),
        "p95_ms": float(row["95%"]),
        "locust_cpu_share": round(core_share, 2),
        "rps_per_locust_core": round(rps / core_share, 1) if core_share else None,
    }


def cached_through_caddy(
    settings: SandboxSettings, token: str, users: list[int], seconds: int
) -> dict[str, object]:
    """Locust on the cached route through Caddy at each user count; the best run without failures wins."""
    runs = [locust_run(settings.url("caddy"), token, n, seconds) for n in users]
    clean = [r for r in runs if r["requests"] and r["failures"] / r["requests"] <= 0.01] or runs
    best = max(clean, key=lambda r: r["rps"])
    return {"runs": runs, "max_rps": best["rps"], "at_users": best["users"]}


def locust_one_core(runs: list[dict[str, object]]) -> dict[str, object]:
    """How much load one core of locust generates, from the runs' requests/s and locust's own CPU."""
    best = max(runs, key=lambda r: r["rps_per_locust_core"] or 0)
    share = best["locust_cpu_share"] or 0
    return {
        "rps_per_core": best["rps_per_locust_core"],
        "users_per_core": round(best["users"] / share, 1) if share else None,
        "measured_at_users": best["users"],
        "cpu_share": share,
        "note": "FastHttpUser, constant_throughput(1000) per user; locust and the sandbox share the machine",
    }
