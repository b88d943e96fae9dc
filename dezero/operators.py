"""The operators of Variable: ``+ - * / **`` and unary minus, as the book's setup_variable gives.

Each operator picks its Function. Between two Variables it is one of core's (``Add``,
``Mul``, ...). A constant operand (a Python number or an ndarray) is not wrapped in a
Variable of its own: nobody can ask for its gradient, so a one-input Function keeps it as
a plain value (``AddConstant``, ``MulConstant``, ...), which saves a node and a gradient.
A Variable exponent, or base, has Functions of its own (``PowVar``, ``PowConstVar``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dezero import series as S  # noqa: N812 - the series arithmetic, as a module
from dezero.core import (
    Add,
    Div,
    Function,
    Mul,
    Neg,
    Pow,
    Sub,
    Variable,
    power,
    scalar,
    unbroadcast,
)

# A constant operand (a Python number or an ndarray) is not wrapped in a Variable of its own:
# nobody can ask for its gradient, so these one-input functions keep it as a plain value.


class AddConstant(Function):
    """x + c for a constant c kept as a plain value."""

    __slots__ = ("c", "x_shape")

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        self.x_shape = x.shape
        return scalar(x) + self.c

    def backward(self, gy):
        return unbroadcast(gy, self.x_shape)

    def taylor(self, x):
        return [x[0] + self.c] + x[1:]


class SubFromConstant(Function):
    """c - x for a constant c."""

    __slots__ = ("c", "x_shape")

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        self.x_shape = x.shape
        return self.c - scalar(x)

    def backward(self, gy):
        return unbroadcast(-gy, self.x_shape)

    def taylor(self, x):
        return [self.c - x[0]] + S.negative(x[1:])


class MulConstant(Function):
    """x * c for a constant c."""

    __slots__ = ("c", "x_shape")

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        self.x_shape = x.shape
        return scalar(x) * self.c

    def backward(self, gy):
        return unbroadcast(gy * self.c, self.x_shape)

    def taylor(self, x):
        return S.each(lambda v: v * self.c, x)


class DivConstant(Function):
    """x / c for a constant c."""

    __slots__ = ("c", "x_shape")

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        self.x_shape = x.shape
        return scalar(x) / self.c

    def backward(self, gy):
        return unbroadcast(gy / self.c, self.x_shape)

    def taylor(self, x):
        return S.each(lambda v: v / self.c, x)


class DivFromConstant(Function):
    """``c / x``."""

    __slots__ = ("c",)

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return self.c / scalar(x)

    def backward(self, gy):
        (x,) = self.inputs
        return unbroadcast(gy * (-self.c) / x / x, x.shape)  # -c / x², dividing twice as in Div

    def taylor(self, x):
        return S.quotient(S.constant(np.asarray(self.c), len(x) - 1), x)


class PowVar(Function):
    """``x0 ** x1`` where the exponent is a Variable too."""

    __slots__ = ()

    def forward(self, x0, x1):
        return power(x0, x1)  # not **: see core.power

    def backward(self, gy):
        x0, x1 = self.inputs
        y = x0**x1
        gx0 = gy * x1 * x0 ** (x1 - 1)
        gx1 = gy * y * _log_base(x0)  # d(a^b)/db = a^b ln a
        return unbroadcast(gx0, x0.shape), unbroadcast(gx1, x1.shape)

    def taylor(self, x0, x1):
        a, b = x0, x1
        if all(c is S.ZERO for c in b[1:]):  # a constant exponent
            return S.constant_power(a, b[0], lambda: a[0] ** b[0])
        if all(c is S.ZERO for c in a[1:]):  # a constant base
            return _exponential_series(b, a[0], a[0] ** b[0])
        from dezero.functions import log  # it imports this module

        log_a = S.log(a, log(a[0]))
        return S.exp(S.product(b, log_a), a[0] ** b[0])  # a^b = e^(b ln a)


class PowConstVar(Function):
    """``c ** x`` for a constant base c."""

    __slots__ = ("c",)

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return power(self.c, x)  # not **: see core.power

    def backward(self, gy):
        (x,) = self.inputs
        y = self.c**x
        return unbroadcast(gy * y * _log_base(self.c), x.shape)  # d(c^x)/dx = c^x ln c

    def taylor(self, x):
        return _exponential_series(x, self.c, self.c ** x[0])


def _exponential_series(x: list, c: Any, y0: Variable) -> list:
    """The series of c ** x for a constant base c: y' = ln(c) y x'."""
    log_c = _log_base(c)
    return S.exp(S.each(lambda v: v * log_c, x), y0)


def _log_base(c: Any) -> Any:
    """ln c for the base of c ** x, but 0 where c is 0: 0 ** x is 0 (for x > 0), a flat
    function, and its slope 0 ** x · ln 0 would otherwise be 0 · -inf = nan."""
    if isinstance(c, Variable):
        from dezero.functions import log  # it imports this module

        assert c.data is not None  # an input of the rule's Function: never released
        zero = np.equal(c.data, 0)
        return log(c + zero.astype(c.dtype) if zero.any() else c)
    zero = np.equal(c, 0)
    return _log(np.where(zero, 1, c) if zero.any() else c)


def _log(c: Any) -> Any:
    """ln c for a constant; a Python number stays one, so that it keeps x's dtype."""
    log_c = np.log(c)
    return float(log_c) if isinstance(c, (int, float)) else log_c


def _constant(c: Any, x: Any) -> Any:
    """A constant operand as NumPy sees it next to ``x``, the other operand.

    Next to float64 data a Python int becomes the float NumPy would make of it anyway
    (NumPy computes faster with a Python float than with an int). Python numbers otherwise
    stay as they are, for NumPy's promotion rules to judge.
    """
    if type(c) is float:  # the common case, first
        return c
    if type(c) is int:
        # x.data is read unchecked, as Variable.dtype reads it: operators with ints come here
        if isinstance(x, Variable) and x.data.dtype is _FLOAT64 and -_BIG < c < _BIG:  # type: ignore[union-attr]
            return float(c)
        return c
    if isinstance(c, (int, float, np.ndarray, np.generic)):  # bool is an int too
        return c
    return np.asarray(c)


_FLOAT64 = np.dtype(np.float64)
_BIG = 2**1023  # ints beyond float64's range stay ints, for NumPy to judge


def add(x0: Any, x1: Any) -> Variable:
    """x0 + x1 (the operator +)."""
    if isinstance(x1, Variable):
        return Add()(x0, x1)
    return AddConstant(_constant(x1, x0))(x0)


def sub(x0: Any, x1: Any) -> Variable:
    """x0 - x1 (the operator -)."""
    if isinstance(x1, Variable):
        return Sub()(x0, x1)
    return AddConstant(-_constant(x1, x0))(x0)  # x - c == x + (-c) exactly


def rsub(x0: Any, x1: Any) -> Variable:
    """``x1 - x0``: the operand order of ``__rsub__``."""
    if isinstance(x1, Variable):
        return Sub()(x1, x0)
    return SubFromConstant(_constant(x1, x0))(x0)


def mul(x0: Any, x1: Any) -> Variable:
    """x0 * x1 (the operator *)."""
    if isinstance(x1, Variable):
        return Mul()(x0, x1)
    return MulConstant(_constant(x1, x0))(x0)


def div(x0: Any, x1: Any) -> Variable:
    """x0 / x1 (the operator /)."""
    if isinstance(x1, Variable):
        return Div()(x0, x1)
    return DivConstant(_constant(x1, x0))(x0)


def rdiv(x0: Any, x1: Any) -> Variable:
    """``x1 / x0``: the operand order of ``__rtruediv__``."""
    if isinstance(x1, Variable):
        return Div()(x1, x0)
    return DivFromConstant(_constant(x1, x0))(x0)


def neg(x: Any) -> Variable:
    """-x (the unary operator -)."""
    return Neg()(x)


def pow(x: Any, c: Any) -> Variable:  # noqa: A001 - the book's name
    """x ** c (the operator **)."""
    if isinstance(c, Variable):
        return PowVar()(x, c)
    return Pow(c)(x)


def rpow(x: Any, c: Any) -> Variable:
    """``c ** x``: the Variable is the exponent."""
    if isinstance(c, Variable):
        return PowVar()(c, x)
    return PowConstVar(_constant(c, x))(x)


# Class attributes declared in Variable, so each assignment is type-checked.
Variable.__add__ = Variable.__radd__ = add
Variable.__sub__ = sub
Variable.__rsub__ = rsub
Variable.__mul__ = Variable.__rmul__ = mul
Variable.__truediv__ = div
Variable.__rtruediv__ = rdiv
Variable.__pow__ = pow
Variable.__rpow__ = rpow
Variable.__neg__ = neg
