"""A small built-in knowledge base and a deterministic keyword search over it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, Field

__all__ = ["ARTICLES", "Article", "KnowledgeHit", "SearchResult", "search"]

_WORD = re.compile(r"[a-z0-9]{3,}")
_MAX_HITS = 3


@dataclass(frozen=True)
class Article:
    """One knowledge-base article."""

    id: str
    title: str
    tags: tuple[str, ...]
    body: str


ARTICLES: tuple[Article, ...] = (
    Article(
        "KB-001",
        "Bedrock ThrottlingException under load",
        ("throttling", "quota", "bedrock"),
        "Requests beyond the account quota get ThrottlingException (429). Retry with exponential backoff "
        "and jitter, bound the attempts, and request a quota increase for sustained load.",
    ),
    Article(
        "KB-002",
        "Model timeouts and client read timeouts",
        ("timeout", "latency", "bedrock"),
        "Long generations can exceed the client read timeout. Set connect and read timeouts explicitly, "
        "stream long answers, and fall back to the MCP tier when the model does not answer in time.",
    ),
    Article(
        "KB-003",
        "AccessDenied when calling a foundation model",
        ("iam", "access", "credentials"),
        "Grant bedrock:InvokeModel on the model ARN, enable model access in the console for the region, "
        "and check that the caller's credentials are the expected role.",
    ),
    Article(
        "KB-004",
        "Keeping Bedrock traffic inside the EU",
        ("gdpr", "region", "residency", "compliance"),
        "Pin the Bedrock client to an EU region (eu-central-1, eu-west-1, eu-west-3, eu-north-1, eu-south-1) "
        "and refuse calls elsewhere; use EU cross-region inference profiles only.",
    ),
    Article(
        "KB-005",
        "Redacting personal data before model calls",
        ("pii", "gdpr", "redaction"),
        "Redact e-mail addresses, phone numbers, IBANs and card numbers before any prompt leaves the "
        "service, on every route, and record the redaction kinds in the audit trail.",
    ),
    Article(
        "KB-006",
        "Response cache hit rate below target",
        ("cache", "performance", "ttl"),
        "Normalise queries before keying the cache, size the cache for the frequent-query set, and tune "
        "the TTL; measure hits and misses per query class.",
    ),
    Article(
        "KB-007",
        "Circuit breaker stuck open",
        ("circuit", "fallback", "health"),
        "A breaker opens after consecutive failures and half-opens after the reset timeout; one probe "
        "success closes it. Check that probes reach the dependency and that the timeout is not too long.",
    ),
    Article(
        "KB-008",
        "Feature flags not taking effect",
        ("flags", "ssm", "configuration"),
        "Flags are read from SSM Parameter Store under the flags path and polled; check the path, the "
        "parameter values (true/false only) and the poll interval, and whether the store is degraded.",
    ),
    Article(
        "KB-009",
        "Validation errors from the Converse API",
        ("validation", "converse", "schema"),
        "A conversation must start with a user message, roles must alternate, and inferenceConfig values "
        "must be in range (maxTokens >= 1, temperature between 0 and 1).",
    ),
    Article(
        "KB-010",
        "MCP tool calls failing intermittently",
        ("mcp", "errors", "retry"),
        "Check the MCP server health, bound retries on the client, and route to the direct Bedrock "
        "fallback for critical operations when the MCP tier is unavailable.",
    ),
)


class KnowledgeHit(BaseModel):
    """One matching article with its relevance score."""

    id: str
    title: str
    summary: str
    score: int = Field(ge=1)
    uri: str


class SearchResult(BaseModel):
    """The answer of search_knowledge."""

    query: str
    hits: list[KnowledgeHit]


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def search(query: str) -> SearchResult:
    """Rank articles by shared words (title and tags count double); best first, ties by id."""
    terms = _words(query)
    scored = []
    for article in ARTICLES:
        score = 2 * len(terms & (_words(article.title) | set(article.tags))) + len(
            terms & _words(article.body)
        )
        if score:
            scored.append((-score, article.id, article))
    hits = [
        KnowledgeHit(id=a.id, title=a.title, summary=a.body, score=-neg, uri=f"kb://{a.id}")
        for neg, _, a in sorted(scored)[:_MAX_HITS]
    ]
    return SearchResult(query=query, hits=hits)
