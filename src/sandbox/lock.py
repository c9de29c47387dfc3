"""One sandbox operation at a time per runtime folder (an `up` racing a `down` would tear both)."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from .paths import SandboxPaths

__all__ = ["control_lock"]


@contextmanager
def control_lock(paths: SandboxPaths) -> Iterator[None]:
    """Hold an exclusive flock on <runtime>/.control.lock; released when the process ends, too."""
    paths.root.mkdir(parents=True, exist_ok=True)
    with (paths.root / ".control.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
