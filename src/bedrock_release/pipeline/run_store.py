"""The S3 copy of every run: the journal after each append, target.json, report and evidence bundle.

Keys: ``<prefix><run-id>/audit.jsonl``, ``.../target.json``, ``.../report.json|md|html``,
``.../bundle/<file>`` and ``<prefix>latest.json`` (the newest admitted run). The S3 journal is what
another controller reads, so it never goes backwards and never forks: every upload is a conditional
PUT (``If-Match`` the copy this controller last saw, ``If-None-Match: *`` for the first), and a
controller only writes when the S3 journal is a prefix of its own. Anything else means another
controller drives the run now: ``JournalDivergedError``, and this one stops.

An upload that fails for a passing reason (throttling, a timeout) is noted in the run's
``shared-state.log`` and repaired by the next append or heartbeat, which upload the whole journal.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bedrock_release.pipeline.shared_state import (
    SharedState,
    SharedStateUnavailableError,
    aws_error_text,
    of_run,
)

__all__ = [
    "HOLDER_NAME",
    "LOCAL_ONLY",
    "JournalDivergedError",
    "RunNotFoundError",
    "RunStore",
    "note",
    "upload_evidence",
]

JOURNAL = "audit.jsonl"
TARGET = "target.json"
#: This controller's hold on a run's lock (token, pid of the heartbeat): never uploaded, never bundled.
HOLDER_NAME = "lock-holder.json"
_MIRROR_STATE = ".shared-state.json"
_MIRROR_LOCK = ".shared-state.lock"
_LOG = "shared-state.log"
#: Files of a run folder that stay on the controller that wrote them.
LOCAL_ONLY = frozenset({HOLDER_NAME, _MIRROR_STATE, _MIRROR_LOCK, _LOG, "heartbeat.log"})
_REPORT_FILES = ("report.json", "report.md", "report.html")
_IN_RUN_PATHS = {"journal": JOURNAL, "results_dir": "results"}


class JournalDivergedError(RuntimeError):
    """The S3 journal holds records this controller's copy lacks: another controller drives the run."""


class RunNotFoundError(LookupError):
    """No such run in the state bucket; names the bucket and the key."""


def note(run_dir: Path, message: str) -> None:
    """Append a line to the run's shared-state.log (upload problems that a later upload repairs)."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    with contextlib.suppress(OSError), (run_dir / _LOG).open("a", encoding="utf-8") as log:
        log.write(f"{stamp} {message}\n")


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Serialise this controller's uploads of one run (S3 must see them in journal order)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@dataclass(frozen=True)
class RunStore:
    """One environment's state bucket."""

    shared: SharedState
    client: Any = None

    def _s3(self) -> Any:
        if self.client is None:
            object.__setattr__(self, "client", self.shared.client("s3"))
        return self.client

    def key(self, run_id: str, name: str) -> str:
        """The object key of a run's file."""
        return f"{self.shared.prefix}{run_id}/{name}"

    @property
    def where(self) -> str:
        """The bucket and endpoint, for messages."""
        return f"state bucket {self.shared.bucket} at {self.shared.endpoint_text}"

    def _unavailable(self, what: str, exc: BaseException) -> SharedStateUnavailableError:
        return SharedStateUnavailableError(f"{self.where}: {what} failed ({aws_error_text(exc)})")

    def check(self) -> None:
        """Raise SharedStateUnavailableError naming the bucket unless it answers."""
        try:
            self._s3().head_bucket(Bucket=self.shared.bucket)
        except Exception as exc:
            raise self._unavailable("HeadBucket", exc) from exc

    # --- the journal ------------------------------------------------------------------------------

    def _get(self, key: str) -> tuple[bytes, str] | None:
        try:
            answer = self._s3().get_object(Bucket=self.shared.bucket, Key=key)
        except Exception as exc:
            if _code(exc) in {"NoSuchKey", "404"}:
                return None
            raise self._unavailable(f"GetObject {key}", exc) from exc
        return answer["Body"].read(), str(answer["ETag"])

    def _put(self, key: str, body: bytes, *, if_match: str | None, content_type: str) -> str | None:
        """A conditional PUT; None when the condition failed (the object is not the one we saw)."""
        condition = {"IfMatch": if_match} if if_match else {"IfNoneMatch": "*"}
        try:
            answer = self._s3().put_object(
                Bucket=self.shared.bucket, Key=key, Body=body, ContentType=content_type, **condition
            )
        except Exception as exc:
            if _code(exc) in {"PreconditionFailed", "412", "ConditionalRequestConflict", "NoSuchKey"}:
                return None
            raise self._unavailable(f"PutObject {key}", exc) from exc
        return str(answer["ETag"])

    def mirror_journal(self, run_dir: Path) -> bool:
        """Upload the run's journal if S3's copy is behind; True when S3 now equals the local journal.

        JournalDivergedError when S3 holds records this copy lacks (another controller wrote them).
        """
        run_id = run_dir.name
        key = self.key(run_id, JOURNAL)
        with _exclusive(run_dir / _MIRROR_LOCK):
            local = (run_dir / JOURNAL).read_bytes()
            state = _read_state(run_dir)
            if state.get("size") == len(local) and state.get("etag"):
                return True  # already uploaded exactly this
            etag = self._put(key, local, if_match=state.get("etag"), content_type="application/x-ndjson")
            if etag is None:
                # Not the copy we saw last (or no record of it): upload only over a prefix of ours.
                found = self._get(key)
                if found is not None and not local.startswith(found[0]):
                    raise JournalDivergedError(
                        f"run {run_id}: the journal in {self.where} ({key}) holds records this controller's "
                        f"copy lacks: another controller drives this run now; this one stops"
                    )
                if found is not None and found[0] == local:
                    etag = found[1]
                else:
                    etag = self._put(
                        key, local, if_match=found[1] if found else None, content_type="application/x-ndjson"
                    )
                if etag is None:
                    raise JournalDivergedError(
                        f"run {run_id}: the journal in {self.where} ({key}) changed while it was uploaded: "
                        "another controller writes this run"
                    )
            _write_state(run_dir, {"etag": etag, "size": len(local)})
            return True

    # --- other files ------------------------------------------------------------------------------

    def put_file(self, run_dir: Path, name: str, *, once: bool = False) -> None:
        """Upload one file of the run folder (``once``: never over an existing copy, e.g. target.json)."""
        path = run_dir / name
        body = path.read_bytes()
        key = self.key(run_dir.name, name)
        kind = "application/json" if name.endswith(".json") else "text/plain"
        if once:
            self._put(key, body, if_match=None, content_type=kind)
            return
        try:
            self._s3().put_object(Bucket=self.shared.bucket, Key=key, Body=body, ContentType=kind)
        except Exception as exc:
            raise self._unavailable(f"PutObject {key}", exc) from exc

    def put_evidence(self, run_dir: Path) -> int:
        """Upload the report files and the evidence bundle (every file); return how many were uploaded."""
        names = [name for name in _REPORT_FILES if (run_dir / name).is_file()]
        bundle = run_dir / "bundle"
        if bundle.is_dir():
            names += [
                str(path.relative_to(run_dir))
                for path in sorted(bundle.rglob("*"))
                if path.is_file() and not path.is_symlink()
            ]
        s3 = self._s3()  # one client, shared by the threads (boto3 clients are thread-safe)
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda name: RunStore(self.shared, s3).put_file(run_dir, name), names))
        return len(names)

    def put_latest(self, run_id: str) -> None:
        """Point ``latest.json`` at a newly admitted run."""
        key = f"{self.shared.prefix}latest.json"
        body = json.dumps({"run_id": run_id}).encode()
        try:
            self._s3().put_object(
                Bucket=self.shared.bucket, Key=key, Body=body, ContentType="application/json"
            )
        except Exception as exc:
            raise self._unavailable(f"PutObject {key}", exc) from exc

    def latest(self) -> str | None:
        """The newest admitted run of the environment, None when there is none."""
        found = self._get(f"{self.shared.prefix}latest.json")
        if found is None:
            return None
        try:
            return str(json.loads(found[0])["run_id"])
        except (ValueError, KeyError, TypeError):
            return None

    # --- fetching a run onto this controller ------------------------------------------------------

    def exists(self, run_id: str) -> bool:
        """Whether the bucket holds the run's journal."""
        return self._get(self.key(run_id, JOURNAL)) is not None

    def fetch(self, runs_dir: Path, run_id: str, *, evidence: bool = False) -> Path:
        """Bring a run (journal, target.json; with ``evidence`` the report and bundle) into runs_dir.

        A local journal that is a prefix of S3's is brought up to date; one with records S3 lacks is
        uploaded instead (it is ahead); two different histories raise JournalDivergedError.
        """
        run_dir = runs_dir / run_id
        found = self._get(self.key(run_id, JOURNAL))
        if found is None:
            raise RunNotFoundError(f"run {run_id}: not in {self.where} (no {self.key(run_id, JOURNAL)})")
        remote, etag = found
        run_dir.mkdir(parents=True, exist_ok=True)
        journal = run_dir / JOURNAL
        with _exclusive(run_dir / _MIRROR_LOCK):
            local = journal.read_bytes() if journal.exists() else b""
            if local and not (remote.startswith(local) or local.startswith(remote)):
                raise JournalDivergedError(
                    f"run {run_id}: {journal} and the journal in {self.where} tell different histories"
                )
            if len(remote) >= len(local):
                if remote != local:
                    tmp = run_dir / f".{JOURNAL}.fetched"
                    tmp.write_bytes(remote)
                    os.replace(tmp, journal)
                _write_state(run_dir, {"etag": etag, "size": len(remote)})
        if len(local) > len(remote):
            self.mirror_journal(run_dir)
        if not (run_dir / TARGET).exists():
            self._fetch_target(run_dir, run_id)
        if evidence:
            self._fetch_prefix(run_dir, run_id, "bundle/")
            for name in _REPORT_FILES:
                self._fetch_one(run_dir, run_id, name)
        return run_dir

    def _fetch_one(self, run_dir: Path, run_id: str, name: str) -> bool:
        found = self._get(self.key(run_id, name))
        if found is None:
            return False
        out = run_dir / name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(found[0])
        return True

    def _fetch_prefix(self, run_dir: Path, run_id: str, sub: str) -> int:
        prefix = self.key(run_id, sub)
        names: list[str] = []
        try:
            for page in (
                self._s3().get_paginator("list_objects_v2").paginate(Bucket=self.shared.bucket, Prefix=prefix)
            ):
                names += [item["Key"][len(self.key(run_id, "")) :] for item in page.get("Contents", [])]
        except Exception as exc:
            raise self._unavailable(f"ListObjectsV2 {prefix}", exc) from exc
        s3 = self._s3()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda name: RunStore(self.shared, s3)._fetch_one(run_dir, run_id, name), names))
        return len(names)

    def _fetch_target(self, run_dir: Path, run_id: str) -> None:
        found = self._get(self.key(run_id, TARGET))
        if found is None:
            return
        data = json.loads(found[0])
        # The files inside the run folder are where this controller keeps them; the original, with the
        # starting controller's paths, stays in the bucket.
        for field, name in _IN_RUN_PATHS.items():
            if field in data:
                data[field] = str(run_dir / name)
        data["fetched_from"] = f"s3://{self.shared.bucket}/{self.key(run_id, TARGET)}"
        data["shared_state"] = self.shared.to_dict()
        (run_dir / "results").mkdir(exist_ok=True)
        tmp = run_dir / f".{TARGET}.fetched"
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, run_dir / TARGET)


def upload_evidence(run_dir: str | os.PathLike[str]) -> str | None:
    """Upload a run's report and bundle to its state bucket; the problem when that failed, else None.

    A run without shared state (older runs, unit tests' folders) has nowhere to go: None, nothing done.
    """
    run_dir = Path(run_dir)
    shared = of_run(run_dir)
    if shared is None:
        return None
    try:
        RunStore(shared).put_evidence(run_dir)
    except SharedStateUnavailableError as exc:
        note(run_dir, f"evidence upload failed: {exc}")
        return str(exc)
    return None


def _read_state(run_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((run_dir / _MIRROR_STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_state(run_dir: Path, state: dict[str, Any]) -> None:
    tmp = run_dir / f".{_MIRROR_STATE}.tmp"
    tmp.write_text(json.dumps(state), encoding="utf-8")
    os.replace(tmp, run_dir / _MIRROR_STATE)
