"""Root conftest: the verification suite's target, clients, evidence and Allure labels.

The pipeline runs ``pytest tests/features -m <phase> --target runs/<run-id>/target.json`` (see
docs/contracts.md, "Running the verification suite"); by hand, ``--inventory local --release X.Y.Z``
builds the target from the inventory's group_vars. Secrets come from the environment only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent
FEATURES_DIR = REPO_ROOT / "tests" / "features"

#: Every Gherkin tag (docs/contracts.md, "Markers"); --strict-markers refuses any other.
GHERKIN_MARKERS = {
    **{f"phase{n}": f"plan phase {n}" for n in range(1, 8)},
    "approvals": "the plan's pre-deployment approval workflow",
    "rollback": "the plan's rollback procedures (feature)",
    "canary": "phase 2: the traffic split at the current canary step",
    "flag_window": "phase 5: the monitoring period after one flag activation",
    "rollback_immediate": "the immediate rollback tier, verified after it ran",
    "rollback_partial": "the partial rollback tier, verified after it ran",
    "rollback_full": "the full rollback tier, verified after it ran",
    "post_deployment": "success criteria and the post-deployment watch",
    "compliance": "compliance success metrics",
    "success_metric": "a success metric of the plan",
    "manual": "a criterion only people can attest; never passes without an attestation",
    "decision_point": "a go/no-go decision point",
    "gate": "a gate with a threshold",
    "health_check": "a health check of the plan",
    "validation": "a production validation test of the plan",
    "monitoring": "monitoring activation (dashboards, alarms)",
    "blocker": "severity: a failure blocks the release",
    "critical": "severity: critical",
    "normal": "severity: normal",
}


# --- options, markers, collection ---------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    """Options of the verification suite."""
    group = parser.getgroup("verification", "bedrock-activation verification suite")
    group.addoption("--target", metavar="PATH", help="the run's target.json (written by the playbook)")
    group.addoption(
        "--inventory",
        metavar="NAME",
        help="build the target from inventories/NAME/group_vars (runs by hand)",
    )
    group.addoption("--release", metavar="X.Y.Z", help="with --inventory: the release under deployment")
    group.addoption("--previous-release", metavar="X.Y.Z", help="with --inventory: the previous release")
    group.addoption("--time-scale", type=float, metavar="S", help="with --inventory: the time scale (0, 1]")
    group.addoption(
        "--load-duration-s",
        type=float,
        metavar="S",
        help="override the phase 3 load duration (default: two rolling windows at the time scale)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register every Gherkin tag as a marker."""
    for name, description in GHERKIN_MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")


def _has_target(config: pytest.Config) -> bool:
    return bool(config.getoption("--target") or config.getoption("--inventory"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the gate scenarios out of a plain ``pytest`` run that names no target.

    They need a deployed release to measure. Named explicitly (``pytest tests/features``) without a
    target they are kept and fail, saying so.
    """
    if _has_target(config) or any(str(FEATURES_DIR) in str(Path(a).resolve()) for a in config.args):
        return
    kept, dropped = [], []
    for item in items:
        (dropped if FEATURES_DIR in Path(str(item.path)).parents else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


# --- the target -----------------------------------------------------------------------------------


def _load_target(config: pytest.Config) -> Any:
    from bedrock_release.suite.target import load_target, target_from_inventory  # noqa: PLC0415

    path, inventory = config.getoption("--target"), config.getoption("--inventory")
    if path and inventory:
        raise pytest.UsageError("give either --target or --inventory, not both")
    if path:
        return load_target(path, base_dir=REPO_ROOT)
    if inventory:
        return target_from_inventory(
            REPO_ROOT,
            inventory,
            release=config.getoption("--release"),
            previous_release=config.getoption("--previous-release"),
            time_scale=config.getoption("--time-scale"),
        )
    raise pytest.UsageError(
        "the verification suite needs a target: --target runs/<run-id>/target.json, or "
        "--inventory NAME --release X.Y.Z for a run by hand (docs/verification-suite.md)"
    )


_TARGET_KEY = pytest.StashKey[Any]()


def _stashed_target(config: pytest.Config) -> Any:
    if _TARGET_KEY not in config.stash:
        config.stash[_TARGET_KEY] = _load_target(config)
    return config.stash[_TARGET_KEY]


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Any:
    """The run's target (bedrock_release.suite.target.Target), frozen."""
    from bedrock_release.suite.target import TargetError  # noqa: PLC0415

    try:
        return _stashed_target(pytestconfig)
    except TargetError as exc:
        pytest.fail(f"INCONCLUSIVE: unusable target description: {exc}", pytrace=False)


# --- clients ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def http() -> Iterator[Any]:
    """An HTTP session that ignores proxy variables (the sandbox is loopback only)."""
    from bedrock_release.suite.clients import http_session  # noqa: PLC0415

    session = http_session()
    yield session
    session.close()


@pytest.fixture(scope="session")
def secrets() -> Any:
    """Admin tokens from the environment only (docs/contracts.md "Secrets")."""
    from bedrock_release.suite.clients import Secrets  # noqa: PLC0415

    return Secrets.from_env()


@pytest.fixture(scope="session")
def support_token(secrets: Any) -> str:
    """SUPPORT_ADMIN_TOKEN; a check that needs it is inconclusive without it."""
    from bedrock_release.suite.evidence import inconclusive  # noqa: PLC0415

    if not secrets.support_admin_token:
        inconclusive("secrets", "SUPPORT_ADMIN_TOKEN is not set in the environment")
    return str(secrets.support_admin_token)


def _aws(target: Any, service: str) -> Any:
    from bedrock_release.suite.clients import aws_client  # noqa: PLC0415
    from bedrock_release.suite.evidence import inconclusive  # noqa: PLC0415

    try:
        return aws_client(target, service)
    except ValueError as exc:
        inconclusive(service, str(exc))


@pytest.fixture(scope="session")
def ssm(target: Any) -> Any:
    """boto3 SSM client at the target's AWS endpoint (moto in the sandbox)."""
    return _aws(target, "ssm")


@pytest.fixture(scope="session")
def cloudwatch(target: Any) -> Any:
    """boto3 CloudWatch client at the target's AWS endpoint."""
    return _aws(target, "cloudwatch")


@pytest.fixture(scope="session")
def budgets(target: Any) -> Any:
    """boto3 Budgets client at the target's AWS endpoint."""
    return _aws(target, "budgets")


@pytest.fixture(scope="session")
def sts(target: Any) -> Any:
    """boto3 STS client (the account id Budgets needs)."""
    return _aws(target, "sts")


@pytest.fixture(scope="session")
def bedrock_runtime(target: Any) -> Any:
    """boto3 bedrock-runtime client at the target's Bedrock endpoint (the emulator in the sandbox)."""
    return _aws(target, "bedrock-runtime")


@pytest.fixture(scope="session")
def mcp_client(target: Any) -> Any:
    """The real MCP SDK client (streamable HTTP) at the target's MCP endpoint."""
    from bedrock_release.suite.evidence import inconclusive  # noqa: PLC0415
    from bedrock_release.suite.mcp_client import McpClient  # noqa: PLC0415

    if not target.endpoints.mcp:
        inconclusive("MCP", "the target has no reachable MCP endpoint")
    return McpClient(target.endpoints.mcp)


@pytest.fixture(scope="session")
def invocation_logs(target: Any) -> Any:
    """Bedrock's model invocation logs: the target's CloudWatch Logs group, in the Bedrock region."""
    from bedrock_release.suite.clients import aws_client  # noqa: PLC0415
    from bedrock_release.suite.evidence import inconclusive  # noqa: PLC0415
    from bedrock_release.suite.invocation_logs import InvocationLogSource  # noqa: PLC0415

    if not target.bedrock_invocation_log_group:
        inconclusive(
            "Bedrock invocation logs",
            "the target names no bedrock_invocation_log_group: logging is not set up",
        )
    try:
        logs = aws_client(target, "logs", region=target.bedrock_region)
    except ValueError as exc:
        inconclusive("Bedrock invocation logs", str(exc))
    return InvocationLogSource(logs, target.bedrock_invocation_log_group, target.bedrock_region)


@pytest.fixture
def failure_switches(http: Any, support_token: str) -> Iterator[Any]:
    """The release's Bedrock failure switches a scenario arms; cleared and circuits reset afterwards."""
    import warnings  # noqa: PLC0415

    from bedrock_release.suite.failure_switch import FailureSwitches  # noqa: PLC0415

    switches = FailureSwitches(http, support_token)
    yield switches
    for problem in switches.release():
        # The arming is bounded by the service itself; a host that did not answer is reported, not hidden.
        warnings.warn(f"Bedrock failure switch not released: {problem}", stacklevel=1)


@pytest.fixture(scope="session")
def sent_operations() -> Any:
    """Every operation the checks sent in this session (the audit-trail checks look for them)."""
    from bedrock_release.suite.operations import SentOperations  # noqa: PLC0415

    return SentOperations()


@pytest.fixture
def sender(request: pytest.FixtureRequest, target: Any, http: Any, secrets: Any, sent_operations: Any) -> Any:
    """Sends verification operations to a slot and customer operations through the load balancer."""
    from bedrock_release.suite.evidence import phase_of  # noqa: PLC0415
    from bedrock_release.suite.operations import Sender  # noqa: PLC0415

    return Sender(
        session=http,
        traffic_url=target.endpoints.traffic,
        slot_urls=dict(target.endpoints.slots),
        token=secrets.support_admin_token,
        phase=phase_of(mark.name for mark in request.node.iter_markers()),
        log=sent_operations,
    )


@pytest.fixture(scope="session")
def monitoring(target: Any) -> Any:
    """(MonitoringConfig, AwsClients) of bedrock_release.monitoring for this target."""
    from bedrock_release import monitoring as mon  # noqa: PLC0415
    from bedrock_release.suite.clients import aws_session  # noqa: PLC0415

    config = mon.MonitoringConfig.from_target(
        target.to_dict(), features_dir=REPO_ROOT / "features", delivery_queue=True
    )
    clients = mon.AwsClients.create(
        target.aws_region, endpoint_url=target.endpoints.aws, session=aws_session(target)
    )
    return config, clients


# --- evidence --------------------------------------------------------------------------------------


def _allure_attach(name: str, body: str, mime: str) -> None:
    import allure  # noqa: PLC0415

    kind = allure.attachment_type.JSON if mime == "application/json" else allure.attachment_type.TEXT
    allure.attach(body, name=name, attachment_type=kind)


@pytest.fixture(scope="session")
def gate_ledger() -> list[Any]:
    """Every gate evaluated in this session (decision points read it)."""
    return []


@pytest.fixture(scope="session")
def journal(target: Any) -> Any:
    """The deploy journal named in target.json, or None."""
    from bedrock_release.suite.journal import Journal  # noqa: PLC0415

    return Journal.at(target.journal)


@pytest.fixture
def evidence(request: pytest.FixtureRequest, journal: Any, gate_ledger: list[Any]) -> Any:
    """Records a gate: Allure attachment, ``gate_evaluated`` journal record, fail unless pass."""
    from bedrock_release.suite.evidence import EvidenceRecorder  # noqa: PLC0415

    tags = frozenset(mark.name for mark in request.node.iter_markers())
    return EvidenceRecorder(attach=_allure_attach, journal=journal, tags=tags, ledger=gate_ledger)


_OUTCOME = pytest.StashKey[str]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each scenario's outcome (decision points read the other scenarios of their phase)."""
    report = yield
    if (report.when == "setup" and not report.passed) or report.when == "call":
        item.stash[_OUTCOME] = report.outcome
    return report


@pytest.fixture
def scenario_outcomes(
    request: pytest.FixtureRequest,
) -> dict[str, tuple[str, frozenset[str], str | None, str | None]]:
    """Every scenario of this session: nodeid -> (feature file, tags, outcome or None, scenario name).

    The feature file and the name come from pytest-bdd's scenario template (the test module's path and
    None for an item that is no scenario).
    """
    from pytest_bdd.scenario import scenario_wrapper_template_registry  # noqa: PLC0415

    out = {}
    for item in request.session.items:
        tags = frozenset(mark.name for mark in item.iter_markers())
        template = scenario_wrapper_template_registry.get(getattr(item, "function", None))
        feature = template.feature.filename if template is not None else str(item.path)
        name = template.name if template is not None else None
        out[item.nodeid] = (feature, tags, item.stash.get(_OUTCOME, None), name)
    return out


# --- Allure: labels in one place, environment and categories per run -----------------------------


@pytest.hookimpl(trylast=True)
def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    """Allure labels: epic = release, feature = phase (feature name), story = gate, severity."""
    import allure  # noqa: PLC0415

    from bedrock_release.suite.labels import scenario_labels  # noqa: PLC0415

    try:
        release = _stashed_target(request.config).release
    except Exception:  # a broken target fails the steps; the labels still need a value
        release = "unknown"
    tags = set(scenario.tags) | set(feature.tags)
    for name, value in scenario_labels(
        release=release, feature=feature.name, scenario=scenario.name, tags=tags
    ):
        allure.dynamic.label(name, value)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write environment.properties and categories.json into the Allure results of this run."""
    results = session.config.getoption("allure_report_dir", default=None)
    if not results or not _has_target(session.config):
        return
    from bedrock_release.report.allure import write_run_metadata  # noqa: PLC0415

    try:
        target = _stashed_target(session.config)
        properties = {
            "release": target.release,
            "previous_release": target.previous_release or "none",
            "environment": target.environment,
            "target": target.source,
            "run_id": target.run_id,
            "time_scale": f"{target.time_scale:g}",
            "endpoints": json.dumps(target.endpoints.to_dict(), sort_keys=True),
        }
    except Exception as exc:  # the run's own failures say why; the report still gets its metadata
        properties = {"target": f"unusable: {exc}"}
    write_run_metadata(Path(results), properties)
