"""Run one of this collection's modules inside the controller's task worker instead of a new Python.

Every bedrock.release module runs on localhost with the project's virtual environment, the same
Python as the controller. As a module each call costs a process start, the AnsiballZ payload and
the imports again - one to three seconds on a loaded two-core machine, dozens of times per deploy and
most of a rollback's fixed cost. Ansible forks a worker process per task, so running the module's
``main()`` in that worker (arguments handed over the way ``AnsibleModule`` reads them, its JSON
printed to a captured stdout) changes nothing the module does and leaves nothing behind. The action
plugins of ``plugins/action`` use this only for a local connection and fall back to the normal
module execution otherwise.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys
import traceback
from typing import Any

from ansible.module_utils import basic
from ansible.module_utils.common import json as common_json
from ansible.plugins.action import ActionBase
from ansible.vars.clean import remove_internal_keys

_PACKAGE = "ansible_collections.bedrock.release.plugins.modules"
_PROFILE = "legacy"


def can_run_in_process(action: Any, task_vars: dict[str, Any]) -> bool:
    """Only for a local connection whose module Python is the controller's and imports the library."""
    if action._play_context.connection != "local" or action._task.async_val:
        return False
    interpreter = task_vars.get("ansible_python_interpreter")
    if interpreter is not None and action._templar.template(interpreter) != sys.executable:
        return False
    try:
        importlib.import_module("bedrock_release")
    except ImportError:
        return False
    return True


def run_in_process(action: Any, name: str, task_vars: dict[str, Any]) -> dict[str, Any]:
    """Run module ``name`` with the task's arguments and environment; return its result dict."""
    module_args = dict(action._task.args)
    action._update_module_args(name, module_args, task_vars)  # _ansible_check_mode, _ansible_no_log, ...
    environment: dict[str, Any] = {}
    action._compute_environment_string(environment)
    encoder = common_json.get_module_encoder(_PROFILE, common_json.Direction.CONTROLLER_TO_MODULE)
    payload = json.dumps({"ANSIBLE_MODULE_ARGS": module_args}, cls=encoder).encode()
    saved_env = dict(os.environ)
    saved = basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE, basic._PARSED_MODULE_ARGS
    out = io.StringIO()
    try:
        os.environ.update({str(k): str(v) for k, v in environment.items()})
        basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE, basic._PARSED_MODULE_ARGS = payload, _PROFILE, None
        module = importlib.import_module(f"{_PACKAGE}.{name}")
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            module.main()
    except Exception as exc:
        return {"failed": True, "msg": f"module {name} failed: {exc}", "exception": traceback.format_exc()}
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE, basic._PARSED_MODULE_ARGS = saved
    # The same decoding and clean-up as ActionBase._execute_module applies to a module's output.
    data = action._parse_returned_data({"stdout": out.getvalue(), "stderr": "", "rc": 0}, _PROFILE)
    remove_internal_keys(data)
    return data


class InProcessModuleAction(ActionBase):
    """Action plugin that runs the module of the same name in the task's worker when it can."""

    TRANSFERS_FILES = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        """The module's result, in-process for a local connection, as a normal module otherwise."""
        result = super().run(tmp, task_vars)
        name = self._task.action.rsplit(".", 1)[-1]
        if can_run_in_process(self, task_vars or {}):
            result.update(run_in_process(self, name, task_vars or {}))
        else:
            result.update(self._execute_module(task_vars=task_vars))
        return result
