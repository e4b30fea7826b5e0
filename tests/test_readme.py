"""The README's examples run: its Python blocks in order, and its console block's output."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
CONSOLE_BLOCKS = re.findall(r"```console\n(.*?)```", README, re.S)


def test_the_readme_has_examples():
    assert len(PYTHON_BLOCKS) >= 4 and CONSOLE_BLOCKS


def test_the_python_blocks_run_in_order():
    """One namespace for all of them, as in a notebook; JAX and PyTorch parts need the extras."""
    for library in ("jax", "torch", "scipy", "dask"):
        if any(f"import {library}" in block or f"import {library}," in block for block in PYTHON_BLOCKS):
            pytest.importorskip(library)
    import jax

    x64 = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", False)  # the README's JAX example is float32
    namespace: dict = {}
    try:
        for number, block in enumerate(PYTHON_BLOCKS, 1):
            try:
                exec(compile(block, f"README.md python block {number}", "exec"), namespace)
            except Exception as err:  # pragma: no cover - the failure message names the block
                pytest.fail(f"README python block {number} failed: {type(err).__name__}: {err}")
    finally:
        jax.config.update("jax_enable_x64", x64)


def test_the_console_block_prints_what_the_readme_shows():
    commands = re.findall(r"^\$ (.*)\n((?:(?!\$ ).*\n)*)", CONSOLE_BLOCKS[0], re.M)
    checked = 0
    for command, expected in commands:
        if not expected.strip():
            continue
        words = command.split("#")[0].split()
        assert words[0] == "jacchain"
        out = subprocess.run(
            [sys.executable, "-m", "jacchain", *words[1:]], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout == expected
        checked += 1
    assert checked >= 1
