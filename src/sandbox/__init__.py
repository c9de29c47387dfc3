"""The local sandbox: Bedrock emulator, MCP support server, moto, Caddy and slots under supervisord."""

__all__: list[str] = []
