"""The deploy lock (``runs/deploy.lock``): one deploy at a time: stale locks reported, not broken."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from audit_trail import AuditLog
from bedrock_release.plan import PHASES, ROLLBACK_TIERS, RollbackTier

__all__ = [
    "DEFAULT_MAX_AGE_S",
    "DeployLock",
    "LockHeldError",
    "LockInfo",
    "LockNotHeldError",
    "LockStatus",
    "pid_alive",
]

#: A deploy cannot rightly run longer than every phase budget plus a full rollback (3 h 15 min).
DEFAULT_MAX_AGE_S = sum(p.budget_s for p in PHASES) + ROLLBACK_TIERS[RollbackTier.FULL].target_s


def pid_alive(pid: int) -> bool:
    """Return whether a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"uid{os.getuid()}"


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class LockInfo:
    """Who holds the lock: user@host, pid, host, run id and when they took it."""

    owner: str
    pid: int
    host: str
    run_id: str
    started: str

    def started_at(self) -> datetime:
        """Return ``started`` as an aware datetime."""
        return datetime.fromisoformat(self.started.replace("Z", "+00:00"))


@dataclass(frozen=True)
class LockStatus:
    """The lock as found: held or not, by whom, for how long, and whether it looks stale."""

    held: bool
    info: LockInfo | None
    age_s: float | None
    stale_reason: str | None

    @property
    def stale(self) -> bool:
        """Return True when the holder looks gone (a person must still decide to break it)."""
        return self.stale_reason is not None

    def describe(self) -> str:
        """Return one line naming the holder and age, and why it looks stale."""
        if not self.held:
            return "deploy lock is free"
        who = (
            f"{self.info.owner} (pid {self.info.pid} on {self.info.host}, run {self.info.run_id}, "
            f"since {self.info.started})"
            if self.info
            else "an unreadable lock file"
        )
        line = f"deploy lock held by {who}, age {self.age_s:.0f} s"
        if self.stale_reason:
            line += (
                f"; it looks stale: {self.stale_reason}; it is not broken automatically: "
                "an operator must break it with a reason"
            )
        return line


class LockHeldError(RuntimeError):
    """Another deploy holds the lock; the message names the owner, the age and any staleness."""

    def __init__(self, path: Path, status: LockStatus) -> None:
        self.path, self.status = path, status
        super().__init__(f"{path}: {status.describe()}")


class LockNotHeldError(RuntimeError):
    """A release by someone who does not hold the lock."""


class DeployLock:
    """The deploy lock file; acquire refuses while held, release only by the holder's run id."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        clock: Callable[[], datetime] = _now,
        is_alive: Callable[[int], bool] = pid_alive,
        hostname: str | None = None,
    ) -> None:
        if not max_age_s > 0:
            raise ValueError(f"max_age_s must be > 0, got {max_age_s!r}")
        self.path = Path(path)
        self.max_age_s = max_age_s
        self._clock, self._is_alive = clock, is_alive
        self._host = hostname or socket.gethostname()

    def status(self) -> LockStatus:
        """Read the lock and judge staleness: holder pid gone on this host, or older than max age."""
        try:
            text = self.path.read_text(encoding="utf-8")
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return LockStatus(False, None, None, None)
        try:
            info = LockInfo(**json.loads(text))
            started = info.started_at()
        except (ValueError, TypeError) as exc:
            age = self._clock().timestamp() - mtime
            return LockStatus(True, None, age, f"lock file unreadable ({exc})")
        age = (self._clock() - started).total_seconds()
        reason = None
        if info.host == self._host and not self._is_alive(info.pid):
            reason = f"pid {info.pid} is not running on {info.host}"
        elif age > self.max_age_s:
            reason = f"older than the maximum deploy duration ({self.max_age_s:.0f} s)"
        return LockStatus(True, info, age, reason)

    def acquire(self, run_id: str, *, pid: int | None = None, owner: str | None = None) -> LockInfo:
        """Take the lock for a run or raise LockHeldError naming the holder."""
        if not run_id:
            raise ValueError("run_id must not be empty")
        info = LockInfo(
            owner=owner or f"{_user()}@{self._host}",
            pid=pid if pid is not None else os.getpid(),
            host=self._host,
            run_id=run_id,
            started=_iso(self._clock()),
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Write a complete file under a private name, then link it into place: link() is as atomic
        # as O_CREAT|O_EXCL but no reader can ever see the lock half written.
        tmp = self.path.with_name(f".{self.path.name}.{info.pid}.{os.urandom(4).hex()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(asdict(info), handle)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                raise LockHeldError(self.path, self.status()) from None
        finally:
            tmp.unlink(missing_ok=True)
        return info

    def release(self, run_id: str) -> None:
        """Remove the lock if this run holds it; otherwise raise LockNotHeldError naming the holder."""
        status = self.status()
        if not status.held:
            raise LockNotHeldError(f"{self.path}: run {run_id} cannot release: the lock is not held")
        if status.info is None or status.info.run_id != run_id:
            raise LockNotHeldError(f"{self.path}: run {run_id} cannot release: {status.describe()}")
        self.path.unlink()

    @contextlib.contextmanager
    def held(self, run_id: str, *, pid: int | None = None) -> Iterator[LockInfo]:
        """Hold the lock for the duration of a block."""
        info = self.acquire(run_id, pid=pid)
        try:
            yield info
        finally:
            self.release(run_id)

    def break_lock(self, reason: str, *, operator: str, audit: AuditLog, force: bool = False) -> LockStatus:
        """Break a lock on an operator's decision: kept aside as evidence and recorded in the audit trail.

        A lock that does not look stale is only broken with ``force``: its holder may still be deploying.
        """
        if not reason or not reason.strip():
            raise ValueError("breaking the deploy lock needs a reason")
        if not operator:
            raise ValueError("breaking the deploy lock needs the operator's name")
        status = self.status()
        if not status.held:
            raise LockNotHeldError(f"{self.path}: nothing to break: the lock is not held")
        if not status.stale and not force:
            raise LockHeldError(self.path, status)
        kept = self.path.with_name(f"{self.path.name}.broken-{_iso(self._clock()).replace(':', '')}")
        os.replace(self.path, kept)
        audit.append(
            actor=operator,
            action="deploy_lock.broken",
            data={
                "reason": reason,
                "holder": asdict(status.info) if status.info else None,
                "age_s": status.age_s,
                "stale_reason": status.stale_reason,
                "forced": force and not status.stale,
                "kept_as": str(kept),
            },
        )
        return status
