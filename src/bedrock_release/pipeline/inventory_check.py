"""An inventory checked with the deploy's own input validation, before any release meets it.

The inventory is loaded and rendered as Ansible loads and renders it (``InventoryManager``,
``VariableManager``, ``Templar``, the collection's plugins). Every input that a role validates with
``bedrock.release.validate_inputs`` (``roles/*/tasks/*.yml``; the preflights first) is rendered from
the inventory's variables and that role's defaults and vars, and validated with the task's own spec
by the validators the task runs (``bedrock_release.pipeline.inputs.validate``). An input only the
running deploy knows (the run's context, a registered result) is listed as decided at run time, never
passed over silently. The slots' service environment is the role's own ``slot.env.j2`` rendered for
each slot and validated by the service's settings model (``support_service.settings.Settings``) in a
child process that has exactly that environment, as systemd starts the service.

Every problem names the variable, its value, the inventory file it comes from and the task that
refused it. Secrets are never in an inventory: the variables a deploy reads from the controller's
environment (``deploy_run_secret_names``) are given a placeholder of valid form while rendering, and
a problem never shows their value.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import yaml

from bedrock_release.pipeline.inputs import validate

__all__ = [
    "RUN_TIME_SLOTS",
    "InventoryCheck",
    "InventoryProblem",
    "check_inventory",
    "parse_env_file",
]

REPO_ROOT = Path(__file__).resolve().parents[3]
#: The slots a release may be deployed to; the service environment is rendered for each.
RUN_TIME_SLOTS = ("blue", "green")
_MODULE = "bedrock.release.validate_inputs"
_CONTROLLER = "localhost"
_PLACEHOLDER_SECRET = "inventory-check-placeholder-not-a-secret"  # noqa: S105 - a stand-in, by design
_SERVICE_ROLE = "component_rollout"
_SERVICE_ENV = "component_rollout_service_env"
_SETTINGS_TIMEOUT_S = 60
#: Names of Ansible's Jinja environment (functions, not variables).
_JINJA_GLOBALS = frozenset(
    {
        "lookup",
        "query",
        "q",
        "range",
        "dict",
        "lipsum",
        "cycler",
        "joiner",
        "namespace",
        "now",
        "undef",
        "omit",
    }
)
# Run in a child with exactly the slot's environment: the service's own start reads nothing else.
_SETTINGS_PROBE = """
import json, sys
from pydantic import ValidationError
from support_service.settings import Settings
try:
    Settings()
except ValidationError as exc:
    print(json.dumps([{"loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in exc.errors()]))
    sys.exit(1)
"""


@dataclass(frozen=True)
class InventoryProblem:
    """One refused value: the variable, its value, what is wrong, where it comes from, who refused it."""

    variable: str
    value: Any
    problem: str
    files: tuple[str, ...]
    via: tuple[str, ...]
    check: str

    def __str__(self) -> str:
        where = ", ".join(self.files) or "(no inventory file sets it)"
        chain = f" (from {' <- '.join(self.via)})" if self.via and self.via != (self.variable,) else ""
        return f"{where}: {self.variable} = {self.value!r}{chain}: {self.problem} [{self.check}]"


@dataclass(frozen=True)
class InventoryCheck:
    """The outcome for one inventory: what was validated, what only a run decides, every problem."""

    inventory: str
    checked: tuple[str, ...]
    run_time: tuple[str, ...]
    problems: tuple[InventoryProblem, ...]

    @property
    def ok(self) -> bool:
        """Whether every validated input holds."""
        return not self.problems

    def summary(self) -> str:
        """One paragraph: the verdict, the counts and every problem on its own line."""
        head = (
            f"inventory {self.inventory}: {len(self.checked)} inputs validated, "
            f"{len(self.run_time)} decided at run time, {len(self.problems)} problem(s)"
        )
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


# --- loading as Ansible does ---------------------------------------------------------------------


def _init_plugins(project_dir: Path) -> None:
    # The collection's plugins and lookups (ansible.builtin.env) load through Ansible's collection
    # finder, which the CLI installs once per process; do the same, once.
    from ansible.utils.collection_loader._collection_finder import (  # noqa: PLC0415
        _AnsibleCollectionFinder,
    )

    if not any(isinstance(f, _AnsibleCollectionFinder) for f in sys.meta_path):
        from ansible.plugins.loader import init_plugin_loader  # noqa: PLC0415

        init_plugin_loader([str(project_dir / "collections")])


@contextlib.contextmanager
def _placeholder_env(names: Sequence[str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(dict.fromkeys(names, _PLACEHOLDER_SECRET))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _plain(value: Any) -> Any:
    # Ansible's templar returns tagged str/dict/list subclasses; validators and reprs want plain data.
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value


def _variable_files(inventory: Path, project_dir: Path) -> dict[str, list[str]]:
    """Map each variable the inventory sets to the files (relative to the project) that set it."""
    files: dict[str, list[str]] = {}

    def note(name: str, path: Path) -> None:
        files.setdefault(name, []).append(_shown(path, project_dir))

    def walk_hosts(node: Any, path: Path) -> None:
        if not isinstance(node, Mapping):
            return
        for name in node.get("vars") or {}:
            note(str(name), path)
        for host_vars in (node.get("hosts") or {}).values():
            for name in host_vars or {}:
                note(str(name), path)
        for child in (node.get("children") or {}).values():
            walk_hosts(child, path)

    for path in sorted(inventory.rglob("*.yml")) + sorted(inventory.rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if path.parent.name in ("group_vars", "host_vars") or path.parent.parent.name in (
            "group_vars",
            "host_vars",
        ):
            for name in data or {}:
                note(str(name), path)
        elif isinstance(data, Mapping):
            for group in data.values():
                walk_hosts(group, path)
    return files


def _shown(path: Path, project_dir: Path) -> str:
    """A path relative to the project when it is inside it (as the repository names it), else absolute."""
    return str(path.relative_to(project_dir)) if path.is_relative_to(project_dir) else str(path)


def _referenced(template: Any) -> set[str]:
    """The variables a template (a string, or strings nested in a mapping or list) refers to."""
    if isinstance(template, Mapping):
        return set().union(*(_referenced(v) for v in template.values()))
    if isinstance(template, list | tuple):
        return set().union(*(_referenced(v) for v in template))
    if not isinstance(template, str) or "{" not in template:
        return set()
    try:
        # Parsed only (never rendered): no output to escape.
        parsed = jinja2.Environment().parse(template)  # noqa: S701  # nosec B701
        return set(jinja2.meta.find_undeclared_variables(parsed))
    except jinja2.TemplateSyntaxError:
        return set()


# --- the validate_inputs tasks of the roles -------------------------------------------------------


@dataclass(frozen=True)
class _Task:
    role: str
    path: str
    name: str
    args: Any
    conditions: tuple[Any, ...]
    loop: Any
    index_var: str | None


def _tasks(project_dir: Path, loader: Any) -> list[_Task]:
    found: list[_Task] = []

    def walk(nodes: Any, role: str, path: Path, conditions: tuple[Any, ...]) -> None:
        for node in nodes or []:
            if not isinstance(node, Mapping):
                continue
            when = node.get("when")
            here = conditions + (tuple(when) if isinstance(when, list) else (when,) if when else ())
            if _MODULE in node:
                control = node.get("loop_control") or {}
                found.append(
                    _Task(
                        role=role,
                        path=str(path.relative_to(project_dir)),
                        name=str(node.get("name", _MODULE)),
                        args=node[_MODULE],
                        conditions=here,
                        loop=node.get("loop"),
                        index_var=control.get("index_var"),
                    )
                )
            for key in ("block", "rescue", "always"):
                walk(node.get(key), role, path, here)

    paths = sorted((project_dir / "roles").glob("*/tasks/*.yml"))
    # The preflights first: they are what a deploy runs before anything changes.
    for path in sorted(paths, key=lambda p: p.name != "preflight.yml"):
        walk(loader.load_from_file(str(path), trusted_as_template=True), path.parts[-3], path, ())
    return found


def _role_vars(project_dir: Path, role: str, loader: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    def load(kind: str) -> dict[str, Any]:
        path = project_dir / "roles" / role / kind / "main.yml"
        return (
            dict(loader.load_from_file(str(path), trusted_as_template=True) or {}) if path.is_file() else {}
        )

    return load("defaults"), load("vars")


# --- checking ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Origin:
    files: tuple[str, ...]
    via: tuple[str, ...]
    run_time: tuple[str, ...]


class _Context:
    """One inventory as the controller's host sees it, with a templar per role."""

    def __init__(self, inventory: Path, project_dir: Path, release: str) -> None:
        from ansible.inventory.manager import InventoryManager  # noqa: PLC0415
        from ansible.parsing.dataloader import DataLoader  # noqa: PLC0415
        from ansible.vars.manager import VariableManager  # noqa: PLC0415

        _init_plugins(project_dir)
        self.project_dir = project_dir
        self.loader = DataLoader()
        self.loader.set_basedir(str(project_dir))
        manager = InventoryManager(loader=self.loader, sources=[str(inventory)])
        variables = VariableManager(loader=self.loader, inventory=manager)
        host = manager.get_host(_CONTROLLER)
        if host is None:
            raise ValueError(f"{inventory}: no host {_CONTROLLER} (the controller runs the pipeline)")
        self.inventory_vars = dict(variables.get_vars(host=host, include_hostvars=False))
        # What ansible-playbook adds for every play: the release asked for and the controller's Python.
        self.extra = {"release": release, "ansible_playbook_python": sys.executable}
        self.files = _variable_files(inventory, project_dir)
        self.roles: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}

    def templar(self, role: str, more: Mapping[str, Any] | None = None) -> Any:
        from ansible.template import Templar  # noqa: PLC0415

        defaults, role_vars = self.role(role)
        # Ansible's precedence: role defaults < inventory < role vars < extra vars.
        merged = {**defaults, **self.inventory_vars, **role_vars, **self.extra, **(more or {})}
        return Templar(loader=self.loader, variables=merged)

    def role(self, role: str) -> tuple[dict[str, Any], dict[str, Any]]:
        if role not in self.roles:
            self.roles[role] = _role_vars(self.project_dir, role, self.loader)
        return self.roles[role]

    def origin(self, role: str, template: Any, known: Sequence[str] = ()) -> _Origin:
        """The inventory files a value comes from, the variables on the way, and names only a run sets."""
        defaults, role_vars = self.role(role)
        files: list[str] = []
        via: list[str] = []
        unknown: list[str] = []
        seen: set[str] = set(known) | set(self.extra) | _JINJA_GLOBALS
        pending = sorted(_referenced(template))
        while pending:
            name = pending.pop(0)
            if name in seen:
                continue
            seen.add(name)
            if name in self.files:
                via.append(name)
                files += [f for f in self.files[name] if f not in files]
                pending += sorted(_referenced(self.inventory_vars.get(name)))
            elif name in role_vars or name in defaults:
                kind = "vars" if name in role_vars else "defaults"
                value = (role_vars if name in role_vars else defaults)[name]
                via.append(name)
                if not _referenced(value):
                    path = f"roles/{role}/{kind}/main.yml"
                    files += [path] if path not in files else []
                pending += sorted(_referenced(value))
            elif name not in self.inventory_vars:
                unknown.append(name)  # the run's context, a registered result: set while a deploy runs
        return _Origin(tuple(files), tuple(via), tuple(unknown))


_UNDECIDED = object()  # a value that needs a variable only a running deploy has


def _render(templar: Any, template: Any, *, conditional: bool = False) -> Any:
    """Render as Ansible does; ``_UNDECIDED`` when it refers to a variable that is not defined."""
    from ansible.errors import AnsibleUndefinedVariable  # noqa: PLC0415

    try:
        return templar.evaluate_conditional(template) if conditional else templar.template(template)
    except AnsibleUndefinedVariable:
        return _UNDECIDED


def _task_specs(ctx: _Context, task: _Task) -> Iterator[tuple[Any, Mapping[Any, Any] | None, dict[str, Any]]]:
    """Each (templar, input specs, loop variables) of a task whose conditions hold; None: undecided."""
    templar = ctx.templar(task.role)
    holds = [_render(templar, c, conditional=True) for c in task.conditions]
    if _UNDECIDED in holds:
        yield templar, None, {}
        return
    if not all(holds):
        return
    items = [None] if task.loop is None else _render(templar, task.loop)
    if items is _UNDECIDED:
        yield templar, None, {}
        return
    for index, item in enumerate(items):
        more = (
            {} if task.loop is None else {"item": item} | ({task.index_var: index} if task.index_var else {})
        )
        scoped = ctx.templar(task.role, more) if more else templar
        raw = task.args.get("inputs") if isinstance(task.args, Mapping) else None
        # A mapping is rendered one input at a time; a string is one template for the whole mapping.
        specs = raw if isinstance(raw, Mapping) else _render(scoped, raw)
        if specs is not _UNDECIDED and not isinstance(specs, Mapping):
            raise ValueError(f"{task.path}: {task.name}: inputs must render to a mapping, got {specs!r}")
        yield scoped, None if specs is _UNDECIDED else specs, more


def _check_task(ctx: _Context, task: _Task) -> tuple[list[str], list[str], list[InventoryProblem]]:
    """Validate one task's inputs: (validated names, run-time names, problems)."""
    label = f"{task.path}: {task.name}"
    checked: list[str] = []
    run_time: list[str] = []
    problems: list[InventoryProblem] = []
    for templar, specs, more in _task_specs(ctx, task):
        if specs is None:
            run_time.append(label)
            continue
        for variable, spec in specs.items():
            rendered = _render(templar, spec)
            origin = ctx.origin(task.role, spec, known=list(more))
            errors = [] if rendered is _UNDECIDED else validate({str(variable): _plain(rendered)})[1]
            if rendered is _UNDECIDED or (errors and origin.run_time):
                # Needs the run, or rendered without it (deploy_run_context.x | default('')): the run decides.
                run_time.append(str(variable))
                continue
            checked.append(str(variable))
            problems += [
                InventoryProblem(e.variable, e.value, e.problem, origin.files, origin.via, label)
                for e in errors
            ]
    return checked, run_time, problems


def parse_env_file(text: str) -> dict[str, str]:
    """Read ``KEY=value`` lines as systemd's EnvironmentFile does (comments and blank lines skipped)."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        key, sep, value = stripped.partition("=")
        if not sep:
            raise ValueError(f"not KEY=value: {line!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key.strip()] = value
    return env


def _service_settings_errors(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """Start the service's settings model with exactly ``env``; return (field, message) per refusal."""
    child_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    proc = subprocess.run(  # noqa: S603 - fixed program, our own interpreter
        [sys.executable, "-c", _SETTINGS_PROBE],
        env=child_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=_SETTINGS_TIMEOUT_S,
    )
    if proc.returncode == 0:
        return []
    try:
        errors = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return [("", f"the service's settings could not be loaded: {proc.stderr.strip()[-1000:]}")]
    return [(e["loc"][0] if e["loc"] else "", e["msg"]) for e in errors]


def _check_service_env(
    ctx: _Context, release: str, secret_names: Sequence[str]
) -> tuple[list[str], list[InventoryProblem]]:
    from ansible.template import trust_as_template  # noqa: PLC0415

    templar = ctx.templar(_SERVICE_ROLE)
    backend = _plain(templar.template(trust_as_template("{{ component_rollout_backend }}")))
    if backend != "systemd":
        return [], []  # the sandbox composes its slots' environment itself (sandbox.settings)
    label = f"roles/{_SERVICE_ROLE}/templates/slot.env.j2 read by support_service.settings.Settings"
    origin = ctx.origin(_SERVICE_ROLE, "{{ " + _SERVICE_ENV + " }}")
    service_env = _plain(templar.template(trust_as_template("{{ " + _SERVICE_ENV + " }}")))
    if not isinstance(service_env, Mapping) or not service_env:
        problem = "must map the contract's SUPPORT_* variables (systemd slots read nothing else)"
        return [_SERVICE_ENV], [
            InventoryProblem(_SERVICE_ENV, service_env, problem, origin.files, origin.via, label)
        ]
    raw_env = ctx.inventory_vars.get(_SERVICE_ENV)
    raw_env = raw_env if isinstance(raw_env, Mapping) else {}
    template = (ctx.project_dir / "roles" / _SERVICE_ROLE / "templates" / "slot.env.j2").read_text()
    problems: list[InventoryProblem] = []
    seen: set[tuple[str, str]] = set()
    for slot in RUN_TIME_SLOTS:
        # What the play knows at run time: the slot and the release under deployment.
        scoped = ctx.templar(
            _SERVICE_ROLE,
            {
                "component_rollout_slot": slot,
                "component_rollout_release": release,
                "ansible_managed": "inventory check",
            },
        )
        env = parse_env_file(str(scoped.template(trust_as_template(template))))
        for field, message in _service_settings_errors(env):
            name = f"SUPPORT_{field.upper()}" if field else ""
            if (name, message) in seen:
                continue
            seen.add((name, message))
            variable = f"{_SERVICE_ENV}.{name}" if name else _SERVICE_ENV
            value = "<secret>" if name in secret_names else env.get(name, service_env if not name else None)
            entry = ctx.origin(_SERVICE_ROLE, raw_env.get(name)) if name in raw_env else origin
            files = tuple(dict.fromkeys(origin.files + entry.files))
            via = entry.via if entry is not origin else ()
            problems.append(InventoryProblem(variable, value, message, files, via, label))
    return [_SERVICE_ENV], problems


def check_inventory(
    inventory: str | os.PathLike[str], *, release: str, project_dir: str | os.PathLike[str] = REPO_ROOT
) -> InventoryCheck:
    """Validate an inventory with the roles' own validate_inputs specs and the service's settings."""
    project = Path(project_dir).resolve()
    path = Path(inventory).resolve()
    ctx = _Context(path, project, release)
    secret_names = [str(n) for n in _plain(ctx.role("deploy_run")[0].get("deploy_run_secret_names") or [])]
    checked: list[str] = []
    run_time: list[str] = []
    problems: list[InventoryProblem] = []
    with _placeholder_env(secret_names):
        for task in _tasks(project, ctx.loader):
            names, later, found = _check_task(ctx, task)
            checked += names
            run_time += later
            problems += found
        names, found = _check_service_env(ctx, release, secret_names)
        checked += names
        problems += found
    shown = _shown(path, project)
    # A variable validated by several roles is one input, and one problem per distinct refusal.
    unique = list({str(p): p for p in problems}.values())
    return InventoryCheck(
        inventory=shown,
        checked=tuple(dict.fromkeys(checked)),
        run_time=tuple(dict.fromkeys(n for n in run_time if n not in checked)),
        problems=tuple(unique),
    )
