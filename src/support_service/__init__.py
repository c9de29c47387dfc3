"""The reference support service: Bedrock Support Mode with Hybrid Routing, one process per slot.

Entry points: ``python -m support_service`` and ``support_service.app.create_app``.
"""

__all__: list[str] = []
