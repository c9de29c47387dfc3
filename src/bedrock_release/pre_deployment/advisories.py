"""An offline advisory database (PyPI ``safety-db``) and version matching that fails closed."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

__all__ = [
    "CRITICAL_CVSS",
    "Advisory",
    "AdvisoryDatabase",
    "Match",
    "StaleAdvisoryDatabase",
    "is_critical",
    "load_safety_db",
    "parse_safety_db",
]

#: An advisory at or above this CVSS base score is critical.
CRITICAL_CVSS = 9.0


class StaleAdvisoryDatabase(UserWarning):
    """The offline advisory data is older than the limit: absence of findings proves less."""


@dataclass(frozen=True)
class Advisory:
    """One advisory: the package, the affected version ranges, and its severity if the DB has one."""

    id: str
    package: str
    specs: tuple[str, ...]
    cve: str | None
    summary: str
    cvss: float | None = None


def is_critical(advisory: Advisory) -> bool:
    """CVSS >= 9 is critical; without a severity every matching advisory is critical (fail closed)."""
    return advisory.cvss is None or advisory.cvss >= CRITICAL_CVSS


@dataclass(frozen=True)
class Match:
    """An installed version an advisory applies to, and why (a spec, or a spec nobody could read)."""

    advisory: Advisory
    version: str
    reason: str


@dataclass(frozen=True)
class AdvisoryDatabase:
    """Advisories by canonical package name, with the database's name, version and date."""

    name: str
    version: str
    date: datetime
    advisories: Mapping[str, tuple[Advisory, ...]]
    source: str

    def age_days(self, now: datetime) -> int:
        """Return how many whole days old the data is."""
        return max(0, (now - self.date).days)

    def matches(self, package: str, version: str) -> tuple[Match, ...]:
        """Return every advisory that applies to this version; unreadable versions or specs match."""
        advisories = self.advisories.get(canonicalize_name(package), ())
        if not advisories:
            return ()
        try:
            parsed: Version | None = Version(version)
        except InvalidVersion:
            parsed = None
        out = []
        for advisory in advisories:
            if parsed is None:
                out.append(
                    Match(advisory, version, f"version {version!r} cannot be compared: assumed affected")
                )
                continue
            for spec in advisory.specs:
                try:
                    hit = SpecifierSet(spec).contains(parsed, prereleases=True)
                except InvalidSpecifier:
                    out.append(Match(advisory, version, f"spec {spec!r} cannot be read: assumed affected"))
                    break
                if hit:
                    out.append(Match(advisory, version, f"{version} is in {spec}"))
                    break
        return tuple(out)


def parse_safety_db(data: Any, *, version: str, source: str) -> AdvisoryDatabase:
    """Parse safety-db's ``insecure_full.json`` ({package: [{id, specs, cve, advisory}], $meta})."""
    if not isinstance(data, dict) or not isinstance(data.get("$meta"), dict):
        raise ValueError(f"{source}: not a safety-db file (no $meta)")
    timestamp = data["$meta"].get("timestamp")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise ValueError(f"{source}: $meta.timestamp must be a Unix time, got {timestamp!r}")
    advisories: dict[str, tuple[Advisory, ...]] = {}
    for package, entries in data.items():
        if package == "$meta":
            continue
        if not isinstance(entries, list):
            raise ValueError(f"{source}: {package}: expected a list of advisories")
        parsed = []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("specs"), list):
                raise ValueError(f"{source}: {package}: advisory without specs: {entry!r}")
            parsed.append(
                Advisory(
                    id=str(entry.get("id") or "unknown"),
                    package=package,
                    specs=tuple(str(spec) for spec in entry["specs"]),
                    cve=entry.get("cve") or None,
                    summary=str(entry.get("advisory") or ""),
                    cvss=None,  # the free safety-db carries no severity
                )
            )
        key = canonicalize_name(package)
        advisories[key] = advisories.get(key, ()) + tuple(parsed)
    return AdvisoryDatabase(
        name="safety-db",
        version=version,
        date=datetime.fromtimestamp(timestamp, UTC),
        advisories=advisories,
        source=source,
    )


def load_safety_db() -> AdvisoryDatabase:
    """Load the installed ``safety-db`` snapshot without importing it (its __init__ reads a relative path)."""
    spec = importlib.util.find_spec("safety_db")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the offline advisory database (PyPI safety-db) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "insecure_full.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return parse_safety_db(data, version=metadata.version("safety-db"), source=str(path))
