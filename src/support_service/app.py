"""The FastAPI application of one slot: public routes, lifespan, error handling."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from http import HTTPStatus
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException

from support_service import admin
from support_service.components import UnknownComponentError
from support_service.crash import CrashUnderTrafficMiddleware
from support_service.http_common import ApiError, SlotHeadersMiddleware, read_bounded_body, token_matches
from support_service.openapi import BEARER, OPERATION_RESPONSES, declared, operation_request_body
from support_service.schemas import Problem, RequestRejectedError, parse_operation
from support_service.service import SupportService, build_service
from support_service.settings import Settings

__all__ = ["create_app"]

_log = logging.getLogger(__name__)
_HEALTH_REFRESH_S = 5.0  # keeps the component gauges (Prometheus and CloudWatch) current between probes


def create_app(settings: Settings | None = None, *, service: SupportService | None = None) -> FastAPI:
    """The application of one slot; pass ``service`` to inject test doubles."""
    if service is None:
        service = build_service(settings or Settings())  # type: ignore[call-arg]  # env supplies the token
    svc = service

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(svc.start)
        refresher = asyncio.create_task(_refresh_health(svc), name="health-refresh")
        try:
            yield
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
            await svc.mcp.aclose()
            await anyio.to_thread.run_sync(svc.stop)

    app = FastAPI(
        title="Bedrock Support service",
        version=svc.settings.release,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = svc
    app.add_middleware(SlotHeadersMiddleware, slot=svc.settings.slot, release=svc.settings.release)
    if svc.faults.crash_after_proxied:
        app.add_middleware(CrashUnderTrafficMiddleware, after=svc.faults.crash_after_proxied)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestRejectedError, _rejected)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http_error)
    app.include_router(admin.router)
    _public_routes(app, svc)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with the bearer scheme of the admin endpoints and without its own 422 body."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi  # noqa: PLC0415

        doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
        components = doc.setdefault("components", {})
        components["securitySchemes"] = BEARER
        for name in ("HTTPValidationError", "ValidationError"):
            components.get("schemas", {}).pop(name, None)
        for path, operations in doc["paths"].items():
            for operation in operations.values():
                if "HTTPValidationError" in json.dumps(operation["responses"].get("422", {})):
                    # Refusals are answered in the service's own format (_invalid), so declared so.
                    operation["responses"].update(declared(_422="a parameter is not valid"))
                if path.startswith(admin.router.prefix + "/"):
                    operation["security"] = [{"bearer": []}]
        app.openapi_schema = doc
    return app.openapi_schema


async def _api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)  # noqa: S101 - registered for ApiError only
    return exc.response()


async def _rejected(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestRejectedError)  # noqa: S101 - registered for RequestRejectedError only
    return JSONResponse(exc.body(), exc.status_code)


async def _http_error(request: Request, exc: Exception) -> Response:
    """The framework's refusals (unknown path or method, a body that is not JSON) in the service's format."""
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for it only
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Every method the contract gives the path, not only those of the first route matching it.
        headers["Allow"] = ", ".join(_methods_of(request.app.openapi(), request.url.path))
    error = "_".join(HTTPStatus(exc.status_code).phrase.lower().split())
    return JSONResponse({"error": error, "detail": str(exc.detail)}, exc.status_code, headers=headers)


def _methods_of(doc: dict[str, Any], path: str) -> list[str]:
    for template, operations in doc["paths"].items():
        if re.fullmatch(re.sub(r"\\{[^/]+\\}", "[^/]+", re.escape(template)), path):
            return sorted(method.upper() for method in operations)
    return []


async def _invalid(request: Request, exc: Exception) -> Response:
    """A parameter or admin body FastAPI refused, in the service's own problem format (422)."""
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for it only
    problems = [
        Problem(".".join(str(part) for part in error["loc"]) or "request", str(error["msg"]))
        for error in exc.errors()
    ]
    return await _rejected(request, RequestRejectedError(422, "invalid_request", problems))


async def _refresh_health(service: SupportService) -> None:
    while True:
        await asyncio.sleep(_HEALTH_REFRESH_S)
        try:
            await service.health.report()
        except Exception:  # the refresher must outlive any single failing probe
            _log.exception("background health refresh failed")


def _json(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"type": "object"}}}}


def _flags_body(service: SupportService) -> dict[str, Any]:
    status = service.flags.status()
    return {
        "values": status.values.by_name(),
        "store": status.store,
        "last_refresh": status.last_refresh.isoformat() if status.last_refresh else None,
        "poll_interval_s": service.flags.interval_s,
        "last_error": status.last_error,
        "bad_values": list(status.bad_values),
    }


def _public_routes(app: FastAPI, service: SupportService) -> None:
    settings = service.settings

    @app.post(
        "/v1/support/operations",
        openapi_extra={
            "requestBody": operation_request_body(settings.max_query_chars),
            "parameters": [
                {
                    "name": "X-Verification-Token",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "the admin token: evaluate with every flag on (release verification)",
                }
            ],
        },
        responses=OPERATION_RESPONSES,
    )
    async def support_operation(request: Request) -> Response:
        """One support operation; ``X-Verification-Token`` evaluates it with every flag on."""
        verification = False
        token = request.headers.get("x-verification-token")
        if token is not None:
            if not token_matches(token, settings.admin_token.get_secret_value()):
                data = {"path": request.url.path, "status": 403}
                await anyio.to_thread.run_sync(lambda: service.audit_system("verification.denied", data))
                raise ApiError(403, "forbidden", "X-Verification-Token is not valid")
            verification = True
        body = await read_bounded_body(request, settings.max_body_bytes)
        operation = parse_operation(body, max_query_chars=settings.max_query_chars)
        result = await service.manager.handle(operation, verification=verification)
        return JSONResponse(result.body, result.status_code)

    @app.get("/health", responses={503: _json("the slot cannot serve")})
    async def health() -> Response:
        """Aggregate health: 200 while the slot can serve (ok or degraded), 503 otherwise."""
        flags = service.flags.status()
        extra = (f"flag store degraded: {flags.last_error}",) if flags.degraded else ()
        report = await service.health.report(extra_problems=extra)
        stats = service.optimizer.stats()
        body: dict[str, Any] = {
            "status": report.status,
            "release": settings.release,
            "slot": settings.slot,
            "environment": settings.environment,
            "ready": service.registry.all_active(),
            "problems": list(report.problems),
            "activation_order": list(service.registry.order),
            "components": {c.name: c.as_dict() for c in report.components},
            "flags": _flags_body(service),
            "circuits": {
                name: {"state": b.state().value, "consecutive_failures": b.snapshot().consecutive_failures}
                for name, b in sorted(service.health.circuits.items())
            },
            "budget": {
                "budget_usd": service.ledger.budget_usd,
                "spent_usd": service.ledger.spent(),
                "state": service.ledger.state().value,
            },
            "cache": {
                "entries": service.optimizer.size(),
                "max_entries": service.optimizer.max_entries,
                "ttl_s": service.optimizer.ttl_s,
                "classes": {
                    cls.value: {"hits": s.hits, "misses": s.misses, "hit_rate": s.hit_rate}
                    for cls, s in stats.items()
                },
            },
            "cloudwatch": service.cloudwatch.stats() if service.cloudwatch else None,
            "audit": {"path": str(settings.audit_log), "failures": service.auditor.failures},
            "bedrock_failure": armed.as_dict() if (armed := service.bedrock.failure_switch.state()) else None,
        }
        if service.faults.active:
            body["drill_faults"] = service.faults.as_dict()
        return JSONResponse(body, 503 if report.status == "unhealthy" else 200)

    @app.get(
        "/health/components/{name}",
        responses={503: _json("staged or unhealthy"), **declared(_404="no such component")},
    )
    async def component_health(name: str) -> Response:
        """One component: 200 when active and healthy, 503 otherwise, 404 when unknown."""
        try:
            health = await service.health.component(name)
        except UnknownComponentError:
            raise ApiError(
                404, "unknown_component", f"no component {name!r}", components=list(service.registry.order)
            ) from None
        return JSONResponse(health.as_dict(), 200 if health.healthy else 503)

    @app.get("/version")
    async def version() -> dict[str, Any]:
        """Release, slot, component versions and the activation order the pipeline follows."""
        return {
            "release": settings.release,
            "slot": settings.slot,
            "environment": settings.environment,
            "components": service.registry.versions(),
            "activation_order": list(service.registry.order),
            "dependencies": service.registry.dependencies(),
        }

    @app.get(
        "/metrics",
        response_class=Response,
        responses={
            200: {"description": "Prometheus text", "content": {"text/plain": {"schema": {"type": "string"}}}}
        },
    )
    async def metrics() -> Response:
        """Prometheus text exposition."""
        for name, breaker in service.health.circuits.items():
            # Reading the state moves an expired open circuit to half-open, so the gauge is current.
            service.telemetry.circuit(name, breaker.state())
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/flags")
    async def flags() -> dict[str, Any]:
        """Flag values and flag store health."""
        return _flags_body(service)
