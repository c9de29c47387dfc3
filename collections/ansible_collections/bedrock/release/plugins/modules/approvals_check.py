#!/usr/bin/python
"""Ansible module: check the four signed pre-deployment approvals of a release."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: approvals_check
short_description: Check the CTO, Security, Operations and Product Owner approvals of a release
description:
  - Loads every C(*.json) approval record in C(approvals_dir) and checks them with
    C(bedrock_release.release.approvals.check_approval_files) against the trusted Ed25519 keys in
    C(trusted_keys_dir) (C(<role>.pub)) for C(release), now.
  - Go only if each of the four roles has exactly one valid, signed, current approval for the release
    and for the deployment plan's text (the SHA-256 of C(plan_path)); otherwise no-go naming each
    problem (missing, expired, wrong release, wrong plan with both digests, bad signature, unknown key,
    duplicated, malformed). Journaled as C(approvals_checked). Never fails by itself; the role asserts.
options:
  approvals_dir:
    description: Folder of approval records (C(<evidence>/approvals)).
    type: path
    required: true
  trusted_keys_dir:
    description: Folder of trusted public keys (C(<role>.pub)).
    type: path
    required: true
  release:
    description: The release the approvals must be bound to.
    type: str
    required: true
  plan_path:
    description: The deployment plan (C(docs/deployment-plan.md)) whose SHA-256 every approval must bind.
    type: path
    required: true
  clock_skew_s:
    description: Tolerated clock skew for C(issued_at) in the future.
    type: float
    default: 60
  run_dir:
    description: Run folder whose journal records the check.
    type: path
author: Release Team
"""

EXAMPLES = r"""
- name: Four approvals authorise release 1.1.0
  bedrock.release.approvals_check:
    approvals_dir: runs/releases/1.1.0/evidence/approvals
    trusted_keys_dir: runs/sandbox/keys/trusted
    release: 1.1.0
    plan_path: docs/deployment-plan.md
    run_dir: "{{ release_run.run_dir }}"
  register: __approvals_check
"""

RETURN = r"""
verdict:
  description: go or no-go.
  returned: always
  type: str
approved:
  description: Roles whose approval is valid.
  returned: always
  type: list
problems:
  description: One line per problem, naming the role and the file.
  returned: always
  type: list
plan_sha256:
  description: SHA-256 of the deployment plan the approvals were checked against.
  returned: always
  type: str
summary:
  description: One line for the go/no-go reason.
  returned: always
  type: str
"""

from datetime import UTC, datetime
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import (
    journal_of,
    require_library,
)

try:
    from bedrock_release.gates.verdict import Comparison, GateResult, Verdict, Window
    from bedrock_release.plan import plan_sha256
    from bedrock_release.release.approvals import check_approval_files, load_trusted_keys
except ImportError:
    check_approval_files = None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "approvals_dir": {"type": "path", "required": True},
            "trusted_keys_dir": {"type": "path", "required": True},
            "release": {"type": "str", "required": True},
            "plan_path": {"type": "path", "required": True},
            "clock_skew_s": {"type": "float", "default": 60},
            "run_dir": {"type": "path"},
        },
        supports_check_mode=True,
    )
    require_library(module)
    p = module.params
    files = sorted(Path(p["approvals_dir"]).glob("*.json"))
    try:
        keys = load_trusted_keys(p["trusted_keys_dir"]) if Path(p["trusted_keys_dir"]).is_dir() else {}
    except ValueError as exc:
        module.fail_json(msg=f"trusted keys: {exc}")
    try:
        plan_digest = plan_sha256(p["plan_path"])
    except OSError as exc:
        module.fail_json(msg=f"plan_path = {p['plan_path']!r}: the deployment plan cannot be read: {exc}")
    verdict = check_approval_files(
        files,
        keys,
        p["release"],
        datetime.now(UTC),
        plan_sha256=plan_digest,
        clock_skew_s=p["clock_skew_s"],
    )
    problems = [str(problem) for problem in verdict.problems]
    if not keys:
        problems.insert(0, f"no trusted keys in {p['trusted_keys_dir']}")
    go = verdict.ok and bool(keys)
    summary = verdict.summary() if keys else f"release {p['release']}: no-go: " + "; ".join(problems)
    if p["run_dir"] and not module.check_mode:
        journal = journal_of(p["run_dir"])
        journal.record(
            "approvals_checked",
            {
                "verdict": "go" if go else "no-go",
                "problems": problems,
                "approved": list(verdict.approved),
                "files": [str(f) for f in files],
                "plan": p["plan_path"],
                "plan_sha256": plan_digest,
            },
        )
        gate = GateResult(
            name="pre-deployment-approvals",
            verdict=Verdict.PASS if go else Verdict.FAIL,
            value=float(len(verdict.approved)),
            threshold=4.0,
            unit="valid approvals",
            comparison=Comparison.AT_LEAST,
            samples=len(files),
            min_samples=4 if go else 0,
            window=Window(f"approval records in {p['approvals_dir']}", None),
            source=(
                f"{p['approvals_dir']} against keys in {p['trusted_keys_dir']} "
                f"and plan {p['plan_path']} sha256:{plan_digest}"
            ),
            reasons=tuple(problems),
        )
        journal.record("gate_evaluated", {"phase": 1, "marker": "approvals", "gate": gate.to_dict()})
    module.exit_json(
        changed=False,
        verdict="go" if go else "no-go",
        approved=list(verdict.approved),
        problems=problems,
        plan_sha256=plan_digest,
        summary=summary,
    )


if __name__ == "__main__":
    main()
