"""HTTP plumbing: bounded bodies (also without Content-Length), token comparison, actor names."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from support_service.http_common import SlotHeadersMiddleware, actor_from, read_bounded_body, token_matches
from support_service.schemas import RequestRejectedError


def echo_app(limit: int) -> FastAPI:
    app = FastAPI()
    app.add_middleware(SlotHeadersMiddleware, slot="blue", release="9.9.9")

    @app.post("/echo")
    async def echo(request: Request) -> JSONResponse:
        try:
            body = await read_bounded_body(request, limit)
        except RequestRejectedError as exc:
            return JSONResponse(exc.body(), exc.status_code)
        return JSONResponse({"size": len(body), "actor": actor_from(request, "admin")})

    return app


def test_bodies_within_and_over_the_limit() -> None:
    client = TestClient(echo_app(10))
    assert client.post("/echo", content=b"x" * 10).json()["size"] == 10
    assert client.post("/echo", content=b"x" * 11).status_code == 413


def test_streamed_body_without_content_length_is_bounded_too() -> None:
    def chunks():
        for _ in range(5):
            yield b"x" * 4

    response = TestClient(echo_app(10)).post("/echo", content=chunks())
    assert response.status_code == 413
    assert response.headers["X-Release"] == "9.9.9"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "admin"),
        ("deploy/20261126T150000Z-1.1.0", "admin:deploy/20261126T150000Z-1.1.0"),
        ("eve <script>", "admin:eve__script_"),
        ("x" * 300, "admin:" + "x" * 100),
    ],
)
def test_actor_header_is_sanitised(header: str | None, expected: str) -> None:
    headers = {"X-Actor": header} if header is not None else {}
    assert TestClient(echo_app(100)).post("/echo", content=b"", headers=headers).json()["actor"] == expected


def test_token_comparison() -> None:
    assert token_matches("secret-token", "secret-token")
    assert not token_matches("secret-tokem", "secret-token")
    assert not token_matches("", "secret-token")
    assert not token_matches("sécret", "secret")
