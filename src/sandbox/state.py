"""The running sandbox's record: the settings it was started with and what each slot runs."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .programs import SlotRelease
from .settings import SandboxSettings

__all__ = ["SandboxState", "load_state", "save_state"]


@dataclass(frozen=True)
class SandboxState:
    """Settings in force and the slot releases; persisted as state.json."""

    settings: SandboxSettings
    slots: dict[str, SlotRelease]
    started_at: float = field(default_factory=time.time)

    def to_json(self) -> str:
        """JSON text of the state."""
        payload: dict[str, Any] = {
            "settings": self.settings.model_dump(mode="json"),
            "slots": {name: slot.to_dict() for name, slot in self.slots.items()},
            "started_at": self.started_at,
        }
        return json.dumps(payload, indent=2, sort_keys=True)


def load_state(path: Path) -> SandboxState | None:
    """The state of the sandbox in this runtime folder, None if it has none."""
    if not path.exists():
        return None
    raw = json.loads(path.read_text(encoding="utf-8"))
    return SandboxState(
        settings=SandboxSettings.model_validate(raw["settings"]),
        slots={name: SlotRelease.from_dict(slot) for name, slot in raw["slots"].items()},
        started_at=float(raw.get("started_at", 0.0)),
    )


def save_state(path: Path, state: SandboxState) -> None:
    """Write the state atomically."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(state.to_json(), encoding="utf-8")
    tmp.replace(path)
