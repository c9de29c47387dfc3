"""Deterministic model answers with token accounting, derived only from the input."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from sandbox.mcp_support_server.diagnosis import diagnose

__all__ = ["Completion", "complete", "estimate_tokens"]

# About four characters per token is the usual rule of thumb for English text.
_CHARS_PER_TOKEN = 4
_EXCERPT_CHARS = 80
#: What a prompt says when it asks for an implementation-gap diagnosis (support_service's prompt).
_GAP_REQUEST = "Likely gap: <category>"
_TEMPLATES = (
    "Check the configuration named in the request and retry with the documented defaults.",
    "The behaviour described matches a known issue; apply the latest patch and verify the logs.",
    "Escalate to the on-call engineer if the problem persists after a restart of the component.",
    "Review the recent deployment for changes to timeouts, credentials or region settings.",
)


@dataclass(frozen=True)
class Completion:
    """One generated answer and its usage."""

    text: str
    input_tokens: int
    output_tokens: int
    stop_reason: str


def estimate_tokens(text: str) -> int:
    """Token count of a text under the emulator's fixed tokenizer rule."""
    return math.ceil(len(text) / _CHARS_PER_TOKEN) if text else 0


def _diagnosis(prompt_texts: list[str], question: str) -> str:
    """The diagnosis line a prompt asks for ('Likely gap: ...'), from the sandbox's keyword rules.

    The emulator's "model" knows what the MCP gap tool knows: in the sandbox, gap-detection accuracy
    measures the pipeline (prompt, routing, answer parsing), not a model.
    """
    if not any(_GAP_REQUEST in text for text in prompt_texts):
        return ""
    found = diagnose(question)
    return f"Likely gap: {found.category} (confidence {found.confidence}). {found.suggested_fix} "


def complete(model_id: str, prompt_texts: list[str], question: str, max_tokens: int | None) -> Completion:
    """Answer a prompt deterministically; truncate at max_tokens like a real model would."""
    digest = hashlib.sha256(f"{model_id}\n{question}".encode()).hexdigest()
    excerpt = " ".join(question.split())[:_EXCERPT_CHARS]
    template = _TEMPLATES[int(digest[:8], 16) % len(_TEMPLATES)]
    text = f"{_diagnosis(prompt_texts, question)}[emulated {digest[:12]}] {template} (re: {excerpt})"
    stop_reason = "end_turn"
    if max_tokens is not None and estimate_tokens(text) > max_tokens:
        text = text[: max_tokens * _CHARS_PER_TOKEN]
        stop_reason = "max_tokens"
    input_tokens = sum(estimate_tokens(part) for part in prompt_texts)
    return Completion(text, max(1, input_tokens), estimate_tokens(text), stop_reason)
