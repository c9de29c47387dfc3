"""bedrock_release.pipeline.traffic: weights math, Caddy and ALB backends, the observed split."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bedrock_release.pipeline import traffic as t


def test_reduced_weights_and_observation_size() -> None:
    assert t.reduced({"blue": 95, "green": 5}) == [19, 1]
    assert t.reduced({"blue": 50, "green": 50}) == [1, 1]
    assert t.reduced({"blue": 0, "green": 100}) == [0, 1]
    assert t.observation_size({"blue": 95, "green": 5}, 40) == 40
    assert t.observation_size({"blue": 75, "green": 25}, 41) == 44
    with pytest.raises(ValueError, match="positive sum"):
        t.reduced({"blue": 0, "green": 0})


def test_canary_weights_always_sum_to_100() -> None:
    assert t.canary_weights("green", 25) == {"green": 25, "blue": 75}
    assert t.canary_weights("blue", 100) == {"blue": 100, "green": 0}
    with pytest.raises(ValueError, match="percent"):
        t.canary_weights("blue", 101)


def test_only_loopback_unless_remote_is_allowed() -> None:
    t.check_loopback("http://127.0.0.1:18080/version", allow_remote=False)
    with pytest.raises(t.TrafficError, match=r"only 127\.0\.0\.1"):
        t.check_loopback("https://support.example.com", allow_remote=False)
    t.check_loopback("https://support.example.com", allow_remote=True)


class _Caddy(BaseHTTPRequestHandler):
    weights: list[int] = [100, 0]  # noqa: RUF012 - shared state of the fake admin API
    patches: list[Any] = []  # noqa: RUF012

    def do_GET(self) -> None:
        self._answer(json.dumps(type(self).weights))

    def do_PATCH(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).patches.append(body)
        type(self).weights = body
        self._answer("")

    def _answer(self, text: str) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text.encode())

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def caddy() -> Iterator[str]:
    """A fake Caddy admin API on loopback."""
    _Caddy.weights, _Caddy.patches = [100, 0], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Caddy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_caddy_weights_are_patched_reduced_and_read_as_percents(caddy: str) -> None:
    backend = t.weights_backend("caddy", caddy_admin_url=caddy)
    assert backend.get() == {"blue": 100, "green": 0}
    backend.set({"blue": 95, "green": 5})
    assert _Caddy.patches == [[19, 1]]
    assert backend.get() == {"blue": 95, "green": 5}


def test_caddy_unreachable_is_named() -> None:
    with pytest.raises(t.TrafficError, match="Caddy admin GET"):
        t.CaddyWeights("http://127.0.0.1:9", timeout_s=0.5).get()


@pytest.fixture
def alb() -> Iterator[dict[str, Any]]:
    """A moto ALB with a listener forwarding to blue, and a rule."""
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="eu-central-1")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"eu-central-1{az}")[
                "Subnet"
            ]["SubnetId"]
            for i, az in ((1, "a"), (2, "b"))
        ]
        elb = boto3.client("elbv2", region_name="eu-central-1")
        lb = elb.create_load_balancer(Name="support", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
        groups = {
            slot: elb.create_target_group(Name=slot, Protocol="HTTP", Port=8080, VpcId=vpc)["TargetGroups"][
                0
            ]["TargetGroupArn"]
            for slot in ("blue", "green")
        }
        listener = elb.create_listener(
            LoadBalancerArn=lb,
            Protocol="HTTP",
            Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": groups["blue"]}],
        )["Listeners"][0]["ListenerArn"]
        rule = elb.create_rule(
            ListenerArn=listener,
            Priority=10,
            Conditions=[{"Field": "path-pattern", "Values": ["/v1/*"]}],
            Actions=[{"Type": "forward", "TargetGroupArn": groups["blue"]}],
        )["Rules"][0]["RuleArn"]
        yield {"listener": listener, "rule": rule, "groups": groups}


def _alb(alb: dict[str, Any], *, rule: bool = False) -> t.WeightsBackend:
    return t.weights_backend(
        "alb",
        alb_listener_arn=alb["listener"],
        alb_rule_arn=alb["rule"] if rule else "",
        alb_target_groups=alb["groups"],
        aws_region="eu-central-1",
    )


@pytest.mark.parametrize("rule", [False, True])
def test_alb_weighted_target_groups(alb: dict[str, Any], rule: bool) -> None:
    backend = _alb(alb, rule=rule)
    assert backend.get() == {"blue": 100, "green": 0}
    backend.set({"blue": 75, "green": 25})
    assert backend.get() == {"blue": 75, "green": 25}
    backend.set({"blue": 0, "green": 100})
    assert backend.get() == {"blue": 0, "green": 100}


def test_alb_needs_both_slots() -> None:
    with pytest.raises(ValueError, match="blue and green"):
        t.weights_backend("alb", alb_target_groups={"blue": "arn"}, aws_region="eu-central-1")
    with pytest.raises(ValueError, match="caddy or alb"):
        t.weights_backend("nginx")


def _fetcher(pattern: str) -> Any:
    answers = itertools.cycle(pattern)

    def fetch(_url: str, _timeout: float) -> str | None:
        char = next(answers)
        return {"b": "blue", "g": "green"}.get(char)

    return fetch


def test_observed_split_within_tolerance_is_a_passing_gate() -> None:
    obs = t.observe_split(
        "http://127.0.0.1:1/version",
        {"blue": 75, "green": 25},
        "green",
        requests=960,  # the split test's size at 25 % (docs/gates.md "Canary split")
        tolerance_pp=5,
        fetch=_fetcher("bbbg"),
    )
    assert obs.counts == {"blue": 720, "green": 240}
    assert obs.within_tolerance
    gate = obs.gate("fake")
    assert gate.verdict.value == "pass"
    assert gate.value == 0.0
    assert gate.min_samples == 950
    assert obs.to_dict()["observed_share_pct"] == 25.0


def test_an_exact_split_on_the_old_40_requests_is_not_enough_evidence() -> None:
    """40 requests passed a healthy canary under random routing with 0.35 over 5/25/50 %: inconclusive now."""
    obs = t.observe_split(
        "u", {"blue": 75, "green": 25}, "green", requests=40, tolerance_pp=5, fetch=_fetcher("bbbg")
    )
    assert obs.deviation_pp == 0
    assert not obs.within_tolerance
    gate = obs.gate("fake")
    assert gate.verdict.value == "inconclusive"
    assert "at least 950 needed" in gate.message()


def test_errors_or_a_wrong_share_fail_and_no_answer_is_inconclusive() -> None:
    wrong = t.observe_split(
        "u", {"blue": 95, "green": 5}, "green", requests=280, tolerance_pp=5, fetch=_fetcher("bg")
    )
    assert not wrong.within_tolerance
    assert wrong.gate("fake").verdict.value == "fail"
    errors = t.observe_split(
        "u", {"blue": 100, "green": 0}, "green", requests=10, tolerance_pp=5, fetch=_fetcher("bx")
    )
    assert errors.errors == 5
    assert not errors.within_tolerance
    assert errors.gate("fake").verdict.value == "fail"
    silent = t.observe_split(
        "u", {"blue": 100, "green": 0}, "green", requests=4, tolerance_pp=5, fetch=_fetcher("x")
    )
    assert silent.gate("fake").verdict.value == "inconclusive"
    assert "0 of 0" in t.evaluate_split(silent)
