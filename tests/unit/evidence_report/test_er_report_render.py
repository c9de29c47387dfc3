"""report.md and report.html of a run: contents, plots as inline SVG, and the report command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from er_run_factory import make_run

from bedrock_release.cli import main
from bedrock_release.report.render import load_view, plots, render_html, render_markdown


@pytest.fixture(scope="module")
def rolled_back(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("er-render"))


def test_markdown_has_outcome_phases_decisions_gates_and_rollback(rolled_back: Path) -> None:
    text = render_markdown(load_view(rolled_back))
    assert "# Deployment report: 1.1.0 (rolled_back)" in text
    assert "**Previous release**: 1.0.0" in text
    assert "| 5 | Feature Flag Activation | failed | 20 | 30 |" in text
    assert "| 2 | go | all SLO gates pass |" in text
    assert "| p95-latency-generation | pass | 912 | <= 1500 | ms | 480 (min 300) |" in text
    assert "took 7 s against a target of 1800 s (within target); verified: yes" in text
    assert "Disable all hybrid routing feature flags" in text
    assert "not a model" in text


def test_html_is_one_file_with_every_plot_as_svg(rolled_back: Path) -> None:
    view = load_view(rolled_back)
    page = render_html(view)
    assert page.count("<svg") == 5
    for key in ("phases", "latency", "errors", "weights", "flags"):
        assert f"id='plot-{key}' data-has-data='yes'" in page
    assert "<link" not in page  # nothing loads from elsewhere
    assert 'href="http' not in page
    assert "<script type='application/json' id='report-json'>" in page
    assert "src=" not in page


def test_missing_data_is_said_not_drawn(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, rolled_back=False)
    for path in (run_dir / "results" / "load").glob("*.json"):
        path.write_text("{not json", encoding="utf-8")
    view = load_view(run_dir)
    by_key = {p.key: p for p in plots(view)}
    assert by_key["latency"].svg is None
    assert by_key["latency"].missing == "no locust results in this run"
    assert len(view.load_problems) == 1
    assert "load results not shown" in render_markdown(view)
    assert view.report.rollback is None
    assert "No rollback ran." in render_markdown(view)


def test_report_command_rewrites_and_prints(rolled_back: Path, capsys: pytest.CaptureFixture) -> None:
    (rolled_back / "report.json").unlink(missing_ok=True)
    assert main(["report", str(rolled_back), "--no-allure", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["verified"] is True
    for key in ("report_json", "report_md", "report_html"):
        assert Path(summary[key]).is_file()
    assert main(["report", rolled_back.name, "--runs-dir", str(rolled_back.parent), "--no-bundle"]) == 0
    assert "# Deployment report: 1.1.0" in capsys.readouterr().out


def test_report_command_names_a_bad_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["report", "nope", "--runs-dir", str(tmp_path)]) == 2
    assert "run 'nope'" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty"), "--no-bundle"]) == 2
    assert "empty" in capsys.readouterr().err
