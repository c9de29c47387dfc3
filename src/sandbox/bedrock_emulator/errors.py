"""Bedrock Runtime errors in the restJson wire shape botocore maps to modelled exceptions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from starlette.responses import JSONResponse

__all__ = ["ERRORS", "BedrockError", "ErrorKind", "ErrorSpec", "error_response"]


class ErrorKind(StrEnum):
    """The error kinds the emulator can produce, named as the fault API spells them."""

    THROTTLING = "throttling"
    SERVICE_UNAVAILABLE = "service_unavailable"
    VALIDATION = "validation"
    MODEL_TIMEOUT = "model_timeout"
    ACCESS_DENIED = "access_denied"
    INTERNAL = "internal"


@dataclass(frozen=True)
class ErrorSpec:
    """The modelled exception name, HTTP status and default message of one error kind."""

    code: str
    status: int
    message: str


ERRORS: dict[ErrorKind, ErrorSpec] = {
    ErrorKind.THROTTLING: ErrorSpec(
        "ThrottlingException", 429, "Too many requests, please wait before trying again."
    ),
    ErrorKind.SERVICE_UNAVAILABLE: ErrorSpec(
        "ServiceUnavailableException", 503, "Bedrock is unable to process your request."
    ),
    ErrorKind.VALIDATION: ErrorSpec("ValidationException", 400, "The request is invalid."),
    ErrorKind.MODEL_TIMEOUT: ErrorSpec(
        "ModelTimeoutException", 408, "Model has timed out in processing the request. Try your request again."
    ),
    ErrorKind.ACCESS_DENIED: ErrorSpec(
        "AccessDeniedException", 403, "You don't have access to the model with the specified model ID."
    ),
    ErrorKind.INTERNAL: ErrorSpec(
        "InternalServerException",
        500,
        "The server encountered an internal error while processing the request.",
    ),
}

# The namespace suffix real Bedrock puts after the code; botocore strips everything after ':'.
_ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.bedrock/"


class BedrockError(Exception):
    """An error the emulator answers with instead of a model response."""

    def __init__(self, kind: ErrorKind, message: str | None = None) -> None:
        self.kind = kind
        self.message = message or ERRORS[kind].message
        super().__init__(self.message)


def error_response(
    kind: ErrorKind, message: str | None = None, request_id: str | None = None
) -> JSONResponse:
    """The HTTP response real Bedrock sends for this error kind."""
    spec = ERRORS[kind]
    # botocore's restJson parser takes the code from X-Amzn-ErrorType first and __type second;
    # both are set so either lookup path yields the modelled exception.
    return JSONResponse(
        {"message": message or spec.message, "__type": spec.code},
        status_code=spec.status,
        headers={
            "X-Amzn-ErrorType": spec.code + _ERROR_TYPE_SUFFIX,
            "x-amzn-RequestId": request_id or str(uuid.uuid4()),
        },
    )
