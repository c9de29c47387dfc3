#!/usr/bin/python
"""Ansible module: run the verification suite for one pipeline step (pytest on a marker expression)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: verification_suite
short_description: Run the verification suite on a marker expression, as docs/contracts.md prescribes
description:
  - Runs C(python -m pytest <test_paths> -m <markers> --target <target.json> --alluredir
    <run>/allure-results --junitxml <run>/junit/<step>.xml --cucumberjson <run>/cucumber/<step>.json)
    from C(project_dir). The suite's admin tokens come from C(secrets_file), read here by path, or
    else from the controller's environment; never through a task argument or C(environment:), which
    Ansible prints at -vvv whatever C(no_log) says.
  - Exit 0 with at least one test is a go; anything else is a no-go, including exit 5 (no tests
    collected) and a timeout. Journals C(verification_step). Never fails by itself; the role asserts.
  - The output goes to C(<run>/results/suite-<step>.log); the result carries its last lines.
options:
  run_dir:
    description: The run folder.
    type: path
    required: true
  step:
    description: Name of this step (file names of its junit and cucumber results).
    type: str
    required: true
  markers:
    description: pytest marker expression (e.g. C(phase3), C(canary), C(flag_window)).
    type: str
    required: true
  phase:
    description: Plan phase the step belongs to.
    type: int
    required: true
  target:
    description: target.json of the run.
    type: path
    required: true
  test_paths:
    description: What pytest collects (the suite is C(tests/features)).
    type: list
    elements: str
    default: [tests/features]
  project_dir:
    description: Repository root (pytest's working directory).
    type: path
    required: true
  python:
    description: Python of the project's virtual environment.
    type: path
    required: true
  timeout_s:
    description: The step is killed (a no-go) after this many seconds.
    type: float
    default: 1800
  secrets_file:
    description:
      - KEY=VALUE file holding SUPPORT_ADMIN_TOKEN and EMULATOR_ADMIN_TOKEN (the sandbox's
        C(secrets.env)); they reach pytest's environment only. Empty - the tokens must already be in
        the controller's environment (exported, as outside the sandbox).
    type: path
    default: ""
author: Release Team
"""

EXAMPLES = r"""
- name: SLO gate scenarios pass
  bedrock.release.verification_suite:
    run_dir: "{{ release_run.run_dir }}"
    step: phase3
    markers: phase3
    phase: 3
    target: "{{ release_run.target_file }}"
    project_dir: "{{ verification_project_dir }}"
    python: "{{ ansible_playbook_python }}"
    secrets_file: "{{ release_secrets_file }}"
  environment: "{{ verification_environment }}"
  no_log: true
  register: __verification_run
"""

RETURN = r"""
pytest_rc:
  description: pytest's exit status (-9 on timeout); not C(rc), which Ansible would read as the task failing.
  returned: always
  type: int
go:
  description: True only for exit 0 with tests run.
  returned: always
  type: bool
verdict:
  description: go or no-go.
  returned: always
  type: str
summary:
  description: tests, passed, failures, errors, skipped and the reason line.
  returned: always
  type: dict
log:
  description: Path of the step's pytest output.
  returned: always
  type: str
tail:
  description: The last lines of that output.
  returned: always
  type: str
"""

from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import (
    journal_of,
    require_library,
)

try:
    from bedrock_release.pipeline.suite_runner import SuiteStep, run_step
    from sandbox.secrets_file import read_secrets
except ImportError:
    run_step = None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "run_dir": {"type": "path", "required": True},
            "step": {"type": "str", "required": True},
            "markers": {"type": "str", "required": True},
            "phase": {"type": "int", "required": True},
            "target": {"type": "path", "required": True},
            "test_paths": {"type": "list", "elements": "str", "default": ["tests/features"]},
            "project_dir": {"type": "path", "required": True},
            "python": {"type": "path", "required": True},
            "timeout_s": {"type": "float", "default": 1800},
            "secrets_file": {"type": "path", "default": ""},
        },
    )
    require_library(module)
    p = module.params
    try:
        step = SuiteStep(
            p["step"], p["markers"], Path(p["target"]), Path(p["run_dir"]), tuple(p["test_paths"])
        )
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    env = {}
    if p["secrets_file"]:
        try:
            env = read_secrets(Path(p["secrets_file"])).as_env()
        except (OSError, ValueError) as exc:
            module.fail_json(msg=f"secrets_file: {exc}")
    result = run_step(step, cwd=Path(p["project_dir"]), env=env, timeout_s=p["timeout_s"], python=p["python"])
    data = result.to_dict()
    data["pytest_rc"] = data.pop("rc")
    journal_of(p["run_dir"]).record(
        "verification_step",
        {
            "phase": p["phase"],
            "step": result.step,
            "marker": result.markers,
            "rc": result.rc,
            "verdict": result.verdict,
            "duration_s": result.duration_s,
            "summary": data["summary"],
            "log": result.log,
        },
    )
    module.exit_json(changed=False, **data)


if __name__ == "__main__":
    main()
