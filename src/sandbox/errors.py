"""The sandbox's error types; the CLI turns any of them into exit code 1 with its message."""

from __future__ import annotations

__all__ = ["PortInUseError", "SandboxConflictError", "SandboxError", "SandboxNotRunningError"]


class SandboxError(RuntimeError):
    """Base of every error the sandbox reports to its caller."""


class SandboxNotRunningError(SandboxError):
    """An operation needs a running sandbox and there is none."""


class SandboxConflictError(SandboxError):
    """A running sandbox does not match what was asked (other ports, missing state)."""


class PortInUseError(SandboxError):
    """A port the sandbox needs is taken by another process."""
