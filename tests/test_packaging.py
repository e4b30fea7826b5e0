"""Packaging basics: one version everywhere, py.typed shipped, a changelog entry per version."""

import importlib.metadata
import importlib.resources
import re
from pathlib import Path

import pytest

import jacchain as jc
from jacchain.cli import main

ROOT = Path(__file__).resolve().parents[1]


def pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")  # the standard library's from Python 3.11
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_version_is_the_same_in_the_cli_the_package_and_its_metadata(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"jacchain {jc.__version__}\n"
    assert jc.__version__ == importlib.metadata.version("jacchain")
    assert re.fullmatch(r"\d+\.\d+\.\d+", jc.__version__)


def test_the_version_is_stated_once():
    project = pyproject()
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "jacchain._version.__version__"
    stated = [path for path in (ROOT / "jacchain").rglob("*.py")
              if re.search(r"^__version__\s*=", path.read_text(encoding="utf-8"), re.M)]
    assert stated == [ROOT / "jacchain" / "_version.py"]


def test_py_typed_is_in_the_package_and_its_package_data():
    assert importlib.resources.files("jacchain").joinpath("py.typed").is_file()
    project = pyproject()
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["jacchain"]


def test_the_changelog_lists_the_current_version():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"\n## {jc.__version__}\n" in text and "\n## Unreleased\n" in text
