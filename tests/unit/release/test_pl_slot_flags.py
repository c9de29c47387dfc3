"""Waiting for every slot to route by the expected flags: as soon as they do, never on a guess."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from bedrock_release.pipeline.slot_flags import read_slot_flags, wait_for_slot_flags
from bedrock_release.plan import FLAGS
from bedrock_release.suite.flag_checks import slot_flags

OFF = {"ENABLE_BEDROCK_SUPPORT_MODE": False}


class _Clock:
    """A fake clock that sleep() advances: the waits are tested without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class _Answer:
    def __init__(self, status: int, body: Any) -> None:
        self.status_code = status
        self._body = body

    def json(self) -> Any:
        if isinstance(self._body, Exception):
            raise self._body
        return self._body


class _Slots:
    """A fake session: each URL answers from its own queue of bodies (the last one repeats)."""

    def __init__(self, **answers: list[Any]) -> None:
        self.answers = answers
        self.gets: list[str] = []

    def get(self, url: str, timeout: float) -> _Answer:
        self.gets.append(url)
        slot = url.split("//", 1)[1].split("/", 1)[0]
        queue = self.answers[slot]
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, requests.RequestException):
            raise item
        return item if isinstance(item, _Answer) else _Answer(200, item)


def _flags(on: bool, store: str = "ok") -> dict[str, Any]:
    return {"values": {"ENABLE_BEDROCK_SUPPORT_MODE": on}, "store": store}


def _wait(session: _Slots, clock: _Clock, **kw: Any) -> Any:
    kw.setdefault("timeout_s", 5.0)
    return wait_for_slot_flags(
        ["http://blue", "http://green"],
        kw.pop("expected", OFF),
        session=session,
        clock=clock,
        sleep=clock.sleep,
        **kw,
    )


def test_the_wait_ends_at_the_first_poll_where_every_slot_reports_the_values() -> None:
    clock = _Clock()
    slots = _Slots(blue=[_flags(True), _flags(False)], green=[_flags(True), _flags(True), _flags(False)])
    result = _wait(slots, clock)
    assert result.ok, result.message()
    assert result.polls == 3
    assert result.elapsed_s == pytest.approx(0.2)
    assert result.problems == {}


def test_a_slot_that_never_follows_fails_naming_the_slot_and_the_flag() -> None:
    clock = _Clock()
    result = _wait(_Slots(blue=[_flags(False)], green=[_flags(True)]), clock, timeout_s=1.0)
    assert not result.ok
    assert result.elapsed_s == pytest.approx(1.0)
    assert list(result.problems) == ["http://green"]
    assert "ENABLE_BEDROCK_SUPPORT_MODE=True (expected False)" in result.message()
    assert "http://green" in result.message()


def test_a_degraded_flag_store_is_not_a_pass_unless_the_caller_says_so() -> None:
    degraded = _Slots(blue=[_flags(False, "degraded")], green=[_flags(False)])
    result = _wait(degraded, _Clock(), timeout_s=0.5)
    assert not result.ok
    assert result.problems == {"http://blue": ["flag store degraded (expected ok)"]}
    assert _wait(degraded, _Clock(), store_ok=False).ok


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (requests.ConnectionError("refused"), "unreachable: ConnectionError"),
        (_Answer(503, {"detail": "starting"}), "no flag values in the answer (HTTP 503)"),
        (_Answer(200, ValueError("not json")), "unreachable: ValueError"),
        (_Answer(200, {"store": "ok"}), "no flag values in the answer (HTTP 200)"),
        (_Answer(200, {"values": {}, "store": "ok"}), "ENABLE_BEDROCK_SUPPORT_MODE=None (expected False)"),
    ],
)
def test_an_unreadable_slot_is_a_mismatch_never_a_pass(answer: Any, problem: str) -> None:
    result = _wait(_Slots(blue=[answer], green=[_flags(False)]), _Clock(), timeout_s=0.3)
    assert not result.ok
    assert result.problems == {"http://blue": [problem]}


def test_flags_not_named_are_not_checked_and_a_string_is_not_a_bool() -> None:
    body = {
        "values": {"ENABLE_BEDROCK_SUPPORT_MODE": "false", "ENABLE_INTELLIGENT_ROUTING": True},
        "store": "ok",
    }
    result = _wait(_Slots(blue=[body], green=[body]), _Clock(), timeout_s=0.3)
    assert not result.ok  # "false" (a string) is not False
    ok = _wait(_Slots(blue=[_flags(False)], green=[_flags(False)]), _Clock(), expected={})
    assert ok.ok


@pytest.mark.parametrize(
    ("urls", "timeout_s", "interval_s"), [([], 1.0, 0.1), (["http://a"], 0, 0.1), (["http://a"], 1, 0)]
)
def test_bad_arguments_are_refused(urls: list[str], timeout_s: float, interval_s: float) -> None:
    with pytest.raises(ValueError, match=r"slot_urls|positive"):
        wait_for_slot_flags(urls, OFF, timeout_s=timeout_s, interval_s=interval_s, session=_Slots())


def test_a_real_slot_endpoint_is_read_over_http() -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(_flags(False)).encode() if self.path == "/v1/flags" else b"{}"
            self.send_response(200 if self.path == "/v1/flags" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        report = read_slot_flags(requests.Session(), url)
        result = wait_for_slot_flags([url], OFF, timeout_s=2.0)
    finally:
        server.shutdown()
    assert report.values == {"ENABLE_BEDROCK_SUPPORT_MODE": False}
    assert report.store == "ok"
    assert result.ok
    assert result.polls == 1


def test_the_suites_view_of_the_slots_reads_them_the_same_way() -> None:
    """flag_checks.slot_flags (the feature steps) reads each slot with read_slot_flags."""
    every_flag_on = {"values": dict.fromkeys(FLAGS, True), "store": "ok"}
    degraded = {"values": dict.fromkeys(FLAGS, False), "store": "degraded", "last_error": "SSM timed out"}
    session = _Slots(blue=[every_flag_on], green=[degraded], red=[requests.ConnectionError("refused")])
    urls = {"blue": "http://blue", "green": "http://green", "red": "http://red"}
    target = SimpleNamespace(endpoints=SimpleNamespace(slot=urls.get))
    on, quiet, down, unknown = slot_flags(session, target, ["blue", "green", "red", "grey"])  # type: ignore[arg-type]
    assert (on.healthy, on.off(True)) == (True, [])
    assert (quiet.healthy, quiet.detail, quiet.off(False)) == (False, "SSM timed out", [])
    assert (down.healthy, down.detail, down.values) == (False, "unreachable: ConnectionError", {})
    assert down.off(True) == down.off(False) == list(FLAGS)  # an unread slot never passes either way
    assert (unknown.healthy, unknown.detail) == (False, "not reachable from the runner")
