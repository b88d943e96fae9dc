"""dezero-repl: a calculator that differentiates."""

__version__ = "0.1.0"
