"""The offline single-file Allure report: metadata, categories, analytics stripped, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bedrock_release.report.allure import (
    CATEGORIES,
    AllureReportError,
    generate_html,
    strip_external,
    write_run_metadata,
)


def test_metadata_has_release_target_scale_and_versions(tmp_path: Path) -> None:
    write_run_metadata(tmp_path, {"release": "1.1.0", "time_scale": "0.05", "target": "a=b\nc"})
    text = (tmp_path / "environment.properties").read_text()
    assert "release=1.1.0\n" in text
    assert "time_scale=0.05\n" in text
    assert "target=a=b\\nc\n" in text
    assert "version.pytest-bdd=" in text
    assert json.loads((tmp_path / "categories.json").read_text()) == json.loads(CATEGORIES.read_text())


def test_categories_separate_inconclusive_defects_and_infrastructure() -> None:
    categories = json.loads(CATEGORIES.read_text())
    names = [c["name"].split(" ")[0] for c in categories]
    assert names == ["Gate", "Product", "Infrastructure"]
    assert categories[0]["messageRegex"].endswith("INCONCLUSIVE.*")
    assert categories[2]["matchedStatuses"] == ["broken"]


def test_the_analytics_tag_is_removed_and_nothing_external_may_remain() -> None:
    page = (
        '<html><body><div id="app"></div>'
        '<script async src="https://www.googletagmanager.com/gtag/js?id=G-X"></script>\n'
        "    <script>\n        window.dataLayer = window.dataLayer || [];\n        gtag('js', new Date());\n"
        "    </script></body></html>"
    )
    assert "googletagmanager" not in strip_external(page)
    with pytest.raises(AllureReportError, match="external resource"):
        strip_external('<link rel="stylesheet" href="https://cdn.example.com/x.css">')


def test_no_results_or_no_tool_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(AllureReportError, match="no Allure results"):
        generate_html(tmp_path / "empty", tmp_path / "out")
    results = tmp_path / "results"
    results.mkdir()
    (results / "x-result.json").write_text("{}")
    with pytest.raises(AllureReportError, match="make setup"):
        generate_html(results, tmp_path / "out", allure_bin=tmp_path / "no-allure")
