"""The service's own record of what it did, read as production has it: the audit trail of every host,
through each host's ``GET /admin/audit`` (docs/contracts.md "Fleet": a slot is a group of hosts).

The checks read the outbound MCP tool calls (``mcp.tool_call``) and the support operations
(``support.operation``) from here; a host that does not answer makes the read fail, never shrink.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests

from bedrock_release.suite.admin_apis import AdminApiError, ServiceAdmin
from bedrock_release.suite.journal import parse_ts
from bedrock_release.suite.target import Target

__all__ = ["AuditRead", "HostRecord", "ServiceAuditError", "read_service_audit"]

_PAGE = 1000


class ServiceAuditError(RuntimeError):
    """A host's audit trail could not be read; names the host and why."""


@dataclass(frozen=True)
class HostRecord:
    """One audit record and the host whose trail holds it."""

    slot: str
    host: str
    seq: int
    ts: datetime
    action: str
    data: dict[str, Any]


@dataclass(frozen=True)
class AuditRead:
    """The records of some actions from every host of some slots."""

    records: tuple[HostRecord, ...]
    hosts: dict[str, dict[str, str]]

    @property
    def source(self) -> str:
        """Where the records come from, for evidence."""
        urls = [f"{url}/admin/audit" for hosts in self.hosts.values() for url in hosts.values()]
        return "the service's audit trail, " + ", ".join(urls)

    def of(self, action: str, operation_ids: Iterable[str] | None = None) -> list[HostRecord]:
        """The records of an action, only those of the operations given (all when None)."""
        ids = None if operation_ids is None else set(operation_ids)
        return [
            r
            for r in self.records
            if r.action == action and (ids is None or str(r.data.get("operation_id")) in ids)
        ]


def _host_records(admin: ServiceAdmin, slot: str, host: str, actions: frozenset[str]) -> list[HostRecord]:
    out: list[HostRecord] = []
    after = -1
    while True:
        try:
            page = admin.audit_page(after, _PAGE)
        except AdminApiError as exc:
            raise ServiceAuditError(f"{slot}/{host}: {exc}") from None
        for raw in page:
            if raw.get("action") in actions:
                out.append(
                    HostRecord(
                        slot, host, int(raw["seq"]), parse_ts(str(raw["ts"])), str(raw["action"]), raw["data"]
                    )
                )
        if len(page) < _PAGE:
            return out
        after = int(page[-1]["seq"])


def read_service_audit(
    session: requests.Session,
    target: Target,
    token: str,
    slots: Sequence[str],
    *,
    actions: Iterable[str],
    since: datetime | None = None,
) -> AuditRead:
    """The records of ``actions`` (from ``since`` on) in the trail of every host of every slot given."""
    wanted = frozenset(actions)
    hosts = {slot: target.endpoints.hosts_of(slot) for slot in slots}
    empty = [slot for slot, members in hosts.items() if not members]
    if empty:
        raise ServiceAuditError(f"slots {empty} have no host reachable from the runner")
    records = [
        record
        for slot, members in hosts.items()
        for host, url in members.items()
        for record in _host_records(ServiceAdmin(session, url, token), slot, host, wanted)
        if since is None or record.ts >= since
    ]
    return AuditRead(tuple(records), hosts)
