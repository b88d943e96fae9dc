"""Random expressions in one variable, evaluated by dezero and by mpmath alike.

An expression is a tree of tuples: ("x",), ("const", c), (op, child, ...). ``to_dezero``
and ``to_mpmath`` read the same tree, so the two evaluations differ only in arithmetic.
Arguments of log, sqrt and real powers are made positive by construction (``exp(e)``,
``1 + e²``, ``|e| + c``, ``sigmoid(e)``), so a random point is almost always inside the domain.

``to_mpmath(tree, jitter)`` multiplies the result of every operation by its own factor
``1 + δ`` with |δ| about float64's rounding unit: the forward-error model of floating-point
arithmetic. A derivative that moves much under such jitter cannot be computed in float64 by
any method, so the differential tests leave it out (and count how many they left out).
"""

from __future__ import annotations

import random
from typing import Any

import mpmath
import numpy as np

import dezero.functions as F

UNARY = ["neg", "sin", "cos", "tan", "tanh", "exp", "sigmoid", "abs", "relu", "square"]
POSITIVE = ["log", "log2", "log10", "sqrt", "pow_real", "pow_var", "const_pow"]
BINARY = ["add", "sub", "mul", "div", "add_const", "mul_const", "div_const", "const_div"]
KINKED = {"abs", "relu"}  # derivatives exist away from 0; a point near 0 is left out


def random_tree(rng: random.Random, size: int) -> tuple:
    """A random expression with about ``size`` operations, over every function and operator."""
    if size <= 0:
        return ("x",)
    kind = rng.random()
    if kind < 0.4:
        return (rng.choice(UNARY), random_tree(rng, size - 1))
    if kind < 0.6:
        op = rng.choice(POSITIVE)
        return (op, _positive(rng, random_tree(rng, size - 2)), _number(rng))
    op = rng.choice(BINARY)
    left = rng.randint(0, size - 1)
    if op in ("add_const", "mul_const", "div_const", "const_div"):
        child = random_tree(rng, size - 1)
        if op == "const_div":
            child = _positive(rng, child)
        return (op, child, _number(rng))
    right = random_tree(rng, size - 1 - left)
    if op == "div":
        right = _positive(rng, right)
    return (op, random_tree(rng, left), right)


def _number(rng: random.Random) -> float:
    return round(rng.uniform(-2.5, 2.5), 3) or 0.5


def _positive(rng: random.Random, e: tuple) -> tuple:
    """An expression that is positive wherever e is defined."""
    form = rng.randrange(4)
    if form == 0:
        return ("exp", e)
    if form == 1:
        return ("add_const", ("square", e), 1.0)
    if form == 2:
        return ("add_const", ("abs", e), round(rng.uniform(0.3, 2.0), 3))
    return ("sigmoid", e)


def describe(tree: tuple) -> str:
    """The tree as readable text, for failure messages."""
    op = tree[0]
    if op == "x":
        return "x"
    args = [describe(a) if isinstance(a, tuple) else repr(a) for a in tree[1:]]
    return f"{op}({', '.join(args)})"


def to_dezero(tree: tuple, x: Any) -> Any:
    """The expression on a dezero Variable."""
    op, args = tree[0], [to_dezero(a, x) if isinstance(a, tuple) else a for a in tree[1:]]
    return _DEZERO[op](*args) if op != "x" else x


def to_mpmath(tree: tuple, x: Any, jitter: dict | None = None) -> Any:
    """The expression in mpmath; with ``jitter``, each operation's result times 1 + δ."""
    return _mp(tree, x, jitter, [0])


def _mp(tree: tuple, x: Any, jitter: dict | None, counter: list[int]) -> Any:
    op = tree[0]
    if op == "x":
        return x
    args = [_mp(a, x, jitter, counter) if isinstance(a, tuple) else a for a in tree[1:]]
    value = _MPMATH[op](*args)
    if jitter is not None:
        counter[0] += 1
        value = value * jitter.setdefault(counter[0], 1 + jitter["rng"].uniform(-4, 4) * 2**-53)
    return value


def kink_arguments(tree: tuple, x0: float) -> list[float]:
    """The values at x0 of the arguments of abs and relu (in float64)."""
    found: list[float] = []
    _walk(tree, x0, lambda op, args, value: op in KINKED and found.append(float(args[0])))
    return found


def intermediate_values(tree: tuple, x0: float) -> list[float]:
    """The value at x0 of every operation, in float64."""
    found: list[float] = []
    _walk(tree, x0, lambda op, args, value: found.append(float(value)))
    return found


def _walk(tree: tuple, x0: float, visit: Any) -> np.float64:
    if tree[0] == "x":
        return np.float64(x0)
    args = [_walk(a, x0, visit) if isinstance(a, tuple) else a for a in tree[1:]]
    with np.errstate(all="ignore"):
        value = np.float64(_NUMPY[tree[0]](*args))
    visit(tree[0], args, value)
    return value


def _sigmoid_mp(v: Any) -> Any:
    return 1 / (1 + mpmath.exp(-v))


# Operators read the same on dezero Variables, mpmath numbers and floats.
_OPERATORS = {
    "neg": lambda a: -a,
    "square": lambda a: a**2,
    "pow_real": lambda a, c: a**c,
    "pow_var": lambda a, c: a ** (a * c),
    "const_pow": lambda a, c: abs(c) ** a,
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "add_const": lambda a, c: a + c,
    "mul_const": lambda a, c: a * c,
    "div_const": lambda a, c: a / c,
    "const_div": lambda a, c: c / a,
}

_DEZERO = {
    **_OPERATORS,
    "sin": F.sin,
    "cos": F.cos,
    "tan": F.tan,
    "tanh": F.tanh,
    "exp": F.exp,
    "sigmoid": F.sigmoid,
    "abs": F.abs,
    "relu": F.relu,
    "log": lambda a, c: F.log(a),
    "log2": lambda a, c: F.log2(a),
    "log10": lambda a, c: F.log10(a),
    "sqrt": lambda a, c: F.sqrt(a),
}

_MPMATH = {
    **_OPERATORS,
    "sin": mpmath.sin,
    "cos": mpmath.cos,
    "tan": mpmath.tan,
    "tanh": mpmath.tanh,
    "exp": mpmath.exp,
    "sigmoid": _sigmoid_mp,
    "abs": abs,
    "relu": lambda a: a if a > 0 else a * 0,
    "log": lambda a, c: mpmath.log(a),
    "log2": lambda a, c: mpmath.log(a, 2),
    "log10": lambda a, c: mpmath.log10(a),
    "sqrt": lambda a, c: mpmath.sqrt(a),
}

_NUMPY = {
    **_OPERATORS,
    **{k: getattr(np, k) for k in ("sin", "cos", "tan", "tanh", "exp", "abs")},
    "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
    "relu": lambda a: max(a, 0.0),
    "log": lambda a, c: np.log(a),
    "log2": lambda a, c: np.log2(a),
    "log10": lambda a, c: np.log10(a),
    "sqrt": lambda a, c: np.sqrt(a),
}
