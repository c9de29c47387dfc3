"""``report.md`` and a single-file ``report.html`` beside ``report.json``: the deploy report people read.

Both are renderings of one ``RunView``: the validated report (``report_builder``), the journal's
timeline (weights, flags, watch evaluations, rollback) and the locust results of the run. The HTML
carries its plots as inline SVG (matplotlib's svg backend, no pyplot, no network), so the file opens
anywhere, offline, and a reader never needs the run folder.
"""

from __future__ import annotations

import html
import io
import itertools
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from audit_trail import AuditRecord, read
from bedrock_release.gates.slo import rolling_windows
from bedrock_release.load.results import ALL, LoadResults, LoadResultsError, load_results
from bedrock_release.pipeline.journal import JOURNAL_NAME, parse_ts
from bedrock_release.plan import FLAGS, ROLLING_WINDOW_S
from bedrock_release.report.builder import REPORT_NAME, write_report
from bedrock_release.report.model import PhaseEntry, Report

__all__ = [
    "HTML_NAME",
    "MD_NAME",
    "Plot",
    "RunView",
    "load_view",
    "render_html",
    "render_markdown",
    "write_renderings",
]

MD_NAME = "report.md"
HTML_NAME = "report.html"
ALLURE_REPORT = "allure-report/index.html"
#: The plan's latency limits by locust request kind (features/slo_gates.feature), drawn as guides.
_LIMIT_MS = {"generation": 1500.0, "cached": 300.0}
_ERROR_LIMIT_PCT = 1.0
_COLORS = {"blue": "#1f77b4", "green": "#2ca02c"}


@dataclass(frozen=True)
class Plot:
    """One figure: its title, what it shows, and the SVG (None with the reason when there is no data)."""

    key: str
    title: str
    caption: str
    svg: str | None
    missing: str = ""


@dataclass(frozen=True)
class RunView:
    """What the renderings show of one run."""

    run_dir: Path
    run_id: str
    report: Report
    records: tuple[AuditRecord, ...]
    loads: tuple[LoadResults, ...] = ()
    load_problems: tuple[str, ...] = ()
    started_at: datetime | None = None
    watch: tuple[Mapping[str, Any], ...] = field(default=())

    def t(self, ts: str) -> float:
        """Seconds since the run started."""
        start = self.started_at or parse_ts(self.records[0].ts)
        return (parse_ts(ts) - start).total_seconds()

    @property
    def allure_link(self) -> str | None:
        """The run's Allure report, relative to the run folder, when it was generated."""
        return ALLURE_REPORT if (self.run_dir / ALLURE_REPORT).is_file() else None

    @property
    def main_load(self) -> LoadResults | None:
        """The phase 3 SLO load when present (the gates' evidence), else the longest load of the run."""
        if not self.loads:
            return None
        slo = [r for r in self.loads if Path(r.path).name.startswith("slo")]
        return max(slo or self.loads, key=lambda r: r.requests)


def load_view(run_dir: str | os.PathLike[str], *, rebuild: bool = True) -> RunView:
    """Read a run folder; with ``rebuild`` (default) report.json is written again from the journal first."""
    run_dir = Path(run_dir)
    if rebuild or not (run_dir / REPORT_NAME).is_file():
        _, report = write_report(run_dir)
    else:
        report = Report.load(run_dir / REPORT_NAME)
    records = read(run_dir / JOURNAL_NAME)
    started = next((r for r in records if r.action == "run_started"), None)
    loads, problems = [], []
    folder = run_dir / "results" / "load"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            loads.append(load_results(path))
        except (LoadResultsError, OSError) as exc:
            problems.append(str(exc))
    watch = tuple(
        {"ts": r.ts, **r.data}
        for r in records
        if r.action == "gate_evaluated" and str(r.data.get("phase")) == "watch"
    )
    return RunView(
        run_dir=run_dir,
        run_id=str(started.data.get("run_id")) if started else run_dir.name,
        report=report,
        records=records,
        loads=tuple(loads),
        load_problems=tuple(problems),
        started_at=parse_ts(started.ts) if started else None,
        watch=watch,
    )


# --- plots -------------------------------------------------------------------------------------


def _figure(height: float = 3.0) -> Any:
    from matplotlib.figure import Figure  # noqa: PLC0415 - only renderings need matplotlib

    fig = Figure(figsize=(8.0, height), dpi=96, layout="constrained")
    return fig, fig.add_subplot()


def _svg(fig: Any) -> str:
    import matplotlib as mpl  # noqa: PLC0415

    buffer = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": "bedrock-release", "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _latency_plot(view: RunView) -> Plot:
    title = "Latency distribution by request kind"
    load = view.main_load
    caption = (
        "Empirical distribution of response times per request kind (locust; `cached` = answered by the "
        "cache route), with the P95 limits of the SLO gates."
    )
    if load is None or not load.kinds:
        return Plot("latency", title, caption, None, "no locust results in this run")
    fig, ax = _figure(3.4)
    for name, kind in sorted(load.kinds.items()):
        # Each bucket's samples are at or below its upper bound: the curve never shows a time too low.
        points = [(b.upper if math.isfinite(b.upper) else b.lower, b.count) for b in kind.histogram().buckets]
        total = sum(c for _, c in points)
        if not total:
            continue
        xs, ys, seen = [], [], 0
        for value, count in points:
            seen += count
            xs.append(max(value, 1.0))
            ys.append(100.0 * seen / total)
        line = ax.step(xs, ys, where="post", label=f"{name} (n={total})")[0]
        if name in _LIMIT_MS:
            ax.axvline(_LIMIT_MS[name], color=line.get_color(), linestyle=":", linewidth=1)
    ax.axhline(95, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("response time (ms, log scale); dotted: P95 limit of the kind")
    ax.set_ylabel("requests at or below (%)")
    ax.set_title(f"{Path(load.path).name}", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    return Plot("latency", title, caption, _svg(fig))


def _error_plot(view: RunView) -> Plot:
    title = "Error rate over time"
    window = ROLLING_WINDOW_S * view.report.time_scale
    caption = (
        f"Failed requests in the rolling {window:g} s window (the plan's 5 minutes at time scale "
        f"{view.report.time_scale:g}) and per second, against the 1 % gate."
    )
    load = view.main_load
    series = load.series_of(ALL) if load is not None else ()
    if len(series) < 2:
        return Plot("errors", title, caption, None, "no request series in this run")
    fig, ax = _figure()
    per_second = [
        (b.t, 100.0 * (b.failures - a.failures) / (b.requests - a.requests))
        for a, b in itertools.pairwise(series)
        if b.requests > a.requests
    ]
    if per_second:
        ax.plot(*zip(*per_second, strict=True), color="#bbbbbb", linewidth=0.8, label="per second")
    rolling = [(w.end, w.rate_pct) for w in rolling_windows(series, window) if w.rate_pct is not None]
    if rolling:
        ax.plot(*zip(*rolling, strict=True), color="#d62728", linewidth=1.6, label=f"rolling {window:g} s")
    ax.axhline(_ERROR_LIMIT_PCT, color="black", linestyle="--", linewidth=0.8, label="gate 1 %")
    ax.set_xlabel("seconds since the load started")
    ax.set_ylabel("error rate (%)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"{Path(load.path).name}", fontsize=9)
    ax.legend(fontsize=8, loc="upper right")
    return Plot("errors", title, caption, _svg(fig))


def _weights_plot(view: RunView) -> Plot:
    title = "Traffic weights over time"
    caption = "Weights set on the load balancer (journal `traffic_weights_set`), percent per slot."
    points = [(view.t(r.ts), r.data["weights"]) for r in view.records if r.action == "traffic_weights_set"]
    if not points:
        return Plot("weights", title, caption, None, "the journal records no traffic change")
    end = view.t(view.records[-1].ts)
    fig, ax = _figure(2.6)
    for slot in ("blue", "green"):
        xs = [0.0] + [t for t, _ in points] + [max(end, points[-1][0])]
        first = 100 - int(points[0][1].get("green" if slot == "blue" else "blue", 0))
        ys = [first] + [int(w.get(slot, 0)) for _, w in points] + [int(points[-1][1].get(slot, 0))]
        ax.step(xs, ys, where="post", label=slot, color=_COLORS[slot], linewidth=1.6)
    _mark_rollback(view, ax)
    ax.set_ylim(-5, 105)
    ax.set_xlabel("seconds since the run started")
    ax.set_ylabel("weight (%)")
    ax.legend(fontsize=8, loc="center right")
    return Plot("weights", title, caption, _svg(fig))


def _flags_plot(view: RunView) -> Plot:
    title = "Feature flag timeline"
    caption = "When each of the plan's five flags was on (journal `flag_set`); red line: rollback started."
    events = [
        (view.t(r.ts), r.data["flag"], bool(r.data["value"])) for r in view.records if r.action == "flag_set"
    ]
    snapshot = next((r.data.get("values") for r in view.records if r.action == "flags_snapshot"), None) or {}
    end = view.t(view.records[-1].ts)
    if not events and not any(snapshot.values()):
        return Plot("flags", title, caption, None, "the journal records no flag change")
    fig, ax = _figure(2.4)
    for row, flag in enumerate(FLAGS):
        on_since = 0.0 if snapshot.get(flag) else None
        spans = []
        for t, name, value in events:
            if name != flag:
                continue
            if value and on_since is None:
                on_since = t
            elif not value and on_since is not None:
                spans.append((on_since, t - on_since))
                on_since = None
        if on_since is not None:
            spans.append((on_since, max(end - on_since, 0.5)))
        ax.broken_barh(spans, (row - 0.35, 0.7), color="#2ca02c")
    _mark_rollback(view, ax)
    ax.set_yticks(range(len(FLAGS)), [f.removeprefix("ENABLE_") for f in FLAGS], fontsize=7)
    ax.set_xlim(0, max(end, 1.0))
    ax.set_xlabel("seconds since the run started")
    return Plot("flags", title, caption, _svg(fig))


def _phases_plot(view: RunView) -> Plot:
    title = "Phases against their time budget"
    caption = f"Wall-clock duration of each phase and its budget at time scale {view.report.time_scale:g}."
    phases = [p for p in view.report.phases if p.duration_s is not None]
    if not phases:
        return Plot("phases", title, caption, None, "no phase ran")
    fig, ax = _figure(2.6)
    labels = [f"{p.id} {p.name}" for p in phases]
    ax.barh(labels, [p.budget_s for p in phases], color="#dddddd", label="budget")
    ax.barh(
        labels,
        [p.duration_s or 0.0 for p in phases],
        height=0.45,
        color=["#d62728" if p.over_budget or p.status.value == "failed" else "#1f77b4" for p in phases],
        label="duration",
    )
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("seconds")
    ax.legend(fontsize=8, loc="lower right")
    return Plot("phases", title, caption, _svg(fig))


def _mark_rollback(view: RunView, ax: Any) -> None:
    for record in view.records:
        if record.action == "rollback_started":
            ax.axvline(view.t(record.ts), color="#d62728", linewidth=1.2)


def plots(view: RunView) -> tuple[Plot, ...]:
    """Every plot of the report, in reading order."""
    return (
        _phases_plot(view),
        _latency_plot(view),
        _error_plot(view),
        _weights_plot(view),
        _flags_plot(view),
    )


# --- text ----------------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if math.isfinite(value) else str(value)
    return str(value)


def _gate_rows(report: Report) -> list[list[str]]:
    rows = []
    for gate in report.gates:
        details = gate.details or {}
        reasons = "; ".join(str(r) for r in details.get("reasons") or [])
        rows.append(
            [
                gate.name,
                gate.verdict.value,
                _fmt(gate.value),
                f"{details.get('comparison', '')} {_fmt(gate.threshold)}".strip(),
                gate.unit,
                f"{gate.samples}" + (f" (min {details['min_samples']})" if "min_samples" in details else ""),
                gate.source,
                reasons,
            ]
        )
    return rows


def _rollback_line(report: Report) -> str:
    rb = report.rollback
    if rb is None:
        return "No rollback ran."
    within = "within" if rb.within_target else "OVER"
    line = (
        f"{rb.tier.value} rollback, trigger: {rb.trigger}; took {rb.duration_s:g} s against a target of "
        f"{rb.target_s:g} s ({within} target); verified: {'yes' if rb.verified else 'NO'}."
    )
    if rb.reason and not rb.verified:
        line += f" {rb.reason}."
    if rb.traffic_left:
        line += f" Traffic left: {rb.traffic_left}."
    return line


def _rollback_steps(view: RunView) -> list[list[str]]:
    return [
        [
            _fmt(round(view.t(r.ts), 2)),
            str(r.data.get("step")),
            str(r.data.get("status")),
            str(r.data.get("detail", "")),
        ]
        for r in view.records
        if r.action == "rollback_step"
    ]


def _pages(view: RunView) -> list[list[str]]:
    """Every on-call page of the run (journal ``oncall_paged``): when, why, whether SNS took it."""
    return [
        [
            _fmt(round(view.t(r.ts), 2)),
            str(r.data.get("event", "rollback_failed")),
            "yes" if r.data.get("delivered") else f"NO ({r.data.get('error', 'undelivered')})",
            str(r.data.get("reason", "")),
        ]
        for r in view.records
        if r.action == "oncall_paged"
    ]


_PAGE_HEADER = ("t (s)", "event", "delivered", "message")

_GAP_NOTE = (
    "Implementation-gap detection accuracy measured in the sandbox measures the support pipeline "
    "(request, routing, PII redaction, the support tools' deterministic diagnosis, answer), not a model: "
    "the sandbox's Bedrock is an emulator."
)


def _headline(view: RunView) -> list[tuple[str, str]]:
    r = view.report
    return [
        ("Run", view.run_id),
        ("Outcome", r.outcome.value),
        ("Release", r.release),
        ("Previous release", r.previous_release or "-"),
        ("Environment", r.environment),
        ("Time scale", f"{r.time_scale:g} (every wait of the plan multiplied by it)"),
        ("Phase budget policy", _budget_policy(r.phases)),
    ]


def _budget_policy(phases: Sequence[PhaseEntry]) -> str:
    policies = sorted({p.budget_policy for p in phases if p.budget_policy})
    over = [str(p.id) for p in phases if p.over_budget]
    text = ", ".join(policies) if policies else "not recorded"
    return text + (f" (over budget: phase {', '.join(over)})" if over else "")


def _over_budget(p: PhaseEntry) -> str:
    if not p.over_budget:
        return ""
    return f"yes ({p.budget_policy})" if p.budget_policy else "yes"


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


_GATE_HEADER = ("gate", "verdict", "value", "threshold", "unit", "samples", "source", "reasons")


def render_markdown(view: RunView) -> str:
    """The report as Markdown (tables; plots are in report.html)."""
    r = view.report
    out = [f"# Deployment report: {r.release} ({r.outcome.value})", ""]
    out += [f"- **{k}**: {v}" for k, v in _headline(view)]
    out += ["", "## Phases", ""]
    out.append(
        _md_table(
            ("phase", "name", "status", "duration (s)", "budget (s)", "over budget"),
            [
                [
                    str(p.id),
                    p.name,
                    p.status.value,
                    _fmt(p.duration_s),
                    _fmt(p.budget_s),
                    _over_budget(p),
                ]
                for p in r.phases
            ],
        )
    )
    out += ["", "## Decision points", ""]
    out.append(
        _md_table(
            ("id", "verdict", "reason"), [[str(d.id), d.verdict.value, d.reason] for d in r.decision_points]
        )
        if r.decision_points
        else "No decision point was reached."
    )
    out += ["", "## Gates", ""]
    out.append(_md_table(_GATE_HEADER, _gate_rows(r)) if r.gates else "No gate was evaluated.")
    if view.watch:
        out += ["", "## Post-deployment watch", "", _watch_summary(view)]
    out += ["", "## Rollback", "", _rollback_line(r)]
    if steps := _rollback_steps(view):
        out += ["", _md_table(("t (s)", "step", "status", "detail"), steps)]
    if pages := _pages(view):
        out += ["", "## On-call", "", _md_table(_PAGE_HEADER, pages)]
    out += ["", "## Notes", "", f"- {_GAP_NOTE}"]
    if view.load_problems:
        out += [f"- load results not shown: {p}" for p in view.load_problems]
    link = view.allure_link
    out += ["", f"Allure report: [{link}]({link})" if link else "Allure report: not generated for this run."]
    out += ["Plots: see report.html beside this file.", ""]
    return "\n".join(out)


def _watch_summary(view: RunView) -> str:
    evaluations = sorted({int(w.get("evaluation", 0)) for w in view.watch})
    failed = [w for w in view.watch if (w.get("gate") or {}).get("verdict") != "pass"]
    text = f"{len(evaluations)} evaluations, {len(view.watch)} gate results"
    if failed:
        first = failed[0]["gate"]
        where = failed[0].get("evaluation")
        text += f"; first breach: {first.get('name')} ({first.get('verdict')}) in evaluation {where}"
    else:
        text += "; every gate passed"
    return text + "."


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.82rem;width:100%}td,th{border:1px solid #ddd;padding:3px 6px;
text-align:left;vertical-align:top}th{background:#f4f4f4}.pass,.passed,.go,.deployed{color:#1a7f37;font-weight:600}
.fail,.failed,.no-go,.no_go,.rolled_back,.inconclusive{color:#b42318;font-weight:600}
figure{margin:1rem 0}figcaption{font-size:.85rem;color:#555}.missing{color:#b42318;font-style:italic}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 1rem}dt{font-weight:600}
"""


def _h(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], classes: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{_h(c)}</th>" for c in header)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="{_h(c)}">{_h(c)}</td>' if i in classes else f"<td>{_h(c)}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(view: RunView) -> str:
    """The report as one self-contained HTML file with inline SVG plots."""
    r = view.report
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Deployment report {_h(r.release)} - {_h(r.outcome.value)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Deployment report: release {_h(r.release)} - "
        f"<span class='{_h(r.outcome.value)}'>{_h(r.outcome.value)}</span></h1>",
        "<dl>" + "".join(f"<dt>{_h(k)}</dt><dd>{_h(v)}</dd>" for k, v in _headline(view)) + "</dl>",
    ]
    link = view.allure_link
    parts.append(
        f"<p>Allure report: <a id='allure-link' href='{_h(link)}'>{_h(link)}</a></p>"
        if link
        else "<p>Allure report: not generated for this run.</p>"
    )
    parts.append("<h2>Phases</h2>")
    parts.append(
        _html_table(
            ("phase", "name", "status", "duration (s)", "budget (s)", "over budget"),
            [
                [
                    str(p.id),
                    p.name,
                    p.status.value,
                    _fmt(p.duration_s),
                    _fmt(p.budget_s),
                    _over_budget(p),
                ]
                for p in r.phases
            ],
            classes=(2,),
        )
    )
    parts.append("<h2>Decision points</h2>")
    parts.append(
        _html_table(
            ("id", "verdict", "reason"),
            [[str(d.id), d.verdict.value, d.reason] for d in r.decision_points],
            (1,),
        )
        if r.decision_points
        else "<p>No decision point was reached.</p>"
    )
    parts.append("<h2>Gates</h2>")
    parts.append(
        _html_table(_GATE_HEADER, _gate_rows(r), (1,)) if r.gates else "<p>No gate was evaluated.</p>"
    )
    if view.watch:
        parts += ["<h2>Post-deployment watch</h2>", f"<p>{_h(_watch_summary(view))}</p>"]
    parts += ["<h2>Rollback</h2>", f"<p id='rollback'>{_h(_rollback_line(r))}</p>"]
    if steps := _rollback_steps(view):
        parts.append(_html_table(("t (s)", "step", "status", "detail"), steps))
    if pages := _pages(view):
        parts += ["<h2>On-call</h2>", _html_table(_PAGE_HEADER, pages)]
    parts.append("<h2>Plots</h2>")
    for plot in plots(view):
        body = plot.svg if plot.svg else f"<p class='missing'>{_h(plot.missing)}</p>"
        parts.append(
            f"<figure class='plot' id='plot-{_h(plot.key)}' data-has-data='{'yes' if plot.svg else 'no'}'>"
            f"<h3>{_h(plot.title)}</h3>{body}<figcaption>{_h(plot.caption)}</figcaption></figure>"
        )
    parts += ["<h2>Notes</h2>", f"<ul><li>{_h(_GAP_NOTE)}</li>"]
    parts += [f"<li>load results not shown: {_h(p)}</li>" for p in view.load_problems]
    parts.append("</ul>")
    parts.append(
        "<script type='application/json' id='report-json'>"
        + json.dumps(r.to_dict()).replace("</", "<\\/")
        + "</script></body></html>"
    )
    return "\n".join(parts) + "\n"


def _write(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_renderings(run_dir: str | os.PathLike[str], *, rebuild: bool = True) -> tuple[Path, Path, RunView]:
    """Write report.md and report.html beside report.json (rebuilt from the journal first by default)."""
    view = load_view(run_dir, rebuild=rebuild)
    md = _write(view.run_dir / MD_NAME, render_markdown(view))
    page = _write(view.run_dir / HTML_NAME, render_html(view))
    return md, page, view
