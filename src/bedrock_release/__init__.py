"""Release verification library, one package per concern.

``gates`` (SLO math, histograms, verdicts, the features' thresholds), ``load`` (locust), ``release`` (the
artifact and its approvals), ``pipeline`` (what the Ansible modules call: run, journal, lock, traffic,
flags, rollbacks), ``suite`` (the verification steps), ``monitoring`` (phase 7), ``pre_deployment``
(phase 1 evidence), ``report`` (report, renderings, bundle). Import the submodules; nothing heavy is
imported here, so Ansible modules can load one concern cheaply.
"""

__all__: list[str] = []
