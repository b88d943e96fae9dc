"""Function values: everything a name can hold besides numbers and arrays.

A function value is a built-in (``sin``), a user function (``f(x) = x^2``), a special form
(``diff``, ``solve``, ...), a derivative (``f''``) or a gradient (``grad(f)``). Each has the
same small protocol, so that no caller needs to tell them apart to name them or count
their arguments:

- ``name``: how messages name it (``sin``, ``f''``, ``grad(g)``);
- ``arity``: how many arguments it takes (None when that varies), and ``takes(n)``: whether
  it can be called with n;
- ``describe()``: the line ``:help`` and the REPL show for it.

How each is applied is the evaluator's business (``Session.apply``).

They are plain classes: none is compared or changed after it is made, and a dataclass
costs a quarter of a millisecond of every start-up to create (benchmarks/README.md).
"""

from __future__ import annotations

from typing import Any

from dezero import Variable
from dezero_repl.errors import CalcError, ErrorKind
from dezero_repl.nodes import Expr
from dezero_repl.vocabulary import SPECIAL_FORMS, Builtin


class UserFunction:
    """``name(params) = body``, defined by the statement ``source``; ``calls`` names the
    user functions its body calls."""

    def __init__(
        self,
        name: str,
        params: tuple[str, ...],
        body: Expr,
        source: str,
        calls: frozenset[str] = frozenset(),
    ) -> None:
        self.name = name
        self.params = params
        self.body = body
        self.source = source
        self.calls = calls

    @property
    def arity(self) -> int:
        return len(self.params)

    def takes(self, n: int) -> bool:
        return n == len(self.params)

    def describe(self) -> str:
        return self.source.strip()


class SpecialForm:
    """A built-in that takes expressions or functions: diff, grad, taylor, solve, ..."""

    arity = None

    def __init__(self, name: str) -> None:
        self.name = name

    def takes(self, n: int) -> bool:
        return False  # it is called with expressions, not values

    def describe(self) -> str:
        signature, summary = SPECIAL_FORMS[self.name]
        return f"{signature}: built-in, {summary}"


class Derivative:
    """``f'``, ``f''``, ...: the order-th derivative of a one-parameter function."""

    arity = 1

    def __init__(self, base: Any, order: int) -> None:
        self.base = base
        self.order = order

    def takes(self, n: int) -> bool:
        return n == 1

    @property
    def name(self) -> str:
        return self.base.name + "'" * self.order

    def describe(self) -> str:
        return f"{self.name}: a function of 1 argument(s)"


class GradientOf:
    """``grad(f)`` or ``hessian(f)``: a function returning partial derivatives of f."""

    def __init__(self, base: Any, hessian: bool = False) -> None:
        self.base = base
        self.hessian = hessian

    @property
    def name(self) -> str:
        return f"{'hessian' if self.hessian else 'grad'}({self.base.name})"

    @property
    def arity(self) -> int | None:
        return self.base.arity

    def takes(self, n: int) -> bool:
        return self.base.takes(n)

    def describe(self) -> str:
        return f"{self.name}: a function of {self.arity} argument(s)"


FUNCTION_VALUES = (Builtin, UserFunction, SpecialForm, Derivative, GradientOf)


class Truth(Variable):
    """1 where a condition holds, 0 elsewhere: the value of a comparison or of and, or, not.
    It is a number like any other, but as an index it is a mask, as NumPy's booleans are:
    a[a > 1] is the elements of a above 1."""


def data_of(value: Any) -> Any:
    """The array behind a Variable; anything else as it is."""
    return value.data if isinstance(value, Variable) else value


def is_function(value: Any) -> bool:
    return isinstance(value, FUNCTION_VALUES)


def require_array(value: Any, operation: str, start: int | None = None, end: int | None = None):
    """Refuse a function value or a slice where a number or an array is needed."""
    if is_function(value):
        raise CalcError(
            f"'{value.name}' is a function: call it, e.g. {value.name}(x), before using it "
            f"with {operation}",
            start,
            end,
            kind=ErrorKind.TypeError,
        )
    if value is None or isinstance(value, slice):
        raise CalcError(
            f"a slice cannot be used with {operation}", start, end, kind=ErrorKind.TypeError
        )
