"""The five flags as the flag store (SSM) and every serving slot (GET /v1/flags) report them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests

from bedrock_release.pipeline.slot_flags import read_slot_flags
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
    """GET /v1/flags of each slot: its values and whether its flag store is healthy.

    A slot that cannot be read (unreachable, or no flag values in its answer) is unhealthy with no
    values, so every check on it fails and names why.
    """
    out = []
    for slot in slots:
        url = target.endpoints.slot(slot)
        if url is None:
            out.append(FlagView(f"slot {slot}", {}, False, "not reachable from the runner"))
            continue
        read = read_slot_flags(session, url, timeout_s=10)
        values = {f: read.values.get(f) is True for f in FLAGS} if not read.error else {}
        healthy = not read.error and read.store == "ok"
        out.append(FlagView(f"slot {slot}", values, healthy, read.error or read.store_error))
    return out
