"""dezero-repl: a calculator that differentiates."""

from dezero._version import __version__

__all__ = ["__version__"]
