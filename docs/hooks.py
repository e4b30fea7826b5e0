"""MkDocs hooks: the experiments' results in the site, read from experiments/results/.

The experiment scripts write their tables (``*.md``) and figures (``*.png``, ``*.svg``) to
``experiments/results/``, outside ``docs/``. These hooks make them part of the site without
copies in git:

- every figure there becomes a site file at ``experiments/results/NAME``, so a page links
  it as ``results/NAME`` from ``docs/experiments/`` (a link to a figure that is not there
  is a missing file, which ``mkdocs build --strict`` refuses);
- a line ``{{ results/NAME.md }}`` in a page is replaced by that table file, its headings
  moved one level down, its links made relative to the page, and its table cells kept from
  being read as links (plans such as ``tangent[J7](adjoint[J1](J6))`` look like one); a
  missing file stops the build;
- Sphinx roles in docstrings (``:class:`Plan```) are shown as their code alone in the API
  pages, which mkdocstrings does not interpret.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parents[1]
RESULTS_URI = "experiments/results"
RESULTS = ROOT / RESULTS_URI
FIGURE_SUFFIXES = (".png", ".svg")

INCLUDE = re.compile(r"^\{\{ results/([\w.-]+\.md) \}\}[ \t]*$", re.M)
HEADING = re.compile(r"^(#{1,5}) ", re.M)
LINK = re.compile(r"(!?\[[^\]\n]*\]\()([^)\s]+)(\))")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj):(?=<code>)")


def on_files(files: Files, config: Any) -> Files:
    """Add every figure in experiments/results/ to the site's files."""
    for path in sorted(RESULTS.iterdir()):
        if path.suffix in FIGURE_SUFFIXES:
            uri = f"{RESULTS_URI}/{path.name}"
            files.append(File(uri, str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files


def _relative_link(target: str, prefix: str) -> str:
    if target.startswith(("#", "/")) or re.match(r"^[a-z][a-z0-9+.-]*:", target):
        return target
    return posixpath.join(prefix, target)


def _unlinked_cell_text(line: str) -> str:
    """A table row whose ``](`` outside code spans cannot start a link."""
    parts = CODE_SPAN.split(line)
    # re.split with two groups yields text, fence, code, text, fence, code, ..., text
    for index in range(0, len(parts), 3):
        parts[index] = parts[index].replace("](", "]\\(")
    for index in range(1, len(parts), 3):
        parts[index] = parts[index] + parts[index + 1] + parts[index]
        parts[index + 1] = ""
    return "".join(parts)


def results_markdown(name: str, page_uri: str) -> str:
    """The table file ``experiments/results/NAME`` as it reads inside the page ``page_uri``."""
    path = RESULTS / name
    if not path.is_file():
        raise PluginError(f"{page_uri} includes {RESULTS_URI}/{name}, which does not exist")
    prefix = posixpath.relpath(RESULTS_URI, posixpath.dirname(page_uri) or ".")
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("|"):
            lines.append(_unlinked_cell_text(line))
        else:
            line = HEADING.sub(r"#\1 ", line)
            lines.append(LINK.sub(lambda m: m[1] + _relative_link(m[2], prefix) + m[3], line))
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Page, config: Any, files: Files) -> str:
    """Replace each ``{{ results/NAME.md }}`` line by that results file."""
    return INCLUDE.sub(lambda m: results_markdown(m[1], page.file.src_uri), markdown)


def on_page_content(html: str, page: Page, config: Any, files: Files) -> str:
    """Drop the Sphinx role before a docstring's code (``:class:`` in ``:class:`Plan```)."""
    return ROLE.sub("", html)
