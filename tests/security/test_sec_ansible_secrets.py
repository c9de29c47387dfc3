"""Credentials in the Ansible code: only from the environment or ansible-vault, and never in a task's log.

Static: every YAML file of the inventories, roles, playbooks and deploy.yml is parsed. A variable is a
*secret variable* when its name says so (token, secret, password, private key, credential), when it is
a mapping with such a key (an environment holding AWS_SECRET_ACCESS_KEY), or when its value refers to a
secret variable (transitively, through defaults, vars, inventories and set_fact). A task whose module
arguments, vars, loop or messages refer to a secret variable, or spell a bearer token, must be no_log.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from _targets import REPO_ROOT

_SECRET_NAME = re.compile(r"token|secret|password|passwd|private_key|credential", re.IGNORECASE)
_SECRET_TEXT = re.compile(r"Bearer |_TOKEN\b|AWS_SECRET_ACCESS_KEY|lookup\(['\"](?:ansible\.builtin\.)?env")
# Keys of a task that never reach its result, its log or a callback with their values.
_NOT_LOGGED = {
    "name",
    "when",
    "tags",
    "register",
    "changed_when",
    "failed_when",
    "until",
    "retries",
    "delay",
    "loop_control",
    "no_log",
    "notify",
    "delegate_to",
    "run_once",
    "ignore_errors",
    # Not in the result either; at -vvv Ansible prints it in its EXEC line whatever no_log says (see
    # docs/bad-input.md): environments carry only the sandbox's public keys or are empty outside it.
    "environment",
}
_INCLUDES = ("import_tasks", "include_tasks", "import_role", "include_role")
#: The sandbox's fixed, public test credentials (docs/sandbox.md); moto accepts them, AWS does not.
_SANDBOX_PUBLIC = {"AKIASANDBOXEXAMPLE01", "sandbox-secret-access-key-not-a-secret"}


class _VaultLoader(yaml.SafeLoader):
    """SafeLoader that keeps ``!vault`` values as a marker."""


_VaultLoader.add_constructor("!vault", lambda loader, node: {"__vault__": True})


def _load(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_VaultLoader)  # noqa: S506 - SafeLoader subclass


def _yaml_files(*globs: str) -> list[Path]:
    return sorted({p for g in globs for p in REPO_ROOT.glob(g)})


VAR_FILES = _yaml_files(
    "roles/*/defaults/*.yml", "roles/*/vars/*.yml", "inventories/*/group_vars/**/*.yml", "inventories/*/*.yml"
)
TASK_FILES = _yaml_files("roles/*/tasks/*.yml", "roles/*/handlers/*.yml", "playbooks/*.yml", "deploy.yml")


def _tasks(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        if "hosts" in node:
            for key in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                yield from _tasks(node.get(key) or [])
        elif "block" in node:
            for key in ("block", "rescue", "always"):
                yield from _tasks(node.get(key) or [])
        elif not any(k.endswith("import_playbook") for k in node):
            yield node


def _refers(value: Any, names: set[str]) -> bool:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return any(re.search(rf"\b{re.escape(n)}\b", text) for n in names)


def _definitions() -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for path in VAR_FILES:
        data = _load(path)
        if isinstance(data, dict):
            for key, value in data.items():
                found.setdefault(key, []).append(value)
    for path in TASK_FILES:
        for task in _tasks(_load(path) or []):
            facts = task.get("ansible.builtin.set_fact") or task.get("set_fact")
            if isinstance(facts, dict):
                for key, value in facts.items():
                    found.setdefault(key, []).append(value)
    return found


def _is_secret_name(name: str) -> bool:
    # A file, folder or list of secret *names* is not a secret.
    return bool(_SECRET_NAME.search(name)) and not name.endswith(("_file", "_names", "_dir"))


def _referring(names: set[str], definitions: dict[str, list[Any]]) -> set[str]:
    """``names`` and every variable whose value refers to one of them, transitively."""
    found = set(names)
    grew = True
    while grew:
        more = {
            n
            for n, values in definitions.items()
            if n not in found and any(_refers(v, found) for v in values)
        }
        found |= more
        grew = bool(more)
    return found


@pytest.fixture(scope="module")
def secret_vars() -> set[str]:
    definitions = _definitions()
    secret = {name for name in definitions if _is_secret_name(name)}
    secret |= {
        name
        for name, values in definitions.items()
        if any(isinstance(v, dict) and any(_SECRET_NAME.search(str(k)) for k in v) for v in values)
    }
    return _referring(secret, definitions)


def test_the_secret_variables_are_found(secret_vars: set[str]) -> None:
    """The detector sees the pipeline's known secrets; if these disappear it has gone blind, not clean."""
    assert {
        "deploy_run_secrets",
        "component_rollout_admin_token",
        "verification_environment",
        "release_aws_environment",
    } <= secret_vars


def _leaky_part(task: dict[str, Any]) -> dict[str, Any]:
    leaky = {k: v for k, v in task.items() if k not in _NOT_LOGGED}
    for key, args in leaky.items():
        if key.endswith("assert") and isinstance(args, dict):
            # The conditions are not printed with their values; the messages are.
            return {k: v for k, v in args.items() if k != "that"}
    return leaky


def _offenders(paths: list[Path], secret_vars: set[str]) -> tuple[list[str], int]:
    offenders, checked = [], 0
    for path in paths:
        for task in _tasks(_load(path) or []):
            if any(k.endswith(_INCLUDES) for k in task):
                continue  # the included tasks are checked themselves
            checked += 1
            leaky = _leaky_part(task)
            text = json.dumps(leaky, default=str)
            if (_refers(leaky, secret_vars) or _SECRET_TEXT.search(text)) and task.get("no_log") is not True:
                offenders.append(f"{path.name}: {task.get('name')!r}")
    return offenders, checked


def test_every_task_that_handles_a_secret_is_no_log(secret_vars: set[str]) -> None:
    offenders, checked = _offenders(TASK_FILES, secret_vars)
    assert checked > 150, f"only {checked} tasks parsed"
    assert offenders == [], "tasks handling a secret without no_log: true:\n" + "\n".join(offenders)


def test_the_no_log_check_catches_a_leaking_task(tmp_path: Path, secret_vars: set[str]) -> None:
    tasks = tmp_path / "tasks.yml"
    tasks.write_text(
        "- name: Activation is posted\n"
        "  ansible.builtin.uri:\n"
        "    url: http://127.0.0.1/admin\n"
        "    headers: {Authorization: 'Bearer {{ component_rollout_admin_token }}'}\n"
        "- name: Token is known\n"
        "  ansible.builtin.set_fact:\n"
        "    copy_of: '{{ deploy_run_secrets.SUPPORT_ADMIN_TOKEN }}'\n"
        "- name: Token is shown\n"
        "  ansible.builtin.assert:\n"
        "    that: true\n"
        "    success_msg: '{{ component_rollout_admin_token }}'\n"
        "- name: Safe\n"
        "  ansible.builtin.assert:\n"
        "    that: deploy_run_secrets['X'] | length > 0\n"
        "- name: Hidden\n"
        "  ansible.builtin.debug:\n"
        "    msg: '{{ verification_environment }}'\n"
        "  no_log: true\n"
    )
    offenders, checked = _offenders([tasks], secret_vars)
    assert checked == 5
    assert [o.split(": ", 1)[1] for o in offenders] == [
        "'Activation is posted'",
        "'Token is known'",
        "'Token is shown'",
    ]


def _leaves(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        if value.get("__vault__"):
            yield key, value
            return
        for k, v in value.items():
            yield from _leaves(v, str(k))
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, key)
    else:
        yield key, value


def _from_env_or_vault(value: Any) -> bool:
    if isinstance(value, dict) and value.get("__vault__"):
        return True
    text = str(value).strip()
    return bool(re.fullmatch(r"\{\{\s*(lookup|query)\(['\"](ansible\.builtin\.)?env['\"].*\}\}", text))


@pytest.mark.parametrize("path", VAR_FILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_credentials_come_only_from_the_environment_or_vault(path: Path) -> None:
    """A literal credential value is allowed only as the sandbox's documented public test key."""
    local = "inventories/local/" in path.as_posix()
    bad = []
    for key, value in _leaves(_load(path) or {}):
        if not _is_secret_name(key) and "ACCESS_KEY" not in key.upper():
            continue
        if value in (None, "", [], {}) or _from_env_or_vault(value):
            continue
        text = str(value)
        if "{{" in text:
            continue  # a reference to another variable, itself checked where it is defined
        if local and text in _SANDBOX_PUBLIC:
            continue
        bad.append(f"{key}: {text[:6]}...")
    assert bad == []


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_real_environments_set_no_aws_credentials(environment: str) -> None:
    """Outside the sandbox AWS credentials come from the runner (instance profile, SSO), not an inventory."""
    for path in (REPO_ROOT / "inventories" / environment).rglob("*.yml"):
        data = _load(path) or {}
        for key, value in _leaves(data):
            assert "AWS_SECRET" not in key.upper(), f"{path}: {key}"
            assert "AWS_ACCESS_KEY" not in key.upper(), f"{path}: {key}"
            assert str(value) not in _SANDBOX_PUBLIC, f"{path}: the sandbox key in {environment}"


_TOKEN_NAME = re.compile(r"token|password|passwd|private_key", re.IGNORECASE)


def _token_vars() -> set[str]:
    """Variables that hold an admin token or password, directly or through another variable."""
    definitions = _definitions()
    tokens = {n for n in definitions if _TOKEN_NAME.search(n) and _is_secret_name(n)} | {"deploy_run_secrets"}
    return _referring(tokens, definitions)


def _environment_offenders(paths: list[Path], tokens: set[str]) -> list[str]:
    offenders = []
    for path in paths:
        for task in _tasks(_load(path) or []):
            environment = task.get("environment")
            if environment and (_refers(environment, tokens) or "_TOKEN" in json.dumps(environment)):
                offenders.append(f"{path.name}: {task.get('name')!r}")
    return offenders


def test_no_task_environment_carries_a_token(tmp_path: Path) -> None:
    """At -vvv ansible prints a task's environment in its EXEC line, no_log or not (docs/bad-input.md)."""
    tokens = _token_vars()
    assert {"deploy_run_secrets", "component_rollout_admin_token"} <= tokens
    assert _environment_offenders(TASK_FILES, tokens) == []
    leaking = tmp_path / "tasks.yml"
    leaking.write_text(
        "- name: Suite runs with the tokens\n"
        "  ansible.builtin.command: pytest\n"
        "  environment: '{{ deploy_run_secrets | combine(release_aws_environment) }}'\n"
        "  no_log: true\n"
        "- name: Suite runs with one token\n"
        "  ansible.builtin.command: pytest\n"
        "  environment: {SUPPORT_ADMIN_TOKEN: x}\n"
        "- name: Suite runs with AWS only\n"
        "  ansible.builtin.command: pytest\n"
        "  environment: '{{ release_aws_environment }}'\n"
    )
    assert _environment_offenders([leaking], tokens) == [
        "tasks.yml: 'Suite runs with the tokens'",
        "tasks.yml: 'Suite runs with one token'",
    ]
