"""The bearer-protected /_emulator/ admin API: faults, received requests, counters, reset."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._bearer import bearer_ok
from .faults import RULES_ADAPTER, FaultEngine
from .recorder import Recorder

__all__ = ["admin_routes"]

Handler = Callable[[Request], Awaitable[Response]]


def _guarded(token: str, handler: Handler) -> Handler:
    async def guarded(request: Request) -> Response:
        if not bearer_ok(request.headers.get("authorization"), token):
            return JSONResponse(
                {"error": "admin endpoints need 'Authorization: Bearer <EMULATOR_ADMIN_TOKEN>'"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return await handler(request)

    return guarded


def _bad_request(message: str, details: Any = None) -> JSONResponse:
    return JSONResponse({"error": message, "details": details}, status_code=400)


def _rules_from(payload: Any) -> tuple[list[Any], int | None, bool]:
    """Accept one rule, a list of rules, or {"rules": [...], "seed": n}."""
    if isinstance(payload, dict) and "kind" not in payload:
        seed = payload.get("seed")
        if seed is not None and not isinstance(seed, int):
            raise ValueError("seed must be an integer")
        return RULES_ADAPTER.validate_python(payload.get("rules", [])), seed, "seed" in payload
    rules = payload if isinstance(payload, list) else [payload]
    return RULES_ADAPTER.validate_python(rules), None, False


def admin_routes(engine: FaultEngine, recorder: Recorder, token: str) -> list[Route]:
    """Routes under /_emulator/ bound to one engine and recorder."""

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def get_faults(_: Request) -> Response:
        return JSONResponse({"seed": engine.seed, "rules": engine.describe()})

    async def set_faults(request: Request) -> Response:
        try:
            payload = json.loads(await request.body() or b"{}")
            rules, seed, reseed = _rules_from(payload)
        except json.JSONDecodeError as exc:
            return _bad_request(f"body is not JSON: {exc}")
        except ValidationError as exc:
            return _bad_request("invalid fault rules", json.loads(exc.json(include_url=False)))
        except ValueError as exc:
            return _bad_request(str(exc))
        if request.method == "PUT":
            engine.clear()
        if reseed:
            engine.reseed(seed)
        ids = engine.add(rules)
        return JSONResponse({"added": ids, "seed": engine.seed, "rules": engine.describe()})

    async def clear_faults(_: Request) -> Response:
        engine.clear()
        return JSONResponse({"rules": []})

    async def delete_fault(request: Request) -> Response:
        rule_id = request.path_params["rule_id"]
        if not engine.remove(rule_id):
            return JSONResponse({"error": f"no fault rule {rule_id!r}"}, status_code=404)
        return JSONResponse({"removed": rule_id, "rules": engine.describe()})

    async def get_requests(request: Request) -> Response:
        try:
            after = int(request.query_params.get("after", "0"))
            limit = int(request.query_params["limit"]) if "limit" in request.query_params else None
        except ValueError:
            return _bad_request("after and limit must be integers")
        return JSONResponse({"last_seq": recorder.last_seq, "requests": recorder.requests(after, limit)})

    async def clear_requests(_: Request) -> Response:
        recorder.clear_requests()
        return JSONResponse({"last_seq": recorder.last_seq, "requests": []})

    async def counters(_: Request) -> Response:
        return JSONResponse(recorder.counters())

    async def reset(_: Request) -> Response:
        engine.clear()
        engine.reseed(None)
        recorder.reset()
        return JSONResponse({"reset": True})

    def guard(handler: Handler) -> Handler:
        return _guarded(token, handler)

    return [
        Route("/_emulator/health", health, methods=["GET"]),
        Route("/_emulator/faults", guard(get_faults), methods=["GET"]),
        Route("/_emulator/faults", guard(set_faults), methods=["POST", "PUT"]),
        Route("/_emulator/faults", guard(clear_faults), methods=["DELETE"]),
        Route("/_emulator/faults/{rule_id}", guard(delete_fault), methods=["DELETE"]),
        Route("/_emulator/requests", guard(get_requests), methods=["GET"]),
        Route("/_emulator/requests", guard(clear_requests), methods=["DELETE"]),
        Route("/_emulator/counters", guard(counters), methods=["GET"]),
        Route("/_emulator/reset", guard(reset), methods=["POST"]),
    ]
