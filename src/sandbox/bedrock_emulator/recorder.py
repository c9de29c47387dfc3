"""What the emulator received and answered: a bounded request log and counters."""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Received", "Recorder"]


@dataclass(frozen=True)
class Received:
    """One request as it arrived (body included, so tests can prove no PII reached the model)."""

    seq: int
    ts: float
    operation: str
    model_id: str
    region: str | None
    status: int
    error: str | None
    latency_ms: int
    input_tokens: int
    output_tokens: int
    faults: tuple[str, ...]
    body: Any


class Recorder:
    """Request log (newest max_records kept) and monotonically growing counters."""

    def __init__(self, max_records: int = 10_000) -> None:
        self._log: deque[Received] = deque(maxlen=max_records)
        self._seq = 0
        self._counters: Counter[str] = Counter()

    def record(
        self,
        *,
        operation: str,
        model_id: str,
        region: str | None,
        status: int,
        error: str | None,
        latency_ms: int,
        input_tokens: int = 0,
        output_tokens: int = 0,
        faults: tuple[str, ...] = (),
        body: Any = None,
    ) -> Received:
        """Append one handled request and count it."""
        self._seq += 1
        entry = Received(
            self._seq,
            time.time(),
            operation,
            model_id,
            region,
            status,
            error,
            latency_ms,
            input_tokens,
            output_tokens,
            faults,
            body,
        )
        self._log.append(entry)
        self._counters["requests_total"] += 1
        self._counters[f"operation:{operation}"] += 1
        self._counters[f"status:{status}"] += 1
        if error:
            self._counters[f"error:{error}"] += 1
        self._counters["input_tokens"] += input_tokens
        self._counters["output_tokens"] += output_tokens
        for rule_id in faults:
            self._counters[f"fault:{rule_id}"] += 1
        return entry

    def requests(self, after: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Logged requests with seq > after, oldest first."""
        selected = [asdict(entry) for entry in self._log if entry.seq > after]
        return selected[:limit] if limit is not None else selected

    @property
    def last_seq(self) -> int:
        """The seq of the newest request (0 if none)."""
        return self._seq

    def counters(self) -> dict[str, Any]:
        """Counters grouped as the admin API shows them."""

        def group(prefix: str) -> dict[str, int]:
            return {
                k.removeprefix(prefix): v for k, v in sorted(self._counters.items()) if k.startswith(prefix)
            }

        return {
            "requests_total": self._counters["requests_total"],
            "by_operation": group("operation:"),
            "by_status": group("status:"),
            "errors": group("error:"),
            "tokens": {"input": self._counters["input_tokens"], "output": self._counters["output_tokens"]},
            "faults_fired": group("fault:"),
        }

    def clear_requests(self) -> None:
        """Forget the logged requests; seq and counters keep growing."""
        self._log.clear()

    def reset(self) -> None:
        """Forget requests and counters."""
        self._log.clear()
        self._counters.clear()
