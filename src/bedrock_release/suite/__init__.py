"""Support for the verification suite (pytest-bdd steps): target, clients, metrics, journal, evidence.

The steps in tests/features stay thin; what they measure and how is here, typed and unit-tested.
"""

__all__: list[str] = []
