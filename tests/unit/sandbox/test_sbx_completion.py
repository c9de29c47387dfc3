"""Deterministic answers and token accounting of the emulator."""

from __future__ import annotations

from sandbox.bedrock_emulator.completion import complete, estimate_tokens
from sandbox.bedrock_emulator.invoke import model_family
from sandbox.mcp_support_server.diagnosis import diagnose
from support_service.bedrock import system_prompt


def test_token_estimate_is_about_four_characters_per_token() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2


def test_answer_depends_only_on_model_and_question() -> None:
    first = complete("m.a", ["sys", "q"], "q", None)
    assert first == complete("m.a", ["sys", "q"], "q", None)
    assert first.text != complete("m.b", ["sys", "q"], "q", None).text
    assert first.input_tokens == estimate_tokens("sys") + estimate_tokens("q")


def test_truncation_reports_max_tokens() -> None:
    done = complete("m.a", ["q"], "q", 2)
    assert done.stop_reason == "max_tokens"
    assert done.output_tokens <= 2


def test_model_family_ignores_geography_prefix_and_arn() -> None:
    assert model_family("eu.anthropic.claude-3-5-sonnet-20240620-v1:0") == "anthropic"
    assert model_family("arn:aws:bedrock:eu-central-1::foundation-model/amazon.titan-text-lite-v1") == (
        "amazon.titan-text"
    )
    assert model_family("meta.llama3-8b-instruct-v1:0") == "meta"


def test_a_gap_analysis_prompt_gets_the_diagnosis_line_of_the_keyword_rules() -> None:
    question = "Our OAuth token refresh returns 401 unauthorized after the client secret was rotated"
    asked = complete("m.a", [system_prompt("generation"), question], question, None)
    expected = diagnose(question)
    assert asked.text.startswith(f"Likely gap: {expected.category} (confidence {expected.confidence}).")
    assert expected.category != "unknown"


def test_other_prompts_get_no_diagnosis() -> None:
    question = "Our OAuth token refresh returns 401 unauthorized after the client secret was rotated"
    assert "Likely gap" not in complete("m.a", [system_prompt("critical"), question], question, None).text
