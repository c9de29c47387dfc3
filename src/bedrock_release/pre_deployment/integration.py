"""The staging integration suite: real requests through Caddy to the release running in a sandbox."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import requests

import audit_trail
from bedrock_release.pre_deployment._checks import Check, expect, run_checks
from bedrock_release.pre_deployment.junit import CaseResult
from bedrock_release.pre_deployment.staging_target import StagingTarget

__all__ = ["OPERATION_TYPES", "integration_checks", "run_integration_suite"]

OPERATION_TYPES = ("emergency", "critical", "generation", "routine")
#: Where each operation type goes with every flag on (docs/routing-matrix.md R6, R6, R13, R7).
_HYBRID_ROUTES = {"emergency": "direct", "critical": "direct", "generation": "direct", "routine": "mcp"}
_TIMEOUT_S = 15.0
_PII = {"email": "jane.staging@example.org", "phone": "+44 20 7946 0958"}


class _Client:
    """HTTP to the staging sandbox; remembers every operation id it caused, for the audit check."""

    def __init__(self, target: StagingTarget) -> None:
        self.target = target
        self.session = requests.Session()
        self.session.trust_env = False  # loopback only: no proxy from the environment
        self.operation_ids: list[str] = []

    def operation(self, kind: str, query: str, *, verification: bool) -> dict[str, Any]:
        headers = {"X-Verification-Token": self.target.admin_token} if verification else {}
        body = {"type": kind, "query": query, "customer_region": "eu-central-1", "customer_id": "staging"}
        response = self.session.post(
            f"{self.target.traffic}/v1/support/operations", json=body, headers=headers, timeout=_TIMEOUT_S
        )
        expect(response.status_code == 200, f"{kind}: HTTP {response.status_code}: {response.text[:300]}")
        data = response.json()
        self.operation_ids.append(data["operation_id"])
        expect(
            response.headers.get("X-Release") == self.target.release,
            f"served by release {response.headers.get('X-Release')}, not {self.target.release}",
        )
        return data

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.session.get(url, timeout=_TIMEOUT_S, **kwargs)


def _slots_run_release(client: _Client) -> str:
    seen = []
    for slot, url in client.target.slots.items():
        version = client.get(f"{url}/version").json()
        expect(version["release"] == client.target.release, f"slot {slot} runs {version['release']}")
        expect(
            version["components"] == dict(client.target.components),
            f"slot {slot} components {version['components']} differ from the manifest's",
        )
        seen.append(f"{slot}={version['release']}")
    return ", ".join(seen)


def _healthy(client: _Client) -> str:
    states = {}
    for slot, url in client.target.slots.items():
        response = client.get(f"{url}/health")
        states[slot] = response.json().get("status")
        expect(response.status_code == 200 and states[slot] == "ok", f"slot {slot}: {response.text[:400]}")
    return str(states)


def _flags_off_by_default(client: _Client) -> str:
    values = client.get(f"{client.target.traffic}/v1/flags").json()["values"]
    expect(values and not any(values.values()), f"flags before activation must be off: {values}")
    return "all five flags off (MCP-only until phase 5)"


def _hybrid_route(kind: str) -> Callable[[_Client], str]:
    def check(client: _Client) -> str:
        data = client.operation(kind, f"staging {kind} check {uuid.uuid4().hex}", verification=True)
        expect(data.get("verification") is True, f"not evaluated in the verification context: {data}")
        expected = _HYBRID_ROUTES[kind]
        expect(
            data["route"] == expected,
            f"{kind} routed {data['route']} ({data['reason']}), expected {expected}",
        )
        expect(data["answer"], "empty answer")
        return f"{kind}: route {data['route']} ({data['reason']}), {data['latency_ms']} ms"

    return check


def _mcp_only(kind: str) -> Callable[[_Client], str]:
    def check(client: _Client) -> str:
        data = client.operation(kind, f"staging mcp-only {kind} {uuid.uuid4().hex}", verification=False)
        expect(data["route"] == "mcp", f"{kind} with flags off routed {data['route']} ({data['reason']})")
        return f"{kind}: route mcp ({data['reason']})"

    return check


def _pii_redacted_before_bedrock(client: _Client) -> str:
    query = f"My email is {_PII['email']}, phone {_PII['phone']}; why does login fail? {uuid.uuid4().hex}"
    data = client.operation("emergency", query, verification=True)
    expect({"email", "phone"} <= set(data["redactions"]), f"redactions {data['redactions']}")
    expect(data["route"] == "direct", f"expected the direct Bedrock route, got {data['route']}")
    log = client.get(
        f"{client.target.bedrock}/_emulator/requests",
        headers={"Authorization": f"Bearer {client.target.emulator_token}"},
    ).json()
    bodies = [str(entry.get("body")) for entry in log["requests"]]
    expect(bodies, "the Bedrock emulator recorded no request")
    leaked = [value for value in _PII.values() if any(value in body for body in bodies)]
    expect(not leaked, f"PII reached Bedrock: {leaked}")
    expect(any("[REDACTED_EMAIL]" in body for body in bodies), "no redacted request reached Bedrock")
    return f"redacted {data['redactions']}; {len(bodies)} Bedrock requests hold no PII"


def _pii_redacted_before_mcp(client: _Client) -> str:
    query = f"Ticket for {_PII['email']}, call {_PII['phone']} {uuid.uuid4().hex}"
    data = client.operation("routine", query, verification=False)
    expect(data["route"] == "mcp" and "email" in data["redactions"], str(data))
    base = client.target.mcp.removesuffix("/mcp")
    log = client.get(
        f"{base}/_admin/requests", headers={"Authorization": f"Bearer {client.target.emulator_token}"}
    ).json()
    arguments = [str(entry.get("arguments")) for entry in log["requests"]]
    expect(arguments, "the MCP server recorded no tool call")
    leaked = [value for value in _PII.values() if any(value in a for a in arguments)]
    expect(not leaked, f"PII reached MCP: {leaked}")
    return f"{len(arguments)} MCP tool calls hold no PII"


def _cache_hit_on_repeat(client: _Client) -> str:
    query = f"staging cache check {uuid.uuid4().hex}"
    first = client.operation("routine", query, verification=True)
    second = client.operation("routine", query, verification=True)
    expect(first["cache"] == "miss", f"first lookup: {first['cache']}")
    expect(
        second["cache"] == "hit" and second["route"] == "cache",
        f"repeat: {second['cache']}, {second['route']}",
    )
    return f"miss then hit ({second['latency_ms']} ms)"


def _malformed_rejected(client: _Client) -> str:
    response = client.session.post(
        f"{client.target.traffic}/v1/support/operations",
        json={"type": "bogus", "query": "x", "customer_region": "eu-central-1"},
        timeout=_TIMEOUT_S,
    )
    expect(400 <= response.status_code < 500, f"HTTP {response.status_code}")
    expect("type" in response.text, f"the error does not name the field: {response.text[:300]}")
    return f"HTTP {response.status_code} naming the field"


def _forged_verification_refused(client: _Client) -> str:
    response = client.session.post(
        f"{client.target.traffic}/v1/support/operations",
        json={"type": "generation", "query": "x", "customer_region": "eu-central-1"},
        headers={"X-Verification-Token": "not-the-token"},
        timeout=_TIMEOUT_S,
    )
    expect(response.status_code == 403, f"HTTP {response.status_code}: a wrong token must be refused")
    return "HTTP 403"


def _metrics_exposed(client: _Client) -> str:
    text = client.get(f"{next(iter(client.target.slots.values()))}/metrics").text
    for name in (
        "support_requests_total",
        "support_request_duration_seconds",
        "support_route_decisions_total",
    ):
        expect(name in text, f"/metrics lacks {name}")
    return "contract metric names present"


def _audit_complete(client: _Client) -> str:
    files = client.target.audit_files
    expect(files, "no audit trail file")
    ids: set[str] = set()
    for path in files:
        verdict = audit_trail.verify(path)
        expect(verdict.ok, f"{path.name}: {verdict.first_problem}")
        ids.update(str(record.data.get("operation_id")) for record in audit_trail.read(path) if record.data)
    missing = [op for op in client.operation_ids if op not in ids]
    expect(not missing, f"{len(missing)} of {len(client.operation_ids)} operations not in the audit trail")
    return f"{len(client.operation_ids)} operations audited; chains verify"


def integration_checks(client: _Client) -> list[Check]:
    """Return the suite's checks in order; the audit check comes last (it covers all the others)."""

    def bind(func: Callable[[_Client], str]) -> Callable[[], str]:
        return lambda: func(client)

    checks: list[Check] = [
        ("slots_run_the_release", bind(_slots_run_release)),
        ("every_component_healthy", bind(_healthy)),
        ("flags_off_before_activation", bind(_flags_off_by_default)),
    ]
    checks += [(f"hybrid_route_{kind}", bind(_hybrid_route(kind))) for kind in OPERATION_TYPES]
    checks += [(f"mcp_only_{kind}", bind(_mcp_only(kind))) for kind in OPERATION_TYPES]
    checks += [
        ("pii_redacted_before_bedrock", bind(_pii_redacted_before_bedrock)),
        ("pii_redacted_before_mcp", bind(_pii_redacted_before_mcp)),
        ("cache_hit_on_repeat", bind(_cache_hit_on_repeat)),
        ("malformed_request_rejected", bind(_malformed_rejected)),
        ("forged_verification_token_refused", bind(_forged_verification_refused)),
        ("metrics_exposed", bind(_metrics_exposed)),
        ("audit_trail_complete", bind(_audit_complete)),
    ]
    return checks


def run_integration_suite(target: StagingTarget, log: Callable[[str], None]) -> list[CaseResult]:
    """Run the integration checks against the staging sandbox."""
    client = _Client(target)
    return run_checks(integration_checks(client), "staging.integration", log)
