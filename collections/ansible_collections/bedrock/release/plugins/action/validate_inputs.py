"""Action plugin of bedrock.release.validate_inputs: validate on the controller, without a module round trip.

Every role validates its inputs first; run as a module that costs a process start per role call (about a
second each on a small machine, sixteen times per deploy). The controller's Python is the project's
virtual environment, so the same validators run here in-process. Falls back to the module otherwise.
"""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase

try:
    from bedrock_release.pipeline.inputs import validate
except ImportError:  # the controller runs another Python: let the module do it on the target
    validate = None


class ActionModule(ActionBase):
    """Validate role inputs in the controller process."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        """Return the module's result shape: values, or failed naming every bad variable."""
        result = super().run(tmp, task_vars)
        if validate is None:
            result.update(self._execute_module(task_vars=task_vars))
            return result
        inputs = self._task.args.get("inputs")
        if not isinstance(inputs, dict):
            return {**result, "failed": True, "msg": "inputs must be a mapping of variable to {value, kind}"}
        values, errors = validate(inputs)
        if errors:
            return {
                **result,
                "failed": True,
                "msg": "invalid input: " + "; ".join(str(e) for e in errors),
                "variables": [e.variable for e in errors],
            }
        return {**result, "changed": False, "values": values}
