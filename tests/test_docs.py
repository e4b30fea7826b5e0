"""The documentation site: it builds with warnings as errors, its API reference lists the
public names, a missing figure or table stops the build, and its examples run as shown."""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PYCON = re.compile(r"^```pycon\n(.*?)^```", re.S | re.M)
PAGES_WITH_EXAMPLES = sorted(p for p in DOCS.rglob("*.md") if PYCON.search(p.read_text("utf-8")))


def _mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess:
    for module in ("mkdocs", "mkdocstrings", "mkdocstrings_handlers.python", "material"):
        pytest.importorskip(module)
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "--site-dir",
         str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


API_NAMES = {
    "jacchain": ["jacchain.plan", "jacchain.evaluate", "jacchain.verify", "jacchain.Plan",
                 "jacchain.Plan.evaluate", "jacchain.GraphPlan.evaluate", "jacchain.plan_graph",
                 "jacchain.JacChainError", "jacchain.Sequential"],
    "layers": ["jacchain.layers.Dense", "jacchain.layers.Function"],
    "jax": ["jacchain.jax.jacobian", "jacchain.jax.graph", "jacchain.jax.ProgramPlan"],
    "torch": ["jacchain.torch.jacobian", "jacchain.torch.graph"],
}


def _anchors(page: Path) -> set[str]:
    return set(re.findall(r'id="([^"]+)"', page.read_text("utf-8")))


def test_the_site_builds_strictly_with_the_api_and_the_results(tmp_path: Path) -> None:
    """One build (a few seconds) checked throughout, so that parallel workers build it once."""
    import jacchain as jc

    out = _mkdocs_build(ROOT / "mkdocs.yml", tmp_path)
    assert out.returncode == 0, f"mkdocs build --strict failed:\n{out.stdout}\n{out.stderr}"
    assert (tmp_path / "getting-started" / "index.html").is_file()

    for page, names in API_NAMES.items():
        missing = set(names) - _anchors(tmp_path / "api" / page / "index.html")
        assert not missing, f"api/{page}.md lacks {sorted(missing)}"
    public = {f"jacchain.{name}" for name in jc.__all__ if name not in ("layers", "__version__")}
    assert not public - _anchors(tmp_path / "api" / "jacchain" / "index.html")

    results = ROOT / "experiments" / "results"
    savings = (tmp_path / "experiments" / "savings" / "index.html").read_text("utf-8")
    row = next(line for line in (results / "savings.md").read_text("utf-8").splitlines()
               if line.startswith("| uniform"))
    assert all(f"<td>{cell.strip()}</td>" in savings for cell in row.strip("|").split("|"))
    for figure in results.iterdir():
        if figure.suffix in (".png", ".svg"):
            assert (tmp_path / "experiments" / "results" / figure.name).is_file()


def _hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_missing_results_table_stops_the_build() -> None:
    pytest.importorskip("mkdocs")
    from mkdocs.exceptions import PluginError

    hooks = _hooks()
    with pytest.raises(PluginError, match="no_such_table.md"):
        hooks.on_page_markdown("{{ results/no_such_table.md }}\n", _Page("experiments/x.md"), {}, None)


def test_included_results_are_demoted_relinked_and_never_read_as_links() -> None:
    pytest.importorskip("mkdocs")
    hooks = _hooks()
    text = hooks.results_markdown("vs_frameworks.md", "experiments/vs_frameworks.md")
    assert text.startswith("## ")
    assert "tangent[J7]\\(adjoint[J1]" in text
    assert hooks._unlinked_cell_text("| x[1](2) | `y[1](2)` |") == "| x[1]\\(2) | `y[1](2)` |"
    assert hooks._relative_link("savings.png", "results") == "results/savings.png"
    assert hooks._relative_link("https://x.org/a.png", "results") == "https://x.org/a.png"


class _Page:
    def __init__(self, src_uri: str) -> None:
        self.file = type("F", (), {"src_uri": src_uri})()


def test_a_missing_figure_stops_the_strict_build(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Figures\n\n![a figure](experiments/results/no_such.png)\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text(f"site_name: t\ndocs_dir: {docs}\nhooks: [{DOCS / 'hooks.py'}]\n")
    out = _mkdocs_build(config, tmp_path / "site")
    assert out.returncode != 0
    assert "no_such.png" in out.stdout + out.stderr
    figures = sorted((ROOT / "experiments" / "results").glob("*.png"))
    if figures:  # and the same page with a figure that exists builds
        (docs / "index.md").write_text(f"# Figures\n\n![a figure](experiments/results/{figures[0].name})\n")
        out = _mkdocs_build(config, tmp_path / "site")
        assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("page", PAGES_WITH_EXAMPLES, ids=lambda p: str(p.relative_to(DOCS)))
def test_the_examples_print_what_the_page_shows(page: Path) -> None:
    """The ``pycon`` blocks of a page, in order in one namespace, give the output shown."""
    text = "\n".join(PYCON.findall(page.read_text("utf-8")))
    test = doctest.DocTestParser().get_doctest(text, {}, page.name, str(page), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
