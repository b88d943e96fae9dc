"""The calculator's vocabulary: constants and built-in functions, one line each.

Each built-in names its signature (shown by completion and ``:help``), a one-line summary
and the dezero function that computes it. Arguments arrive as Variables; those that must
be whole numbers (an axis, a count) are converted by the helpers at the top.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import dezero.functions as F
import dezero.piecewise as P
import dezero.special as SF
from dezero import Config, Variable, as_variable
from dezero.budget import active as active_budget
from dezero.budget import size_text
from dezero_repl.errors import CalcError, ErrorKind

CONSTANTS = {"pi": math.pi, "e": math.e, "inf": math.inf}

#: The most dimensions an array may have, however it is made. NumPy 2 allows 64, but some
#: of its routines (np.add.at from 34 on) crash the process on so many.
MAX_DIMENSIONS = 32


def check_size(shape: tuple[int, ...], what: str, arrays: int = 1) -> None:
    """Refuse, before allocating, ``arrays`` arrays of float64 that the statement's memory
    budget (see ``dezero.budget``) cannot hold beside what the statement already holds."""
    nbytes = math.prod(shape) * 8 * arrays
    budget = active_budget()
    if budget is not None and not budget.fits(nbytes):
        used = budget.used()
        held = f" beside the {size_text(used)} it holds" if used >= budget.limit // 8 else ""
        some = "an array" if arrays == 1 else f"{arrays} arrays"
        raise CalcError(
            f"{what} would need {size_text(nbytes)} for {some} of shape {tuple(shape)}"
            f"{held}, over the statement's memory budget of {size_text(budget.limit)}",
            kind=ErrorKind.MemoryError,
        )


def check_broadcast(shapes: Sequence[tuple[int, ...]], what: str, arrays: int = 1) -> None:
    """Refuse arrays of ``shapes`` that do not broadcast together, and, before they are
    made, ``arrays`` results of the shape they broadcast to beyond the memory budget (atan2
    of a column and a row)."""
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        shown = " and ".join(str(s) for s in shapes)
        raise CalcError(
            f"shapes {shown} do not match for {what}", kind=ErrorKind.ValueError
        ) from None
    check_size(shape, what, arrays)


def integer(value: Any, what: str) -> int:
    """A whole number given as a scalar Variable, e.g. an axis or a count."""
    data = np.asarray(value.data if isinstance(value, Variable) else value)
    if data.dtype.kind not in "biuf":  # a function, not a number
        raise CalcError(f"{what} must be a whole number", kind=ErrorKind.TypeError)
    if data.ndim != 0 or not np.isfinite(data) or float(data) != int(data):
        raise CalcError(
            f"{what} must be a whole number, got {_show(data)}", kind=ErrorKind.TypeError
        )
    if abs(float(data)) > 2**62:
        raise CalcError(f"{what} is too large: {_show(data)}", kind=ErrorKind.ValueError)
    return int(data)


def shape_of(value: Any, what: str = "the shape") -> tuple[int, ...]:
    """A shape given as a number or a list of numbers, e.g. 3 or [2, 3]."""
    data = np.asarray(value.data if isinstance(value, Variable) else value)
    dims: tuple[int, ...]
    if data.ndim == 0:
        dims = (integer(data, what),)
    elif data.ndim == 1:
        dims = tuple(integer(d, what) for d in data)
    else:
        raise CalcError(f"{what} must be a number or a list of numbers", kind=ErrorKind.TypeError)
    if any(d < 0 for d in dims if d != -1):
        raise CalcError(f"{what} cannot be negative: {list(dims)}", kind=ErrorKind.ValueError)
    if len(dims) > MAX_DIMENSIONS:
        raise CalcError(
            f"{what} has {len(dims)} dimensions (limit {MAX_DIMENSIONS})", kind=ErrorKind.ValueError
        )
    return dims


def _show(data: np.ndarray) -> str:
    from dezero_repl.format import format_value

    return " ".join(line.strip() for line in format_value(data).splitlines())  # one line


# ---------------------------------------------------------------------------
# Built-in functions
# ---------------------------------------------------------------------------


class Builtin:  # a plain class, not a dataclass: cheaper to create (see values.py)
    """A built-in function: ``signature`` as shown to users, and how to compute it from
    ``min_args`` to ``max_args`` arguments (``elementwise``: their shapes broadcast)."""

    def __init__(
        self,
        name: str,
        signature: str,
        summary: str,
        compute: Callable[..., Variable],
        min_args: int,
        max_args: int,
        elementwise: bool = False,
    ) -> None:
        self.name = name
        self.signature = signature
        self.summary = summary
        self.compute = compute
        self.min_args = min_args
        self.max_args = max_args
        self.elementwise = elementwise

    @property
    def arity(self) -> int | None:
        return self.min_args if self.min_args == self.max_args else None

    def takes(self, n: int) -> bool:
        return self.min_args <= n <= self.max_args

    def describe(self) -> str:
        return f"{self.signature}: built-in, {self.summary}"

    @property
    def params(self) -> list[str]:
        inside = self.signature[self.signature.index("(") + 1 : -1]
        return [p.strip(" []") for p in inside.replace("[,", ",").split(",") if p.strip()]


def _log(x: Variable, base: Variable | None = None) -> Variable:
    return F.log(x) if base is None else F.log(x) / F.log(base)


def _reduction(f: Callable[..., Variable], extreme: str = "") -> Callable[..., Variable]:
    """A reduction along an axis; an ``extreme`` (maxalong, say) has no value along an
    empty one."""

    def compute(a: Variable, axis: Variable | None = None) -> Variable:
        if axis is None:
            return f(a)
        ax = integer(axis, "the axis")
        if not -a.ndim <= ax < max(a.ndim, 1):
            raise CalcError(
                f"axis {ax} is out of range for an array of {a.ndim} dimensions",
                kind=ErrorKind.AxisError,
            )
        if extreme and a.ndim and a.shape[ax] == 0:
            raise CalcError(
                f"{extreme}() along an empty axis has no value (axis {ax} of shape {a.shape})",
                kind=ErrorKind.ValueError,
            )
        return f(a, ax)

    return compute


def _extreme(name: str, reduce: Callable, choose: Callable) -> Callable[..., Variable]:
    """max(a) or min(a): over all the elements of a; of several values: elementwise."""

    def compute(*xs: Variable) -> Variable:
        if len(xs) == 1:
            if xs[0].size == 0:
                raise CalcError(
                    f"{name}() of an empty array has no value", kind=ErrorKind.ValueError
                )
            return reduce(xs[0])
        check_broadcast([x.shape for x in xs], f"{name}()")
        return choose(*xs)

    return compute


def _reshape(a: Variable, shape: Variable) -> Variable:
    dims = list(shape_of(shape))
    known = math.prod(d for d in dims if d != -1)
    if dims.count(-1) == 1 and known and a.size % known == 0:
        dims[dims.index(-1)] = a.size // known
    if dims.count(-1) or math.prod(dims) != a.size:
        raise CalcError(
            f"cannot reshape an array of shape {a.shape} ({a.size} elements) into "
            f"{list(shape_of(shape))}",
            kind=ErrorKind.ValueError,
        )
    return F.reshape(a, tuple(dims))


def _transpose(a: Variable) -> Variable:
    return F.transpose(a)


def matmul(a: Any, b: Any) -> Variable:
    """``a @ b``, refused with a clear message when the shapes do not fit or are too large."""
    a, b = as_variable(a), as_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        raise CalcError(
            "a matrix product needs arrays, not scalars: use '*'", kind=ErrorKind.ValueError
        )
    inner_a = a.shape[-1]
    inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if inner_a != inner_b:
        raise CalcError(
            f"shapes {a.shape} and {b.shape} do not fit a matrix product "
            f"(inner sizes {inner_a} and {inner_b} differ)",
            kind=ErrorKind.ValueError,
        )
    try:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise CalcError(
            f"shapes {a.shape} and {b.shape} do not fit a matrix product", kind=ErrorKind.ValueError
        ) from None
    rows = a.shape[-2:-1] if a.ndim > 1 else ()
    cols = b.shape[-1:] if b.ndim > 1 else ()
    shape = tuple(batch) + rows + cols
    check_size(shape, "this matrix product")
    from dezero_repl.limits import current_work  # limits reads this module's names

    muladds = math.prod(shape) * inner_a
    current_work().product(muladds, f"{a.shape} and {b.shape}", Config.enable_backprop)
    return F.matmul(a, b)


def product(values: Variable, first_axis: bool = False) -> Variable:
    """The product of all elements (or along the first axis), by halves: log2(n) array
    multiplications, each exact and differentiable to any order (no division, so zeros are
    no trouble)."""
    v = values if first_axis else F.reshape(values, (values.size,))
    if v.shape[0] == 0:  # the empty product: 1, as for an empty range
        return F.sum(v, axis=0) * 0.0 + 1.0
    leftovers = []
    while v.shape[0] > 1:
        n = v.shape[0]
        if n % 2:
            leftovers.append(v[n - 1])
            v = v[: n - 1]
        v = v[0::2] * v[1::2]
    result = v[0]
    for leftover in leftovers:
        result = result * leftover
    return result


def _filled(value: float) -> Callable[[Variable], Variable]:
    def compute(n: Variable) -> Variable:
        shape = shape_of(n)
        check_size(shape, "this array")
        return Variable(np.full(shape, value))

    return compute


def _linspace(a: Variable, b: Variable, n: Variable) -> Variable:
    count = integer(n, "the number of points")
    if count < 0:
        raise CalcError("the number of points cannot be negative", kind=ErrorKind.ValueError)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape, (count,))
    except ValueError:
        raise CalcError(
            f"linspace: ends of shapes {a.shape} and {b.shape} do not fit {count} points",
            kind=ErrorKind.ValueError,
        ) from None
    if not Config.enable_backprop and a.ndim == 0 and b.ndim == 0:  # no gradient is asked:
        check_size(shape, "linspace")  # the same arithmetic, in place, in one array
        start, end = np.asarray(a.data), np.asarray(b.data)
        steps = np.linspace(0.0, 1.0, count)
        steps *= end - start
        steps += start
        return Variable(steps)
    check_size(shape, "linspace", arrays=3)  # the steps, then (b - a)·steps, then a + that
    return a + (b - a) * Variable(np.linspace(0.0, 1.0, count))  # differentiable in both ends


def _arange(a: Variable, b: Variable | None = None, step: Variable | None = None) -> Variable:
    first, last = (0.0, a) if b is None else (a, b)
    start, stop = _number(first), _number(last)
    delta = 1.0 if step is None else _number(step)
    if delta == 0 or not math.isfinite(delta):
        raise CalcError("the step of arange cannot be zero", kind=ErrorKind.ValueError)
    if not math.isfinite(stop - start):
        raise CalcError("arange needs finite ends", kind=ErrorKind.ValueError)
    steps = (stop - start) / delta
    if not math.isfinite(steps):
        raise CalcError("arange: too many elements for so small a step", kind=ErrorKind.MemoryError)
    count = max(0, math.ceil(steps))
    check_size((count,), "arange")
    return Variable(np.arange(start, stop, delta, dtype=np.float64))


def _number(value: Any) -> float:
    data = as_variable(value).data
    assert data is not None  # an argument holds its array
    return float(data)


def _b(
    name: str,
    signature: str,
    summary: str,
    compute: Callable,
    lo: int,
    hi: int = -1,
    elementwise: bool = False,
) -> Builtin:
    return Builtin(name, signature, summary, compute, lo, lo if hi < 0 else hi, elementwise)


def _e(name: str, summary: str, compute: Callable):
    return Builtin(name, f"{name}(x)", summary, compute, 1, 1, elementwise=True)


BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in [
        # elementwise
        _e("sin", "sine (radians)", F.sin),
        _e("cos", "cosine (radians)", F.cos),
        _e("tan", "tangent (radians)", F.tan),
        _e("tanh", "hyperbolic tangent", F.tanh),
        _e("exp", "e to the power x", F.exp),
        _e("sinh", "hyperbolic sine", F.sinh),
        _e("cosh", "hyperbolic cosine", F.cosh),
        _e("asin", "inverse sine, in radians, for -1 <= x <= 1", F.asin),
        _e("acos", "inverse cosine, in radians, for -1 <= x <= 1", F.acos),
        _e("atan", "inverse tangent, in radians", F.atan),
        _e("asinh", "inverse hyperbolic sine", F.asinh),
        _e("acosh", "inverse hyperbolic cosine, for x >= 1", F.acosh),
        _e("atanh", "inverse hyperbolic tangent, for -1 < x < 1", F.atanh),
        _b(
            "atan2",
            "atan2(y, x)",
            "the angle of the point (x, y), in (-pi, pi]",
            F.atan2,
            2,
            elementwise=True,
        ),
        _b(
            "hypot",
            "hypot(x, y)",
            "sqrt(x^2 + y^2), without overflow",
            F.hypot,
            2,
            elementwise=True,
        ),
        _e("cbrt", "real cube root (negative for negative x)", F.cbrt),
        _e("exp2", "2 to the power x", F.exp2),
        _b(
            "log",
            "log(x, [base])",
            "natural logarithm, or to the given base",
            _log,
            1,
            2,
            elementwise=True,
        ),
        _e("ln", "natural logarithm (same as log)", F.log),
        _e("log2", "base-2 logarithm", F.log2),
        _e("log10", "base-10 logarithm", F.log10),
        _e("sqrt", "square root", F.sqrt),
        _e("abs", "absolute value", F.abs),
        _e("sigmoid", "logistic function 1 / (1 + e^-x)", F.sigmoid),
        _e("relu", "max(x, 0)", F.relu),
        _e("floor", "largest whole number <= x (derivative 0 between the jumps)", P.floor),
        _e("ceil", "smallest whole number >= x (derivative 0 between the jumps)", P.ceil),
        _e("round", "nearest whole number, halves to even (derivative 0)", P.round),
        _e("sign", "-1, 0 or 1 (derivative 0 away from 0)", P.sign),
        _e("erf", "error function 2/sqrt(pi) ∫_0^x e^(-t^2) dt", SF.erf),
        _e("erfc", "complementary error function 1 - erf(x), exact for large x", SF.erfc),
        _e("gamma", "gamma function, gamma(n) = (n-1)!", SF.gamma),
        _e("lgamma", "log |gamma(x)|", SF.lgamma),
        _e("digamma", "derivative of lgamma", SF.digamma),
        _e("factorial", "x! = gamma(x + 1), for any x not a negative whole number", SF.factorial),
        # reductions and arrays
        _b(
            "sum",
            "sum(a, [axis])",
            "sum of the elements (along an axis); also over a range: sum(k^2 for k in 1..10)",
            _reduction(F.sum),
            1,
            2,
        ),
        _b(
            "prod",
            "prod(a)",
            "product of all the elements; also over a range: prod(k for k in 1..5)",
            product,
            1,
        ),
        _b("mean", "mean(a, [axis])", "mean of the elements", _reduction(F.mean), 1, 2),
        _b(
            "max",
            "max(a, b, ...)",
            "largest element of a, or largest of several values, elementwise",
            _extreme("max", F.max, P.maximum),
            1,
            64,
        ),
        _b(
            "min",
            "min(a, b, ...)",
            "smallest element of a, or smallest of several values, elementwise",
            _extreme("min", F.min, P.minimum),
            1,
            64,
        ),
        _b(
            "maxalong",
            "maxalong(a, axis)",
            "largest elements along an axis",
            _reduction(F.max, "maxalong"),
            2,
        ),
        _b(
            "minalong",
            "minalong(a, axis)",
            "smallest elements along an axis",
            _reduction(F.min, "minalong"),
            2,
        ),
        _b("transpose", "transpose(a)", "reverse the axes (also a.T)", _transpose, 1),
        _b("reshape", "reshape(a, shape)", "same elements, new shape", _reshape, 2),
        _b("dot", "dot(a, b)", "matrix or dot product (also a @ b)", matmul, 2),
        _b("zeros", "zeros(n)", "an array of zeros; n may be a shape [2, 3]", _filled(0.0), 1),
        _b("ones", "ones(n)", "an array of ones; n may be a shape [2, 3]", _filled(1.0), 1),
        _b("linspace", "linspace(a, b, n)", "n evenly spaced points from a to b", _linspace, 3),
        _b("arange", "arange(a, b, step)", "a, a+step, ... below b", _arange, 1, 3),
    ]
}

#: Forms the evaluator itself handles, because they take expressions or functions.
SPECIAL_FORMS: dict[str, tuple[str, str]] = {
    "diff": ("diff(expr, x, n)", "n-th derivative of expr with respect to the variable x"),
    "grad": ("grad(f)", "the gradient of a function: grad(f)(1, 2)"),
    "hessian": ("hessian(f)", "the matrix of second partials: hessian(f)(1, 2)"),
    "taylor": ("taylor(f, a, n)", "Taylor coefficients f^(k)(a)/k! for k = 0..n"),
    "solve": ("solve(f, x0)", "a root of f near x0, by Newton's method"),
    "minimize": ("minimize(f, x0)", "a stationary point of f near x0, by Newton's method"),
    "integrate": (
        "integrate(f, a, b)",
        "the integral of f from a to b (or integrate(expr, t, a, b)); a, b may be inf",
    ),
}

RESERVED = {"ans", "_"}


def signature(name: str) -> str | None:
    """The signature of a built-in function or special form, e.g. 'sin(x)'."""
    if name in BUILTINS:
        return BUILTINS[name].signature
    if name in SPECIAL_FORMS:
        return SPECIAL_FORMS[name][0]
    return None
