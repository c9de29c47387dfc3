"""The dependency set of a release: its code's imports resolved to installed distributions, transitively."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

__all__ = ["DependencySet", "Package", "imported_modules", "resolve_dependencies"]


@dataclass(frozen=True)
class Package:
    """One installed distribution of the dependency set and what pulled it in."""

    name: str
    version: str
    required_by: tuple[str, ...]


@dataclass(frozen=True)
class DependencySet:
    """The resolved set, plus imports and requirements that resolve to nothing installed."""

    packages: tuple[Package, ...]
    unresolved: tuple[str, ...]


def imported_modules(code_dir: Path, own_packages: Iterable[str]) -> set[str]:
    """Return the top-level modules the code imports, less the standard library and its own packages."""
    own = set(own_packages)
    found: set[str] = set()
    for path in sorted(code_dir.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (SyntaxError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: cannot parse: {exc}") from None
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names and name not in own}


def _distribution(name: str) -> metadata.Distribution | None:
    try:
        return metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None


def resolve_dependencies(
    modules: Iterable[str], *, module_map: Mapping[str, list[str]] | None = None
) -> DependencySet:
    """Resolve imported modules to installed distributions and close over their requirements.

    Requirements are followed when their environment marker holds here (for the extras that
    were asked for), so the set is what this interpreter would load, with exact versions.
    """
    mapping = module_map if module_map is not None else metadata.packages_distributions()
    unresolved: list[str] = []
    pending: list[tuple[str, frozenset[str], str]] = []
    for module in sorted(modules):
        dists = mapping.get(module)
        if not dists:
            unresolved.append(f"import {module}: no installed distribution provides it")
            continue
        pending.extend((dist, frozenset(), f"import {module}") for dist in dists)
    seen_extras: dict[str, set[str]] = {}
    versions: dict[str, str] = {}
    required_by: dict[str, set[str]] = {}
    while pending:
        name, extras, why = pending.pop()
        key = canonicalize_name(name)
        required_by.setdefault(key, set()).add(why)
        done = seen_extras.get(key)
        if done is not None and extras <= done:
            continue
        dist = _distribution(name)
        if dist is None:
            unresolved.append(f"{name} (required by {why}): not installed")
            continue
        versions[key] = dist.version
        seen_extras[key] = (done or set()) | set(extras)
        for line in dist.requires or ():
            try:
                req = Requirement(line)
            except InvalidRequirement:
                unresolved.append(f"{key}: unparseable requirement {line!r}")
                continue
            wanted = {"", *extras}
            if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in wanted):
                continue
            pending.append((req.name, frozenset(req.extras), key))
    packages = tuple(
        Package(name, versions[name], tuple(sorted(required_by[name]))) for name in sorted(versions)
    )
    return DependencySet(packages, tuple(sorted(set(unresolved))))
