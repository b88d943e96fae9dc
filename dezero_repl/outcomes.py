"""What a statement produced, before it is formatted as text or JSON: one of a few kinds.

- ``Empty``: nothing (a blank line or a comment);
- ``Computed``: a value and its gradients, stored under ``name`` for an assignment;
- ``Defined``: a new user function;
- ``FunctionShown``: a function value, described rather than called;
- ``CommandDone``: a command's message.

Every kind carries warnings and ``extra``: further fields for JSON output (a solver's
iterations, a command's name). Outcomes are never compared: their dataclasses generate no
``__eq__``, which saves a little of every start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(eq=False)
class Outcome:
    """What every kind carries: its warnings, and further fields for JSON."""

    warnings: list[str] = field(default_factory=list, kw_only=True)
    extra: dict[str, Any] = field(default_factory=dict, kw_only=True)


@dataclass(eq=False)
class Empty(Outcome):
    """Nothing to show: a blank line or a comment."""


@dataclass(eq=False)
class Computed(Outcome):
    """A value and the gradients reported for it."""

    value: np.ndarray
    grads: dict[str, np.ndarray] | None = None
    name: str | None = None  # set for an assignment


@dataclass(eq=False)
class Defined(Outcome):
    """A user function was defined; ``message`` says which."""

    message: str


@dataclass(eq=False)
class FunctionShown(Outcome):
    """A function value, described by ``message`` rather than called."""

    message: str


@dataclass(eq=False)
class CommandDone(Outcome):
    """A command ran; ``message`` is what it says, if anything."""

    message: str | None = None
