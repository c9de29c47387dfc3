"""Bedrock Runtime emulator speaking the real Converse / InvokeModel wire protocol."""

from .app import EmulatorConfig, create_app
from .errors import ERRORS, ErrorKind

__all__ = ["ERRORS", "EmulatorConfig", "ErrorKind", "create_app"]
