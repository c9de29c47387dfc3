"""Admin endpoints (bearer token): component activation, circuits, the Bedrock failure switch, cache,
audit, compliance violations.

Every admin action, and every refused attempt, is appended to the audit trail.
"""

from __future__ import annotations

from typing import Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from support_service.audit import read_records
from support_service.bedrock_failure import MAX_FAILURE_CALLS, MAX_FAILURE_S
from support_service.components import DependencyNotActiveError, UnknownComponentError
from support_service.http_common import ApiError, actor_from, token_matches
from support_service.openapi import ADMIN_RESPONSES, declared
from support_service.service import SupportService

__all__ = ["router"]


def _service(request: Request) -> SupportService:
    return request.app.state.service


async def require_admin(request: Request) -> str:
    """The acting admin; 401 without a bearer token, 403 with a wrong one (both audited)."""
    service = _service(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    denial = None
    if scheme.lower() != "bearer" or not token.strip():
        denial = ApiError(
            401,
            "unauthorized",
            "admin endpoints need Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    elif not token_matches(token.strip(), service.settings.admin_token.get_secret_value()):
        denial = ApiError(403, "forbidden", "the admin token is not valid")
    if denial is not None:
        data = {"path": request.url.path, "method": request.method, "status": denial.status_code}
        await anyio.to_thread.run_sync(lambda: service.audit_system("admin.denied", data))
        raise denial
    return actor_from(request, "admin")


router = APIRouter(
    prefix="/admin",
    dependencies=[Depends(require_admin)],
    responses=ADMIN_RESPONSES,
)


async def _audit(service: SupportService, actor: str, action: str, data: dict[str, Any]) -> None:
    try:
        await service.auditor.record(actor, action, data)
    except Exception as exc:
        # An admin action that cannot be audited is refused after the fact: the caller must know.
        raise ApiError(503, "audit_unavailable", f"the audit trail could not record {action}") from exc


@router.post(
    "/components/{name}/activate",
    responses=declared(_404="no such component", _409="a dependency is not active yet"),
)
async def activate_component(
    name: str, request: Request, actor: str = Depends(require_admin)
) -> dict[str, Any]:
    """Activate one staged component (the rollout step); 409 names the dependency that is not active."""
    service = _service(request)
    try:
        already = service.registry.activate(name).already_active
    except UnknownComponentError:
        raise ApiError(
            404, "unknown_component", f"no component {name!r}", components=list(service.registry.order)
        ) from None
    except DependencyNotActiveError as exc:
        raise ApiError(
            409, "dependency_not_active", str(exc), component=name, missing=list(exc.missing)
        ) from exc
    await _audit(service, actor, "component.activate", {"component": name, "already_active": already})
    health = await service.health.component(name)
    inactive = service.registry.inactive()
    return {
        "component": name,
        "state": "active",
        "already_active": already,
        "healthy": health.healthy,
        "detail": health.detail,
        "next": inactive[0] if inactive else None,
    }


def _circuit_or_404(service: SupportService, name: str) -> Any:
    try:
        return service.health.circuit(name)
    except KeyError:
        raise ApiError(
            404, "unknown_circuit", f"no circuit {name!r}", circuits=sorted(service.health.circuits)
        ) from None


def _snapshot(breaker: Any) -> dict[str, Any]:
    snap = breaker.snapshot()
    return {
        "name": snap.name,
        "state": snap.state.value,
        "consecutive_failures": snap.consecutive_failures,
        "failure_threshold": snap.failure_threshold,
        "reset_timeout_s": snap.reset_timeout_s,
        "forced_open": snap.forced_open,
        "seconds_until_half_open": snap.seconds_until_half_open,
    }


@router.get("/circuits")
async def list_circuits(request: Request, actor: str = Depends(require_admin)) -> dict[str, Any]:
    """Every circuit breaker's state."""
    service = _service(request)
    await _audit(service, actor, "admin.circuits.read", {})
    return {"circuits": {name: _snapshot(b) for name, b in sorted(service.health.circuits.items())}}


@router.post("/circuits/{name}/open", responses=declared(_404="no such circuit"))
async def open_circuit(name: str, request: Request, actor: str = Depends(require_admin)) -> dict[str, Any]:
    """Force a circuit open until it is reset."""
    service = _service(request)
    breaker = _circuit_or_404(service, name)
    breaker.force_open()
    await _audit(service, actor, "admin.circuit.open", {"circuit": name})
    return _snapshot(breaker)


@router.post("/circuits/{name}/reset", responses=declared(_404="no such circuit"))
async def reset_circuit(name: str, request: Request, actor: str = Depends(require_admin)) -> dict[str, Any]:
    """Close a circuit and forget its failures."""
    service = _service(request)
    breaker = _circuit_or_404(service, name)
    breaker.reset()
    await _audit(service, actor, "admin.circuit.reset", {"circuit": name})
    return _snapshot(breaker)


class BedrockFailure(BaseModel):
    """Arm the Bedrock client's failure switch: fail direct calls as ``mode``, bounded in calls or time."""

    model_config = ConfigDict(
        extra="forbid",
        # At least one bound, given as a number (null is not a bound).
        json_schema_extra={
            "anyOf": [
                {"required": ["count"], "properties": {"count": {"type": "integer"}}},
                {"required": ["duration_s"], "properties": {"duration_s": {"type": "number"}}},
            ]
        },
    )

    mode: Literal["unavailable", "throttled", "timeout"]
    count: int | None = Field(default=None, ge=1, le=MAX_FAILURE_CALLS, description="direct calls to fail")
    duration_s: float | None = Field(default=None, ge=1, le=MAX_FAILURE_S, description="seconds to fail")

    @model_validator(mode="after")
    def _bounded(self) -> BedrockFailure:
        if self.count is None and self.duration_s is None:
            raise ValueError("give count and/or duration_s: the switch is never armed without a bound")
        return self


@router.post("/bedrock/failure", responses=declared(_400="the body is not valid JSON"))
async def arm_bedrock_failure(
    body: BedrockFailure, request: Request, actor: str = Depends(require_admin)
) -> dict[str, Any]:
    """Make the release's own direct Bedrock calls fail (nothing is sent) to exercise fallback and circuit."""
    service = _service(request)
    switch = service.bedrock.failure_switch
    state = switch.arm(body.mode, count=body.count, duration_s=body.duration_s)
    try:
        await _audit(service, actor, "admin.bedrock_failure.arm", state.as_dict())
    except ApiError:
        switch.clear()  # an arming nobody can see in the audit trail does not stay
        raise
    return {"bedrock_failure": state.as_dict()}


@router.delete("/bedrock/failure")
async def clear_bedrock_failure(request: Request, actor: str = Depends(require_admin)) -> dict[str, Any]:
    """Disarm the failure switch (already off is fine); the answer says what was armed."""
    service = _service(request)
    previous = service.bedrock.failure_switch.clear()
    data = {"previous": previous.as_dict() if previous else None}
    await _audit(service, actor, "admin.bedrock_failure.clear", data)
    return {"bedrock_failure": None, **data}


@router.post("/cache/clear")
async def clear_cache(request: Request, actor: str = Depends(require_admin)) -> dict[str, Any]:
    """Empty the response cache."""
    service = _service(request)
    cleared = service.optimizer.clear()
    await _audit(service, actor, "admin.cache.clear", {"cleared": cleared})
    return {"cleared": cleared}


@router.get("/audit")
async def audit_records(
    request: Request,
    after_seq: int = Query(default=-1, ge=-1),
    limit: int = Query(default=100, ge=1, le=1000),
    actor: str = Depends(require_admin),
) -> dict[str, Any]:
    """Audit records after ``after_seq`` (oldest first)."""
    service = _service(request)
    await _audit(service, actor, "admin.audit.read", {"after_seq": after_seq, "limit": limit})
    path = service.settings.audit_log
    records = await anyio.to_thread.run_sync(lambda: read_records(path, after_seq=after_seq, limit=limit))
    return {"records": records, "next_after_seq": records[-1]["seq"] if records else after_seq}


@router.get("/compliance/violations")
async def compliance_violations(request: Request, actor: str = Depends(require_admin)) -> dict[str, Any]:
    """Recorded (blocked) compliance violations: totals per rule and the most recent ones."""
    service = _service(request)
    await _audit(service, actor, "admin.compliance.read", {})
    return {
        "by_rule": service.compliance.counts(),
        "violations": [v.as_dict() for v in service.compliance.violations()],
    }
