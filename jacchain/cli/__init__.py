"""The ``jacchain`` command: ``jacchain plan DIMS...`` and ``jacchain demo``."""

from .main import build_parser, main

__all__ = ["main", "build_parser"]
