"""The deploy lock: one item in the environment's DynamoDB table, every change a conditional write.

The item names the owner (user@host), the run, the host and pid of its ``ansible-playbook``, a token
that only the holder knows, when it was taken, the last heartbeat and the expiry (heartbeat +
``expiry_s``). The holder heartbeats while its run is alive (``bedrock_release.pipeline.heartbeat``
and every journal append, docs/pipeline.md "Shared lock and state"). Nothing is ever overwritten
blindly: acquiring needs no item, a heartbeat or a release needs the holder's token, and breaking or
taking over needs the exact holder *and heartbeat* that were judged stale - so of two operators who
both saw a stale lock, one wins and the other is told who did.

- stale: the holder missed ``MISSED_BEATS`` heartbeats: presumed dead; an operator may resume, roll
  back or break (audited);
- expired: the heartbeat is older than ``expiry_s``: the watchdog takes the rollback;
- handed over: a rollback that could not finish gave the lock to a person (on-call) with a reason;
  it never expires; only a release or an audited break frees it.

A table that does not answer is no lock (``LockUnavailableError``, naming the table and endpoint):
no deploy starts without one.
"""

from __future__ import annotations

import getpass
import os
import secrets
import socket
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from audit_trail import AuditLog
from bedrock_release.pipeline.shared_state import SharedState, aws_error_text

__all__ = [
    "LOCK_ID",
    "LOCK_KEY",
    "DeployLock",
    "LockHeldError",
    "LockInfo",
    "LockLostError",
    "LockNotHeldError",
    "LockStatus",
    "LockUnavailableError",
]

#: The partition key value of the deploy lock's item (one lock per table, one table per environment).
LOCK_ID = "deploy"
#: The partition key of the lock table (the sandbox seeds it; production creates it with this schema).
LOCK_KEY = "lock_id"
_KEY = LOCK_KEY


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"uid{os.getuid()}"


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _from_epoch(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True)
class LockInfo:
    """The holder as the item names it (``token`` is the holder's own; it never goes into a journal)."""

    owner: str
    pid: int
    host: str
    run_id: str
    started: str
    token: str
    heartbeat_epoch: float
    expires_epoch: float | None  # None: handed over to a person, never expires
    purpose: str = "deploy"
    handed_over_to: str = ""
    handed_over_reason: str = ""

    @property
    def heartbeat_at(self) -> str:
        """The last heartbeat, RFC 3339."""
        return _iso(_from_epoch(self.heartbeat_epoch))

    @property
    def expires_at(self) -> str | None:
        """When the lock expires (the watchdog may act), RFC 3339; None when handed over."""
        return None if self.expires_epoch is None else _iso(_from_epoch(self.expires_epoch))

    def public(self) -> dict[str, Any]:
        """What journals and messages may show: everything but the token."""
        data = asdict(self)
        data.pop("token")
        return {**data, "heartbeat_at": self.heartbeat_at, "expires_at": self.expires_at}

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> LockInfo:
        """Parse a DynamoDB item (low-level attribute values); ValueError when a field is missing."""

        def text(name: str, default: str | None = None) -> str:
            if name in item and "S" in item[name]:
                return str(item[name]["S"])
            if default is not None:
                return default
            raise ValueError(f"lock item has no {name}")

        def number(name: str) -> float | None:
            if name in item and "N" in item[name]:
                return float(item[name]["N"])
            return None

        heartbeat = number("heartbeat_epoch")
        pid = number("pid")
        if heartbeat is None or pid is None:
            raise ValueError("lock item has no heartbeat_epoch or pid")
        return cls(
            owner=text("owner"),
            pid=int(pid),
            host=text("host"),
            run_id=text("run_id"),
            started=text("started"),
            token=text("token"),
            heartbeat_epoch=heartbeat,
            expires_epoch=number("expires_epoch"),
            purpose=text("purpose", "deploy"),
            handed_over_to=text("handed_over_to", ""),
            handed_over_reason=text("handed_over_reason", ""),
        )

    def to_item(self) -> dict[str, Any]:
        """The DynamoDB item of this holder."""
        item: dict[str, Any] = {
            _KEY: {"S": LOCK_ID},
            "owner": {"S": self.owner},
            "pid": {"N": str(self.pid)},
            "host": {"S": self.host},
            "run_id": {"S": self.run_id},
            "started": {"S": self.started},
            "token": {"S": self.token},
            "heartbeat_epoch": {"N": repr(self.heartbeat_epoch)},
            "heartbeat_at": {"S": self.heartbeat_at},
            "purpose": {"S": self.purpose},
        }
        if self.expires_epoch is not None:
            item["expires_epoch"] = {"N": repr(self.expires_epoch)}
            item["expires_at"] = {"S": str(self.expires_at)}
        if self.handed_over_to:
            item["handed_over_to"] = {"S": self.handed_over_to}
            item["handed_over_reason"] = {"S": self.handed_over_reason}
        return item


@dataclass(frozen=True)
class LockStatus:
    """The lock as read: held or not, by whom, its age and heartbeat age, stale or expired, and where."""

    held: bool
    info: LockInfo | None
    age_s: float | None
    heartbeat_age_s: float | None
    stale_reason: str | None
    expired: bool
    where: str

    @property
    def stale(self) -> bool:
        """True when the holder looks gone (it missed its heartbeats); a person or the watchdog decides."""
        return self.stale_reason is not None

    @property
    def handed_over(self) -> bool:
        """True when a person (on-call) holds the lock after a rollback that could not finish."""
        return self.info is not None and bool(self.info.handed_over_to)

    def describe(self) -> str:
        """One line naming the holder, age, heartbeat and expiry, and why it looks stale."""
        if not self.held or self.info is None:
            return f"deploy lock is free ({self.where})"
        info = self.info
        if self.handed_over:
            return (
                f"deploy lock of run {info.run_id} handed over to {info.handed_over_to} "
                f"({info.handed_over_reason}), since {info.heartbeat_at} ({self.where}); it never expires: "
                f"release it (`bedrock-release lock release --run-id {info.run_id}`) or break it, with a "
                "reason"
            )
        line = (
            f"deploy lock held by {info.owner} (pid {info.pid} on {info.host}, run {info.run_id}, "
            f"{info.purpose}, since {info.started}), age {self.age_s:.0f} s, last heartbeat "
            f"{self.heartbeat_age_s:.0f} s ago, expires {info.expires_at} ({self.where})"
        )
        if self.expired:
            line += (
                f"; it looks stale: {self.stale_reason}; it has expired: the watchdog rolls the run back at "
                "its next look, unless an operator resumes, rolls back or breaks it first"
            )
        elif self.stale_reason:
            line += (
                f"; it looks stale: {self.stale_reason}; it is not broken automatically before it expires: "
                "an operator may resume, roll back or break it (audited)"
            )
        return line


class LockUnavailableError(RuntimeError):
    """The lock table did not answer (or refused us): no lock, so no deploy; names table and endpoint."""


class LockHeldError(RuntimeError):
    """Another holder has the lock (or took it first); the message names the owner, run and age."""

    def __init__(self, status: LockStatus, prefix: str = "") -> None:
        self.status = status
        super().__init__(f"{prefix}{status.describe()}")


class LockNotHeldError(RuntimeError):
    """A release, heartbeat or break by someone who does not hold (or no longer sees) that lock."""


class LockLostError(LockNotHeldError):
    """The run's lock was taken over, broken or released by someone else: this run must stop."""


def _conditional_failed(exc: BaseException) -> bool:
    response = getattr(exc, "response", None)
    return isinstance(response, Mapping) and response.get("Error", {}).get("Code") == (
        "ConditionalCheckFailedException"
    )


class DeployLock:
    """One environment's deploy lock: status, acquire, heartbeat, release, take over, break, hand over."""

    def __init__(
        self,
        shared: SharedState,
        *,
        client: Any = None,
        clock: Callable[[], datetime] = _now,
        hostname: str | None = None,
    ) -> None:
        self.shared = shared
        self._client = client
        self._clock = clock
        self._host = hostname or socket.gethostname()

    @property
    def where(self) -> str:
        """The table and endpoint, for messages."""
        return f"table {self.shared.lock_table} at {self.shared.endpoint_text}"

    def _ddb(self) -> Any:
        if self._client is None:
            self._client = self.shared.client("dynamodb")
        return self._client

    def _call(self, operation: str, **kwargs: Any) -> Any:
        """One DynamoDB call; a conditional failure is returned as None, every other failure raised."""
        try:
            return getattr(self._ddb(), operation)(TableName=self.shared.lock_table, **kwargs)
        except Exception as exc:
            if _conditional_failed(exc):
                return None
            raise LockUnavailableError(
                f"deploy lock {self.where} did not answer ({aws_error_text(exc)}): no lock, so no deploy"
            ) from exc

    def status(self) -> LockStatus:
        """Read the item (strongly consistent) and judge it by the heartbeat and the expiry."""
        answer = self._call("get_item", Key={_KEY: {"S": LOCK_ID}}, ConsistentRead=True)
        item = (answer or {}).get("Item")
        if not item:
            return LockStatus(False, None, None, None, None, False, self.where)
        try:
            info = LockInfo.from_item(item)
        except ValueError as exc:
            raise LockUnavailableError(
                f"deploy lock {self.where}: the item is unreadable ({exc}); break it with a reason"
            ) from None
        return self.judge(info)

    def judge(self, info: LockInfo) -> LockStatus:
        """The status of a holder now: stale after missed heartbeats, expired past its expiry."""
        now = self._clock().timestamp()
        started = datetime.fromisoformat(info.started.replace("Z", "+00:00")).timestamp()
        beat_age = max(0.0, now - info.heartbeat_epoch)
        expired = info.expires_epoch is not None and now >= info.expires_epoch
        reason = None
        if info.expires_epoch is not None and beat_age > self.shared.stale_after_s:
            reason = (
                f"no heartbeat for {beat_age:.0f} s (one is due every {self.shared.heartbeat_s:g} s; "
                f"stale after {self.shared.stale_after_s:g} s)"
            )
        return LockStatus(True, info, max(0.0, now - started), beat_age, reason, expired, self.where)

    def _new_holder(self, run_id: str, *, pid: int | None, owner: str | None, purpose: str) -> LockInfo:
        if not run_id:
            raise ValueError("run_id must not be empty")
        now = self._clock()
        return LockInfo(
            owner=owner or f"{_user()}@{self._host}",
            pid=pid if pid is not None else os.getpid(),
            host=self._host,
            run_id=run_id,
            started=_iso(now),
            token=secrets.token_hex(16),
            heartbeat_epoch=now.timestamp(),
            expires_epoch=now.timestamp() + self.shared.expiry_s,
            purpose=purpose,
        )

    def acquire(
        self, run_id: str, *, pid: int | None = None, owner: str | None = None, purpose: str = "deploy"
    ) -> LockInfo:
        """Take the free lock for a run or raise LockHeldError naming the holder."""
        info = self._new_holder(run_id, pid=pid, owner=owner, purpose=purpose)
        done = self._call(
            "put_item", Item=info.to_item(), ConditionExpression=f"attribute_not_exists({_KEY})"
        )
        if done is None:
            raise LockHeldError(self.status())
        return info

    def heartbeat(self, token: str) -> LockInfo:
        """Renew the holder's heartbeat and expiry; LockLostError when the token no longer holds it."""
        now = self._clock().timestamp()
        answer = self._call(
            "update_item",
            Key={_KEY: {"S": LOCK_ID}},
            UpdateExpression=(
                "SET heartbeat_epoch = :now, heartbeat_at = :at, expires_epoch = :exp, expires_at = :exp_at"
            ),
            ConditionExpression="#token = :token AND attribute_exists(expires_epoch)",
            ExpressionAttributeNames={"#token": "token"},
            ExpressionAttributeValues={
                ":now": {"N": repr(now)},
                ":at": {"S": _iso(_from_epoch(now))},
                ":exp": {"N": repr(now + self.shared.expiry_s)},
                ":exp_at": {"S": _iso(_from_epoch(now + self.shared.expiry_s))},
                ":token": {"S": token},
            },
            ReturnValues="ALL_NEW",
        )
        if answer is None:
            raise LockLostError(f"this run no longer holds the deploy lock: {self.status().describe()}")
        return LockInfo.from_item(answer["Attributes"])

    def release(self, token: str) -> None:
        """Delete the item if this token holds it; otherwise LockNotHeldError naming who does."""
        done = self._call(
            "delete_item",
            Key={_KEY: {"S": LOCK_ID}},
            ConditionExpression="#token = :token",
            ExpressionAttributeNames={"#token": "token"},
            ExpressionAttributeValues={":token": {"S": token}},
        )
        if done is None:
            raise LockNotHeldError(
                f"cannot release: this holder's token does not hold it: {self.status().describe()}"
            )

    def _observed(self, observed: LockInfo) -> dict[str, Any]:
        """The condition that the item is still exactly the holder (and heartbeat) that was judged."""
        return {
            "ConditionExpression": "#token = :token AND heartbeat_epoch = :beat",
            "ExpressionAttributeNames": {"#token": "token"},
            "ExpressionAttributeValues": {
                ":token": {"S": observed.token},
                ":beat": {"N": repr(observed.heartbeat_epoch)},
            },
        }

    def take_over(
        self,
        observed: LockStatus,
        run_id: str,
        *,
        pid: int | None = None,
        owner: str | None = None,
        purpose: str,
        require_expired: bool = False,
    ) -> LockInfo:
        """Replace a stale (or, with ``require_expired``, expired) holder of the same run in one write.

        LockHeldError when it is not stale, belongs to another run, or moved since it was read (someone
        else heartbeat, took over or broke it first: no lost update).
        """
        info = observed.info
        if not observed.held or info is None:
            raise LockNotHeldError(f"nothing to take over: {observed.describe()}")
        if info.run_id != run_id:
            raise LockHeldError(observed, f"run {run_id} cannot take over the lock of another run: ")
        if observed.handed_over:
            raise LockHeldError(observed, "the lock was handed over to a person: ")
        if require_expired and not observed.expired:
            raise LockHeldError(observed, "not expired yet: ")
        if not observed.stale:
            raise LockHeldError(observed, "its holder is alive: ")
        new = self._new_holder(run_id, pid=pid, owner=owner, purpose=purpose)
        done = self._call("put_item", Item=new.to_item(), **self._observed(info))
        if done is None:
            raise LockHeldError(self.status(), "someone else changed the lock first: ")
        return new

    def break_lock(self, reason: str, *, operator: str, audit: AuditLog, force: bool = False) -> LockStatus:
        """Break the lock on an operator's decision: a conditional delete, recorded in the audit trail.

        A lock that does not look stale (or was handed over) is only broken with ``force``.
        """
        if not reason or not reason.strip():
            raise ValueError("breaking the deploy lock needs a reason")
        if not operator:
            raise ValueError("breaking the deploy lock needs the operator's name")
        status = self.status()
        if not status.held or status.info is None:
            raise LockNotHeldError(f"nothing to break: {status.describe()}")
        if not (status.stale or force):
            raise LockHeldError(status)
        done = self._call("delete_item", Key={_KEY: {"S": LOCK_ID}}, **self._observed(status.info))
        if done is None:
            raise LockHeldError(self.status(), "someone else changed the lock first, nothing broken: ")
        audit.append(
            actor=operator,
            action="deploy_lock.broken",
            data={
                "reason": reason,
                "holder": status.info.public(),
                "age_s": status.age_s,
                "heartbeat_age_s": status.heartbeat_age_s,
                "stale_reason": status.stale_reason,
                "expired": status.expired,
                "forced": force and not status.stale,
                "table": self.shared.lock_table,
            },
        )
        return status

    def hand_over(self, token: str, *, to: str, reason: str) -> LockInfo:
        """Give the holder's lock to a person (on-call) with a reason: it then never expires."""
        if not to or not reason or not reason.strip():
            raise ValueError("handing the deploy lock over needs whom to and a reason")
        status = self.status()
        if status.info is None or status.info.token != token:
            raise LockNotHeldError(
                f"cannot hand over: this holder's token does not hold it: {status.describe()}"
            )
        now = self._clock().timestamp()
        new = replace(
            status.info,
            token=secrets.token_hex(16),
            heartbeat_epoch=now,
            expires_epoch=None,
            purpose="handed over",
            handed_over_to=to,
            handed_over_reason=reason,
        )
        done = self._call(
            "put_item",
            Item=new.to_item(),
            ConditionExpression="#token = :token",
            ExpressionAttributeNames={"#token": "token"},
            ExpressionAttributeValues={":token": {"S": token}},
        )
        if done is None:
            raise LockLostError(f"cannot hand over: the lock moved: {self.status().describe()}")
        return new

    def release_handed_over(self, run_id: str, *, operator: str, audit: AuditLog) -> LockStatus:
        """The person who was handed the lock releases it (conditional on that hand-over), audited."""
        status = self.status()
        if status.info is None or not status.handed_over or status.info.run_id != run_id:
            raise LockNotHeldError(f"run {run_id}: no handed-over lock to release: {status.describe()}")
        done = self._call("delete_item", Key={_KEY: {"S": LOCK_ID}}, **self._observed(status.info))
        if done is None:
            raise LockHeldError(self.status(), "someone else changed the lock first: ")
        audit.append(
            actor=operator,
            action="lock_released",
            data={"run_id": run_id, "handed_over_to": status.info.handed_over_to, "by": operator},
        )
        return status
