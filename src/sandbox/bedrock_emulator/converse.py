"""The Converse operation: request validation and the ConverseResponse wire shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .completion import Completion, complete
from .errors import BedrockError, ErrorKind

__all__ = ["ConverseInput", "answer_converse", "converse_response", "parse_converse"]

_ROLES = {"user", "assistant"}


@dataclass(frozen=True)
class ConverseInput:
    """The parts of a Converse request the emulator answers from."""

    prompt_texts: list[str]
    question: str
    max_tokens: int | None


def _invalid(message: str) -> BedrockError:
    return BedrockError(ErrorKind.VALIDATION, message)


def _texts(blocks: Any, where: str) -> list[str]:
    if not isinstance(blocks, list):
        raise _invalid(f"{where} must be a list of content blocks")
    return [
        block["text"] for block in blocks if isinstance(block, dict) and isinstance(block.get("text"), str)
    ]


def parse_converse(body: Any) -> ConverseInput:
    """Validate a Converse body as Bedrock does and extract the prompt text."""
    if not isinstance(body, dict):
        raise _invalid("The request body must be a JSON object.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _invalid("A conversation must have at least one message: 'messages' is required.")
    prompt_texts = _texts(body.get("system", []), "system")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise _invalid(f"messages.{index}.role must be one of user, assistant.")
        prompt_texts.extend(_texts(message.get("content"), f"messages.{index}.content"))
    if messages[0]["role"] != "user":
        raise _invalid("A conversation must start with a user message. Try again.")
    user_turns = [message for message in messages if message["role"] == "user"]
    question = "\n".join(_texts(user_turns[-1].get("content"), "content"))
    config = body.get("inferenceConfig") or {}
    max_tokens = config.get("maxTokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise _invalid("inferenceConfig.maxTokens must be a positive integer.")
    temperature = config.get("temperature")
    if temperature is not None and not 0 <= temperature <= 1:
        raise _invalid("inferenceConfig.temperature must be between 0 and 1.")
    return ConverseInput(prompt_texts, question, max_tokens)


def answer_converse(model_id: str, request: ConverseInput) -> Completion:
    """The deterministic completion for a parsed Converse request."""
    return complete(model_id, request.prompt_texts, request.question, request.max_tokens)


def converse_response(completion: Completion, latency_ms: int) -> dict[str, Any]:
    """The ConverseResponse body: output.message.content, stopReason, usage and metrics."""
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": completion.text}]}},
        "stopReason": completion.stop_reason,
        "usage": {
            "inputTokens": completion.input_tokens,
            "outputTokens": completion.output_tokens,
            "totalTokens": completion.input_tokens + completion.output_tokens,
        },
        "metrics": {"latencyMs": latency_ms},
    }
