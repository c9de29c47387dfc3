#!/usr/bin/python
"""Ansible module: write the staging rollback drill record from the drill run's journal."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rollback_drill_record
short_description: Write <evidence>/rollback-drill/drill.json from a staging drill run's journal
description:
  - Reads the drill run's C(rollback_started) and C(rollback_finished) records (one per tier) and writes the
    contract's drill record with C(bedrock_release.pre_deployment.write_drill_record), signed with the
    Operations Team lead's Ed25519 key (C(signing_key); its public key is trusted for C(operations)).
  - Each tier's target is the plan's wall-clock target (300, 600, 1800 s).
options:
  run_dir:
    description: The drill run's folder.
    type: path
    required: true
  evidence_dir:
    description: The release's evidence folder.
    type: path
    required: true
  releases_dir:
    description: Built releases (for the artifact's SHA-256).
    type: path
    required: true
  signing_key:
    description: The Operations Team lead's private key (PKCS#8 PEM) that signs the record.
    type: path
    required: true
author: Release Team
"""

EXAMPLES = r"""
- name: Staging drill record is written
  bedrock.release.rollback_drill_record:
    run_dir: "{{ deploy_run_context.run_dir }}"
    evidence_dir: "{{ pre_deployment_evidence_dir }}"
    releases_dir: "{{ release_releases_dir }}"
    signing_key: "{{ release_keys_dir }}/private/operations.key"
"""

RETURN = r"""
path:
  description: The drill record.
  returned: success
  type: str
tiers:
  description: The drilled tiers (tier, duration_s, target_s, verified).
  returned: success
  type: list
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import require_library

try:
    from bedrock_release.pipeline.staging_drill import drill_tiers, write_record
except ImportError:
    write_record = None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "run_dir": {"type": "path", "required": True},
            "evidence_dir": {"type": "path", "required": True},
            "releases_dir": {"type": "path", "required": True},
            "signing_key": {"type": "path", "required": True, "no_log": False},
        }
    )
    require_library(module)
    p = module.params
    try:
        path = write_record(p["run_dir"], p["evidence_dir"], p["releases_dir"], p["signing_key"])
        tiers, _, _ = drill_tiers(p["run_dir"])
    except (ValueError, OSError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=True, path=str(path), tiers=[t.to_dict() for t in tiers])


if __name__ == "__main__":
    main()
