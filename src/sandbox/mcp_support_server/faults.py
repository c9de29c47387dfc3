"""Fault state of the MCP server and what it received."""

from __future__ import annotations

import random
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FaultSettings", "McpRecorder", "ToolCall"]


class FaultSettings(BaseModel):
    """Injected faults: down (every /mcp request gets 503), tool latency and tool error rate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    down: bool = False
    latency_ms: float = Field(default=0.0, ge=0.0, le=600_000.0)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    tools: list[str] | None = Field(default=None, description="limit latency and errors to these tools")
    seed: int | None = None

    def applies_to(self, tool: str) -> bool:
        """Whether latency and errors apply to this tool."""
        return self.tools is None or tool in self.tools


@dataclass(frozen=True)
class ToolCall:
    """One tool call as received (arguments included, so tests can prove no PII arrived)."""

    seq: int
    ts: float
    tool: str
    arguments: dict[str, Any]
    outcome: str


class McpRecorder:
    """Faults in force, the bounded log of tool calls and counters."""

    def __init__(self, max_records: int = 10_000) -> None:
        self.faults = FaultSettings()
        self._rng = random.Random()  # noqa: S311 - fault sampling, not cryptography
        self._log: deque[ToolCall] = deque(maxlen=max_records)
        self._seq = 0
        self.counters: Counter[str] = Counter()

    def set_faults(self, faults: FaultSettings) -> None:
        """Replace the faults; a seed restarts the error sampling so a scenario replays."""
        self.faults = faults
        self._rng = random.Random(faults.seed)  # noqa: S311 - fault sampling, not cryptography

    def should_fail(self, tool: str) -> bool:
        """Draw whether this tool call gets an injected error."""
        rate = self.faults.error_rate if self.faults.applies_to(tool) else 0.0
        return rate >= 1.0 or (rate > 0.0 and self._rng.random() < rate)

    def record(self, tool: str, arguments: dict[str, Any], outcome: str) -> None:
        """Log one tool call and count its outcome."""
        self._seq += 1
        self._log.append(ToolCall(self._seq, time.time(), tool, arguments, outcome))
        self.counters[f"{tool}:{outcome}"] += 1

    def requests(self, after: int = 0) -> list[dict[str, Any]]:
        """Logged tool calls with seq > after, oldest first."""
        return [asdict(call) for call in self._log if call.seq > after]

    @property
    def last_seq(self) -> int:
        """The seq of the newest call (0 if none)."""
        return self._seq

    def clear(self) -> None:
        """Forget the logged calls; seq keeps growing."""
        self._log.clear()
