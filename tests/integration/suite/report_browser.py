"""Open an Allure HTML report in headless Debian Chromium and read its tree: features and their gates."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# Opens every tree section that shows no content yet (some start collapsed, some open), until all are open.
_EXPAND = """<script>
(function () {
  var clicked = {};
  setInterval(function () {
    document.querySelectorAll('[data-testid="tree-section"]').forEach(function (section) {
      var open = section.parentElement.querySelector(':scope > [data-testid="tree-content"]');
      var id = section.getAttribute("data-tree-node-id");
      var now = Date.now();
      if (!open && (!clicked[id] || now - clicked[id] > 1000)) {
        clicked[id] = now;
        var arrow = section.querySelector('[data-testid="tree-arrow"]');
        if (arrow) { arrow.click(); }
      }
    });
  }, 300);
})();
</script>"""
_SECTION = re.compile(r'data-testid="tree-section-title"[^>]*>(.*?)</')
_LEAF = re.compile(r'data-testid="tree-leaf-title"[^>]*>(.*?)</')


def dump_dom(page: Path, profile: Path, *, budget_ms: int = 20000) -> str:
    """Render a page offline in headless Chromium and return its DOM."""
    assert CHROMIUM.exists(), "Debian chromium is missing: run `make chromium`"
    shutil.rmtree(profile, ignore_errors=True)
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
        f"--virtual-time-budget={budget_ms}", "--dump-dom", page.resolve().as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def rendered_tree(report: Path, profile: Path) -> dict[str, set[str]]:
    """Feature (tree section) -> the gate titles (tree leaves) under it, as the browser shows them."""
    source = report.read_text(encoding="utf-8")
    probe = report.with_name("probe.html")
    end = source.rfind("</body>")
    probe.write_text(source[:end] + _EXPAND + source[end:], encoding="utf-8")
    dom = dump_dom(probe, profile)
    tree: dict[str, set[str]] = {}
    current = None
    for match in re.finditer(f"{_SECTION.pattern}|{_LEAF.pattern}", dom):
        section, leaf = match.group(1), match.group(2)
        if section is not None:
            current = html.unescape(section)
            tree.setdefault(current, set())
        elif current is not None and leaf is not None:
            tree[current].add(html.unescape(leaf))
    return tree
