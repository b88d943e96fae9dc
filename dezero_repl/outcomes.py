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
    warnings: list[str] = field(default_factory=list, kw_only=True)
    extra: dict[str, Any] = field(default_factory=dict, kw_only=True)


@dataclass(eq=False)
class Empty(Outcome):
    pass


@dataclass(eq=False)
class Computed(Outcome):
    value: np.ndarray
    grads: dict[str, np.ndarray] | None = None
    name: str | None = None  # set for an assignment


@dataclass(eq=False)
class Defined(Outcome):
    message: str


@dataclass(eq=False)
class FunctionShown(Outcome):
    message: str


@dataclass(eq=False)
class CommandDone(Outcome):
    message: str | None = None
