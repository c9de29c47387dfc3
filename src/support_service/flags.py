"""Feature flags: the five ENABLE_* flags of plan phase 5, polled from SSM Parameter Store.

Safety rules (docs/contracts.md): before the first successful read every flag is off; a missing
parameter is off; an unreachable store or a value other than ``true``/``false`` keeps the last known
value and reports the store degraded. Nothing but a successful read of ``true`` turns a flag on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = [
    "FLAG_NAMES",
    "FlagPoller",
    "FlagSnapshot",
    "FlagStoreStatus",
    "apply_values",
    "read_flag_parameters",
]

_log = logging.getLogger(__name__)

# The plan's activation order.
FLAG_NAMES: tuple[str, ...] = (
    "ENABLE_HYBRID_HEALTH_MONITORING",
    "ENABLE_BEDROCK_SUPPORT_MODE",
    "ENABLE_INTELLIGENT_ROUTING",
    "ENABLE_DIRECT_BEDROCK_FALLBACK",
    "ENABLE_PERFORMANCE_OPTIMIZATION",
)


@dataclass(frozen=True)
class FlagSnapshot:
    """The value of every flag at one moment; all off by default."""

    hybrid_health_monitoring: bool = False
    bedrock_support_mode: bool = False
    intelligent_routing: bool = False
    direct_bedrock_fallback: bool = False
    performance_optimization: bool = False

    @classmethod
    def all_on(cls) -> FlagSnapshot:
        """Every flag on (the verification context)."""
        return cls(**{f.name: True for f in fields(cls)})

    @classmethod
    def from_names(cls, values: Mapping[str, bool]) -> FlagSnapshot:
        """Build from ``{"ENABLE_...": bool}``; names not given are off."""
        unknown = set(values) - set(FLAG_NAMES)
        if unknown:
            raise ValueError(f"unknown flags: {sorted(unknown)}")
        return cls(**{_attr(name): bool(values.get(name, False)) for name in FLAG_NAMES})

    def by_name(self) -> dict[str, bool]:
        """``{"ENABLE_...": bool}`` in the plan's order."""
        return {name: getattr(self, _attr(name)) for name in FLAG_NAMES}

    def is_on(self, name: str) -> bool:
        """The value of one flag by its ENABLE_* name."""
        if name not in FLAG_NAMES:
            raise KeyError(name)
        return bool(getattr(self, _attr(name)))


def _attr(name: str) -> str:
    return name.removeprefix("ENABLE_").lower()


@dataclass(frozen=True)
class FlagStoreStatus:
    """What the service knows about its flags: values, store health, and when they were last read."""

    values: FlagSnapshot = field(default_factory=FlagSnapshot)
    store: Literal["ok", "degraded"] = "degraded"
    last_refresh: datetime | None = None
    last_error: str | None = "flags not read yet"
    bad_values: tuple[str, ...] = ()

    @property
    def degraded(self) -> bool:
        """Whether the store is unreachable or holds a bad value."""
        return self.store == "degraded"


def read_flag_parameters(ssm: Any, path: str) -> dict[str, str]:
    """Read ``{FLAG: raw value}`` for the flags under ``path`` (other parameters are ignored)."""
    prefix = path.rstrip("/") + "/"
    found: dict[str, str] = {}
    paginator = ssm.get_paginator("get_parameters_by_path")
    for page in paginator.paginate(Path=path.rstrip("/") or "/", Recursive=False, WithDecryption=False):
        for parameter in page.get("Parameters", []):
            name = parameter["Name"].removeprefix(prefix)
            if name in FLAG_NAMES:
                found[name] = parameter["Value"]
    return found


def apply_values(previous: FlagSnapshot, raw: Mapping[str, str]) -> tuple[FlagSnapshot, tuple[str, ...]]:
    """New flag values from one successful read, and the flags whose value was bad (kept as before)."""
    values = previous.by_name()
    bad = []
    for name in FLAG_NAMES:
        value = raw.get(name)
        if value is None:
            values[name] = False
        elif value == "true":
            values[name] = True
        elif value == "false":
            values[name] = False
        else:
            bad.append(name)
    return FlagSnapshot.from_names(values), tuple(bad)


StatusListener = Callable[[FlagStoreStatus], None]


class FlagPoller:
    """Polls the flag store on a background thread and keeps the last known good values."""

    def __init__(
        self,
        ssm: Any,
        path: str,
        *,
        interval_s: float,
        on_update: StatusListener | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._ssm = ssm
        self._path = path
        self.interval_s = interval_s
        self._on_update = on_update
        self._now = now
        self._status = FlagStoreStatus()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._refresh_lock = threading.Lock()

    def status(self) -> FlagStoreStatus:
        """The current values and store health (an atomic read of a frozen object)."""
        return self._status

    def refresh(self) -> FlagStoreStatus:
        """Read the store once and update the status; never raises."""
        with self._refresh_lock:
            previous = self._status
            try:
                raw = read_flag_parameters(self._ssm, self._path)
            except Exception as exc:  # any failure of the store keeps the last known values
                message = f"{type(exc).__name__}: {exc}"
                if previous.last_error != message:
                    _log.warning("flag store unreachable, keeping last known flags: %s", message)
                status = replace(previous, store="degraded", last_error=message, bad_values=())
            else:
                values, bad = apply_values(previous.values, raw)
                error = f"bad values for {', '.join(bad)} (expected true or false)" if bad else None
                if bad and previous.bad_values != bad:
                    _log.warning("flag store: %s; keeping their last known values", error)
                status = FlagStoreStatus(
                    values=values,
                    store="degraded" if bad else "ok",
                    last_refresh=self._now(),
                    last_error=error,
                    bad_values=bad,
                )
            self._status = status
        if self._on_update is not None:
            self._on_update(status)
        return status

    def start(self) -> None:
        """Start polling in the background (the first read happens at once)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="flag-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    @property
    def running(self) -> bool:
        """Whether the polling thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self.interval_s)
