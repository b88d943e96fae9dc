"""Floating-point warnings: NumPy reports them to a callback, and we name the operation.

Overflow, division by zero and invalid values do not stop a statement: the result holds
inf or nan, and the statement's outcome carries one line per complaint, saying which
operation made it and what it left in the result. Underflow is no complaint of its own: it
is noted, since the gradients reported of a value made where one underflowed are computed
again and vouched for (see ``calculus.checked_report``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dezero import Variable

_WARNING_WORDS = {
    "divide by zero": "division by zero",
    "overflow": "overflow",
    "invalid value": "invalid value",
}


class FloatingPointLog:
    """Collects NumPy's floating-point complaints and turns them into one-line warnings."""

    def __init__(self) -> None:
        self.pending: list[str] = []
        self.warnings: list[str] = []
        self.underflowed = False  # a value fell below the smallest float64 on the way

    def __call__(self, kind: str, flag: int) -> None:
        if kind == "underflow":
            self.underflowed = True
        else:
            self.pending.append(kind)

    def name(self, operation: str, result: Any = None) -> None:
        """Attribute complaints since the last call to ``operation``, whose value is ``result``
        (a value or a list of them): each says what it left in the result, or that it left
        nothing there (as the infinity on the way to e^(-x²) at x = 1e200, whose slope is 0)."""
        for kind in dict.fromkeys(self.pending):
            words = _WARNING_WORDS.get(kind, kind)
            left = _non_finite(words, result)
            what = "nan" if words == "invalid value" else "infinity"
            where = f"result contains {left}" if left else f"on the way; the result holds no {what}"
            self.note(f"{words} in {operation} ({where})")
        self.pending.clear()

    def note(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


def _non_finite(words: str, result: Any) -> str:
    """What a complaint left in a result: nan for an invalid value, else the infinities it
    holds; "" if it holds none of them. Without a result, what the complaint leaves."""
    if result is None:
        return "nan" if words == "invalid value" else "inf"
    results = result if isinstance(result, list) else [result]
    tests = (("nan", np.isnan),) if words == "invalid value" else _INFINITIES
    return " and ".join(sign for sign, test in tests if any(_has(test, r) for r in results))


_INFINITIES = (("inf", np.isposinf), ("-inf", np.isneginf))


def _has(test: Callable[[Any], Any], result: Any) -> bool:
    data = result.data if isinstance(result, Variable) else result
    if not isinstance(data, (np.ndarray, np.generic)) or data.dtype.kind != "f":
        return False
    return bool(test(data).any())
