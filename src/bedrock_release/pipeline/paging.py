"""Paging on-call: at every no-go of a run, and when automation has run out. SNS, journaled.

Events: ``no_go`` - a run that ends anything but deployed: refused, its preflight failed, a phase
failed (with the no-go at its decision point and the rollback that followed), a watch breach;
``rollback_failed`` - a rollback that itself failed, paged by the rollback role when no caller pages
the run's end (the staging drill). ``no_go_message`` writes the page from the run's journal: what
stopped the run, the rollback and whether it was verified, the traffic state it left, the deploy
lock (released, or handed over to on-call when the rollback could not finish), and the commands a
person runs next.

The page goes to one SNS topic (created if missing; moto in the sandbox, SNS in AWS) with bounded
timeouts, and the journal records ``oncall_paged`` with the event, whom, why, and whether SNS
accepted it. A page that cannot be delivered is recorded as such and never raises: the run still
ends in its known state, and the report and the play's message name on-call as well.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bedrock_release.pipeline.journal import Journal, RunState, read_state
from bedrock_release.plan import ON_CALL, phase

__all__ = ["DEFAULT_TOPIC", "EVENTS", "no_go_message", "page_no_go", "page_oncall"]

#: Why on-call is paged (``oncall_paged.event``).
EVENTS = ("no_go", "rollback_failed")

DEFAULT_TOPIC = "bedrock-release-oncall"
_CONFIG = Config(retries={"total_max_attempts": 2}, connect_timeout=3, read_timeout=5)


_SUBJECTS = {"no_go": "no-go, on-call needed", "rollback_failed": "manual intervention required"}


def page_oncall(
    run_dir: str | os.PathLike[str],
    reason: str,
    *,
    topic: str = DEFAULT_TOPIC,
    region: str,
    endpoint_url: str = "",
    client: Any = None,
    event: str = "rollback_failed",
) -> dict[str, Any]:
    """Publish the page and journal ``oncall_paged``; return the journaled data."""
    if event not in EVENTS:
        raise ValueError(f"event = {event!r}: a page is one of {', '.join(EVENTS)}")
    to = [f"{level}: {person}" for level, person in ON_CALL]
    run_id = Path(run_dir).name
    data: dict[str, Any] = {
        "event": event,
        "to": to,
        "reason": reason,
        "channel": "sns",
        "topic": topic,
        "delivered": False,
    }
    try:
        sns = client or boto3.client(
            "sns",
            region_name=region,
            config=_CONFIG,
            **({"endpoint_url": endpoint_url} if endpoint_url else {}),
        )
        arn = sns.create_topic(Name=topic)["TopicArn"]
        answer = sns.publish(
            TopicArn=arn,
            Subject=f"bedrock-release {run_id}: {_SUBJECTS[event]}"[:100],
            Message=f"run {run_id}: {reason}\non-call: {', '.join(to)}",
        )
        data.update(topic_arn=arn, message_id=answer["MessageId"], delivered=True)
    except (BotoCoreError, ClientError, KeyError) as exc:
        data["error"] = f"{type(exc).__name__}: {exc}"[:500]
    Journal(Path(run_dir) / "audit.jsonl").record("oncall_paged", data)
    return data


def _what_stopped(state: RunState) -> str:
    if state.refused is not None:
        return f"the deploy was refused before anything changed: {state.refused}"
    failed = state.failed_phase
    if failed is not None:
        why = state.phases[failed].reason or "no reason recorded"
        line = f"phase {failed} ({phase(failed).name}) failed: {why}"
        no_go = [dp for dp, d in sorted(state.decisions.items()) if d.get("verdict") == "no-go"]
        if no_go:
            line = f"no-go at decision point {no_go[-1]}; {line}"
        return line
    if state.rollback is not None:
        return f"a rollback was triggered: {state.rollback.trigger}"
    if state.finish_reason:
        return state.finish_reason
    return f"the run ended {state.outcome or 'unfinished'}"


def _lock_sentence(state: RunState) -> str:
    if state.lock_handed_over_to:
        return (
            f"the deploy lock is handed over to {state.lock_handed_over_to}: no deploy starts over this "
            f"state until they release it (bedrock-release lock release --run-id {state.run_id})"
        )
    if state.lock_held:
        return "the deploy lock is still held by this run"
    if state.locked and state.refused is None:
        return "the deploy lock is released"
    return "this run never held the deploy lock"


def _rollback_sentence(state: RunState) -> tuple[str, str]:
    """Return what the rollback did and what a person does next."""
    rb = state.rollback
    run = state.run_id or "<run>"
    if rb is None:
        if state.traffic_moved:
            return "no rollback ran", f"roll it back: make rollback TIER=full RUN={run}"
        return "no rollback was needed: nothing had moved", "nothing to undo; investigate the cause"
    left = f" It left {rb.traffic_left['text']}." if rb.traffic_left else ""
    if not rb.finished:
        return f"the {rb.tier} rollback did not finish.{left}", f"make rollback TIER={rb.tier} RUN={run}"
    if rb.verified:
        return (
            f"the {rb.tier} rollback was verified in {rb.duration_s:g} s.{left}",
            "the previous state serves; investigate the cause before the next deploy",
        )
    release = (
        f"release the deploy lock handed over to you (bedrock-release lock release --run-id {run}), then "
        if state.lock_handed_over_to
        else ""
    )
    return (
        f"the {rb.tier} rollback FAILED: {rb.reason or 'no reason recorded'}.{left}",
        f"{release}finish the rollback by hand: make rollback TIER={rb.tier} RUN={run} "
        f"(= ansible-playbook playbooks/rollback_{rb.tier}.yml -e run_id={run}); "
        "break-glass access available",
    )


def no_go_message(state: RunState, *, lock: str = "", report: str = "") -> str:
    """Return the page of a run that did not deploy: what stopped it, rollback, traffic, lock, next step."""
    rollback, next_step = _rollback_sentence(state)
    lock = lock or _lock_sentence(state)
    parts = [
        f"run {state.run_id} (release {state.release}, {state.environment}) "
        f"ended {state.outcome or 'unfinished'}",
        _what_stopped(state),
        rollback,
        lock,
        f"next: {next_step}",
    ]
    if report:
        parts.append(f"report: {report}")
    return ". ".join(part.rstrip(".") for part in parts) + "."


def page_no_go(
    run_dir: str | os.PathLike[str],
    *,
    topic: str = DEFAULT_TOPIC,
    region: str,
    endpoint_url: str = "",
    lock: str = "",
    report: str = "",
    detail: str = "",
    client: Any = None,
) -> dict[str, Any]:
    """Page on-call about a run's no-go, the message written from its journal; return the journaled data."""
    message = no_go_message(read_state(run_dir), lock=lock, report=report)
    if detail:
        message += f" {detail}"
    return page_oncall(
        run_dir, message, topic=topic, region=region, endpoint_url=endpoint_url, client=client, event="no_go"
    )
