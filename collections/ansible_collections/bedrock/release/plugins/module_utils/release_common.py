"""Shared helpers of the bedrock.release modules: import the library, journal, fail with its message."""

from __future__ import annotations

import traceback
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

LIBRARY_IMPORT_ERROR: str | None = None
try:
    from bedrock_release.pipeline.journal import Journal, read_state
except ImportError:  # the interpreter is not the project's virtual environment
    LIBRARY_IMPORT_ERROR = traceback.format_exc()
    Journal = read_state = None  # type: ignore[assignment,misc]

__all__ = ["LIBRARY_IMPORT_ERROR", "journal_of", "require_library", "state_of"]


def require_library(module: AnsibleModule) -> None:
    """Fail clearly when bedrock_release cannot be imported (wrong ansible_python_interpreter)."""
    if LIBRARY_IMPORT_ERROR is not None:
        module.fail_json(
            msg=missing_required_lib(
                "bedrock_release (set ansible_python_interpreter to the project's .venv/bin/python)"
            ),
            exception=LIBRARY_IMPORT_ERROR,
        )


def journal_of(run_dir: str) -> Any:
    """Return the Journal of a run folder."""
    return Journal(f"{run_dir.rstrip('/')}/audit.jsonl")


def state_of(run_dir: str) -> dict[str, Any]:
    """Return the run state folded from a run folder's journal, as plain data."""
    return read_state(run_dir).to_dict()
