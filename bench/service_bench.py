"""Benchmark of the reference service: latency it adds over the Bedrock emulator, cached throughput.

Starts a private sandbox (own runtime folder and ports), then measures
  1. the direct route: client latency of an emergency operation sent to one slot, next to the
     client latency of the same Converse call made with stock boto3 straight to the emulator;
     the difference is what the service adds (PII check, routing, audit fsync, metrics, HTTP);
  2. the cached route: maximum throughput of one slot answering frequent queries from its cache,
     with locust (a subprocess) as the load generator.
Prints a table and writes runs/bench/service.json. Not a test: numbers, not verdicts.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import requests
from botocore.config import Config

from sandbox import control
from sandbox.secrets_file import read_secrets
from sandbox.settings import (
    REPO_ROOT,
    SANDBOX_AWS_ACCESS_KEY_ID,
    SANDBOX_AWS_SECRET_ACCESS_KEY,
    SandboxSettings,
)

_OUT = REPO_ROOT / "runs" / "bench"
_PORTS = {
    "caddy_proxy_port": 28080,
    "caddy_admin_port": 28019,
    "slot_blue_port": 28101,
    "slot_green_port": 28102,
    "moto_port": 28150,
    "emulator_port": 28160,
    "mcp_port": 28170,
}
_FREQUENT_QUERIES = [f"How do I rotate the API key of workspace {n}?" for n in range(20)]
_QUERY = "Production outage: checkout API returns 502 for EU customers since 10:02"


def _quantiles(samples_ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {"p50": round(cuts[49], 2), "p95": round(cuts[94], 2), "p99": round(cuts[98], 2)}


def _timed(call, repetitions: int) -> list[float]:
    samples = []
    for _ in range(repetitions):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def direct_route(settings: SandboxSettings, token: str, repetitions: int) -> dict[str, object]:
    """Client latency of the direct route through one slot vs the same Converse call to the emulator."""
    slot = settings.url("slot-blue")
    session = requests.Session()
    body = {"type": "emergency", "query": _QUERY, "customer_region": "eu-central-1"}
    headers = {"X-Verification-Token": token}

    def via_service() -> None:
        response = session.post(f"{slot}/v1/support/operations", json=body, headers=headers, timeout=10)
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

    _timed(via_service, 20)  # warm both paths: connections, caches of the interpreter
    _timed(via_emulator, 20)
    service_ms, emulator_ms = [], []
    for _ in range(repetitions):  # interleaved, so drift of the machine hits both alike
        service_ms += _timed(via_service, 1)
        emulator_ms += _timed(via_emulator, 1)
    service, emulator = _quantiles(service_ms), _quantiles(emulator_ms)
    return {
        "samples": repetitions,
        "service_ms": service,
        "emulator_ms": emulator,
        "added_ms": {q: round(service[q] - emulator[q], 2) for q in service},
    }


def cached_throughput(settings: SandboxSettings, token: str, users: int, seconds: int) -> dict[str, object]:
    """Requests per second one slot serves from its cache, locust generating the load."""
    session = requests.Session()
    for query in _FREQUENT_QUERIES:  # a query is frequent, hence cached, from its fourth sighting on
        for _ in range(4):
            session.post(
                f"{settings.url('slot-blue')}/v1/support/operations",
                json={"type": "routine", "query": query, "customer_region": "eu-central-1"},
                headers={"X-Verification-Token": token},
                timeout=10,
            ).raise_for_status()
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "cached"
        env = {**os.environ, "SUPPORT_ADMIN_TOKEN": token}
        command = [
            sys.executable, "-m", "locust", "-f", str(Path(__file__).with_name("locust_cached_route.py")),
            "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
            "--host", settings.url("slot-blue"), "--csv", str(prefix), "--only-summary",
            "--loglevel", "ERROR",
        ]  # fmt: skip
        subprocess.run(command, env=env, check=False, capture_output=True, timeout=seconds + 60)  # noqa: S603
        with open(f"{prefix}_stats.csv", newline="", encoding="utf-8") as stats:
            row = next(r for r in csv.DictReader(stats) if r["Name"] == "Aggregated")
    return {
        "users": users,
        "seconds": seconds,
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "rps": round(float(row["Requests/s"]), 1),
        "p50_ms": float(row["50%"]),
        "p95_ms": float(row["95%"]),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=300)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="leave the private sandbox running")
    args = parser.parse_args(argv)
    settings = SandboxSettings(runtime_dir=_OUT / "sandbox", **_PORTS)
    control.up(settings)
    try:
        token = read_secrets(settings.runtime_dir / "secrets.env").support_admin_token
        results = {
            "direct_route": direct_route(settings, token, args.repetitions),
            "cached_route_one_slot": cached_throughput(settings, token, args.users, args.seconds),
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        }
    finally:
        if not args.keep:
            control.down(settings)
    _OUT.mkdir(parents=True, exist_ok=True)
    (_OUT / "service.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    direct, cached = results["direct_route"], results["cached_route_one_slot"]
    print(f"{'measure':<44}{'p50':>9}{'p95':>9}{'p99':>9}")
    for label, key in (("direct route via the service (ms)", "service_ms"),
                       ("same Converse call to the emulator (ms)", "emulator_ms"),
                       ("added by the service (ms)", "added_ms")):  # fmt: skip
        row = direct[key]
        print(f"{label:<44}{row['p50']:>9}{row['p95']:>9}{row['p99']:>9}")
    print(
        f"cached route, one slot: {cached['rps']} requests/s with {cached['users']} locust users "
        f"({cached['requests']} requests, {cached['failures']} failures, p95 {cached['p95_ms']} ms)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
