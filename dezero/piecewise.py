"""Piecewise functions: rounding, remainders, choice, and the largest of several values.

Each is smooth between its jumps and kinks, and that is where its derivatives are taken:

- floor, ceil, round, sign and ``//`` are constant there: every derivative is 0;
- ``a % m`` is a − m·floor(a/m) with the floor held constant;
- ``where(c, a, b)`` is a where c holds and b elsewhere;
- ``maximum``/``minimum`` are the argument that is largest (smallest), ties sharing the
  gradient equally, as ``max`` over an axis does.

At a jump itself the derivative is that of the piece the value belongs to, as for abs and relu.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np

from dezero import series as S  # noqa: N812 - the series arithmetic, as a module
from dezero.core import Function, Variable, as_variable

if TYPE_CHECKING:
    import numpy.typing as npt  # at run time it costs start-up for a hint

__all__ = [
    "floor", "ceil", "round", "sign", "floordiv", "mod", "where", "maximum", "minimum",
]  # fmt: skip


def _zeros_like(v: Variable) -> Variable:
    return Variable(np.zeros(v.shape, dtype=np.result_type(v.dtype, np.float64)))


class Step(Function):
    """A function constant between its jumps: its derivatives there are zero."""

    __slots__ = ()

    def backward(self, gy):
        grads = tuple(_zeros_like(x) for x in self.inputs)
        return grads if len(grads) > 1 else grads[0]

    def taylor(self, *xs):
        return S.constant(type(self)()(*(x[0] for x in xs)), len(xs[0]) - 1)


class Floor(Step):
    __slots__ = ()

    def forward(self, x):
        return np.floor(x)


class Ceil(Step):
    __slots__ = ()

    def forward(self, x):
        return np.ceil(x)


class Round(Step):
    """The nearest whole number, halves to even (as Python's round: round(2.5) is 2)."""

    __slots__ = ()

    def forward(self, x):
        return np.round(x)


class Sign(Step):
    """-1, 0 or 1."""

    __slots__ = ()

    def forward(self, x):
        return np.sign(x)


class FloorDiv(Step):
    """a // m = floor(a / m), as Python's: -7 // 2 is -4."""

    __slots__ = ()

    def forward(self, a, m):
        return np.floor_divide(a, m)


class Mod(Function):
    """a % m = a - m·(a // m), with the sign of m, as Python's: -7 % 3 is 2."""

    __slots__ = ()

    def forward(self, a, m):
        return np.mod(a, m)

    def backward(self, gy):  # ∂/∂a = 1, ∂/∂m = -(a // m)
        a, m = self.inputs
        quotient = np.floor_divide(a.data, m.data)
        return _sum_to(gy, a.shape), _sum_to(gy * -quotient, m.shape)

    def taylor(self, a, m):
        quotient = np.floor_divide(a[0].data, m[0].data)
        rest = S.difference(a, S.each(lambda v: v * quotient, m))
        return [mod(a[0], m[0])] + rest[1:]


class Where(Function):
    """where(c, a, b): a where the boolean array c is true, b elsewhere (broadcasting)."""

    __slots__ = ("condition",)

    def __init__(self, condition: npt.ArrayLike) -> None:
        self.condition = np.asarray(condition, dtype=bool)

    def forward(self, a, b):
        return np.where(self.condition, a, b)

    def backward(self, gy):  # the gradient goes to the piece chosen, element by element
        a, b = self.inputs
        zero = _zeros_like(gy)
        return (
            _sum_to(Where(self.condition)(gy, zero), a.shape),
            _sum_to(Where(self.condition)(zero, gy), b.shape),
        )

    def taylor(self, a, b):
        def pick(p: Any, q: Any) -> Any:
            if p is S.ZERO and q is S.ZERO:
                return S.ZERO
            p = p if p is not S.ZERO else Variable(np.zeros(()))
            q = q if q is not S.ZERO else Variable(np.zeros(()))
            return Where(self.condition)(p, q)

        return [pick(p, q) for p, q in zip(a, b)]


class Maximum(Function):
    """The elementwise largest of several arrays (broadcasting)."""

    __slots__ = ()

    choose = staticmethod(np.maximum)

    def forward(self, *xs):
        return functools.reduce(self.choose, xs)

    def weights(self) -> list[np.ndarray]:
        """1/(number of ties) where an argument attains the result, 0 elsewhere."""
        out = self.outputs[0]()
        assert out is not None and out.data is not None  # used downstream: alive, never released
        y = out.data
        attains = [np.asarray(x.data == y) for x in self.inputs]
        count = np.maximum(sum(attains), 1)  # NaN attains nothing: its gradient is 0
        return [np.broadcast_to(t / count, y.shape) for t in attains]

    def backward(self, gy):
        grads = tuple(_sum_to(gy * w, x.shape) for x, w in zip(self.inputs, self.weights()))
        return grads if len(grads) > 1 else grads[0]

    def taylor(self, *xs):
        weights = self.weights()
        terms = [S.each(lambda v, w=w: v * w, x) for x, w in zip(xs, weights)]
        rest = functools.reduce(S.sum_of, terms)
        return [type(self)()(*(x[0] for x in xs))] + rest[1:]


class Minimum(Maximum):
    """The elementwise smallest of several arrays (broadcasting)."""

    __slots__ = ()

    choose = staticmethod(np.minimum)


def _sum_to(v: Variable, shape: tuple[int, ...]) -> Variable:
    from dezero.functions import sum_to

    return v if v.shape == shape else sum_to(v, shape)


# ---------------------------------------------------------------------------
# The functions
# ---------------------------------------------------------------------------


def floor(x: Any) -> Variable:
    """The largest whole number <= x (derivative 0 between jumps)."""
    return Floor()(x)


def ceil(x: Any) -> Variable:
    """The smallest whole number >= x (derivative 0 between jumps)."""
    return Ceil()(x)


def round(x: Any) -> Variable:  # noqa: A001 - the calculator's and NumPy's name
    """The nearest whole number, halves to even (derivative 0 between jumps)."""
    return Round()(x)


def sign(x: Any) -> Variable:
    """-1, 0 or 1 (derivative 0 away from 0)."""
    return Sign()(x)


def floordiv(a: Any, m: Any) -> Variable:
    """a // m, with Python's signs (derivative 0 between jumps)."""
    return FloorDiv()(a, m)


def mod(a: Any, m: Any) -> Variable:
    """a % m, with the sign of m as in Python; derivatives 1 and -(a // m)."""
    return Mod()(a, m)


def where(condition: Any, a: Any, b: Any) -> Variable:
    """a where ``condition`` (an array, true where nonzero) holds, b elsewhere."""
    c = condition.data if isinstance(condition, Variable) else np.asarray(condition)
    return Where(c != 0)(as_variable(a), as_variable(b))


def maximum(*xs: Any) -> Variable:
    """The elementwise largest of several values (ties share the gradient)."""
    return Maximum()(*xs)


def minimum(*xs: Any) -> Variable:
    """The elementwise smallest of several values (ties share the gradient)."""
    return Minimum()(*xs)
