"""The one error every evidence reader raises: which file, and what is wrong with it."""

from __future__ import annotations

import os

__all__ = ["EvidenceError", "ProductionError"]


class EvidenceError(ValueError):
    """Evidence that cannot be trusted (missing, empty, truncated, wrong format or release, unsigned)."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ProductionError(RuntimeError):
    """Evidence could not be produced (a tool is missing, the sandbox did not start); nothing was faked."""
