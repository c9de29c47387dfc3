"""Support tickets the lookup tool knows (no personal data: customers are account ids)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

__all__ = ["TICKETS", "TICKET_ID", "Ticket"]

TICKET_ID = re.compile(r"^SUP-\d{4,6}$")


class Ticket(BaseModel):
    """One support ticket."""

    id: str
    title: str
    status: Literal["open", "pending", "resolved"]
    priority: Literal["p1", "p2", "p3", "p4"]
    account: str
    customer_region: str
    summary: str


TICKETS: dict[str, Ticket] = {
    t.id: t
    for t in (
        Ticket(
            id="SUP-1001",
            title="Bedrock calls throttled at peak",
            status="open",
            priority="p2",
            account="acct-4821",
            customer_region="eu-central-1",
            summary="ThrottlingException on about 4% of requests between 09:00 and 10:00 UTC.",
        ),
        Ticket(
            id="SUP-1002",
            title="Answers take over 10 seconds",
            status="pending",
            priority="p3",
            account="acct-1177",
            customer_region="eu-west-1",
            summary="Generation latency p95 above 10 s; client read timeout set to 60 s.",
        ),
        Ticket(
            id="SUP-1003",
            title="AccessDenied after role rotation",
            status="resolved",
            priority="p1",
            account="acct-9034",
            customer_region="eu-west-3",
            summary="New role lacked bedrock:InvokeModel; fixed by updating the policy.",
        ),
        Ticket(
            id="SUP-1004",
            title="Cached answers outdated",
            status="open",
            priority="p4",
            account="acct-3310",
            customer_region="eu-north-1",
            summary="Stale answers served for a day after a knowledge-base update; TTL too long.",
        ),
        Ticket(
            id="SUP-1005",
            title="Prompt contained customer e-mail",
            status="resolved",
            priority="p1",
            account="acct-7702",
            customer_region="eu-central-1",
            summary="Redaction missed an address in a signature block; redaction rule extended.",
        ),
    )
}
