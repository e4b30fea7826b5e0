"""The version of jacchain, stated here only: the package metadata and the CLI read it."""

__all__ = ["__version__"]

__version__ = "0.1.0"
