"""The run's target description (docs/contracts.md, target.json) as a frozen dataclass.

Read from ``runs/<run-id>/target.json`` (written by the playbook) or built from an inventory's
group_vars when the suite is run by hand. Endpoints that are ``null`` are not reachable from the
runner (an AWS environment has no emulator): steps that need them are inconclusive there.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bedrock_release.inventory_validation import SEMVER
from bedrock_release.load.runner import DEFAULT_WORKERS

__all__ = [
    "DEFAULT_BEDROCK_MODEL_ID",
    "SLOT_NAMES",
    "Endpoints",
    "Target",
    "TargetError",
    "load_target",
    "release_manifest",
    "target_from_inventory",
]

SLOT_NAMES = ("blue", "green")
DEFAULT_BEDROCK_MODEL_ID = "anthropic.claude-3-5-sonnet-20240620-v1:0"
_SCHEMA = 1


class TargetError(ValueError):
    """A target description that cannot be used; names the file (or inventory) and the problem."""

    def __init__(self, source: str, problem: str) -> None:
        self.source, self.problem = source, problem
        super().__init__(f"{source}: {problem}")


@dataclass(frozen=True)
class Endpoints:
    """Base URLs of what the suite talks to; None means not reachable from the runner."""

    traffic: str | None
    slots: Mapping[str, str | None]
    mcp: str | None
    bedrock: str | None
    aws: str | None
    traffic_admin: str | None = None
    # slot -> host name -> that host's own base URL (docs/contracts.md "Fleet"); every per-host read uses it.
    hosts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def slot(self, name: str) -> str | None:
        """Return the base URL of one slot, None when unknown or unreachable."""
        return self.slots.get(name)

    def hosts_of(self, slot: str) -> dict[str, str]:
        """Return {host name: base URL} of every host of a slot; a slot without hosts is its one URL."""
        hosts = dict(self.hosts.get(slot) or {})
        if not hosts and self.slots.get(slot):
            hosts = {slot: str(self.slots[slot])}
        return hosts

    def to_dict(self) -> dict[str, Any]:
        """Return the endpoints in target.json's shape."""
        return {
            "traffic": self.traffic,
            "traffic_admin": self.traffic_admin,
            "slots": dict(self.slots),
            "hosts": {slot: dict(hosts) for slot, hosts in self.hosts.items()},
            "mcp": self.mcp,
            "bedrock": self.bedrock,
            "aws": self.aws,
        }


@dataclass(frozen=True)
class Target:
    """What the verification suite runs against: one deploy run of one release in one environment."""

    run_id: str
    environment: str
    release: str
    previous_release: str | None
    time_scale: float
    active_slot: str
    idle_slot: str
    endpoints: Endpoints
    aws_region: str
    bedrock_region: str
    flags_path: str
    cloudwatch_namespace: str
    budget_name: str
    results_dir: Path
    journal: Path | None = None
    evidence_dir: Path | None = None
    trusted_keys_dir: Path | None = None
    releases_dir: Path | None = None
    bedrock_model_id: str = DEFAULT_BEDROCK_MODEL_ID
    # CloudWatch Logs group of Bedrock's model invocation logs (in the Bedrock region); None: not set up.
    bedrock_invocation_log_group: str | None = None
    #: locust workers the SLO load runs on (the inventory's load_generators group, target.json "load").
    load_workers: int = DEFAULT_WORKERS
    source: str = "target.json"
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def new_slot(self) -> str:
        """Return the slot the release under deployment was installed on (target.json's idle slot)."""
        return self.idle_slot

    @property
    def previous_slot(self) -> str:
        """Return the slot that served the previous release when the run started."""
        return self.active_slot

    @property
    def is_sandbox(self) -> bool:
        """Return True for the local environment (the sandbox), where moto reports no spend."""
        return self.environment == "local"

    def scaled(self, seconds: float) -> float:
        """Return a plan duration at the run's time scale."""
        return seconds * self.time_scale

    def to_dict(self) -> dict[str, Any]:
        """Return the target in target.json's shape (schema 1)."""
        return {
            "schema": _SCHEMA,
            "run_id": self.run_id,
            "environment": self.environment,
            "release": self.release,
            "previous_release": self.previous_release,
            "time_scale": self.time_scale,
            "slots": {"active": self.active_slot, "idle": self.idle_slot},
            "endpoints": self.endpoints.to_dict(),
            "aws_region": self.aws_region,
            "bedrock_region": self.bedrock_region,
            "bedrock_model_id": self.bedrock_model_id,
            "bedrock_invocation_log_group": self.bedrock_invocation_log_group,
            "flags_path": self.flags_path,
            "cloudwatch_namespace": self.cloudwatch_namespace,
            "budget_name": self.budget_name,
            "results_dir": str(self.results_dir),
            "journal": str(self.journal) if self.journal else None,
            "evidence_dir": str(self.evidence_dir) if self.evidence_dir else None,
            "trusted_keys_dir": str(self.trusted_keys_dir) if self.trusted_keys_dir else None,
            "releases_dir": str(self.releases_dir) if self.releases_dir else None,
            "load": {"workers": self.load_workers},
        }


# --- validation ----------------------------------------------------------------------------------


def _req(data: Mapping[str, Any], key: str, source: str) -> Any:
    if key not in data:
        raise TargetError(source, f"missing {key!r}")
    return data[key]


def _text(data: Mapping[str, Any], key: str, source: str, *, nullable: bool = False) -> str | None:
    value = data.get(key) if nullable else _req(data, key, source)
    if value is None and nullable:
        return None
    if not isinstance(value, str) or not value.strip():
        raise TargetError(source, f"{key!r} must be a non-empty string, got {value!r}")
    return value


def _release(data: Mapping[str, Any], key: str, source: str, *, nullable: bool = False) -> str | None:
    value = _text(data, key, source, nullable=nullable)
    if value is not None and not SEMVER.fullmatch(value):
        raise TargetError(source, f"{key!r} must be a semantic version, got {value!r}")
    return value


def _url(value: Any, what: str, source: str) -> str | None:
    """Return a loopback-or-remote base URL without a trailing slash; None stays None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TargetError(source, f"{what} must be a URL or null, got {value!r}")
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise TargetError(source, f"{what} must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _endpoints(raw: Any, source: str, environment: str) -> Endpoints:
    if not isinstance(raw, Mapping):
        raise TargetError(source, f"'endpoints' must be an object, got {raw!r}")
    slots_raw = raw.get("slots") or {}
    if not isinstance(slots_raw, Mapping):
        raise TargetError(source, f"'endpoints.slots' must be an object, got {slots_raw!r}")
    unknown = sorted(set(slots_raw) - set(SLOT_NAMES))
    if unknown:
        raise TargetError(source, f"'endpoints.slots' has unknown slots {unknown}")
    endpoints = Endpoints(
        hosts=_hosts(raw.get("hosts"), source),
        traffic=_url(raw.get("traffic"), "endpoints.traffic", source),
        traffic_admin=_url(raw.get("traffic_admin"), "endpoints.traffic_admin", source),
        slots={name: _url(slots_raw.get(name), f"endpoints.slots.{name}", source) for name in SLOT_NAMES},
        mcp=_url(raw.get("mcp"), "endpoints.mcp", source),
        bedrock=_url(raw.get("bedrock"), "endpoints.bedrock", source),
        aws=_url(raw.get("aws"), "endpoints.aws", source),
    )
    if environment == "local":
        _loopback_only(endpoints, source)
    return endpoints


def _hosts(raw: Any, source: str) -> dict[str, dict[str, str]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not set(raw) <= set(SLOT_NAMES):
        raise TargetError(source, f"'endpoints.hosts' must map blue and green to their hosts, got {raw!r}")
    hosts: dict[str, dict[str, str]] = {}
    for slot, members in raw.items():
        if not isinstance(members, Mapping) or not members:
            raise TargetError(
                source, f"'endpoints.hosts.{slot}' must map host names to URLs, got {members!r}"
            )
        hosts[slot] = {
            str(name): str(_url(url, f"endpoints.hosts.{slot}.{name}", source))
            for name, url in members.items()
        }
    return hosts


def _loopback_only(endpoints: Endpoints, source: str) -> None:
    # The sandbox binds 127.0.0.1 only; a local target pointing anywhere else is a mistake.
    urls = [endpoints.traffic, endpoints.traffic_admin, endpoints.mcp, endpoints.bedrock, endpoints.aws]
    urls += list(endpoints.slots.values())
    urls += [url for members in endpoints.hosts.values() for url in members.values()]
    for url in filter(None, urls):
        host = urlsplit(url).hostname or ""
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise TargetError(source, f"the local environment may only target 127.0.0.1, got {url}")


def _time_scale(data: Mapping[str, Any], source: str) -> float:
    value = _req(data, "time_scale", source)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TargetError(source, f"'time_scale' must be a number, got {value!r}")
    if not 0 < value <= 1:
        raise TargetError(source, f"'time_scale' must be in (0, 1], got {value!r}")
    return float(value)


def _load_workers(raw: Any, source: str) -> int:
    if raw is None:
        return DEFAULT_WORKERS
    workers = raw.get("workers", DEFAULT_WORKERS) if isinstance(raw, Mapping) else None
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise TargetError(source, f"'load' must be {{\"workers\": an integer >= 1}}, got {raw!r}")
    return workers


def _path(value: Any, what: str, source: str, base: Path) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise TargetError(source, f"{what} must be a path or null, got {value!r}")
    path = Path(value)
    return path if path.is_absolute() else base / path


def parse_target(data: Any, *, source: str, base_dir: Path) -> Target:
    """Validate decoded target.json data; relative paths resolve against base_dir (the repository)."""
    if not isinstance(data, Mapping):
        raise TargetError(source, f"expected a JSON object, got {type(data).__name__}")
    schema = data.get("schema")
    if schema != _SCHEMA:
        raise TargetError(source, f"unsupported schema {schema!r}; this suite reads schema {_SCHEMA}")
    environment = _text(data, "environment", source) or ""
    slots = _req(data, "slots", source)
    if not isinstance(slots, Mapping) or {slots.get("active"), slots.get("idle")} != set(SLOT_NAMES):
        raise TargetError(source, f"'slots' must name active and idle as blue and green, got {slots!r}")
    results_dir = _path(_req(data, "results_dir", source), "'results_dir'", source, base_dir)
    assert results_dir is not None  # noqa: S101 - _req refused a missing value
    return Target(
        run_id=_text(data, "run_id", source) or "",
        environment=environment,
        release=_release(data, "release", source) or "",
        previous_release=_release(data, "previous_release", source, nullable=True),
        time_scale=_time_scale(data, source),
        active_slot=slots["active"],
        idle_slot=slots["idle"],
        endpoints=_endpoints(_req(data, "endpoints", source), source, environment),
        aws_region=_text(data, "aws_region", source) or "",
        bedrock_region=_text(data, "bedrock_region", source) or "",
        flags_path=_text(data, "flags_path", source) or "",
        cloudwatch_namespace=_text(data, "cloudwatch_namespace", source) or "",
        budget_name=_text(data, "budget_name", source) or "",
        results_dir=results_dir,
        journal=_path(data.get("journal"), "'journal'", source, base_dir),
        evidence_dir=_path(data.get("evidence_dir"), "'evidence_dir'", source, base_dir),
        trusted_keys_dir=_path(data.get("trusted_keys_dir"), "'trusted_keys_dir'", source, base_dir),
        releases_dir=_path(data.get("releases_dir"), "'releases_dir'", source, base_dir),
        bedrock_model_id=_text(data, "bedrock_model_id", source, nullable=True) or DEFAULT_BEDROCK_MODEL_ID,
        bedrock_invocation_log_group=_text(data, "bedrock_invocation_log_group", source, nullable=True),
        load_workers=_load_workers(data.get("load"), source),
        source=source,
        extra={k: v for k, v in data.items() if k not in _KNOWN},
    )


_KNOWN = frozenset(
    {
        "schema",
        "run_id",
        "environment",
        "release",
        "previous_release",
        "time_scale",
        "slots",
        "endpoints",
        "aws_region",
        "bedrock_region",
        "bedrock_model_id",
        "bedrock_invocation_log_group",
        "flags_path",
        "cloudwatch_namespace",
        "budget_name",
        "results_dir",
        "journal",
        "evidence_dir",
        "trusted_keys_dir",
        "releases_dir",
        "load",
    }
)


def load_target(path: str | os.PathLike[str], *, base_dir: Path | None = None) -> Target:
    """Read and validate a target.json; TargetError names the file and the problem."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetError(source, f"unreadable: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TargetError(source, f"not JSON ({exc.msg} at line {exc.lineno})") from None
    return parse_target(data, source=source, base_dir=base_dir or Path.cwd())


# --- by hand: from an inventory ------------------------------------------------------------------


def _group_vars(inventory_dir: Path) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    folder = inventory_dir / "group_vars" / "all"
    files = sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml"))
    single = inventory_dir / "group_vars" / "all.yml"
    if single.is_file():
        files.insert(0, single)
    for path in files:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise TargetError(str(path), f"unreadable group_vars: {exc}") from None
        if not isinstance(loaded, Mapping):
            raise TargetError(str(path), "group_vars must be a mapping")
        merged.update(loaded)
    return merged


def _sandbox_endpoints(values: Mapping[str, Any]) -> dict[str, Any] | None:
    ports = {
        key: values.get(f"sandbox_{key}_port")
        for key in ("caddy_proxy", "caddy_admin", "slot_blue", "slot_green", "moto", "emulator", "mcp")
    }
    if any(port is None for port in ports.values()):
        return None
    base = "http://127.0.0.1:{}".format
    return {
        "traffic": base(ports["caddy_proxy"]),
        "traffic_admin": base(ports["caddy_admin"]),
        "slots": {"blue": base(ports["slot_blue"]), "green": base(ports["slot_green"])},
        "mcp": base(ports["mcp"]) + "/mcp",
        "bedrock": base(ports["emulator"]),
        "aws": base(ports["moto"]),
    }


def target_from_inventory(
    repo_root: Path,
    name: str,
    *,
    release: str | None = None,
    previous_release: str | None = None,
    time_scale: float | None = None,
    active_slot: str | None = None,
) -> Target:
    """Build a target from ``inventories/<name>/group_vars`` for a run by hand.

    Endpoints come from ``verification_endpoints`` (target.json's shape) when the inventory sets it,
    else from the sandbox ports (``sandbox_*_port``); an AWS inventory without an emulator has
    ``bedrock: null`` and ``mcp`` only if it sets one. Values the command line gives win.
    """
    inventory_dir = repo_root / "inventories" / name
    source = f"inventory {name} ({inventory_dir})"
    if not inventory_dir.is_dir():
        known = sorted(p.name for p in (repo_root / "inventories").glob("*") if p.is_dir())
        raise TargetError(source, f"no such inventory; known: {', '.join(known) or 'none'}")
    raw = _group_vars(inventory_dir)
    unresolved = sorted(k for k, v in raw.items() if isinstance(v, str) and "{{" in v)
    # Templated values need Ansible to render them; a run by hand falls back to the defaults.
    values = {k: v for k, v in raw.items() if k not in unresolved}
    endpoints = values.get("verification_endpoints") or _sandbox_endpoints(values)
    if endpoints is None:
        endpoints = {"traffic": None, "slots": {}, "mcp": None, "bedrock": None, "aws": None}
    environment = str(values.get("release_environment") or values.get("environment_name") or name)
    if environment not in {"local", "staging", "production"}:
        environment = "local" if values.get("sandbox_caddy_proxy_port") else environment
    active = active_slot or values.get("active_slot") or "blue"
    idle = "green" if active == "blue" else "blue"
    chosen_release = release or values.get("release_version")
    if not chosen_release:
        raise TargetError(source, "no release: pass --release X.Y.Z (or set release_version)")
    scale = (
        time_scale
        if time_scale is not None
        else values.get("release_time_scale", values.get("time_scale", 1.0))
    )
    run_id = f"manual-{chosen_release}"
    data = {
        "schema": _SCHEMA,
        "run_id": run_id,
        "environment": environment,
        "release": chosen_release,
        "previous_release": previous_release or values.get("previous_release"),
        "time_scale": scale,
        "slots": {"active": active, "idle": idle},
        "endpoints": endpoints,
        "aws_region": values.get("aws_region", "eu-central-1"),
        "bedrock_region": values.get("bedrock_region", values.get("sandbox_bedrock_region", "eu-central-1")),
        "bedrock_model_id": values.get("bedrock_model_id"),
        "bedrock_invocation_log_group": values.get("bedrock_invocation_log_group"),
        "flags_path": values.get("flags_path", f"/bedrock-support/{environment}/flags"),
        "cloudwatch_namespace": values.get("cloudwatch_namespace", f"BedrockSupport/{environment}"),
        "budget_name": values.get("budget_name", f"bedrock-support-{environment}"),
        "results_dir": f"runs/{run_id}/results",
        "journal": None,
        "evidence_dir": values.get("pre_deployment_evidence_dir"),
        "trusted_keys_dir": values.get("approvals_trusted_keys_dir"),
    }
    for key in unresolved:
        if key in {"release_version", "flags_path", "budget_name", "cloudwatch_namespace"}:
            raise TargetError(source, f"{key} is a template ({raw[key]!r}); pass the value explicitly")
    target = parse_target(data, source=source, base_dir=repo_root)
    return replace(target, source=source)


def release_manifest(target: Target, release: str | None = None) -> Any:
    """Return a built release's manifest (components, SHA-256); ArtifactError when not built."""
    from bedrock_release.release.artifact import load  # noqa: PLC0415

    folder = target.releases_dir or Path(__file__).resolve().parents[3] / "runs" / "releases"
    return load(release or target.release, folder).manifest
