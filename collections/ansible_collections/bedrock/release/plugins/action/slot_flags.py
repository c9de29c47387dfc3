"""Action plugin of bedrock.release.slot_flags: run in the task's worker (inprocess.py)."""

from __future__ import annotations

from ansible_collections.bedrock.release.plugins.plugin_utils.inprocess import InProcessModuleAction

ActionModule = InProcessModuleAction
