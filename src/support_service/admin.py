"""Admin endpoints (bearer token): component activation, circuits, cache, audit, compliance violations.

Every admin action, and every refused attempt, is appended to the audit trail.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request

from support_service.audit import read_records
from support_service.components import DependencyNotActiveError, UnknownComponentError
from support_service.http_common import ApiError, actor_from, token_matches
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


router = APIRouter(prefix="/admin", dependencies=[Depends(require_admin)])


async def _audit(service: SupportService, actor: str, action: str, data: dict[str, Any]) -> None:
    try:
        await service.auditor.record(actor, action, data)
    except Exception as exc:
        # An admin action that cannot be audited is refused after the fact: the caller must know.
        raise ApiError(503, "audit_unavailable", f"the audit trail could not record {action}") from exc


@router.post("/components/{name}/activate")
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


@router.post("/circuits/{name}/open")
async def open_circuit(name: str, request: Request, actor: str = Depends(require_admin)) -> dict[str, Any]:
    """Force a circuit open until it is reset."""
    service = _service(request)
    breaker = _circuit_or_404(service, name)
    breaker.force_open()
    await _audit(service, actor, "admin.circuit.open", {"circuit": name})
    return _snapshot(breaker)


@router.post("/circuits/{name}/reset")
async def reset_circuit(name: str, request: Request, actor: str = Depends(require_admin)) -> dict[str, Any]:
    """Close a circuit and forget its failures."""
    service = _service(request)
    breaker = _circuit_or_404(service, name)
    breaker.reset()
    await _audit(service, actor, "admin.circuit.reset", {"circuit": name})
    return _snapshot(breaker)


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
