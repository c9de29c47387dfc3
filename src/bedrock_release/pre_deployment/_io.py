"""Strict reading and atomic writing of evidence JSON; field accessors that name the bad field."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from bedrock_release.pre_deployment.errors import EvidenceError

__all__ = [
    "SCHEMA",
    "Fields",
    "canonical_bytes",
    "format_time",
    "read_bytes",
    "read_json_object",
    "sha256_bytes",
    "sha256_file",
    "write_bytes_atomic",
    "write_json_atomic",
]

SCHEMA = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def format_time(moment: datetime) -> str:
    """Return RFC 3339 UTC with seconds and a ``Z``; refuse naive times."""
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def canonical_bytes(obj: Any) -> bytes:
    """Return the canonical JSON form that signatures cover."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_bytes(data: bytes) -> str:
    """Return the SHA-256 hex of bytes."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Return the SHA-256 hex of a file."""
    return sha256_bytes(path.read_bytes())


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Write through a temporary file and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def write_json_atomic(path: Path, obj: Mapping[str, Any]) -> Path:
    """Write a JSON object (indented, trailing newline) atomically."""
    text = json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False, allow_nan=False) + "\n"
    return write_bytes_atomic(path, text.encode("utf-8"))


def read_bytes(path: Path) -> bytes:
    """Return a regular, non-empty file's bytes; raise EvidenceError naming what is wrong."""
    if path.is_symlink():
        raise EvidenceError(path, "is a symbolic link, not a regular file")
    if not path.exists():
        raise EvidenceError(path, "missing")
    if not path.is_file():
        raise EvidenceError(path, "not a regular file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EvidenceError(path, f"unreadable: {exc.strerror or exc}") from None
    if not data.strip():
        raise EvidenceError(path, "empty file")
    return data


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def read_json_object(path: Path, *, kind: str) -> Fields:
    """Read a JSON evidence object of ``kind`` with ``schema`` 1; raise EvidenceError otherwise."""
    data = read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise EvidenceError(path, "not UTF-8 text (wrong format?)") from None
    try:
        obj = json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise EvidenceError(
            path, f"not valid JSON (truncated or corrupt): {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except ValueError as exc:
        raise EvidenceError(path, f"not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise EvidenceError(path, f"expected a JSON object, got {type(obj).__name__} (wrong format)")
    fields = Fields(path, obj)
    if obj.get("kind") != kind:
        fields.fail("kind", f"expected {kind!r}, got {obj.get('kind')!r}: not a {kind} file")
    if obj.get("schema") != SCHEMA or isinstance(obj.get("schema"), bool):
        fields.fail("schema", f"expected {SCHEMA}, got {obj.get('schema')!r}")
    return fields


class Fields:
    """Typed access to a decoded JSON object; every failure names the file and the field."""

    def __init__(self, path: Path, obj: Mapping[str, Any], prefix: str = "") -> None:
        self.path, self.obj, self.prefix = path, obj, prefix

    def fail(self, field: str, problem: str) -> NoReturn:
        """Raise EvidenceError for one field."""
        raise EvidenceError(self.path, f"field {self.prefix}{field}: {problem}")

    def _get(self, name: str) -> Any:
        if name not in self.obj:
            self.fail(name, "missing")
        return self.obj[name]

    def text(self, name: str) -> str:
        """A non-empty string."""
        value = self._get(name)
        if not isinstance(value, str) or not value.strip():
            self.fail(name, f"must be a non-empty string, got {value!r}")
        return value

    def optional_text(self, name: str) -> str | None:
        """A non-empty string or null."""
        return None if self.obj.get(name) is None else self.text(name)

    def flag(self, name: str) -> bool:
        """A JSON boolean."""
        value = self._get(name)
        if not isinstance(value, bool):
            self.fail(name, f"must be true or false, got {value!r}")
        return value

    def whole(self, name: str, *, minimum: int = 0) -> int:
        """A whole number at least ``minimum`` (booleans are not numbers)."""
        value = self._get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, f"must be a whole number, got {value!r}")
        if value < minimum:
            self.fail(name, f"must be at least {minimum}, got {value}")
        return value

    def number(self, name: str, *, minimum: float | None = 0.0) -> float:
        """A finite number at least ``minimum``."""
        value = self._get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.fail(name, f"must be a finite number, got {value!r}")
        if minimum is not None and value < minimum:
            self.fail(name, f"must be at least {minimum:g}, got {value!r}")
        return float(value)

    def sha256(self, name: str) -> str:
        """A SHA-256 as 64 lower-case hex digits."""
        value = self._get(name)
        if not isinstance(value, str) or not _SHA256.match(value):
            self.fail(name, f"must be a SHA-256 (64 lower-case hex digits), got {value!r}")
        return value

    def time(self, name: str) -> datetime:
        """An RFC 3339 time with a timezone."""
        value = self.text(name)
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            self.fail(name, f"not an RFC 3339 time: {value!r}")
        if moment.tzinfo is None:
            self.fail(name, f"time without a timezone: {value!r}")
        return moment

    def nested(self, name: str) -> Fields:
        """A nested JSON object."""
        value = self._get(name)
        if not isinstance(value, dict):
            self.fail(name, f"must be an object, got {type(value).__name__}")
        return Fields(self.path, value, f"{self.prefix}{name}.")

    def items(self, name: str, *, min_items: int = 0) -> list[Any]:
        """A JSON array of at least ``min_items`` items."""
        value = self._get(name)
        if not isinstance(value, list):
            self.fail(name, f"must be a list, got {type(value).__name__}")
        if len(value) < min_items:
            self.fail(name, f"must have at least {min_items} item(s), got {len(value)}")
        return value

    def item(self, name: str, index: int) -> Fields:
        """The object at ``index`` of the list ``name``."""
        value = self.obj[name][index]
        if not isinstance(value, dict):
            self.fail(f"{name}[{index}]", f"must be an object, got {type(value).__name__}")
        return Fields(self.path, value, f"{self.prefix}{name}[{index}].")

    def release(self, expected: str) -> str:
        """The ``release`` field, which must be the release under deployment."""
        value = self.text("release")
        if value != expected:
            self.fail("release", f"evidence of release {value}, not of {expected} (wrong release)")
        return value

    def artifact(self, expected: str) -> str:
        """The ``artifact_sha256`` field, which must be the artifact under deployment."""
        value = self.sha256("artifact_sha256")
        if value != expected:
            self.fail(
                "artifact_sha256",
                f"covers artifact {value[:12]}..., not the release artifact {expected[:12]}... "
                "(rebuilt or another artifact)",
            )
        return value
