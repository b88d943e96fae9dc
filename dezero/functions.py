"""The differentiable functions of dezero, each a forward next to its backward and Taylor rule.

Read down the file like a table of derivatives: every class computes its value on arrays in
``forward`` and says, a few lines below in ``backward``, how a gradient flows back, written
with Variable operations so that it can itself be differentiated (``create_graph=True``).
``taylor`` then says how a truncated Taylor series passes through, for derivatives of any
order (``dezero.series``; a series is a list of coefficients [x0, x1, ..., xd]).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from dezero import series as S  # noqa: N812 - the series arithmetic, as a module
from dezero import utils
from dezero.core import Function, Value, Variable, as_array, as_variable, sum_array, watch_sums
from dezero.operators import add, div, mul, neg, pow, rsub, sub

__all__ = [
    "add", "sub", "rsub", "mul", "div", "neg", "pow",
    "sin", "cos", "tan", "tanh", "exp", "log", "log2", "log10", "sqrt", "abs",
    "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "atan2", "hypot",
    "cbrt", "exp2",
    "sigmoid", "relu", "leaky_relu", "softmax", "softmax_simple", "log_softmax",
    "reshape", "transpose", "expand_dims", "flatten", "get_item", "stack",
    "sum", "sum_to", "broadcast_to", "average", "mean", "matmul", "dot", "max", "min", "clip",
]  # fmt: skip

Axis = int | tuple[int, ...] | None


def _mask(condition: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A 0/1 array of ``dtype``: the derivative of a piecewise-linear function."""
    return condition.astype(dtype)


# ---------------------------------------------------------------------------
# Elementwise functions
# ---------------------------------------------------------------------------


class Sin(Function):
    __slots__ = ()

    def forward(self, x):
        return np.sin(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * cos(x)

    def taylor(self, x):
        s, _ = S.sin_cos(x, sin(x[0]), cos(x[0]))
        return s


class Cos(Function):
    __slots__ = ()

    def forward(self, x):
        return np.cos(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * -sin(x)

    def taylor(self, x):
        _, c = S.sin_cos(x, sin(x[0]), cos(x[0]))
        return c


class Tan(Function):
    __slots__ = ()

    def forward(self, x):
        return np.tan(x)

    def backward(self, gy):
        y = self.outputs[0]()
        return gy * (1 + y * y)  # sec² x = 1 + tan² x, from the output we already have

    def taylor(self, x):  # y' = (1 + y²) x'
        return S.ode(
            x, tan(x[0]), lambda y, m: S.plus(1 if m == 0 else S.ZERO, S.square_term(y, m))
        )


class Tanh(Function):
    """tanh' = 1 - tanh² = sech², computed as 4 σ(2x) σ(-2x): where tanh x rounds to ±1,
    1 - y² would be 0, while sech² x keeps its full relative precision (e^-40 at x = 20)."""

    __slots__ = ()

    def forward(self, x):
        return np.tanh(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * (4 * sigmoid(2 * x) * sigmoid(-2 * x))

    def taylor(self, x):  # y' = (1 - y²) x'
        x0 = x[0]
        sech2 = 4 * sigmoid(2 * x0) * sigmoid(-2 * x0)
        return S.ode(
            x, tanh(x0), lambda y, m: sech2 if m == 0 else S.minus(S.ZERO, S.square_term(y, m))
        )


class Exp(Function):
    __slots__ = ()

    def forward(self, x):
        return np.exp(x)

    def backward(self, gy):
        y = self.outputs[0]()
        return gy * y

    def taylor(self, x):
        return S.exp(x, exp(x[0]))


class Log(Function):
    __slots__ = ()

    def forward(self, x):
        return np.log(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy / x

    def taylor(self, x):
        return S.log(x, log(x[0]))


class Log2(Function):
    __slots__ = ()

    def forward(self, x):
        return np.log2(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy / (x * np.log(2.0))

    def taylor(self, x):  # ln x / ln 2
        return [log2(x[0])] + S.each(lambda v: v / np.log(2.0), S.log(x, log(x[0])))[1:]


class Log10(Function):
    __slots__ = ()

    def forward(self, x):
        return np.log10(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy / (x * np.log(10.0))

    def taylor(self, x):  # ln x / ln 10
        return [log10(x[0])] + S.each(lambda v: v / np.log(10.0), S.log(x, log(x[0])))[1:]


class Sqrt(Function):
    __slots__ = ()

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, gy):
        y = self.outputs[0]()
        return gy / (2 * y)

    def taylor(self, x):
        return S.sqrt(x, sqrt(x[0]))


class Abs(Function):
    __slots__ = ()

    def forward(self, x):
        return np.abs(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * np.sign(x.data)

    def taylor(self, x):  # the branch x0 is on: x or -x
        return S.branch(abs(x[0]), x, np.sign(x[0].data))


class Sigmoid(Function):
    __slots__ = ()

    def forward(self, x):
        return sigmoid_array(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * sigmoid(x) * sigmoid(-x)  # y (1 - y), with 1 - y exact where y is near 1

    def taylor(self, x):  # y' = y z x' with z = 1 - y: z0 = sigmoid(-x0), zk = -yk
        z0 = sigmoid(-x[0])

        def slope(y, m):
            return S.total(
                S.times(y[i], z0 if i == m else S.minus(S.ZERO, y[m - i])) for i in range(m + 1)
            )

        return S.ode(x, sigmoid(x[0]), slope)


def sigmoid_array(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x), written as e^x / (1 + e^x) where x < 0: neither form overflows, and
    each keeps full relative precision on its side (sigmoid(-40) is 4.2e-18, not 0)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


class ReLU(Function):
    __slots__ = ()

    def forward(self, x):
        return np.maximum(x, 0.0)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * _mask(x.data > 0, gy.dtype)

    def taylor(self, x):
        return S.branch(relu(x[0]), x, _mask(x[0].data > 0, np.float64))


class LeakyReLU(Function):
    __slots__ = ("slope",)

    def __init__(self, slope: float) -> None:
        self.slope = slope

    def forward(self, x):
        return np.where(x > 0, x, x * self.slope)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * np.where(x.data > 0, 1.0, self.slope).astype(gy.dtype)

    def taylor(self, x):
        slope = np.where(x[0].data > 0, 1.0, self.slope)
        return S.branch(leaky_relu(x[0], self.slope), x, slope)


class Softmax(Function):
    __slots__ = ("axis",)

    def __init__(self, axis: Axis) -> None:
        self.axis = axis

    def forward(self, x):
        y = np.exp(x - x.max(axis=self.axis, keepdims=True))
        return y / y.sum(axis=self.axis, keepdims=True)

    def backward(self, gy):
        y = self.outputs[0]()
        gx = y * gy
        return gx - y * sum(gx, axis=self.axis, keepdims=True)

    def taylor(self, x):  # e / sum(e), e = exp(x - max x0)
        e, total = _shifted_exp(x, self.axis)
        return S.quotient(e, total)


class LogSoftmax(Function):
    __slots__ = ("axis",)

    def __init__(self, axis: Axis) -> None:
        self.axis = axis

    def forward(self, x):
        m = x.max(axis=self.axis, keepdims=True)
        return x - m - np.log(np.exp(x - m).sum(axis=self.axis, keepdims=True))

    def backward(self, gy):
        y = self.outputs[0]()
        return gy - exp(y) * sum(gy, axis=self.axis, keepdims=True)

    def taylor(self, x):  # x - max x0 - ln(sum(e))
        e, total = _shifted_exp(x, self.axis)
        shift = x[0].data.max(axis=self.axis, keepdims=True)
        return S.difference([x[0] - shift] + x[1:], S.log(total, log(total[0])))


def _shifted_exp(x: list, axis: Axis) -> tuple[list, list]:
    """The series of e = exp(x - max x0) and of its sum along ``axis`` (kept as size 1)."""
    shifted = [x[0] - x[0].data.max(axis=axis, keepdims=True)] + x[1:]
    e = S.exp(shifted, exp(shifted[0]))
    return e, S.each(lambda v: sum(v, axis=axis, keepdims=True), e)


# ---------------------------------------------------------------------------
# Hyperbolic and inverse functions: each inverse is the integral of its slope,
# y' = u x', with u a power of a quadratic in x (``_slope``)
# ---------------------------------------------------------------------------


class Sinh(Function):
    __slots__ = ()

    def forward(self, x):
        return np.sinh(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * cosh(x)

    def taylor(self, x):
        s, _ = S.sinh_cosh(x, sinh(x[0]), cosh(x[0]))
        return s


class Cosh(Function):
    __slots__ = ()

    def forward(self, x):
        return np.cosh(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * sinh(x)

    def taylor(self, x):
        _, c = S.sinh_cosh(x, sinh(x[0]), cosh(x[0]))
        return c


class Asin(Function):
    __slots__ = ()

    def forward(self, x):
        return np.arcsin(x)

    def backward(self, gy):  # 1 / √(1 - x²)
        (x,) = self.inputs
        return gy / sqrt(1 - x * x)

    def taylor(self, x):
        return S.antiderivative(x, asin(x[0]), _slope(x, 1.0, -1.0, root=True))


class Acos(Function):
    __slots__ = ()

    def forward(self, x):
        return np.arccos(x)

    def backward(self, gy):  # -1 / √(1 - x²)
        (x,) = self.inputs
        return -gy / sqrt(1 - x * x)

    def taylor(self, x):
        u = S.negative(_slope(x, 1.0, -1.0, root=True))
        return S.antiderivative(x, acos(x[0]), u)


class Atan(Function):
    __slots__ = ()

    def forward(self, x):
        return np.arctan(x)

    def backward(self, gy):  # 1 / (1 + x²), as 1/h/h with h = √(1 + x²): x² overflows
        (x,) = self.inputs  # from 1.3e154, where the slope is still 1e-308 or more
        h = hypot(x, np.float64(1.0))
        return gy / h / h

    def taylor(self, x):
        return S.antiderivative(x, atan(x[0]), _slope(x, 1.0, 1.0, root=False))


class Asinh(Function):
    __slots__ = ()

    def forward(self, x):
        return np.arcsinh(x)

    def backward(self, gy):  # 1 / √(x² + 1), without x², which overflows from 1.3e154
        (x,) = self.inputs
        return gy / hypot(x, np.float64(1.0))

    def taylor(self, x):
        return S.antiderivative(x, asinh(x[0]), _slope(x, 1.0, 1.0, root=True))


class Acosh(Function):
    __slots__ = ()

    def forward(self, x):
        return np.arccosh(x)

    def backward(self, gy):  # 1 / √(x² - 1), as √(x - 1)·√(x + 1): x² would overflow from
        (x,) = self.inputs  # 1.3e154, and x - 1 is exact near 1, where x² - 1 rounds
        return gy / (sqrt(x - 1) * sqrt(x + 1))

    def taylor(self, x):
        return S.antiderivative(x, acosh(x[0]), _slope(x, -1.0, 1.0, root=True))


class Atanh(Function):
    __slots__ = ()

    def forward(self, x):
        return np.arctanh(x)

    def backward(self, gy):  # 1 / (1 - x²)
        (x,) = self.inputs
        return gy / (1 - x * x)

    def taylor(self, x):
        return S.antiderivative(x, atanh(x[0]), _slope(x, 1.0, -1.0, root=False))


def _slope(x: list, a: float, b: float, root: bool) -> list:
    """The series of 1 / √(a + b x²) (``root``) or of 1 / (a + b x²), computed as that of
    a + b x² = s²·(a/s² + b (x/s)²) with s the power of two at or above max(1, |x₀|), which
    divides exactly: x² would overflow from 1.3e154, where the slopes are still in range."""
    s = np.ldexp(1.0, np.frexp(np.maximum(1.0, np.abs(x[0].data)))[1])
    xs = S.each(lambda v: v / s, x)
    square = S.each(lambda v: v * b, S.product(xs, xs))
    q = S.sum_of(S.constant(np.float64(a) / s / s, len(x) - 1), square)  # s² may overflow
    if root:
        q = S.sqrt(q, sqrt(q[0]))
    slope = S.quotient(S.constant(np.float64(1.0), len(x) - 1), q)
    return S.each(lambda v: v / s if root else v / s / s, slope)


class Atan2(Function):
    """The angle of the point (x, y): atan2(y, x), in (-π, π]."""

    __slots__ = ()

    def forward(self, y, x):
        return np.arctan2(y, x)

    def backward(self, gz):  # ∂/∂y = x / r², ∂/∂x = -y / r²
        y, x = self.inputs
        r = hypot(x, y)  # (x / r) / r: r² would overflow from 1.3e154, underflow below 1.5e-154
        return sum_to(gz * (x / r) / r, y.shape), sum_to(-gz * (y / r) / r, x.shape)

    def taylor(self, y, x):
        # Away from the branch cut, atan2 differs from atan(y/x), or from -atan(x/y), by a
        # constant: each element takes the ratio whose denominator is the larger there.
        big, small, x_larger = _larger_first(x, y)
        q = S.quotient(small, big)
        sign = np.where(x_larger, 1.0, -1.0)
        u = S.each(lambda v: v * sign, _slope(q, 1.0, 1.0, root=False))
        return S.antiderivative(q, atan2(y[0], x[0]), u)


def _larger_first(a: list, b: list) -> tuple[list, list, np.ndarray]:
    """The series of a and b reordered element by element, the one larger in magnitude at
    the point first; and where that is a."""
    a_larger = np.abs(a[0].data) >= np.abs(b[0].data)
    m = a_larger.astype(np.float64)

    def pick(p: list, q: list) -> list:
        return S.sum_of(S.each(lambda v: v * m, p), S.each(lambda v: v * (1 - m), q))

    return pick(a, b), pick(b, a), a_larger


class Hypot(Function):
    """√(x² + y²), without overflow for large x and y."""

    __slots__ = ()

    def forward(self, x, y):
        return np.hypot(x, y)

    def backward(self, gh):
        x, y = self.inputs
        h = self.outputs[0]()
        return sum_to(gh * x / h, x.shape), sum_to(gh * y / h, y.shape)

    def taylor(self, x, y):
        # |big| √(1 + r²) with r = small / big, |r| <= 1: no cancellation where x and y are
        # proportional (hypot(x, x) = √2 |x| exactly), and no division by a small h0.
        big, small, _ = _larger_first(x, y)
        r = S.quotient(small, big)
        q = S.sum_of(S.constant(np.float64(1.0), len(x) - 1), S.product(r, r))
        root = S.sqrt(q, sqrt(q[0]))
        sign = np.sign(big[0].data)
        return [hypot(x[0], y[0])] + S.product(S.each(lambda v: v * sign, big), root)[1:]


class Cbrt(Function):
    """The real cube root, negative for negative x."""

    __slots__ = ()

    def forward(self, x):
        return np.cbrt(x)

    def backward(self, gy):  # 1 / (3 y²)
        y = self.outputs[0]()
        return gy / (3 * y * y)

    def taylor(self, x):  # x y' = y x' / 3
        return S.power(x, 1 / 3, cbrt(x[0]))


class Exp2(Function):
    __slots__ = ()

    def forward(self, x):
        return np.exp2(x)

    def backward(self, gy):
        y = self.outputs[0]()
        return gy * y * np.log(2.0)

    def taylor(self, x):  # 2^x = e^(x ln 2)
        return S.exp(S.each(lambda v: v * np.log(2.0), x), exp2(x[0]))


def sin(x: Any) -> Variable:
    """sin x, elementwise (radians)."""
    return Sin()(x)


def cos(x: Any) -> Variable:
    """cos x, elementwise (radians)."""
    return Cos()(x)


def tan(x: Any) -> Variable:
    """tan x, elementwise (radians)."""
    return Tan()(x)


def tanh(x: Any) -> Variable:
    """The hyperbolic tangent, elementwise."""
    return Tanh()(x)


def exp(x: Any) -> Variable:
    """e^x, elementwise."""
    return Exp()(x)


def log(x: Any) -> Variable:
    """The natural logarithm, elementwise."""
    return Log()(x)


def log2(x: Any) -> Variable:
    """The base-2 logarithm, elementwise."""
    return Log2()(x)


def log10(x: Any) -> Variable:
    """The base-10 logarithm, elementwise."""
    return Log10()(x)


def sqrt(x: Any) -> Variable:
    """The square root, elementwise."""
    return Sqrt()(x)


def abs(x: Any) -> Variable:  # noqa: A001 - the calculator's and NumPy's name
    """|x|, elementwise (slope sign x; 0 at 0)."""
    return Abs()(x)


def sinh(x: Any) -> Variable:
    """The hyperbolic sine, elementwise."""
    return Sinh()(x)


def cosh(x: Any) -> Variable:
    """The hyperbolic cosine, elementwise."""
    return Cosh()(x)


def asin(x: Any) -> Variable:
    """The inverse sine, in radians, for -1 <= x <= 1."""
    return Asin()(x)


def acos(x: Any) -> Variable:
    """The inverse cosine, in radians, for -1 <= x <= 1."""
    return Acos()(x)


def atan(x: Any) -> Variable:
    """The inverse tangent, in radians."""
    return Atan()(x)


def asinh(x: Any) -> Variable:
    """The inverse hyperbolic sine."""
    return Asinh()(x)


def acosh(x: Any) -> Variable:
    """The inverse hyperbolic cosine, for x >= 1."""
    return Acosh()(x)


def atanh(x: Any) -> Variable:
    """The inverse hyperbolic tangent, for -1 < x < 1."""
    return Atanh()(x)


def atan2(y: Any, x: Any) -> Variable:
    """The angle of the point (x, y), in (-pi, pi], elementwise with broadcasting."""
    return Atan2()(y, x)


def hypot(x: Any, y: Any) -> Variable:
    """sqrt(x² + y²) without overflow, elementwise with broadcasting."""
    return Hypot()(x, y)


def cbrt(x: Any) -> Variable:
    """The real cube root (negative for negative x)."""
    return Cbrt()(x)


def exp2(x: Any) -> Variable:
    """2^x, elementwise."""
    return Exp2()(x)


def sigmoid(x: Any) -> Variable:
    """The logistic function 1 / (1 + e^-x), elementwise."""
    return Sigmoid()(x)


def relu(x: Any) -> Variable:
    """max(x, 0), elementwise (slope 0 at 0)."""
    return ReLU()(x)


def leaky_relu(x: Any, slope: float = 0.2) -> Variable:
    """x where x > 0, slope·x elsewhere."""
    return LeakyReLU(slope)(x)


def softmax(x: Any, axis: Axis = 1) -> Variable:
    """e^x / sum(e^x) along ``axis``, computed without overflow."""
    return Softmax(axis)(x)


def log_softmax(x: Any, axis: Axis = 1) -> Variable:
    """log(softmax(x)) along ``axis``, computed without overflow."""
    return LogSoftmax(axis)(x)


def softmax_simple(x: Any, axis: Axis = 1) -> Variable:
    """exp(x) / sum(exp(x)), written with other functions (the book's first softmax)."""
    y = exp(x)
    return y / sum(y, axis=axis, keepdims=True)


# ---------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------


class Reshape(Function):
    __slots__ = ("shape", "x_shape")

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return reshape(gy, self.x_shape)

    def taylor(self, x):
        return S.each(lambda v: reshape(v, self.shape), x)


class Transpose(Function):
    __slots__ = ("axes",)

    def __init__(self, axes: tuple[int, ...] | None = None) -> None:
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        if self.axes is None:
            return transpose(gy)
        inverse = tuple(np.argsort([a % len(self.axes) for a in self.axes]))
        return transpose(gy, inverse)

    def taylor(self, x):
        return S.each(lambda v: transpose(v, self.axes), x)


class GetItem(Function):
    __slots__ = ("slices",)

    def __init__(self, slices: Any) -> None:
        self.slices = slices

    def forward(self, x):
        return x[self.slices]

    def backward(self, gy):
        (x,) = self.inputs
        return GetItemGrad(self.slices, x.shape)(gy)

    def taylor(self, x):
        return S.each(lambda v: get_item(v, self.slices), x)


class GetItemGrad(Function):
    """Scatter a gradient back into the shape indexing came from; repeated indices add up."""

    __slots__ = ("in_shape", "slices")

    def __init__(self, slices: Any, in_shape: tuple[int, ...]) -> None:
        self.slices = slices
        self.in_shape = in_shape

    def forward(self, gy):
        gx = np.zeros(self.in_shape, dtype=gy.dtype)
        scatter_add(gx, self.slices, gy)
        return gx

    def backward(self, ggx):
        return get_item(ggx, self.slices)

    def taylor(self, gy):
        return S.each(lambda v: GetItemGrad(self.slices, self.in_shape)(v), gy)


def scatter_add(gx: np.ndarray, slices: Any, gy: np.ndarray) -> None:
    """``gx[slices] += gy``, where an index repeated in ``slices`` adds up (np.add.at).

    Integers, slices, ``...`` and None never repeat an element, so plain assignment does:
    faster, and safe on arrays of many dimensions, where np.add.at crashes (from 34 on).
    """
    key = slices if isinstance(slices, tuple) else (slices,)
    if all(k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice)) for k in key):
        gx[slices] += gy
    else:
        np.add.at(gx, slices, gy)
        watch_sums(gx, lambda: _scattered_sizes(gx.shape, slices, gy), 2 * gx.nbytes + gy.nbytes)


def _scattered_sizes(shape: tuple[int, ...], slices: Any, gy: np.ndarray) -> np.ndarray:
    """What a scatter that adds (np.add.at) sums, by the magnitudes of its terms."""
    sizes = np.zeros(shape, dtype=np.float64)
    np.add.at(sizes, slices, np.abs(gy))
    return sizes


class Stack(Function):
    """Join equally shaped inputs along a new axis: ``[x0, x1, ...]`` as one array."""

    __slots__ = ("axis",)

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs):
        return np.stack(xs, axis=self.axis)

    def backward(self, gy):
        lead = (slice(None),) * (self.axis % gy.ndim)
        return tuple(get_item(gy, lead + (i,)) for i in range(gy.shape[self.axis]))

    def taylor(self, *xs):
        shape = xs[0][0].shape
        return [
            S.ZERO
            if all(c is S.ZERO for c in cs)
            else stack([_zeros(shape) if c is S.ZERO else c for c in cs], self.axis)
            for cs in zip(*xs)
        ]


def _zeros(shape: tuple[int, ...]) -> Variable:
    return Variable(np.zeros(shape))


def stack(xs: list[Any], axis: int = 0) -> Variable:
    """Equally shaped values joined along a new axis ``axis``."""
    return Stack(axis)(*xs)


def reshape(x: Any, shape: tuple[int, ...]) -> Variable:
    """The same elements in ``shape`` (x itself when it already has it)."""
    if as_variable(x).shape == tuple(shape):
        return as_variable(x)
    return Reshape(tuple(shape))(x)


def transpose(x: Any, axes: tuple[int, ...] | None = None) -> Variable:
    """The axes reversed, or permuted as ``axes`` says."""
    return Transpose(None if axes is None else tuple(axes))(x)


def expand_dims(x: Any, axis: int) -> Variable:
    """A new axis of length 1 at position ``axis``."""
    x = as_variable(x)
    return reshape(x, np.expand_dims(x.data, axis).shape)


def flatten(x: Any) -> Variable:
    """Flatten all axes but the first, as the book does for a batch of inputs."""
    x = as_variable(x)
    return reshape(x, (x.shape[0], -1))


def get_item(x: Any, slices: Any) -> Variable:
    """x[slices], as NumPy indexes; the gradient scatters back (repeats add up)."""
    return GetItem(slices)(x)


# ---------------------------------------------------------------------------
# Sums and broadcasting
# ---------------------------------------------------------------------------


class Sum(Function):
    __slots__ = ("axis", "keepdims", "x_shape")

    def __init__(self, axis: Axis, keepdims: bool) -> None:
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        self.x_shape = x.shape
        return sum_array(x, self.axis, self.keepdims)

    def backward(self, gy):
        gy = utils.reshape_sum_backward(gy, self.x_shape, self.axis, self.keepdims)
        return broadcast_to(gy, self.x_shape)

    def taylor(self, x):
        return S.each(lambda v: exact_sum(v, self.axis, self.keepdims), x)


class ExactSum(Sum):
    """Sum, each total correctly rounded however its terms cancel (see exact_sum_array):
    Taylor mode's sums, which a derivative is vouched for by. Its gradient is Sum's."""

    __slots__ = ()

    def forward(self, x):
        self.x_shape = x.shape
        return exact_sum_array(x, self.axis, self.keepdims)


def exact_sum_array(x: np.ndarray, axis: Axis = None, keepdims: bool = False) -> Any:
    """``x.sum(axis, keepdims)``, each total within NEGLIGIBLE_ERROR of the exact sum of
    the terms however they cancel: 1e20 + 1 - 1e20 is 1, where NumPy's pairwise sum gives
    0 (a derivative's terms can cancel so, and extended precision, whose 64 bits lose that
    1 too, would vouch for the 0). NumPy's total stands where its error bound is under
    that (the common case, at twice the cost of the sum); the others are correctly rounded
    by ``math.fsum``. In longdouble, each term is split into two float64s that hold it
    exactly, and the total keeps longdouble's precision. A total that is not finite is
    NumPy's."""
    total = x.sum(axis=axis, keepdims=keepdims)
    if x.dtype not in (np.float64, np.longdouble) or x.size <= 1:  # nothing to cancel
        return total
    with np.errstate(all="ignore"):
        sizes = np.abs(x).sum(axis=axis, keepdims=keepdims)
        count = x.size // (np.size(total) or 1)  # terms in each total
        bound = (math.log2(count) + 16) * np.finfo(x.dtype).eps * sizes
        loose = np.atleast_1d(~(bound <= NEGLIGIBLE_ERROR * np.abs(total)) & np.isfinite(total))
    if not loose.any():
        return total
    if axis is None:
        summed = list(range(x.ndim))
    else:  # a Sum that ran with this axis: it is in range
        summed = sorted(int(i) % x.ndim for i in np.atleast_1d(axis))
    kept = [i for i in range(x.ndim) if i not in summed]
    rows = np.transpose(x, kept + summed).reshape(-1, count)  # one row per total
    exact = np.array(total, copy=True)
    flat = exact.reshape(-1)  # a view: exact's own elements, in the rows' order
    for i in np.flatnonzero(loose):
        flat[i] = _exact_total(rows[i])
    return exact[()] if exact.ndim == 0 else exact


#: NumPy's sum stands where its error bound is under this fraction of it.
NEGLIGIBLE_ERROR = 1e-13


def _exact_total(row: np.ndarray) -> Any:
    """The sum of a row of float64 or longdouble, correctly rounded (see exact_sum_array)."""
    try:
        total = math.fsum(_floats(row))
        if row.dtype == np.float64:
            return total
        rest = math.fsum(itertools.chain(_floats(row), [-total]))  # what float64's left out
        return np.longdouble(total) + np.longdouble(rest)
    except (OverflowError, ValueError):  # an infinite or nan term, or a total beyond float64
        return row.sum()


def _floats(row: np.ndarray, chunk: int = 1 << 14) -> Iterator[float]:
    """The terms of a row as Python floats, a chunk at a time (a list of them all would
    hold 3 times the row); a longdouble as two float64s whose sum it is exactly."""
    for start in range(0, row.size, chunk):
        part = row[start : start + chunk]
        high = part.astype(np.float64)
        yield from high.tolist()
        if part.dtype != np.float64:
            yield from (part - high).astype(np.float64).tolist()


def exact_sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:
    """The sum of the elements, of all or along ``axis``, each correctly rounded."""
    return ExactSum(axis, keepdims)(x)


class SumTo(Function):
    __slots__ = ("shape", "x_shape")

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        self.x_shape = x.shape
        return utils.sum_to(x, self.shape)

    def backward(self, gy):
        return broadcast_to(gy, self.x_shape)

    def taylor(self, x):
        return S.each(lambda v: _exact_sum_to(v, self.shape), x)


def _exact_sum_to(x: Variable, shape: tuple[int, ...]) -> Variable:
    """sum_to, each total correctly rounded (see exact_sum_array)."""
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1)
    return reshape(exact_sum(x, axes, keepdims=True), shape) if axes else x


class BroadcastTo(Function):
    __slots__ = ("shape", "x_shape")

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        self.x_shape = x.shape
        return np.broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.x_shape)

    def taylor(self, x):
        return S.each(lambda v: broadcast_to(v, self.shape), x)


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:  # noqa: A001
    """The sum of the elements, of all or along ``axis``."""
    return Sum(axis, keepdims)(x)


def sum_to(x: Any, shape: tuple[int, ...]) -> Variable:
    """x summed down to ``shape``: the gradient of a broadcast to it."""
    if as_variable(x).shape == tuple(shape):
        return as_variable(x)
    return SumTo(tuple(shape))(x)


def broadcast_to(x: Any, shape: tuple[int, ...]) -> Variable:
    """x broadcast to ``shape``, as NumPy would."""
    if as_variable(x).shape == tuple(shape):
        return as_variable(x)
    return BroadcastTo(tuple(shape))(x)


def average(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:
    """The mean of the elements, of all or along ``axis``."""
    x = as_variable(x)
    y = sum(x, axis, keepdims)
    count = x.size // y.size if y.size else 0
    return y / count  # the mean of no elements is 0 / 0: nan, as in NumPy


mean = average


# ---------------------------------------------------------------------------
# Products, extremes, clipping
# ---------------------------------------------------------------------------


class MatMul(Function):
    __slots__ = ()

    def forward(self, x, W):  # noqa: N803 - the book's name for a weight matrix
        return np.matmul(x, W)

    def backward(self, gy):
        x, W = self.inputs  # noqa: N806
        x2, W2 = _as_matrix(x, 0), _as_matrix(W, 1)  # noqa: N806
        gy2 = reshape(gy, np.matmul(x2.data, W2.data).shape)
        gx = matmul(gy2, _swap_last(W2))
        gW = matmul(_swap_last(x2), gy2)  # noqa: N806
        _watch_product(gy2.data, np.swapaxes(W2.data, -1, -2), gx.data)
        _watch_product(np.swapaxes(x2.data, -1, -2), gy2.data, gW.data)
        return sum_to(_unmatrix(gx, x2.shape, x.shape), x.shape), sum_to(
            _unmatrix(gW, W2.shape, W.shape), W.shape
        )

    def taylor(self, x, W):  # noqa: N803 - a product, so a Cauchy product of matrices
        return S.product(x, W, _exact_matmul_or_zero)


class ExactMatMul(MatMul):
    """MatMul, each sum of products correctly rounded (see exact_matmul_array): Taylor
    mode's products, as its sums are exact (ExactSum). Its gradient is MatMul's."""

    __slots__ = ()

    def forward(self, x, W):  # noqa: N803
        return exact_matmul_array(x, W)


#: An exact matrix product holds every product of its operands' elements twice over (the
#: rounded product and its error): beyond this many, it is NumPy's.
EXACT_PRODUCTS = 1 << 20


def exact_matmul_array(a: np.ndarray, b: np.ndarray) -> Any:
    """``a @ b``, each element within NEGLIGIBLE_ERROR of the exact sum of its products,
    however they cancel: where NumPy's error bound is not under that, every product is split
    exactly into its rounded value and its rounding error (Dekker's), then summed by
    ``exact_sum_array``. [1e20, 1, -1e20] @ [1, 1, 1] is 1, where BLAS gives 0. In float64
    or longdouble; NumPy's product for other types, for more than EXACT_PRODUCTS products,
    or where the split overflows (beyond 1e300 or so)."""
    plain = np.matmul(a, b)
    if plain.dtype not in _SPLITS or a.ndim == 0 or b.ndim == 0 or a.shape[-1] == 0:
        return plain
    a, b = a.astype(plain.dtype, copy=False), b.astype(plain.dtype, copy=False)
    count = a.shape[-1]  # products in each element
    with np.errstate(all="ignore"):  # BLAS may add in any order: n roundings at most,
        sizes = np.matmul(np.abs(a), np.abs(b))  # and each product's own
        bound = (count + 2) * np.finfo(plain.dtype).eps * sizes
        if np.all(bound <= NEGLIGIBLE_ERROR * np.abs(plain)) or not np.all(np.isfinite(plain)):
            return plain
    if np.size(plain) * count > EXACT_PRODUCTS:
        return plain
    left = a[..., None, :] if a.ndim == 1 else a  # vectors as matmul sees them
    right = b[..., :, None] if b.ndim == 1 else b
    terms = left[..., :, :, None] * right[..., None, :, :]  # [..., i, k, j]
    with np.errstate(all="ignore"):
        errors = _product_errors(left[..., :, :, None], right[..., None, :, :], terms)
    if not np.all(np.isfinite(errors)):
        return plain
    both = np.concatenate([terms, errors], axis=-2)  # [..., i, 2k, j]
    return exact_sum_array(both, -2).reshape(plain.shape)


def _product_errors(a: np.ndarray, b: np.ndarray, p: np.ndarray) -> np.ndarray:
    """a·b - p exactly, where p is a·b rounded (Dekker's two-product, by halves: _halves)."""
    a_high, a_low = _halves(a)
    b_high, b_low = _halves(b)
    return ((a_high * b_high - p) + a_high * b_low + a_low * b_high) + a_low * b_low


def _halves(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """a as high + low, each of at most half of a's significant bits (Veltkamp's split),
    so that the product of two halves is exact."""
    c = _SPLITS[a.dtype] * a
    high = c - (c - a)
    return high, a - high


#: 2^s + 1, where s is half the bits of the significand, rounded up: 53 bits in float64, and
#: longdouble's (64 on x86; where it is float64, as on ARM macOS, the same as float64's).
_SPLITS = {
    np.dtype(np.float64): np.float64(2**27 + 1),
    np.dtype(np.longdouble): np.longdouble(2 ** ((np.finfo(np.longdouble).nmant + 2) // 2) + 1),
}


def _exact_matmul_or_zero(a: Any, b: Any) -> Any:
    return S.ZERO if a is S.ZERO or b is S.ZERO else ExactMatMul()(a, b)


def _watch_product(a: np.ndarray, b: np.ndarray, product: np.ndarray) -> None:
    """A matrix product's sums, watched where a backward pass watches (see watch_sums)."""
    held = a.nbytes + b.nbytes + product.nbytes
    watch_sums(product, lambda: np.matmul(np.abs(a), np.abs(b)), held)


class LinearSolve(Function):
    """x = A⁻¹ b, the solution of A x = b, for a square matrix A and a vector b."""

    __slots__ = ()

    def forward(self, A, b):  # noqa: N803
        return np.linalg.solve(A, b)

    def backward(self, gy):
        A, b = self.inputs  # noqa: N806
        gb = linear_solve(transpose(A), gy)  # A⁻ᵀ gy
        x = linear_solve(A, b)
        n = x.shape[0]
        return -matmul(reshape(gb, (n, 1)), reshape(x, (1, n))), gb

    def taylor(self, A, b):  # noqa: N803
        # A(t) x(t) = b(t), order by order: A0 x_k = b_k - (A_1 x_{k-1} + ... + A_k x_0).
        x = [linear_solve(A[0], b[0])]
        for k in range(1, len(b)):
            known = S.total(_matmul_or_zero(A[j], x[k - j]) for j in range(1, k + 1))
            rhs = S.minus(b[k], known)
            x.append(S.ZERO if rhs is S.ZERO else linear_solve(A[0], rhs))
        return x


def _matmul_or_zero(a: Any, b: Any) -> Any:
    return S.ZERO if a is S.ZERO or b is S.ZERO else matmul(a, b)


def _as_matrix(v: Variable, side: int) -> Variable:
    """A vector as a row (left operand) or a column (right operand) matrix, as matmul sees it."""
    if v.ndim != 1:
        return v
    return reshape(v, (1, v.shape[0]) if side == 0 else (v.shape[0], 1))


def _swap_last(v: Variable) -> Variable:
    axes = list(range(v.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return transpose(v, tuple(axes))


def _unmatrix(g: Variable, matrix_shape: tuple[int, ...], shape: tuple[int, ...]) -> Variable:
    """Undo ``_as_matrix``: a gradient of the (batched) matrix shape back to the input's."""
    if len(shape) == 1:
        return reshape(sum_to(g, matrix_shape), shape)
    return g


class Max(Function):
    __slots__ = ("axis", "keepdims")

    def __init__(self, axis: Axis, keepdims: bool) -> None:
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        return x.max(axis=self.axis, keepdims=self.keepdims)

    def extreme(self, x: Value) -> np.ndarray:
        return x.max(axis=self.axis, keepdims=True)

    def backward(self, gy):
        (x,) = self.inputs
        return _extreme_grad(gy, x, self)

    def taylor(self, x):  # the mean of the tied series that x0 selects
        weights = _tie_weights(x[0].data, self)
        y0 = type(self)(self.axis, self.keepdims)(x[0])
        return [y0] + S.each(lambda v: sum(v * weights, self.axis, self.keepdims), x[1:])


class Min(Max):
    __slots__ = ()

    def forward(self, x):
        return x.min(axis=self.axis, keepdims=self.keepdims)

    def extreme(self, x: Value) -> np.ndarray:
        return x.min(axis=self.axis, keepdims=True)


def _extreme_grad(gy: Variable, x: Variable, f: Max) -> Variable:
    """The gradient of max or min flows to the elements that attain it, split equally among
    ties: the weights sum to 1, a subgradient, so max(t, t, t) has slope 1, as t has."""
    gy = utils.reshape_sum_backward(gy, x.shape, f.axis, f.keepdims)
    assert x.data is not None  # an input of f, whose rules read it: never released
    return broadcast_to(gy, x.shape) * _tie_weights(x.data, f).astype(gy.dtype)


def _tie_weights(x: Value, f: Max) -> np.ndarray:
    """1 / (number of ties) where x attains its extreme along the axis, 0 elsewhere."""
    attains = x == f.extreme(x)
    return attains / attains.sum(axis=f.axis, keepdims=True)


class Clip(Function):
    __slots__ = ("x_max", "x_min")

    def __init__(self, x_min: float, x_max: float) -> None:
        self.x_min = x_min
        self.x_max = x_max

    def forward(self, x):
        return np.clip(x, self.x_min, self.x_max)

    def backward(self, gy):
        (x,) = self.inputs
        inside = (x.data >= self.x_min) & (x.data <= self.x_max)
        return gy * _mask(inside, gy.dtype)

    def taylor(self, x):
        inside = _mask((x[0].data >= self.x_min) & (x[0].data <= self.x_max), np.float64)
        return S.branch(clip(x[0], self.x_min, self.x_max), x, inside)


def matmul(x: Any, W: Any) -> Variable:  # noqa: N803
    """The matrix product x @ W."""
    return MatMul()(x, as_array(W) if not isinstance(W, Variable) else W)


dot = matmul


def linear_solve(A: Any, b: Any) -> Variable:  # noqa: N803
    """The solution x of A x = b, for a square matrix A and a vector b."""
    return LinearSolve()(A, b)


def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:  # noqa: A001
    """The largest element, of all or along ``axis`` (ties share the gradient)."""
    return Max(axis, keepdims)(x)


def min(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:  # noqa: A001
    """The smallest element, of all or along ``axis`` (ties share the gradient)."""
    return Min(axis, keepdims)(x)


def clip(x: Any, x_min: float, x_max: float) -> Variable:
    """x limited to [x_min, x_max] (slope 1 inside, 0 outside)."""
    return Clip(x_min, x_max)(x)
