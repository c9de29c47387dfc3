"""The roles' HTTP requests (bedrock.release.http_request): uri's answers, without a process per request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

from bedrock_release.pipeline.http_call import http_call


class _Slot(BaseHTTPRequestHandler):
    def _answer(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/health":
            self._answer(200, b'{"status": "ok"}')
        elif self.path == "/text":
            self._answer(200, b"plain words", "text/plain")
        else:
            self._answer(503, b'{"detail": "unhealthy component"}')

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        echo = {"auth": self.headers.get("Authorization"), "body": json.loads(body or b"null")}
        self._answer(200, json.dumps(echo).encode())

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture(scope="module")
def slot() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slot)
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_json_answer_has_its_status_and_parsed_body(slot: str) -> None:
    answer = http_call(f"{slot}/health")
    assert answer.status == 200
    assert answer.json == {"status": "ok"}
    assert answer.ok([200])
    assert answer.message([200]) == "OK (200)"


def test_an_unexpected_status_is_named_with_what_was_expected(slot: str) -> None:
    answer = http_call(f"{slot}/broken")
    assert answer.status == 503
    assert answer.json == {"detail": "unhealthy component"}
    assert not answer.ok([200])
    assert answer.message([200]) == f"GET {slot}/broken: status code was 503 and not [200]"


def test_a_text_answer_has_no_json(slot: str) -> None:
    answer = http_call(f"{slot}/text")
    assert answer.content == "plain words"
    assert answer.json is None


def test_a_post_carries_its_headers_and_json_body(slot: str) -> None:
    answer = http_call(
        f"{slot}/admin", method="post", headers={"Authorization": "Bearer t"}, json_body={"a": 1}
    )
    assert answer.json == {"auth": "Bearer t", "body": {"a": 1}}


def test_no_answer_is_status_minus_one_with_the_reason_never_an_exception() -> None:
    answer = http_call("http://127.0.0.1:9/health", timeout_s=2)
    assert answer.status == -1
    assert "ConnectionError" in answer.error
    assert "status code was -1" in answer.message([200])


@pytest.mark.parametrize(
    ("url", "method", "timeout_s", "problem"),
    [
        ("ftp://127.0.0.1/x", "GET", 1.0, "not an http"),
        ("http://127.0.0.1/x", "PATCH", 1.0, "method 'PATCH'"),
        ("http://127.0.0.1/x", "GET", 0.0, "must be positive"),
    ],
)
def test_bad_arguments_are_refused_naming_the_argument(
    url: str, method: str, timeout_s: float, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        http_call(url, method=method, timeout_s=timeout_s)
