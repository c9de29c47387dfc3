#!/usr/bin/python
"""Ansible module: report.md, report.html, the Allure report and the evidence bundle of a run."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: evidence_bundle
short_description: Render a run's reports (md, html, Allure); write and verify its evidence bundle
description:
  - Calls C(bedrock_release.report.bundle.finalize_run) - report.json rebuilt from the journal, report.md
    and a
    single-file report.html with inline SVG plots, the Allure report (allure-report/index.html), then
    runs/<run-id>/bundle with manifest.json (SHA-256 of every file, the journal's chain anchor), verified.
  - Fails when the bundle does not verify right after it was written.
options:
  run_dir:
    description: The run folder.
    type: path
    required: true
  allure:
    description: Render the Allure report (a missing Allure CLI is reported, not fatal).
    type: bool
    default: true
author: Release Team
"""

EXAMPLES = r"""
- name: Evidence bundle is written and verified
  bedrock.release.evidence_bundle:
    run_dir: "{{ deploy_run_context.run_dir }}"
"""

RETURN = r"""
bundle:
  description: What was written (paths, bundle file count, absent evidence, verification problems).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import require_library

try:
    from bedrock_release.report.bundle import BundleError, finalize_run
    from bedrock_release.report.model import ReportError
except ImportError:
    finalize_run = None
    BundleError = ReportError = ValueError


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "run_dir": {"type": "path", "required": True},
            "allure": {"type": "bool", "default": True},
        }
    )
    require_library(module)
    try:
        result = finalize_run(module.params["run_dir"], allure=module.params["allure"])
    except (BundleError, ReportError, ValueError, OSError) as exc:
        module.fail_json(msg=f"evidence of {module.params['run_dir']}: {exc}")
    summary = result.to_dict()
    if not result.verdict.ok:
        problems = summary["problems"]
        module.fail_json(msg=f"bundle {summary['bundle']} does not verify: {problems}", bundle=summary)
    module.exit_json(changed=True, bundle=summary)


if __name__ == "__main__":
    main()
