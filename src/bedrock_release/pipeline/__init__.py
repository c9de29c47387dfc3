"""The deploy pipeline's library: what the Ansible modules of bedrock.release call (logic lives here)."""

__all__: list[str] = []
