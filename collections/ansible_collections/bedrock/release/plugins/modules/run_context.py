#!/usr/bin/python
"""Ansible module: start, resume, load or finish a deploy run (runs/<run-id>/)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_context
short_description: Start, resume, load or finish a deploy run
description:
  - C(action=start) creates C(runs/<run-id>/) with the journal (C(run_started)) and C(target.json),
    then admits the run (takes the shared deploy lock in DynamoDB, starts its heartbeat, points
    C(runs/latest) and the state bucket's C(latest.json) at it) or refuses it (state bucket or lock table
    not answering, lock held, an earlier run interrupted, release not built, traffic split, release
    already live), recording the refusal so a report can be written. With C(resume_run) it resumes that
    interrupted run instead, fetched from the state bucket when another controller started it.
  - C(action=load) returns an existing run (C(run_id) or the latest), fetched from the state bucket
    when it is not on this controller.
  - C(action=finish) records C(run_finished) once and releases the deploy lock the run holds.
  - C(action=lock) takes the deploy lock for an existing run (a rollback by hand, the watchdog's); a
    stale lock of the same run is taken over in one conditional write (audited), an expired one only
    with C(watchdog); a lock held by a live holder or another run is refused.
  - C(action=failed) records a new run whose preflight failed before it was admitted (outcome failed).
  - Logic in C(bedrock_release.pipeline.run).
options:
  action:
    description: What to do.
    type: str
    choices: [start, load, finish, failed, lock]
    required: true
  runs_dir:
    description: The runtime folder (C(runs/)).
    type: path
    required: true
  releases_dir:
    description: Built release artifacts (C(runs/releases)); start only.
    type: path
  release:
    description: Release under deployment (start).
    type: str
  environment:
    description: local, staging or production (start).
    type: str
  time_scale:
    description: Time scale of every wait of the plan (start).
    type: float
  weights:
    description: Live traffic weights C({blue, green}) read from the load balancer (start).
    type: dict
  slot_releases:
    description: Live release of each slot as its C(/version) reports it (start).
    type: dict
  shared_state:
    description:
      - The shared lock and state (C(release_shared_state)) - lock_table, bucket, region, endpoint_url,
        heartbeat_s, expiry_s, sandbox. Required for start; load and lock use it to fetch a run that is
        not on this controller.
    type: dict
  watchdog:
    description: C(action=lock) for the watchdog - only an expired lock is taken over, as C(watchdog@host).
    type: bool
    default: false
  target:
    description: Remaining fields of target.json (endpoints, regions, flags path, ...).
    type: dict
    default: {}
  fault:
    description: Sandbox drill name, empty for none.
    type: str
    default: ""
  resume_run:
    description: Run id of an interrupted run to resume.
    type: str
    default: ""
  run_id:
    description: Run to load or finish; empty means C(runs/latest).
    type: str
    default: ""
  outcome:
    description: Outcome for C(action=finish).
    type: str
    choices: [deployed, rolled_back, no_go, failed]
  reason:
    description: Why the run finished so.
    type: str
    default: ""
  again:
    description: Record run_finished even if the run already finished (a rollback by hand of a finished run).
    type: bool
    default: false
author: Release Team
"""

EXAMPLES = r"""
- name: Deploy run exists and holds the deploy lock
  bedrock.release.run_context:
    action: start
    runs_dir: "{{ deploy_run_runs_dir }}"
    releases_dir: "{{ deploy_run_releases_dir }}"
    release: "{{ deploy_run_release }}"
    environment: local
    time_scale: 0.05
    weights: {blue: 100, green: 0}
    slot_releases: {blue: 1.0.0, green: 1.0.0}
  register: __deploy_run_start
"""

RETURN = r"""
run:
  description: The run (run_id, run_dir, journal, target_file, release, previous_release, slots, state).
  returned: always
  type: dict
refused:
  description: Whether the run was refused (start); the message says why and what to do.
  returned: always
  type: bool
message:
  description: One line about what happened.
  returned: always
  type: str
"""

from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import require_library

try:
    from bedrock_release.pipeline import run as runs
    from bedrock_release.pipeline.shared_state import SharedState
except ImportError:
    runs = SharedState = None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "action": {
                "type": "str",
                "choices": ["start", "load", "finish", "failed", "lock"],
                "required": True,
            },
            "runs_dir": {"type": "path", "required": True},
            "releases_dir": {"type": "path"},
            "release": {"type": "str"},
            "environment": {"type": "str"},
            "time_scale": {"type": "float"},
            "weights": {"type": "dict"},
            "slot_releases": {"type": "dict"},
            "shared_state": {"type": "dict"},
            "watchdog": {"type": "bool", "default": False},
            "target": {"type": "dict", "default": {}},
            "fault": {"type": "str", "default": ""},
            "resume_run": {"type": "str", "default": ""},
            "run_id": {"type": "str", "default": ""},
            "outcome": {"type": "str", "choices": ["deployed", "rolled_back", "no_go", "failed"]},
            "reason": {"type": "str", "default": ""},
            "again": {"type": "bool", "default": False},
        },
        required_if=[
            (
                "action",
                "start",
                (
                    "releases_dir",
                    "release",
                    "environment",
                    "time_scale",
                    "weights",
                    "slot_releases",
                    "shared_state",
                ),
            ),
            ("action", "finish", ("outcome",)),
            ("action", "failed", ("release", "environment", "time_scale")),
        ],
    )
    require_library(module)
    p = module.params
    runs_dir = Path(p["runs_dir"])
    try:
        shared = SharedState.from_mapping(p["shared_state"], "shared_state") if p["shared_state"] else None
        if p["action"] == "load":
            run = runs.load_run(runs_dir, p["run_id"], shared=shared)
            module.exit_json(changed=False, run=run, refused=False, message="loaded")
        if p["action"] == "finish":
            run = runs.finish_run(runs_dir, p["run_id"], p["outcome"], p["reason"], again=p["again"])
            module.exit_json(changed=True, run=run, refused=False, message=f"run finished: {p['outcome']}")
        if p["action"] == "lock":
            ok, message, run = runs.lock_run(
                runs_dir,
                p["run_id"],
                p["reason"] or "rollback by hand",
                shared=shared,
                watchdog=p["watchdog"],
            )
            module.exit_json(changed=ok, run=run, refused=not ok, message=message)
        if p["action"] == "failed":
            run = runs.record_failed_preflight(
                runs_dir,
                release=p["release"],
                environment=p["environment"],
                time_scale=p["time_scale"],
                fault=p["fault"],
                reason=p["reason"],
            )
            module.exit_json(changed=True, run=run, refused=True, message=p["reason"])
        result = runs.start_run(
            runs.StartRequest(
                runs_dir=runs_dir,
                releases_dir=Path(p["releases_dir"]),
                release=p["release"],
                environment=p["environment"],
                time_scale=p["time_scale"],
                weights=p["weights"],
                slot_releases=p["slot_releases"],
                shared=shared,
                target=p["target"],
                fault=p["fault"],
                resume_run=p["resume_run"],
            )
        )
    except (RuntimeError, ValueError, OSError) as exc:  # RunError, the lock and bucket errors
        module.fail_json(msg=str(exc))
    module.exit_json(changed=result.changed, run=result.run, refused=result.refused, message=result.message)


if __name__ == "__main__":
    main()
