"""The Bedrock Runtime emulator as an ASGI app: Converse, InvokeModel, invocation logs and the admin API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .admin import admin_routes
from .auth import authenticate
from .completion import Completion
from .converse import answer_converse, converse_response, parse_converse
from .errors import ERRORS, BedrockError, ErrorKind, error_response
from .faults import FaultEngine, FaultPlan
from .invocation_log import InvocationLogWriter, LogDestination, invocation_record
from .invoke import invoke_model
from .recorder import Recorder

__all__ = ["EmulatorConfig", "create_app"]


@dataclass(frozen=True)
class EmulatorConfig:
    """What an emulator instance accepts (the sandbox access key, the admin token) and where it logs."""

    access_key: str
    admin_token: str
    max_records: int = 10_000
    #: Model invocation logging to CloudWatch Logs; None = off (Bedrock's default).
    invocation_log: LogDestination | None = None


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


class _Runtime:
    """Request handling for the two model operations, sharing faults and the recorder."""

    def __init__(
        self,
        config: EmulatorConfig,
        engine: FaultEngine,
        recorder: Recorder,
        invocation_log: InvocationLogWriter | None,
    ) -> None:
        self._config = config
        self._engine = engine
        self._recorder = recorder
        self._invocation_log = invocation_log

    async def converse(self, request: Request) -> Response:
        return await self._handle(request, "converse")

    async def invoke(self, request: Request) -> Response:
        return await self._handle(request, "invoke")

    async def _apply(self, plan: FaultPlan) -> None:
        if plan.latency_s:
            await asyncio.sleep(plan.latency_s)
        if plan.hang_s:
            # Held past the client's read timeout, the client gives up before this answers.
            await asyncio.sleep(plan.hang_s)
            if plan.hang_then == "model_timeout":
                raise BedrockError(ErrorKind.MODEL_TIMEOUT)
        if plan.error is not None:
            raise BedrockError(plan.error, plan.error_message)

    async def _handle(self, request: Request, operation: str) -> Response:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        model_id = request.path_params["model_id"]
        text = (await request.body()).decode("utf-8", errors="replace")
        body = _json_or_text(text)
        region: str | None = None
        plan = FaultPlan()
        try:
            region = authenticate(request.headers.get("authorization"), self._config.access_key).region
            if not isinstance(body, dict):
                raise BedrockError(
                    ErrorKind.VALIDATION, "Malformed input request: the body must be a JSON object."
                )
            parsed = parse_converse(body) if operation == "converse" else None
            plan = self._engine.plan(operation, model_id, text)
            await self._apply(plan)
            if parsed is not None:
                completion: Completion = answer_converse(model_id, parsed)
                native: dict[str, Any] | None = None
            else:
                result = invoke_model(model_id, body)
                completion, native = result.completion, result.body
        except BedrockError as exc:
            self._log_invocation(
                region, request_id, operation, model_id, body, error_code=ERRORS[exc.kind].code
            )
            self._recorder.record(
                operation=operation,
                model_id=model_id,
                region=region,
                status=error_response(exc.kind).status_code,
                error=exc.kind.value,
                latency_ms=self._elapsed_ms(started),
                faults=plan.fired,
                body=body,
            )
            return error_response(exc.kind, exc.message, request_id)
        latency_ms = self._elapsed_ms(started)
        self._recorder.record(
            operation=operation,
            model_id=model_id,
            region=region,
            status=200,
            error=None,
            latency_ms=latency_ms,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            faults=plan.fired,
            body=body,
        )
        headers = {"x-amzn-RequestId": request_id}
        answer = converse_response(completion, latency_ms) if native is None else native
        self._log_invocation(
            region,
            request_id,
            operation,
            model_id,
            body,
            response_body=answer,
            tokens=(completion.input_tokens, completion.output_tokens),
        )
        if native is None:
            return JSONResponse(answer, headers=headers)
        headers |= {
            "X-Amzn-Bedrock-Input-Token-Count": str(completion.input_tokens),
            "X-Amzn-Bedrock-Output-Token-Count": str(completion.output_tokens),
            "X-Amzn-Bedrock-Invocation-Latency": str(latency_ms),
        }
        return JSONResponse(native, headers=headers)

    def _log_invocation(
        self,
        region: str | None,
        request_id: str,
        operation: str,
        model_id: str,
        body: Any,
        *,
        response_body: Any = None,
        tokens: tuple[int, int] = (0, 0),
        error_code: str | None = None,
    ) -> None:
        # An unauthenticated request belongs to no account: Bedrock logs it nowhere.
        if self._invocation_log is None or region is None:
            return
        record = invocation_record(
            at=datetime.now(UTC),
            region=region,
            request_id=request_id,
            operation=operation,
            model_id=model_id,
            request_body=body,
            input_tokens=tokens[0],
            response_body=response_body,
            output_tokens=tokens[1],
            error_code=error_code,
        )
        self._invocation_log.submit(region, record)

    @staticmethod
    def _elapsed_ms(started: float) -> int:
        return round((time.perf_counter() - started) * 1000)


async def _unknown_operation(request: Request) -> Response:
    return JSONResponse(
        {
            "message": f"Unknown operation {request.method} {request.url.path}",
            "__type": "UnknownOperationException",
        },
        status_code=404,
        headers={"X-Amzn-ErrorType": "UnknownOperationException"},
    )


def create_app(config: EmulatorConfig) -> Starlette:
    """Build one emulator with its own fault engine and request log."""
    engine = FaultEngine()
    recorder = Recorder(config.max_records)
    writer = InvocationLogWriter(config.invocation_log) if config.invocation_log else None
    runtime = _Runtime(config, engine, recorder, writer)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if writer is not None:
            writer.start()
        try:
            yield
        finally:
            if writer is not None:
                writer.stop()

    routes = [
        Route("/model/{model_id:path}/converse", runtime.converse, methods=["POST"]),
        Route("/model/{model_id:path}/invoke", runtime.invoke, methods=["POST"]),
        *admin_routes(engine, recorder, config.admin_token),
        Route("/{path:path}", _unknown_operation, methods=["GET", "POST", "PUT", "DELETE"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.engine = engine
    app.state.recorder = recorder
    app.state.invocation_log = writer
    return app
