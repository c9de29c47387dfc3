"""Action plugin of bedrock.release.flag: run in the task's worker (plugin_utils/inprocess.py)."""

from __future__ import annotations

from ansible_collections.bedrock.release.plugins.plugin_utils.inprocess import InProcessModuleAction

ActionModule = InProcessModuleAction
