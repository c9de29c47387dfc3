"""Request parsing on its own: the problems name the field; no input raises anything else."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support_service.routing import Operation
from support_service.schemas import RequestRejectedError, parse_operation


def test_valid_request() -> None:
    body = json.dumps(
        {"type": "critical", "query": "db down", "customer_region": "eu-west-3", "customer_id": "c-1"}
    )
    request = parse_operation(body.encode(), max_query_chars=100)
    assert request.type is Operation.CRITICAL
    assert request.customer_id == "c-1"


def test_query_limit_is_configurable() -> None:
    body = json.dumps({"type": "routine", "query": "x" * 11, "customer_region": "eu-west-3"}).encode()
    with pytest.raises(RequestRejectedError) as info:
        parse_operation(body, max_query_chars=10)
    assert info.value.status_code == 422
    assert info.value.body()["problems"] == [
        {"field": "query", "problem": "is 11 characters, longer than the limit of 10"}
    ]


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(RequestRejectedError) as info:
        parse_operation(b"{}", max_query_chars=10)
    assert {p.field for p in info.value.problems} == {"type", "query", "customer_region"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=64),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries(
            {"type": json_values, "query": json_values, "customer_region": json_values}
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_any_body_is_accepted_or_rejected_with_a_4xx(body: bytes) -> None:
    rejection: RequestRejectedError | None = None
    try:
        parse_operation(body, max_query_chars=50)
    except RequestRejectedError as exc:
        rejection = exc
    # Anything else escaping (TypeError, ValidationError, ...) fails the test: it would be a 500.
    if rejection is not None:
        assert rejection.status_code in {400, 422}
        assert rejection.problems
        assert all(p.field and p.problem for p in rejection.problems)
