"""The support operation request: parsing with 4xx problems that name the field, never a 500."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from support_service.routing import Operation

__all__ = ["OperationRequest", "Problem", "RequestRejectedError", "parse_operation"]

# ASCII digits and the whole value (``$`` would accept a trailing newline): the OpenAPI pattern's meaning.
_REGION = re.compile(r"[a-z]{2}(?:-gov)?-[a-z]+-[0-9]")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: the field (dotted path, or ``body``) and what is wrong."""

    field: str
    problem: str


class RequestRejectedError(Exception):
    """A malformed request, with the HTTP status and the problems to report."""

    def __init__(self, status_code: int, error: str, problems: list[Problem]) -> None:
        self.status_code = status_code
        self.error = error
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.problem}" for p in problems))

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        return {
            "error": self.error,
            "problems": [{"field": p.field, "problem": p.problem} for p in self.problems],
        }


class OperationRequest(BaseModel):
    """One support operation (docs/contracts.md); unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    type: Operation
    query: str
    customer_region: str
    customer_id: str | None = Field(default=None, max_length=256)

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("customer_region")
    @classmethod
    def _region_code(cls, value: str) -> str:
        if not _REGION.fullmatch(value):
            raise ValueError("must be an AWS region code such as eu-central-1")
        return value


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def parse_operation(body: bytes, *, max_query_chars: int) -> OperationRequest:
    """Parse and validate a request body; raises RequestRejectedError (400 or 422)."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestRejectedError(400, "invalid_json", [Problem("body", f"not valid JSON: {exc}")]) from None
    if not isinstance(data, dict):
        raise RequestRejectedError(
            422, "invalid_request", [Problem("body", f"must be a JSON object, got {_json_type(data)}")]
        )
    try:
        request = OperationRequest.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(
                ".".join(str(part) for part in error["loc"]) or "body",
                error["msg"].removeprefix("Value error, "),
            )
            for error in exc.errors(include_url=False)
        ]
        raise RequestRejectedError(422, "invalid_request", problems) from None
    if len(request.query) > max_query_chars:
        raise RequestRejectedError(
            422,
            "invalid_request",
            [
                Problem(
                    "query", f"is {len(request.query)} characters, longer than the limit of {max_query_chars}"
                )
            ],
        )
    return request
