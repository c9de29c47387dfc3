"""Fakes and builders shared by the support service's unit tests.

Fakes stand at the client boundaries: a Bedrock Runtime client object (``converse``), an in-process
MCP server built with the real mcp SDK (so the real MCPRouter and SDK client run), and a minimal SSM
paginator. Tests that need real AWS wire traffic use moto servers on ephemeral 127.0.0.1 ports.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from support_service.flags import FLAG_NAMES
from support_service.service import SupportService, build_service
from support_service.settings import Settings

ADMIN_TOKEN = "test-admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
FLAGS_PATH = "/bedrock-support/test/flags"


class ManualClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingBedrock:
    """A bedrock-runtime client double: records every converse call, answers or raises as told."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.error: Exception | None = None
        self.usage = (120, 80)

    def converse(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error
        return {
            "output": {"message": {"role": "assistant", "content": [{"text": "direct answer"}]}},
            "usage": {
                "inputTokens": self.usage[0],
                "outputTokens": self.usage[1],
                "totalTokens": sum(self.usage),
            },
            "stopReason": "end_turn",
            "metrics": {"latencyMs": 5},
        }

    def texts(self) -> list[str]:
        """Every text sent to the model (system prompt and messages)."""
        out = []
        for call in self.calls:
            out += [block["text"] for block in call.get("system", [])]
            for message in call["messages"]:
                out += [block["text"] for block in message["content"]]
        return out


def client_error(code: str, status: int = 400) -> ClientError:
    """A botocore ClientError as boto3 raises it for a modelled Bedrock error."""
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Converse"
    )


@dataclass
class SupportTools:
    """An in-process MCP support server that records what reached it."""

    server: MCPServer
    received: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    fail_with: str | None = None


def make_support_tools() -> SupportTools:
    """The three support tools, answering from their arguments."""
    tools = SupportTools(server=MCPServer(name="test-support", log_level="WARNING"))

    def seen(tool: str, **arguments: str) -> None:
        tools.received.append((tool, arguments))
        if tools.fail_with:
            raise ToolError(tools.fail_with)

    @tools.server.tool()
    def search_knowledge(query: str) -> str:
        """Search."""
        seen("search_knowledge", query=query)
        return f"kb answer to: {query}"

    @tools.server.tool()
    def diagnose_implementation_gap(description: str) -> str:
        """Diagnose."""
        seen("diagnose_implementation_gap", description=description)
        return f"diagnosis of: {description}"

    @tools.server.tool()
    def lookup_ticket(ticket_id: str) -> str:
        """Ticket."""
        seen("lookup_ticket", ticket_id=ticket_id)
        return f"ticket {ticket_id}: open"

    return tools


class FakeSSM:
    """Just enough of an SSM client for the flag poller: a paginator over a dict, or an outage."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.down = False

    def set(self, **flags: bool) -> None:
        """Set flags by short name, e.g. ``bedrock_support_mode=True``."""
        for short, value in flags.items():
            self.values[f"ENABLE_{short.upper()}"] = "true" if value else "false"

    def all(self, value: bool) -> None:
        """Set all five flags."""
        self.values = dict.fromkeys(FLAG_NAMES, "true" if value else "false")

    def get_paginator(self, name: str) -> Any:
        assert name == "get_parameters_by_path"
        outer = self

        class _Paginator:
            def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
                if outer.down:
                    raise ConnectionError("flag store down")
                path = kwargs["Path"]
                yield {"Parameters": [{"Name": f"{path}/{k}", "Value": v} for k, v in outer.values.items()]}

        return _Paginator()


@dataclass
class Harness:
    """A service with its fakes."""

    service: SupportService
    bedrock: RecordingBedrock
    tools: SupportTools
    ssm: FakeSSM
    clock: ManualClock
    audit_path: Path

    def flags(self, **flags: bool) -> None:
        """Set flags in the fake store and poll once."""
        self.ssm.values = {}
        self.ssm.set(**flags)
        self.service.flags.refresh()

    def audit(self) -> list[dict[str, Any]]:
        """All audit records written so far."""
        return [json.loads(line) for line in self.audit_path.read_text().splitlines()]


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for tests: no CloudWatch, auto-activated, fast polling, a temp audit log."""
    values: dict[str, Any] = {
        "admin_token": ADMIN_TOKEN,
        "release": "1.1.0",
        "slot": "green",
        "audit_log": tmp_path / "audit.jsonl",
        "cloudwatch_namespace": "",
        "auto_activate": True,
        "flags_path": FLAGS_PATH,
        "flags_poll_interval_s": 3600.0,  # tests poll by hand with refresh()
        "bedrock_max_attempts": 1,
    }
    values.update(overrides)
    return Settings(**values)


def make_harness(tmp_path: Path, **overrides: Any) -> Harness:
    """Build a service around fresh fakes."""
    settings = make_settings(tmp_path, **overrides)
    bedrock, tools, ssm, clock = RecordingBedrock(), make_support_tools(), FakeSSM(), ManualClock()
    service = build_service(
        settings,
        bedrock_client=bedrock,
        mcp_server=tools.server,
        ssm_client=ssm,
        clock=clock,
        rng=random.Random(7),  # noqa: S311 - drill sampling, not security
    )
    return Harness(service, bedrock, tools, ssm, clock, settings.audit_log)


def operation(
    kind: str = "routine", query: str = "how do I rotate keys?", region: str = "eu-central-1"
) -> dict:
    """A request body."""
    return {"type": kind, "query": query, "customer_region": region}
