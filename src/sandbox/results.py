"""What the sandbox control operations return: frozen results with a JSON-ready form."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .seed import SeedResult

__all__ = ["DownResult", "PartStatus", "SandboxStatus", "SlotSwitch", "UpResult"]


@dataclass(frozen=True)
class UpResult:
    """Outcome of `up`: whether anything changed, what started, and where everything listens."""

    changed: bool
    already_running: bool
    started: tuple[str, ...]
    duration_s: float
    endpoints: dict[str, Any]
    slots: dict[str, dict[str, object]]
    seeded: SeedResult | None
    warnings: tuple[str, ...] = ()
    ready_after_s: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what `up --json` prints)."""
        return asdict(self)


@dataclass(frozen=True)
class DownResult:
    """Outcome of `down`: which programs were stopped and any pid that had to be killed."""

    changed: bool
    stopped: tuple[str, ...]
    killed: tuple[int, ...]
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class PartStatus:
    """One part: supervisord's state, its pid and whether it answers its probe."""

    name: str
    state: str
    pid: int
    answering: bool
    detail: str


@dataclass(frozen=True)
class SandboxStatus:
    """The whole sandbox as `status` reports it."""

    running: bool
    runtime_dir: str
    parts: tuple[PartStatus, ...]
    slots: dict[str, dict[str, object]] = field(default_factory=dict)
    weights: dict[str, int] | None = None
    endpoints: dict[str, Any] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        """Running, and every part answers."""
        return self.running and all(part.answering for part in self.parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self) | {"healthy": self.healthy}


@dataclass(frozen=True)
class SlotSwitch:
    """Outcome of set_slot_release."""

    slot: str
    release: str
    pythonpath: str
    source: str
    changed: bool
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)
