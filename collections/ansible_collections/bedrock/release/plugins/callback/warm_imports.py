"""Callback plugin bedrock.release.warm_imports: import the collection's modules once, in the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: warm_imports
type: aggregate
short_description: Import the collection's modules and their libraries once, before task workers fork
description:
  - Ansible forks a worker process from the controller for every task. The collection's modules run
    in that worker (plugin_utils/inprocess.py), so each task imported boto3 and the bedrock_release
    library again - about half a second per AWS task. Imported once here, in the controller, every
    fork inherits them.
  - It also loads the DynamoDB and S3 service models of the shared lock and state once
    (C(bedrock_release.pipeline.shared_state.warm)). Every journal append heartbeats the lock and
    mirrors the journal; a worker would otherwise load them again (about 0.35 s per task).
  - Does nothing else. It prints nothing and changes no result. A module that cannot be imported here
    is skipped and imports in its worker as before.
requirements:
  - enabled in ansible.cfg (C(callbacks_enabled = bedrock.release.warm_imports))
author: Release Team
"""

import importlib
import pkgutil

from ansible.plugins.callback import CallbackBase

_PACKAGE = "ansible_collections.bedrock.release.plugins.modules"


def warm_imports(package: str = _PACKAGE) -> list[str]:
    """Import every module of ``package``; return the names that imported."""
    modules = importlib.import_module(package)
    imported = []
    for info in pkgutil.iter_modules(modules.__path__):
        try:
            importlib.import_module(f"{package}.{info.name}")
        except Exception:  # noqa: S112 - then it imports in its worker, as without this plugin
            continue
        imported.append(info.name)
    return imported


class CallbackModule(CallbackBase):
    """Imports at load time; no callbacks."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bedrock.release.warm_imports"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.imported = warm_imports()
        try:
            from bedrock_release.pipeline.shared_state import warm  # noqa: PLC0415

            warm()
        except Exception:  # noqa: S110 - then each worker loads the models itself, as without this plugin
            pass
