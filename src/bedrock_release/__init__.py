"""Release verification library: plan data, gate math, approvals, lock, evidence, report, artifacts.

Import the submodules (``bedrock_release.slo``, ``bedrock_release.approvals``...); nothing heavy is
imported here, so Ansible modules can load one concern cheaply.
"""

__all__: list[str] = []
