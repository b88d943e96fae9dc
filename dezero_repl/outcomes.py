"""What a statement produced, before it is formatted as text or JSON: one of a few kinds.

- ``Empty``: nothing (a blank line or a comment);
- ``Computed``: a value and its gradients, stored under ``name`` for an assignment;
- ``Defined``: a new user function;
- ``FunctionShown``: a function value, described rather than called;
- ``CommandDone``: a command's message.

Every kind carries warnings and ``extra``: further fields for JSON output (a solver's
iterations, a command's name). They are plain classes, not dataclasses, which would cost
start-up (0.25 ms a class; see benchmarks/README.md); they are never compared.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Outcome:
    """What every kind carries: its warnings, and further fields for JSON."""

    def __init__(
        self, *, warnings: list[str] | None = None, extra: dict[str, Any] | None = None
    ) -> None:
        self.warnings = [] if warnings is None else warnings
        self.extra = {} if extra is None else extra


class Empty(Outcome):
    """Nothing to show: a blank line or a comment."""


class Computed(Outcome):
    """A value and the gradients reported for it: None for one that could not be vouched
    for (a warning says why)."""

    def __init__(
        self,
        value: np.ndarray,
        grads: dict[str, np.ndarray | None] | None = None,
        name: str | None = None,  # set for an assignment
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.value = value
        self.grads = grads
        self.name = name


class Defined(Outcome):
    """A user function was defined; ``message`` says which."""

    def __init__(self, message: str, **common: Any) -> None:
        super().__init__(**common)
        self.message = message


class FunctionShown(Outcome):
    """A function value, described by ``message`` rather than called."""

    def __init__(self, message: str, **common: Any) -> None:
        super().__init__(**common)
        self.message = message


class CommandDone(Outcome):
    """A command ran; ``message`` is what it says, if anything."""

    def __init__(self, message: str | None = None, **common: Any) -> None:
        super().__init__(**common)
        self.message = message
