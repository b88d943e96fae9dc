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

import math
import random
from typing import Any

import mpmath
import numpy as np

import dezero.functions as F
import dezero.piecewise as P
import dezero.special as SF

UNARY = ["neg", "sin", "cos", "tan", "tanh", "exp", "sigmoid", "abs", "relu", "square",
         "sinh", "cosh", "atan", "asinh", "cbrt", "exp2", "asin", "acos", "atanh",
         "erf", "erfc", "plus_floor"]  # fmt: skip
POSITIVE = ["log", "log2", "log10", "sqrt", "pow_real", "pow_var", "const_pow", "acosh", "log_base",
            "lgamma", "digamma", "gamma"]  # fmt: skip
BINARY = ["add", "sub", "mul", "div", "add_const", "mul_const", "div_const", "const_div",
          "atan2", "hypot", "maximum", "minimum", "mod_const", "choose"]  # fmt: skip
KINKED = {"abs", "relu", "cbrt"}  # derivatives exist away from 0; a point near 0 is left out
#: Piecewise: where their kink or jump is, as a distance that must not be near 0.
JUMPS = {
    "plus_floor": lambda a: a - math.floor(a) if a - math.floor(a) < 0.5 else math.ceil(a) - a,
    "maximum": lambda a, b: a - b,
    "minimum": lambda a, b: a - b,
    "mod_const": lambda a, c: _distance_to_a_jump_of_mod(a, c),
    "choose": lambda a, b: a,
}


def _distance_to_a_jump_of_mod(a: float, c: float) -> float:
    """How far a is from a multiple of c, where a % c jumps; 0 (too close to tell) beyond
    10^15 |c|, where a % c depends on a's last bits, which mpmath's 30 digits do not keep."""
    if abs(a) > 1e15 * abs(c):
        return 0.0
    return min(a % c, c - a % c) if c > 0 else min(-(a % c), a % c - c)


#: Defined on (-1, 1): their argument is squashed there first, as 0.9 tanh(e).
UNIT = {"asin", "acos", "atanh"}


def random_tree(rng: random.Random, size: int) -> tuple:
    """A random expression with about ``size`` operations, over every function and operator."""
    if size <= 0:
        return ("x",)
    kind = rng.random()
    if kind < 0.4:
        op = rng.choice(UNARY)
        child = random_tree(rng, size - 1)
        if op in UNIT:
            child = ("mul_const", ("tanh", child), 0.9)
        return (op, child)
    if kind < 0.6:
        op = rng.choice(POSITIVE)
        return (op, _positive(rng, random_tree(rng, size - 2)), _number(rng))
    op = rng.choice(BINARY)
    left = rng.randint(0, size - 1)
    if op in ("add_const", "mul_const", "div_const", "const_div", "mod_const"):
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


def to_text(tree: tuple, names: dict[int, str] | None = None) -> str:
    """The expression in the calculator's language, on a variable x, each operation as
    ``to_dezero`` computes it; ``names`` puts a name in place of a subtree (by ``id``)."""
    names = names or {}
    if id(tree) in names:
        return names[id(tree)]
    op = tree[0]
    if op == "x":
        return "x"
    args = [f"({to_text(t, names)})" if isinstance(t, tuple) else f"({t!r})" for t in tree[1:]]
    if op not in _TEXT:
        return f"{op}({', '.join(args)})"
    return _TEXT[op].format(a=args[0], b=args[-1])


_TEXT = {  # the others are calls of the function of the same name
    "neg": "-{a}", "square": "{a}^2", "pow_real": "{a}^{b}", "pow_var": "{a}^({a} * {b})",
    "const_pow": "abs({b})^{a}", "add": "{a} + {b}", "sub": "{a} - {b}", "mul": "{a} * {b}",
    "div": "{a} / {b}", "add_const": "{a} + {b}", "mul_const": "{a} * {b}",
    "div_const": "{a} / {b}", "const_div": "{b} / {a}", "mod_const": "{a} % {b}",
    "log": "log({a})", "log2": "log2({a})", "log10": "log10({a})", "sqrt": "sqrt({a})",
    "acosh": "acosh({a} + 1.5)", "log_base": "log({a}) / log(abs({b}) + 1.5)",
    "plus_floor": "{a} + floor({a})", "lgamma": "lgamma({a} + 0.1)",
    "digamma": "digamma({a} + 0.5)", "gamma": "gamma(1.5 - 1 / (1 + {a}))",
    "maximum": "max({a}, {b})", "minimum": "min({a}, {b})",
    "choose": "(if {a} > 0 then {a} else {b})",
}  # fmt: skip


def subtrees(tree: tuple) -> list[tuple]:
    """Every operation of ``tree``, itself included, parents before children."""
    found = [tree]
    for t in tree[1:]:
        if isinstance(t, tuple) and t[0] != "x":
            found += subtrees(t)
    return found


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
        if counter[0] not in jitter:  # 1 + δ in mpmath: in float64 it rounds to 1 for |δ| < 2^-53
            # δ = k·2^-56, |k| ≤ 32: a few bits, where a full float64 as δ made every value
            # 110 bits long, and mpmath's digamma at order 60's precision ran 70 times slower
            k = jitter["rng"].choice([k for k in range(-32, 33) if k])
            jitter[counter[0]] = 1 + mpmath.mpf(k) * mpmath.mpf(2) ** -56
        value = value * jitter[counter[0]]
    return value


def kink_arguments(tree: tuple, x0: float) -> list[float]:
    """The values at x0 of the arguments of abs, relu and cbrt, and the distance from the
    origin of those of atan2 and hypot, where they have no derivative (in float64); and
    atan2's y left of the origin, its branch cut, where float64's -0 gives -π and mpmath π."""
    found: list[float] = []

    def visit(op: str, args: list, value: Any) -> None:
        if op in KINKED:
            found.append(float(args[0]))
        elif op in JUMPS:
            points = [float(a) for a in args]
            finite = all(math.isfinite(a) for a in points)  # floor(inf) raises
            found.append(float(JUMPS[op](*points)) if finite else math.inf)
        elif op in ("atan2", "hypot"):
            found.append(float(np.hypot(args[0], args[1])))
            if op == "atan2" and args[1] < 0:
                found.append(float(args[0]))

    _walk(tree, x0, visit)
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
    "mod_const": lambda a, c: a % c,
}

_NAMED = ("sinh", "cosh", "atan", "asinh", "asin", "acos", "atanh", "atan2", "hypot", "exp2")

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
    **{k: getattr(F, k) for k in _NAMED},
    "cbrt": F.cbrt,
    "acosh": lambda a, c: F.acosh(a + 1.5),
    "log_base": lambda a, c: F.log(a) / F.log(abs(c) + 1.5),
    "erf": SF.erf,
    "erfc": SF.erfc,
    "plus_floor": lambda a: a + P.floor(a),
    "lgamma": lambda a, c: SF.lgamma(a + 0.1),
    "digamma": lambda a, c: SF.digamma(a + 0.5),
    "gamma": lambda a, c: SF.gamma(1.5 - 1 / (1 + a)),
    "maximum": P.maximum,
    "minimum": P.minimum,
    "mod_const": P.mod,
    "choose": lambda a, b: P.where(a.data > 0, a, b),
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
    **{k: getattr(mpmath, k) for k in _NAMED if k != "exp2"},
    "exp2": lambda a: 2**a,
    "cbrt": lambda a: -mpmath.cbrt(-a) if a < 0 else mpmath.cbrt(a),
    "acosh": lambda a, c: mpmath.acosh(a + 1.5),
    "log_base": lambda a, c: mpmath.log(a) / mpmath.log(abs(c) + 1.5),
    "erf": mpmath.erf,
    "erfc": mpmath.erfc,
    "plus_floor": lambda a: a + mpmath.floor(a),
    "lgamma": lambda a, c: mpmath.loggamma(a + 0.1),
    "digamma": lambda a, c: mpmath.digamma(a + 0.5),
    "gamma": lambda a, c: mpmath.gamma(1.5 - 1 / (1 + a)),
    "maximum": max,
    "minimum": min,
    "mod_const": lambda a, c: a - c * mpmath.floor(a / c),
    "choose": lambda a, b: a if a > 0 else b,
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
    **{k: getattr(np, k) for k in ("sinh", "cosh", "hypot", "exp2", "cbrt")},
    **{k: getattr(np, "arc" + k[1:]) for k in ("atan", "asinh", "asin", "acos", "atanh", "atan2")},
    "acosh": lambda a, c: np.arccosh(a + 1.5),
    "log_base": lambda a, c: np.log(a) / np.log(abs(c) + 1.5),
    "erf": lambda a: math.erf(a),
    "erfc": lambda a: math.erfc(a),
    "plus_floor": lambda a: a + np.floor(a),
    "lgamma": lambda a, c: math.lgamma(a + 0.1),
    "digamma": lambda a, c: float(mpmath.digamma(a + 0.5)),
    "gamma": lambda a, c: math.gamma(1.5 - 1 / (1 + a)),
    "maximum": max,
    "minimum": min,
    "mod_const": lambda a, c: np.mod(a, c),
    "choose": lambda a, b: a if a > 0 else b,
}
