"""The InvokeModel operation: model-family request bodies and their native response shapes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .completion import Completion, complete
from .converse import converse_response, parse_converse
from .errors import BedrockError, ErrorKind

__all__ = ["InvokeResult", "invoke_model", "model_family"]

# Cross-region inference profiles prefix the model id with a geography ("eu.anthropic...").
_GEO_PREFIXES = ("eu.", "us.", "apac.", "global.", "jp.", "au.", "ca.", "us-gov.")


@dataclass(frozen=True)
class InvokeResult:
    """A native response body with the usage the Bedrock headers report."""

    body: dict[str, Any]
    completion: Completion


def model_family(model_id: str) -> str:
    """The provider family a model id belongs to (anthropic, amazon.titan-text, amazon.nova, ...)."""
    base = model_id.rsplit("/", 1)[-1]
    for prefix in _GEO_PREFIXES:
        if base.startswith(prefix):
            base = base[len(prefix) :]
            break
    for family in ("anthropic", "amazon.titan-text", "amazon.nova"):
        if base.startswith(family):
            return family
    return base.split(".", 1)[0]


def _invalid(message: str) -> BedrockError:
    return BedrockError(ErrorKind.VALIDATION, message)


def _missing(key: str) -> BedrockError:
    # Bedrock's wording for a body that misses a key the model family requires.
    return _invalid(f"Malformed input request: #: required key [{key}] not found, please reformat your input")


def _anthropic_text(content: Any, where: str) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [
            b["text"]
            for b in content
            if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
        ]
    raise _invalid(f"{where}: content must be a string or a list of content blocks")


def _anthropic(model_id: str, body: dict[str, Any]) -> InvokeResult:
    if body.get("anthropic_version") is None:
        raise _missing("anthropic_version")
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise _missing("max_tokens")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _invalid("messages: at least one message is required")
    prompt = _anthropic_text(body.get("system", []), "system")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in {"user", "assistant"}:
            raise _invalid(f"messages.{index}.role: Input should be 'user' or 'assistant'")
        prompt.extend(_anthropic_text(message.get("content"), f"messages.{index}"))
    last_user = [m for m in messages if m["role"] == "user"]
    question = "\n".join(_anthropic_text(last_user[-1]["content"], "messages")) if last_user else ""
    done = complete(model_id, prompt, question, max_tokens)
    message_id = "msg_bdrk_" + hashlib.sha256(done.text.encode()).hexdigest()[:24]
    return InvokeResult(
        {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model_id,
            "content": [{"type": "text", "text": done.text}],
            "stop_reason": done.stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": done.input_tokens, "output_tokens": done.output_tokens},
        },
        done,
    )


def _titan(model_id: str, body: dict[str, Any]) -> InvokeResult:
    text = body.get("inputText")
    if not isinstance(text, str) or not text:
        raise _missing("inputText")
    max_tokens = (body.get("textGenerationConfig") or {}).get("maxTokenCount")
    done = complete(model_id, [text], text, max_tokens)
    reason = "LENGTH" if done.stop_reason == "max_tokens" else "FINISH"
    return InvokeResult(
        {
            "inputTextTokenCount": done.input_tokens,
            "results": [
                {"tokenCount": done.output_tokens, "outputText": done.text, "completionReason": reason}
            ],
        },
        done,
    )


def _nova(model_id: str, body: dict[str, Any]) -> InvokeResult:
    request = parse_converse(body)
    done = complete(model_id, request.prompt_texts, request.question, request.max_tokens)
    response = converse_response(done, 0)
    del response["metrics"]  # Nova's native body carries no metrics block
    return InvokeResult(response, done)


_FAMILIES: dict[str, Callable[[str, dict[str, Any]], InvokeResult]] = {
    "anthropic": _anthropic,
    "amazon.titan-text": _titan,
    "amazon.nova": _nova,
}


def invoke_model(model_id: str, body: Any) -> InvokeResult:
    """Answer an InvokeModel body in the native format of the model's family."""
    handler = _FAMILIES.get(model_family(model_id))
    if handler is None:
        raise _invalid(
            f"The provided model identifier is invalid: the emulator serves {sorted(_FAMILIES)} models."
        )
    if not isinstance(body, dict):
        raise _invalid("Malformed input request: the body must be a JSON object.")
    return handler(model_id, body)
