#!/usr/bin/python
"""Ansible module: write report.json from the deploy journal."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: deploy_report
short_description: Write runs/<run-id>/report.json as a projection of the deploy journal
description:
  - Folds the journal and writes the report of docs/contracts.md "Report", validated by
    C(bedrock_release.report.model.Report) before it is written (atomically).
  - Safe to call more than once; the last call wins.
  - Copies report.json to the run's state bucket (C(upload_problem) says when that failed).
options:
  run_dir:
    description: The run folder.
    type: path
    required: true
author: Release Team
"""

EXAMPLES = r"""
- name: Deployment report is written
  bedrock.release.deploy_report:
    run_dir: "{{ release_run.run_dir }}"
"""

RETURN = r"""
path:
  description: The report file.
  returned: success
  type: str
report:
  description: The report.
  returned: success
  type: dict
upload_problem:
  description: Why the report could not be copied to the state bucket; null when it was (or the run has none).
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import require_library

try:
    from bedrock_release.pipeline.run_store import upload_evidence
    from bedrock_release.report.builder import write_report
    from bedrock_release.report.model import ReportError
except ImportError:
    write_report = upload_evidence = None
    ReportError = ValueError


def main() -> None:
    module = AnsibleModule(argument_spec={"run_dir": {"type": "path", "required": True}})
    require_library(module)
    try:
        path, report = write_report(module.params["run_dir"])
    except (ReportError, ValueError, OSError) as exc:
        module.fail_json(msg=f"report of {module.params['run_dir']}: {exc}")
    problem = upload_evidence(module.params["run_dir"])
    module.exit_json(changed=True, path=str(path), report=report.to_dict(), upload_problem=problem)


if __name__ == "__main__":
    main()
