"""The version of dezero and dezero-repl: the one place it is written (pyproject.toml reads
it from here)."""

__version__ = "0.2.0"
