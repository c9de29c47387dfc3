"""The five flags as the flag store (SSM) and every serving slot (GET /v1/flags) report them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests

from bedrock_release.plan import FLAGS
from bedrock_release.suite.aws_readings import read_flags
from bedrock_release.suite.run_record import truthy
from bedrock_release.suite.target import Target

__all__ = ["FlagView", "slot_flags", "store_flags"]


@dataclass(frozen=True)
class FlagView:
    """Flag values (True/False) from one source, and the source's own health."""

    source: str
    values: dict[str, bool]
    healthy: bool
    detail: str = ""

    def off(self, wanted: bool) -> list[str]:
        """Return the flags whose value differs from ``wanted``."""
        return [flag for flag in FLAGS if self.values.get(flag) is not wanted]


def store_flags(ssm: Any, target: Target) -> FlagView:
    """Read the five parameters; a missing parameter is off (docs/contracts.md)."""
    raw, error = read_flags(ssm, target.flags_path, FLAGS)
    if raw is None:
        return FlagView(f"SSM {target.flags_path}", {}, False, error or "unreadable")
    return FlagView(f"SSM {target.flags_path}", {f: truthy(v) for f, v in raw.items()}, True, str(raw))


def slot_flags(session: requests.Session, target: Target, slots: Sequence[str]) -> list[FlagView]:
    """GET /v1/flags of each slot: its values and whether its flag store is healthy."""
    out = []
    for slot in slots:
        url = target.endpoints.slot(slot)
        if url is None:
            out.append(FlagView(f"slot {slot}", {}, False, "not reachable from the runner"))
            continue
        body = session.get(f"{url}/v1/flags", timeout=10).json()
        values = {f: bool(body.get("values", {}).get(f)) for f in FLAGS}
        out.append(
            FlagView(f"slot {slot}", values, body.get("store") == "ok", str(body.get("last_error") or ""))
        )
    return out
