#!/usr/bin/python
"""Ansible module: start, resume, load or finish a deploy run (runs/<run-id>/)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_context
short_description: Start, resume, load or finish a deploy run
description:
  - C(action=start) creates C(runs/<run-id>/) with the journal (C(run_started)) and C(target.json),
    then admits the run (takes the deploy lock, points C(runs/latest) at it) or refuses it (lock held,
    an earlier run interrupted, release not built, traffic split, release already live), recording the
    refusal so a report can be written. With C(resume_run) it resumes that interrupted run instead.
  - C(action=load) returns an existing run (C(run_id) or C(runs/latest)).
  - C(action=finish) records C(run_finished) once and releases the deploy lock the run holds.
  - C(action=lock) takes the deploy lock for an existing run (a rollback by hand); a stale lock of the
    same run is taken over (audited), a lock held by a live process or another run is refused.
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
except ImportError:
    runs = None


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
                ("releases_dir", "release", "environment", "time_scale", "weights", "slot_releases"),
            ),
            ("action", "finish", ("outcome",)),
            ("action", "failed", ("release", "environment", "time_scale")),
        ],
    )
    require_library(module)
    p = module.params
    runs_dir = Path(p["runs_dir"])
    try:
        if p["action"] == "load":
            module.exit_json(
                changed=False, run=runs.load_run(runs_dir, p["run_id"]), refused=False, message="loaded"
            )
        if p["action"] == "finish":
            run = runs.finish_run(runs_dir, p["run_id"], p["outcome"], p["reason"], again=p["again"])
            module.exit_json(changed=True, run=run, refused=False, message=f"run finished: {p['outcome']}")
        if p["action"] == "lock":
            ok, message, run = runs.lock_run(runs_dir, p["run_id"], p["reason"] or "rollback by hand")
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
                target=p["target"],
                fault=p["fault"],
                resume_run=p["resume_run"],
            )
        )
    except (runs.RunError, ValueError, OSError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=result.changed, run=result.run, refused=result.refused, message=result.message)


if __name__ == "__main__":
    main()
