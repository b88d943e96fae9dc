"""Exact derivatives of any order, and what they make possible: Taylor, Newton, minimization.

A derivative in one variable (primes, ``diff(expr, x, n)``, ``taylor``, the solvers)
comes from Taylor mode (``dezero.series``): the truncated Taylor series of x is pushed
forward through the graph, at O(n²) per operation for order n. Partial derivatives and
gradients (``grad``, ``hessian``, and ``diff`` with respect to an array that the expression
does not use element by element) come from nested backpropagation with
``create_graph=True``. Either way every result is a Variable with a graph of its own, so it
can be differentiated again. Nothing is estimated by finite differences.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

import dezero.functions as F
import dezero.piecewise as P
import dezero.special as SF
from dezero import Config, Function, Variable, as_variable, gradients, no_grad, series, using_config
from dezero import core as C  # noqa: N812 - the arithmetic Functions, for the table below
from dezero import operators as O  # noqa: N812 - and those with a constant operand
from dezero import quadrature as Q
from dezero.budget import active as active_budget
from dezero.budget import size_text
from dezero.core import Value
from dezero_repl import nodes, ranges
from dezero_repl.errors import CalcError, ErrorKind
from dezero_repl.ledger import DERIVED, Gradients, HistoryLost, Summary, derived
from dezero_repl.limits import MAX_ITERATIONS, Tally
from dezero_repl.values import Derivative, GradientOf, SpecialForm, is_function, require_array
from dezero_repl.vocabulary import integer

if TYPE_CHECKING:
    from dezero_repl.evaluator import Session

#: The highest derivative order the calculator computes in one variable (Taylor mode) ...
MAX_ORDER = 100
#: ... and the most coefficient products it may take (about n²/2 per operation for order n).
MAX_TAYLOR_WORK = 2_000_000
#: Nested backpropagation (an array variable used across elements) stops at this order ...
MAX_NESTED_ORDER = 32
#: ... and at this many operations in a derivative's graph.
MAX_GRAPH = 300_000

#: The Functions that act element by element: along them, each element of an array variable
#: has its own Taylor series, and the derivative of the sum is each element's derivative.
ELEMENTWISE = (
    C.Add, C.Sub, C.Mul, C.Div, C.Neg, C.Pow, O.PowVar, O.PowConstVar,
    O.AddConstant, O.SubFromConstant, O.MulConstant, O.DivConstant, O.DivFromConstant,
    F.Sin, F.Cos, F.Tan, F.Tanh, F.Exp, F.Log, F.Log2, F.Log10, F.Sqrt, F.Abs,
    F.Sinh, F.Cosh, F.Asin, F.Acos, F.Atan, F.Asinh, F.Acosh, F.Atanh, F.Atan2, F.Hypot,
    F.Cbrt, F.Exp2,
    F.Sigmoid, F.ReLU, F.LeakyReLU, F.Clip,
    P.Floor, P.Ceil, P.Round, P.Sign, P.FloorDiv, P.Mod, P.Where, P.Maximum, P.Minimum,
    SF.Erf, SF.Erfc, SF.Gamma, SF.Lgamma, SF.Polygamma,
)  # fmt: skip
#: Newton's method stops when a step is this small relative to max(1, |x|), or gives up
#: after limits.MAX_ITERATIONS iterations.
TOLERANCE = 1e-12


def nth_derivative(y: Variable, x: Variable, order: int) -> Variable:
    """d^n y / dx^n, elementwise for arrays (the gradient of the sum of y).

    Taylor mode when x is a number, or an array that y uses element by element; nested
    backpropagation otherwise, vouched for at order 1 as a reported gradient is.
    """
    y = as_variable(y)
    if order == 0:
        return y
    if order > MAX_ORDER:
        raise CalcError(
            f"derivative order {order} is too high (limit {MAX_ORDER})", kind=ErrorKind.ValueError
        )
    if x.ndim == 0 or _elementwise(y, x):
        d = taylor_coefficients(y, x, order, checked=[order])[order] * float(math.factorial(order))
        return derived(F.sum(d) if d.shape != x.shape else d)
    if order > MAX_NESTED_ORDER:
        raise CalcError(
            f"derivative order {order} with respect to the array '{x.name or 'x'}' is too "
            f"high (limit {MAX_NESTED_ORDER} when elements are combined, as by sum or @)",
            kind=ErrorKind.ValueError,
        )
    if order == 1:
        return derived(_checked_gradient(y, x))
    return derived(_nested_derivative(y, x, order))


def _checked_gradient(y: Variable, x: Variable) -> Variable:
    """The gradient of y's sum with respect to an array x whose elements y combines, by
    backpropagation; where the pass noted a sum that cancels, its value is computed again
    element by element and vouched for (see ``_first_derivative``), or refused."""
    watch: list[str] = []
    with using_config("enable_backprop", True):
        (g,) = gradients(y, [x], create_graph=True, stop={id(x)}, watch=watch)
    g = g if g is not None else Variable(np.zeros_like(x.data))
    if not watch:
        return g
    again, reason = _first_derivative(y, x, "large contributions to it cancel", False)
    if again is None:
        raise CalcError(f"the derivative {reason}", kind=ErrorKind.PrecisionError)
    with using_config("enable_backprop", True):
        return g + Variable(again - g.data)  # the value vouched for, on the pass's graph


def taylor_coefficients(
    y: Variable,
    x: Variable,
    order: int,
    checked: Sequence[int] = (),
    underflows: list[str] | None = None,
    direction: Any = 1.0,
) -> list[Variable]:
    """y^(k)(x) / k! for k = 0 ... order, each of y's shape, by Taylor mode (along x0 +
    t·direction: with a direction that is 1 at one element of x, y's derivatives by it).

    The work (about n²/2 coefficient products per operation for order n) is forecast and
    refused beyond MAX_TAYLOR_WORK, before anything is computed. The orders in ``checked``
    are vouched for (see ``_vouch``); ``underflows`` notes the values that underflow. Order 1
    is vouched for where y uses a derivative, or where a value underflowed on the way.
    """
    functions = series.functions_between(x, y)
    least = 1 if _uses_a_derivative(y, functions) else 2  # the least order vouched for
    work = len(functions) * (order + 1) ** 2 // 2
    if work > MAX_TAYLOR_WORK:
        raise CalcError(
            f"the derivative of order {order} is too large to compute: about {work:,} "
            f"coefficient products over {len(functions):,} operations (limit "
            f"{MAX_TAYLOR_WORK:,})",
            kind=ErrorKind.ResourceError,
        )
    _reserve_series(functions, order)
    underflows = [] if underflows is None else underflows
    with accurate_integrals():
        with using_config("enable_backprop", True), watching_underflow(underflows):
            coefficients = series.coefficients(y, x, order, direction)
        checked = [k for k in checked if k >= (1 if underflows else least)]
        if checked:
            _vouch(y, x, coefficients, checked, bool(underflows))
    return coefficients


def _uses_a_derivative(y: Variable, functions: list) -> bool:
    return y in DERIVED or any(v in DERIVED for f in functions for v in f.inputs)


def vouched_report(value: Variable, report: Gradients, note: Callable[[str], None]) -> Gradients:
    """The report of a value that is a derivative, where each gradient that cannot be
    computed to 9 digits (a derivative of higher order; see ``unreliable_orders``) is None,
    with a note saying why."""
    kept = []
    for name, variable, gradient in report:
        reason = None
        if gradient is not None and value.ndim == 0 and variable.size == 1:
            first = [value, Variable(np.asarray(gradient, dtype=np.float64).reshape(()))]
            try:
                reason = unreliable_orders(value, variable, first, [1]).get(1)
            except (ValueError, HistoryLost):  # a value on the way was summarized
                reason = "cannot be vouched for: its history is not kept"
            except CalcError as e:  # too much work, say
                reason = f"cannot be vouched for: {e.message}"
        if reason is None:
            kept.append((name, variable, gradient))
        else:
            note(f"∂/∂{name} is not shown: it {reason}")
            kept.append((name, variable, None))  # and the gradients through it are not shown
    return kept


def checked_report(
    value: Variable,
    report: Gradients,
    note: Callable[[str], None],
    why: str,
    underflowed: bool = False,
) -> Gradients:
    """The report of a value whose backward pass may have lost digits (``why``: where
    contributions cancelled, or where a value underflowed: ``underflowed``), each gradient
    computed again by Taylor mode and vouched for as a higher derivative is (see
    ``unreliable_orders``). One that cannot be is None, with a note saying why."""
    checked = []
    for name, variable, gradient in report:
        if gradient is not None and _longer_than(variable, value, MAX_CHECKED):
            gradient = None  # a check whose cost grew with the history would slow every loop
            note(
                f"∂/∂{name} is not shown: it cannot be vouched for ({why}), and more than "
                f"{MAX_CHECKED:,} operations lead to it, too many to compute it again"
            )
        elif gradient is not None:
            gradient, reason = _first_derivative(value, variable, why, underflowed)
            if reason is not None:
                note(f"∂/∂{name} is not shown: it {reason}")
        checked.append((name, variable, gradient))
    return checked


#: A reported gradient is computed again only through this many operations at most.
MAX_CHECKED = 2_000


def _longer_than(x: Variable, y: Variable, most: int) -> bool:
    """Whether more than ``most`` Functions lie between x and y (found without walking
    further than that)."""
    funcs = [] if y.creator is None else [y.creator]
    seen = set(funcs)
    while funcs:
        f = funcs.pop()
        for v in f.inputs:
            if v is not x and v.creator is not None and v.creator not in seen:
                if len(seen) >= most:
                    return True
                seen.add(v.creator)
                funcs.append(v.creator)
    return False


def finite_again(value: Variable, report: Gradients, note: Callable[[str], None]) -> Gradients:
    """The report of a value whose backward pass overflowed, divided by zero or met nan,
    each gradient computed again by Taylor mode, whose terms may stay in range where the
    pass's did not (c/a's slope -c/a/a overflows where -(c/a)·a'/a does not). One that came
    out infinite or nan is shown as it came unless that one is finite and vouched for. A
    finite one may be wrong too (1/∞ is 0, where 1/(1 + x²)·10^300 at 10^200 is 10^-100): it
    is shown as computed again and vouched for, or left out with a note saying why."""
    checked = []
    why = "the backward pass overflowed or divided by zero"
    for name, variable, gradient in report:
        if gradient is not None:
            again, reason = _first_derivative(value, variable, why, False)
            if reason is None:
                gradient = again
            elif np.all(np.isfinite(gradient)):
                note(f"∂/∂{name} is not shown: it {reason}")
                gradient = None
        checked.append((name, variable, gradient))
    return checked


# what overflows or divides by zero on the way is not the statement's to warn about
@np.errstate(divide="ignore", over="ignore", invalid="ignore")
def _first_derivative(
    y: Variable, x: Variable, why: str, underflowed: bool
) -> tuple[np.ndarray | None, str | None]:
    """The gradient of y's sum with respect to x by Taylor mode, vouched for; or None and
    the reason (``why`` the gradient is computed again starts it). With respect to a
    number, that is the derivative of y's sum; with respect to an array, the derivative of
    y element by element, where y is made from x element by element, or sums what is;
    otherwise, the derivative of y's sum along each element of x in turn."""
    directions: list[Any] = [1.0]
    if _released(x, y):
        return None, (
            f"cannot be vouched for: {why}, and the backward pass released values on the way "
            f"to save memory"
        )
    if x.ndim == 0 and y.ndim > 0:
        with using_config("enable_backprop", True):
            y = F.sum(y)
    elif x.ndim > 0 and isinstance(y.creator, F.Sum) and _elementwise(y.creator.inputs[0], x):
        y = y.creator.inputs[0]  # the gradient of the sum of y is the same as of its terms
    elif x.ndim > 0 and not _elementwise(y, x):  # its elements are combined
        y, directions, too_much = _along_elements(y, x)
        if too_much is not None:
            return None, f"cannot be vouched for: {why}, and {too_much}"
    underflows = ["underflow"] if underflowed else []  # before, or now
    try:
        derivative, _, failure, at = _slopes(y, x, directions, underflows, every=False)
        if failure is not None:
            where = f", at element {list(_index(at, x.shape))}" if len(directions) > 1 else ""
            return None, failure() + where
    except (ValueError, HistoryLost):  # a value on the way was released or summarized
        return None, f"cannot be vouched for: {why}, and its history is not kept"
    except CalcError as e:  # too much work, say
        return None, f"cannot be vouched for: {why}, and {e.message}"
    if not np.all(np.isfinite(derivative)):  # 0·∞ where a value underflowed to 0, say
        what = "nan" if np.any(np.isnan(derivative)) else "infinite"
        return None, f"cannot be vouched for: {why}, and it comes out as {what}"
    return derivative, None


#: A gradient with respect to an array whose elements are combined (by a matrix product,
#: say) is computed again one element at a time, about 0.5 ms each: for an array of at
#: most this many elements ...
MAX_ELEMENTS_AGAIN = 500
#: ... and at most this many elements times the operations between the array and the
#: value, and this many times the elements those operations read and make.
MAX_BY_ELEMENT = 2_000
MAX_BY_ELEMENT_VALUES = 5_000_000


def _along_elements(y: Variable, x: Variable) -> tuple[Variable, list[Any], str | None]:
    """y's sum and a unit direction for each element of x, along which its gradient is
    computed again one element at a time; or no directions, and why that is too much."""
    if y.ndim > 0:
        with using_config("enable_backprop", True):
            y = F.sum(y)
    too_much = _too_much_by_element(y, x)
    if too_much is not None:
        return y, [], too_much
    return y, [_unit(x.shape, i) for i in range(x.size)], None


def _too_much_by_element(y: Variable, x: Variable) -> str | None:
    """Why computing y's derivative along each element of x in turn is too much work, or
    None (see MAX_ELEMENTS_AGAIN)."""
    functions = series.functions_between(x, y)
    passes = x.size * len(functions)
    outputs = [out for f in functions for out in (ref() for ref in f.outputs) if out is not None]
    values = x.size * sum([v.size for f in functions for v in f.inputs] + [o.size for o in outputs])
    small = x.size <= MAX_ELEMENTS_AGAIN
    if small and passes <= MAX_BY_ELEMENT and values <= MAX_BY_ELEMENT_VALUES:
        return None
    return (
        f"computing it again for each of its {x.size:,} elements, through "
        f"{len(functions):,} operations, would take too long"
    )


def vouched_slopes(y: Variable, x: Variable, underflowed: bool) -> tuple[np.ndarray, Any, str, int]:
    """The gradient of y's sum at each element of x (a plot's derivative curve), computed
    again by Taylor mode: in one pass where y is made from x element by element, else
    along each element in turn (CalcError where that is too much work); where each
    element fails the checks of ``unreliable_orders``, on its own; and why one of them
    fails, with its flat index."""
    underflows = ["underflow"] if underflowed else []
    directions: list[Any] = [1.0]
    if not _elementwise(y, x):
        y, directions, too_much = _along_elements(y, x)
        if too_much is not None:
            raise CalcError(too_much, kind=ErrorKind.ResourceError)
    slopes, failing, failure, at = _slopes(y, x, directions, underflows, every=True)
    return slopes, failing, "" if failure is None else failure(located=False), at


def _slopes(
    y: Variable, x: Variable, directions: list[Any], underflows: list[str], every: bool
) -> tuple[np.ndarray, Any, Callable[..., str] | None, int]:
    """y's first derivative by Taylor mode along each of ``directions`` (one, 1.0: every
    element of x at once; else a unit direction for each element), each element checked
    as ``unreliable_orders`` checks it, by every check (``every``) or up to the first
    failure: the slopes, where they fail, and the first failure's message and flat index."""
    slopes = np.empty(x.shape)
    failing, failure, at = np.zeros(x.shape, dtype=bool), None, -1
    whole = len(directions) == 1
    for i, direction in enumerate(directions):
        coefficients = taylor_coefficients(y, x, 1, (), underflows, direction)
        value = np.asarray(_array(coefficients[1]), dtype=np.float64)
        if whole:
            slopes[...] = value.reshape(x.shape)
        else:
            slopes.flat[i] = value
        for _, bad, reason in _checks(y, x, coefficients, [1], bool(underflows), direction, every):
            if np.any(bad):
                where = np.broadcast_to(bad, x.shape) if whole else _unit(x.shape, i) == 1
                if failure is None:
                    failure, at = reason, int(np.flatnonzero(where)[0])
                failing |= where
        if failure is not None and not every:
            break
    return slopes, failing, failure, at


def doubted(cancelled: bool, underflowed: bool) -> str:
    """Why a backward pass may have lost digits, in words: its sums cancelled, or a value
    on the way underflowed (or both)."""
    return " and ".join(
        ["large contributions to it cancel"] * cancelled
        + ["a value on the way fell below the smallest float64 (underflow)"] * underflowed
    )


def _released(x: Variable, y: Variable) -> bool:
    """Whether a backward pass released a value between x and y (see dezero.fast), which
    computing the derivative again would read."""
    for f in series.functions_between(x, y):
        if any(out is not None and out.data is None for out in (ref() for ref in f.outputs)):
            return True
    return False


def _unit(shape: tuple[int, ...], i: int) -> np.ndarray:
    """An array of ``shape`` that is 1 at flat index i and 0 elsewhere."""
    unit = np.zeros(shape)
    unit.flat[i] = 1.0
    return unit


@contextmanager
def accurate_integrals() -> Iterator[None]:
    """Refuse, in one line, a derivative of an integral that its quadrature cannot give
    to the tolerance (``dezero.quadrature``)."""
    try:
        yield
    except Q.DerivativeNotConverged as e:
        raise CalcError(
            f"{e}; a derivative of lower order, or an integral split where the integrand's "
            f"derivatives are steep, may be computed",
            kind=ErrorKind.PrecisionError,
        ) from None


@contextmanager
def watching_underflow(underflows: list[str]) -> Iterator[None]:
    """Note in ``underflows`` each value that falls below the smallest float64 meanwhile;
    the other floating-point complaints go where they went before."""
    before = np.geterrcall()

    def note(kind: str, flag: int) -> None:
        if kind == "underflow":
            underflows.append(kind)
        elif callable(before):
            before(kind, flag)

    with np.errstate(under="call", call=note):
        yield


def _reserve_series(functions: list, order: int) -> None:
    """Refuse a Taylor expansion whose recorded products the memory budget cannot hold:
    about (order + 1)²/2 arrays the size of each operation's output."""
    budget = active_budget()
    if budget is None:
        return
    needed = sum(_output_bytes(f) for f in functions) * (order + 1) ** 2 / 2
    if not budget.fits(needed):
        raise CalcError(
            f"the derivative of order {order} would hold about {size_text(needed)} of Taylor "
            f"coefficients, over the statement's memory budget of {size_text(budget.limit)}",
            kind=ErrorKind.MemoryError,
        )


def _output_bytes(f: Any) -> int:
    outputs = [ref() for ref in f.outputs]  # a value a backward pass released holds none
    return sum(y.data.nbytes for y in outputs if y is not None and y.data is not None)


#: A derivative must agree to this many parts with its value from nearby points, or it is
#: refused ...
AGREEMENT = 1e-9
#: ... unless both are this small next to the largest derivative of lower order: a result
#: that cancels to zero, as sin² + cos² does, comes out as rounding noise of that size.
NEGLIGIBLE = 1e-12
#: The nearby points are x0 ± SHIFT·max(1, |x0|), one of them along x0 + STEP·t: a step
#: that is no power of two rounds every coefficient differently.
SHIFT = 1e-12
STEP = 0.7
#: Whether this platform has an extended precision (NumPy's longdouble: 64 bits of
#: mantissa on x86; float64's 53 on ARM macOS and Windows), and how much finer it rounds.
EXTENDED = np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant
EXTENDED_BITS = float(np.finfo(np.longdouble).eps / np.finfo(np.float64).eps)


def _vouch(
    y: Variable, x: Variable, coefficients: list[Variable], orders: list[int], underflowed: bool
) -> None:
    """Refuse a derivative that float64 cannot give to 9 digits (see ``unreliable_orders``)."""
    for k, message in unreliable_orders(y, x, coefficients, orders, underflowed).items():
        raise CalcError(f"the derivative of order {k} {message}", kind=ErrorKind.PrecisionError)


def unreliable_orders(
    y: Variable,
    x: Variable,
    coefficients: list[Variable],
    orders: list[int],
    underflowed: bool = False,
    direction: Any = 1.0,
) -> dict[int, str]:
    """The orders among ``orders`` whose derivatives float64 cannot give to 9 digits, each
    with the reason, in increasing order (derivatives along x0 + t·direction, as
    ``taylor_coefficients`` takes them).

    At high order, some compositions (x / sigmoid(x), (e^x)^c / e^(x/d)) shrink much faster
    than their parts, and the recurrences amplify the rounding of every value they start
    from. So the series is computed again around x0 + h and x0 - h, h = 1e-12·max(1, |x0|),
    where every value rounds differently (and one of them along x0 + 0.7·t, so that the
    coefficients do too): the mean of the two must agree with the first to AGREEMENT
    (moving by h changes the k-th derivative by about h² f^(k+2), far below that). The
    differential tests check that every derivative this lets through matches mpmath.

    A derivative that comes out as 0 where a value underflowed on the way to it
    (``underflowed``) is refused too: e^(-1000x) at 0.75 is e^-750, below the smallest
    float64, so its 100th derivative, 1.9e-26, came out as 0. Unless extended precision,
    whose range reaches 1e-4951 on x86, finds 0 too, where float64's 0 is right:
    e^(-x²)'s slope at 30, -60·e^-900.
    """
    found: dict[int, str] = {}
    for k, failing, why in _checks(y, x, coefficients, orders, underflowed, direction):
        if k not in found and np.any(failing):
            found[k] = why()
    return found


#: (order, where its derivative fails, why: a message, which says where unless told not to)
Checked = tuple[int, Any, Callable[..., str]]


def _checks(
    y: Variable,
    x: Variable,
    coefficients: list[Variable],
    orders: list[int],
    underflowed: bool = False,
    direction: Any = 1.0,
    every: bool = False,
) -> Iterator[Checked]:
    """The checks of ``unreliable_orders`` one by one: for each order k, (k, where its
    derivative fails the check, why). A check that fails ends its order's, unless
    ``every`` (to find every element that fails one)."""
    if not orders:
        return
    n = max(orders)
    h = SHIFT * np.maximum(1.0, np.abs(_array(x)))
    if np.ndim(direction) > 0:  # along one element: its own step
        h = np.max(h * np.abs(direction))
    step = h * np.asarray(direction)  # how far x moves, element by element
    with no_grad(), np.errstate(all="ignore"):
        above = series.propagate(y, x, n, STEP * np.asarray(direction), shift=step)
        below = series.propagate(y, x, n, direction, shift=-step)
    extended = _extended(y, x, n, direction)
    functions = series.functions_between(x, y)
    # Rounding noise around a true 0 shrinks with precision; a quadrature's error does not.
    noise = not any(Q.is_quadrature(f) for f in functions)
    # extended precision, with its wider range, vouches for a 0 that underflowed
    wide = None if _in_float64(functions, x, y) else extended
    derivatives = [_array(c) * math.factorial(k) for k, c in enumerate(coefficients)]
    for k in sorted(orders):
        a = derivatives[k]
        scale = np.max(np.abs(derivatives[:k]), axis=0)
        if underflowed:
            zeros = _zeros_not_holding(a, wide, k)
            yield k, zeros, lambda located=True: _UNDERFLOWED
            if np.any(zeros) and not every:
                continue
        b = np.mean([_value(above[k]) / STEP**k, _value(below[k])], axis=0) * math.factorial(k)
        with np.errstate(all="ignore"):
            bad = _disagree(a, b, scale)
        if np.any(bad):  # unless x is where a piecewise function changes piece
            bad &= ~_one_sided(y, x, a, k, step, (above, below), scale, direction)
        yield k, bad, partial(_amplified, a, b, bad, h)
        if (np.any(bad) and not every) or extended is None:
            continue
        with np.errstate(all="ignore"):
            bad = _disagree(a, extended[k], scale, noise)
        yield k, bad, partial(_rounding_decides, a, extended[k], bad)


_UNDERFLOWED = (
    "comes out as 0 only because a value on the way fell below the smallest float64 "
    "(underflow), so it cannot be vouched for"
)


def _amplified(a: Any, b: Any, bad: Any, h: Any, located: bool = True) -> str:
    """Why a derivative ``a`` that disagrees with its value ``b`` from nearby points fails."""
    where, first, second, i = _first(a, b, bad, located)
    if np.isfinite(second):
        return (
            f"cannot be computed to 9 digits here{where}: rounding errors are amplified "
            f"(the derivative comes out as {first:.10g} here and {second:.10g} around "
            f"nearby points)"
        )
    return (
        f"cannot be vouched for here{where}: it comes out as {first:.10g}, and as {second} "
        f"at a point {np.ravel(np.broadcast_to(h, np.shape(a)))[i]:.0e} away, where it is "
        f"checked"
    )


def _rounding_decides(a: Any, extended: Any, bad: Any, located: bool = True) -> str:
    """Why a derivative ``a`` that extended precision computes otherwise fails."""
    where, first, second, _ = _first(a, extended, bad, located)
    return (
        f"cannot be computed to 9 digits here{where}: float64's rounding decides it (it "
        f"comes out as {first:.10g}, and as {second:.10g} when computed again with 11 more "
        f"bits)"
    )


def _one_sided(
    y: Variable,
    x: Variable,
    a: Any,
    k: int,
    h: Any,
    near: tuple[list, list],
    scale: Any,
    direction: Any = 1.0,
) -> Any:
    """Where the k-th derivative ``a`` at x agrees with its value extrapolated from one side,
    2·f⁽ᵏ⁾(x ± h) − f⁽ᵏ⁾(x ± 2h): x is where a piecewise function on the way changes piece
    (relu or abs at 0, a tie of max), each side is smooth, and the derivative at x is that
    of the piece the value belongs to. The mean of the two sides (see ``unreliable_orders``)
    is neither's there. ``near`` holds the series at x + STEP·h and x − h."""
    factor = math.factorial(k)
    with no_grad(), np.errstate(all="ignore"):
        far = [
            series.propagate(y, x, k, direction, shift=2 * h),
            series.propagate(y, x, k, direction, shift=-2 * h),
        ]
        sides = [_value(near[0][k]) / STEP**k, _value(near[1][k])]
        agree = np.zeros(np.shape(a), dtype=bool)
        for side, further in zip(sides, far):
            extrapolated = (2 * side - _value(further[k])) * factor
            agree |= ~_disagree(a, extrapolated, scale)
    return agree


def _zeros_not_holding(a: Any, extended: list[np.ndarray] | None, k: int) -> Any:
    """Where ``a``, a derivative of order k, is 0 in float64 but not when computed in
    extended precision (merely small next to the lower derivatives), or not computed so."""
    if extended is None:
        return a == 0
    return (a == 0) & (np.broadcast_to(extended[k], np.shape(a)) != 0)


def _in_float64(functions: list[Function], x: Variable, y: Variable) -> bool:
    """Whether a value of ``functions`` (those between x and y, a derivative's value) keeps
    float64's range when recomputed in extended precision: made by a function that computes
    in float64 (see ``_float64_only``), or held constant by the recomputation, as a value not
    made from x is, and computed below float64's normal range (it may have underflowed),
    unless it is added where it cannot change a derivative (see ``_added_harmlessly``)."""
    depends = {id(x)}
    tiny = np.finfo(np.float64).tiny
    for f in functions:
        if not any(id(v) in depends for v in f.inputs):
            continue
        if _float64_only(f):
            return True
        for v in f.inputs:
            data = v.data
            if id(v) in depends or v.creator is None or data is None:
                continue
            if np.any(np.abs(data) < tiny) and not _added_harmlessly(f, y):
                return True
        depends.update(id(ref()) for ref in f.outputs)
    return False


def _added_harmlessly(f: Function, y: Variable) -> bool:
    """Whether ``f`` adds or subtracts its inputs (its partials read no value) and its
    result is y itself, whose value no rule reads, or is too large everywhere for an input
    below float64's normal range to change it beyond rounding: ``relu(x) + exp(-1000)``'s
    slope at 0 is relu's, 0, whatever exp(-1000) underflowed to."""
    if not isinstance(f, (C.Add, C.Sub)):
        return False
    out = f.outputs[0]()
    if out is y:
        return True
    large = np.finfo(np.float64).tiny * 2.0**53  # an error below it is under half an ulp
    return out is not None and bool(np.all(np.abs(_array(out)) >= large))


def _float64_only(f: Function) -> bool:
    """Whether ``f``'s values in extended precision may still be float64's, its range
    included: SciPy's functions, a quadrature, an array's summarized history. (erf's and
    erfc's derivatives are computed in extended precision; erfc's value is float64's, which
    matters only where it is below float64's normal range.)"""
    if isinstance(f, SF.Erf):
        y = f.outputs[0]()
        return y is None or bool(np.any(np.abs(_array(y)) < np.finfo(np.float64).tiny))
    return isinstance(f, (SF.Gamma, SF.Lgamma, SF.Polygamma, Summary)) or Q.is_quadrature(f)


def _extended(
    y: Variable, x: Variable, order: int, direction: Any = 1.0
) -> list[np.ndarray] | None:
    """The derivatives of y up to ``order`` computed again with every value in extended
    precision (NumPy's longdouble: 64 bits of mantissa on x86, float64's 53 elsewhere),
    as float64; None where there is none, or where a function on the way computes only in
    float64 (the special functions, which SciPy gives)."""
    if not EXTENDED:
        return None
    try:
        with no_grad(), np.errstate(all="ignore"):
            s = series.propagate(y, x, order, direction, dtype=np.longdouble)
    except TypeError:
        return None
    # k! times the coefficient before rounding to float64, whose range it may be outside of
    return [np.asarray(_value(c) * math.factorial(k), dtype=np.float64) for k, c in enumerate(s)]


def _first(a: Any, b: Any, bad: Any, located: bool = True) -> tuple[str, float, float, int]:
    """Where the first element of a derivative ``a`` that disagrees with ``b`` is (as words,
    empty for a number, or unless ``located``), its two values, and its flat index."""
    i = int(np.flatnonzero(bad)[0])
    where = "" if np.ndim(a) == 0 or not located else f" (at element {_index(i, np.shape(a))})"
    return where, np.ravel(a)[i], np.ravel(np.broadcast_to(b, np.shape(a)))[i], i


def _index(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The index of element ``flat`` of an array of ``shape``, as a tuple of ints."""
    return tuple(int(j) for j in np.unravel_index(flat, shape))


def _disagree(a: Any, b: Any, scale: Any, noise: bool = False) -> Any:
    """Where a derivative ``a`` and its value ``b`` from nearby points differ by more than
    AGREEMENT, unless both are negligible next to ``scale`` (the lower derivatives). A
    finite derivative whose nearby value is not finite (0/0 at a nearby point that is 0,
    say) cannot be vouched for either; one that is not finite itself is shown as it is.

    With ``noise`` (``b`` computed again with 11 more bits), ``a`` is negligible only as
    rounding noise around a true 0 is: where ``b`` is negligible for those bits too, 2^11
    times smaller, and at least 16 times smaller than ``a``. Otherwise e^x·e^-x·1e14 + x^3
    passed at order 3 as 6.0167 (under 1e-12 of the value), ln Γ(x) at 150 as -3.0e-10 at
    order 7 (for -1.07e-11), and ln(e^x·x) at 100 as -2.0e-14 at order 10 (for -3.6e-15)."""
    negligible = (np.abs(a) <= NEGLIGIBLE * scale) & (np.abs(b) <= NEGLIGIBLE * scale)
    if noise:
        negligible &= np.abs(b) <= NEGLIGIBLE * EXTENDED_BITS * scale
        negligible &= (a == 0) | (np.abs(b) * 16 <= np.abs(a))
    bad = (np.abs(a - b) > AGREEMENT * np.abs(a)) & ~negligible
    return np.isfinite(a) & (bad | ~np.isfinite(b))


def _value(c: Any) -> Any:
    return 0.0 if c is None else c.data


def _array(v: Variable) -> Value:
    """The array of a Variable computed here: only a backward pass releases one (dezero.fast),
    and only inside the graph it walks."""
    assert v.data is not None
    return v.data


def _elementwise(y: Variable, x: Variable) -> bool:
    """Whether every operation between x and y acts element by element on x's shape."""
    depends = {id(x)}
    for f in series.functions_between(x, y):
        if any(id(v) in depends for v in f.inputs):
            outputs = [ref() for ref in f.outputs]
            if not isinstance(f, ELEMENTWISE) or any(
                out is None or out.shape != x.shape for out in outputs
            ):
                return False
            depends.update(id(out) for out in outputs)
    return y.shape == x.shape


def _nested_derivative(y: Variable, x: Variable, order: int) -> Variable:
    """d^n y / dx^n by differentiating the gradient's graph n times (create_graph)."""
    sizes = [_graph_size(as_variable(y), x)]
    with using_config("enable_backprop", True):
        for k in range(1, order + 1):
            _check_growth(sizes, k)
            # Nothing upstream of x matters to d/dx: stopping there keeps the cost of a
            # derivative independent of the history behind x.
            (g,) = gradients(as_variable(y), [x], create_graph=True, stop={id(x)})
            y = g if g is not None else Variable(np.zeros_like(x.data))
            sizes.append(_graph_size(y, x))
    return as_variable(y)


def _check_growth(sizes: list[int], order: int) -> None:
    """Refuse, before computing it, a derivative whose graph would pass MAX_GRAPH operations.

    Each order differentiates the whole graph of the one before, so for a product of
    several functions the graph grows about threefold with each order: the next size is
    foreseen from the last two.
    """
    growth = sizes[-1] / sizes[-2] if len(sizes) > 1 and sizes[-2] else 1.0
    foreseen = sizes[-1] * max(growth, 1.0)
    if foreseen > MAX_GRAPH:
        raise CalcError(
            f"the derivative of order {order} is too large to compute: its graph would have "
            f"about {foreseen:,.0f} operations (limit {MAX_GRAPH:,})",
            kind=ErrorKind.ResourceError,
        )


def _graph_size(y: Variable, x: Variable) -> int:
    """How many operations lead from x (or constants) to y."""
    funcs = [] if y.creator is None else [y.creator]
    seen = {id(f) for f in funcs}
    while funcs:
        f = funcs.pop()
        for v in f.inputs:
            if v is not x and v.creator is not None and id(v.creator) not in seen:
                seen.add(id(v.creator))
                funcs.append(v.creator)
    return len(seen)


def _one_parameter(f: Any, what: str) -> None:
    n = f.arity
    if not f.takes(1):
        name = f.name
        args = ", ".join(f"x{i}" for i in range(1, (n or 2) + 1))
        raise CalcError(
            f"{what} needs a function of one variable, but {name} takes {n or 'several'} "
            f"arguments; for a partial derivative use diff({name}({args}), x1)",
            kind=ErrorKind.TypeError,
        )


def derivative(session: Session, f: Derivative, args: list[Any], depth: int) -> Variable:
    """Evaluate ``f'(a)``: the derivative of a one-parameter function at a."""
    _one_parameter(f.base, f"the derivative {_prime_name(f)}")
    if len(args) != 1:
        raise CalcError(
            f"{_prime_name(f)} takes 1 argument, got {len(args)}", kind=ErrorKind.TypeError
        )
    x = _argument(args[0], f"{_prime_name(f)}()")
    with using_config("enable_backprop", True):
        y = applied(session, f.base, [x], depth + 1)
        return nth_derivative(y, x, f.order)


def applied(session: Session, f: Any, args: list[Any], depth: int = 0) -> Variable:
    """``f(*args)`` as a Variable; a function whose value is itself a function is refused."""
    value = session.apply(f, args, depth)
    if is_function(value):
        raise CalcError(
            f"{f.name} returns the function {value.name}, not a number",
            kind=ErrorKind.TypeError,
        )
    return as_variable(value)


def _argument(value: Any, operation: str) -> Variable:
    """A number or array argument as a Variable; a function value is refused."""
    require_array(value, operation)
    return as_variable(value)


def _prime_name(f: Derivative) -> str:
    return f.name


def gradient_of(session: Session, f: GradientOf, args: list[Any], depth: int) -> Variable:
    """Evaluate ``grad(g)(a, b, ...)`` or ``hessian(g)(a, b, ...)`` at a point."""
    n = f.base.arity
    if n is not None and len(args) != n:
        raise CalcError(
            f"{f.name} takes {n} argument(s), got {len(args)}", kind=ErrorKind.TypeError
        )
    xs = [_argument(a, f"{f.name}()") for a in args]
    with using_config("enable_backprop", True):  # a variable passed twice: a node for each
        xs = [x + 0.0 if any(x is other for other in xs[:i]) else x for i, x in enumerate(xs)]
    if not xs:
        raise CalcError(
            f"{f.name} needs a function of at least one parameter", kind=ErrorKind.TypeError
        )
    if any(x.ndim != 0 for x in xs):
        raise CalcError(f"{f.name} needs numbers as arguments", kind=ErrorKind.TypeError)
    doubts: list[str] = []  # underflows, and sums of gradients that cancel
    with using_config("enable_backprop", True):
        with watching_underflow(doubts):
            y = applied(session, f.base, xs, depth + 1)
            if y.ndim != 0:
                raise CalcError(f"{f.base.name} must return a number", kind=ErrorKind.TypeError)
            first = _partials(y, xs, doubts)
        if not f.hessian:
            if doubts:  # as a statement's report is (see ``checked_report``)
                _vouch_gradient(session, f.base, xs, first, "underflow" in doubts, depth)
            return derived(F.stack(first))
        hessian = F.stack([F.stack(_partials(g, xs)) for g in first])
    _vouch_hessian(session, f.base, xs, y, first, hessian, depth)
    return derived(hessian)


def _vouch_gradient(
    session: Session,
    f: Any,
    xs: list[Variable],
    first: list[Variable],
    underflowed: bool,
    depth: int,
) -> None:
    """Refuse a gradient whose partial derivatives float64 cannot give to 9 digits, where a
    value underflowed or contributions cancelled on the way: each is checked as a derivative
    of order 2 is (see ``unreliable_orders``), at copies of the arguments, so that each
    moves alone, even where two are one variable."""
    copies = [Variable(np.array(_array(x))) for x in xs]
    with using_config("enable_backprop", True), np.errstate(all="ignore"):
        y = applied(session, f, copies, depth + 1)
    for i, (x, g) in enumerate(zip(copies, first)):
        reason = unreliable_orders(y, x, [y, g], [1], underflowed).get(1)
        if reason is not None:
            raise CalcError(
                f"the partial derivative in argument {i + 1} {reason}",
                kind=ErrorKind.PrecisionError,
            )


def _vouch_hessian(
    session: Session,
    f: Any,
    xs: list[Variable],
    y: Variable,
    first: list[Variable],
    hessian: Variable,
    depth: int,
) -> None:
    """Refuse a Hessian that float64 cannot give to 9 digits, as ``unreliable_orders``
    refuses a derivative of order 2: it is computed again with every argument moved by
    ±SHIFT·max(1, |x|), where every value rounds differently, and each entry must agree
    with the mean of the two (which moves by about h² times the fourth derivatives), unless
    both are negligible next to the function and its gradient."""
    h = SHIFT * max(1.0, *(abs(float(_array(x))) for x in xs))
    nearby = [
        _hessian_at(session, f, [Variable(np.array(_array(x) + step)) for x in xs], depth)
        for step in (h, -h)
    ]
    a, b = np.asarray(_array(hessian)), np.mean(nearby, axis=0)
    scale = max(abs(float(_array(y))), *(abs(float(_array(g))) for g in first))
    with np.errstate(all="ignore"):
        apart = np.abs(a - b) <= h * h * (1 + scale)  # as far as the points are apart
        bad = _disagree(a, b, scale) & ~apart
    _refuse_entry(a, b, bad, "rounding errors are amplified (it comes out as {} here and {} "
                  "around nearby points)")  # fmt: skip
    if not EXTENDED:
        return
    moved = [Variable(np.asarray(_array(x), dtype=np.longdouble)) for x in xs]
    try:
        e = _hessian_at(session, f, moved, depth)
    except TypeError:
        return
    with np.errstate(all="ignore"):
        bad = _disagree(a, e, scale, noise=True)
    _refuse_entry(a, e, bad, "float64's rounding decides it (it comes out as {}, and as {} "
                  "when computed again with 11 more bits)")  # fmt: skip


def _hessian_at(session: Session, f: Any, xs: list[Variable], depth: int) -> np.ndarray:
    """The Hessian of f at xs, as numbers of float64."""
    with using_config("enable_backprop", True), np.errstate(all="ignore"):
        g = _partials(applied(session, f, xs, depth + 1), xs)
        return np.array([[float(_value(e)) for e in _partials(gi, xs)] for gi in g])


def _refuse_entry(a: np.ndarray, other: np.ndarray, bad: np.ndarray, why: str) -> None:
    """Refuse a Hessian ``a`` at its first entry that ``bad`` marks, saying ``why`` with the
    entry's value and the ``other`` one it disagrees with."""
    if np.any(bad):
        i, j = np.unravel_index(np.flatnonzero(bad)[0], a.shape)
        values = f"{a[i, j]:.10g}", f"{other[i, j]:.10g}"
        raise CalcError(
            f"the Hessian cannot be computed to 9 digits here (entry [{i}, {j}]): "
            + why.format(*values),
            kind=ErrorKind.PrecisionError,
        )


def _partials(y: Variable, xs: list[Variable], watch: list[str] | None = None) -> list[Variable]:
    # Partial derivatives: each parameter on its own, not through the others' histories.
    grads = gradients(y, xs, create_graph=True, stop={id(x) for x in xs}, watch=watch)
    return [Variable(np.zeros(())) if g is None else g for g in grads]


# ---------------------------------------------------------------------------
# The special forms: diff, grad, hessian, taylor, solve, minimize
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Figured:
    """A special form's value, with figures about how it was found (iterations, method),
    which the statement's outcome reports beside the value."""

    value: Any
    figures: dict[str, Any]


def special_form(
    session: Session, name: str, node: nodes.Call, args: list[Any], scope: dict, depth: int
) -> Any:
    """Apply a special form; errors point at the call."""
    try:
        result = _FORMS[name](session, node, args, depth)
    except CalcError as e:
        raise e.at(node.start, node.end) from None
    except np.linalg.LinAlgError as e:
        raise CalcError(f"{name}: {e}", node.start, node.end, kind=ErrorKind.ValueError) from None
    return result


def _count(name: str, args: list[Any], lo: int, hi: int, signature: str) -> None:
    if not lo <= len(args) <= hi:
        want = str(lo) if lo == hi else f"{lo} or {hi}"
        raise CalcError(
            f"{name} takes {want} arguments ({signature}), got {len(args)}",
            kind=ErrorKind.TypeError,
        )


def _diff(session: Session, node: nodes.Call, args: list[Any], depth: int) -> Variable:
    _count("diff", args, 2, 3, "diff(expr, x, n)")
    variable = node.args[1]
    if not isinstance(variable, nodes.Name) or variable.primes or not isinstance(args[1], Variable):
        raise CalcError(
            "the second argument of diff must be a variable, as in diff(x**2, x)",
            variable.start,
            variable.end,
            kind=ErrorKind.TypeError,
        )
    if is_function(args[0]):
        raise CalcError(
            "diff takes an expression, e.g. diff(f(x), x); for a function use f'",
            node.args[0].start,
            node.args[0].end,
            kind=ErrorKind.TypeError,
        )
    order = 1 if len(args) == 2 else integer(args[2], "the order of diff")
    if order < 0:
        raise CalcError("the order of diff cannot be negative", kind=ErrorKind.ValueError)
    return nth_derivative(as_variable(args[0]), args[1], order)


def _function_argument(session: Session, value: Any, form: str) -> Any:
    if not is_function(value) or isinstance(value, SpecialForm):
        raise CalcError(f"{form} takes a function, as in {form}(f)", kind=ErrorKind.TypeError)
    return value


def _grad(session: Session, node: nodes.Call, args: list[Any], depth: int) -> GradientOf:
    _count("grad", args, 1, 1, "grad(f)")
    return GradientOf(_function_argument(session, args[0], "grad"))


def _hessian(session: Session, node: nodes.Call, args: list[Any], depth: int) -> GradientOf:
    _count("hessian", args, 1, 1, "hessian(f)")
    return GradientOf(_function_argument(session, args[0], "hessian"), hessian=True)


def _taylor(session: Session, node: nodes.Call, args: list[Any], depth: int) -> Figured:
    _count("taylor", args, 3, 3, "taylor(f, a, n)")
    f = _function_argument(session, args[0], "taylor")
    _one_parameter(f, "taylor")
    n = integer(args[2], "the order of taylor")
    if not 0 <= n <= MAX_ORDER:
        raise CalcError(
            f"the order of taylor must be between 0 and {MAX_ORDER}", kind=ErrorKind.ValueError
        )
    a = _argument(args[1], "taylor()")
    if a.ndim != 0:
        raise CalcError("taylor expands around a number", kind=ErrorKind.TypeError)
    with using_config("enable_backprop", True):
        y = applied(session, f, [a], depth + 1)
        if y.ndim != 0:
            raise CalcError(
                "taylor needs a function that returns a number", kind=ErrorKind.TypeError
            )
        underflows: list[str] = []
        coefficients = taylor_coefficients(y, a, n, underflows=underflows)
        orders = list(range(2, n + 1))
        with accurate_integrals():
            refused = unreliable_orders(y, a, coefficients, orders, bool(underflows))
    for k, message in refused.items():
        raise CalcError(
            f"the coefficient of order {k} {message}; orders up to {k - 1} can be computed",
            kind=ErrorKind.PrecisionError,
        )
    value = derived(F.stack(coefficients))
    return Figured(value, {"taylor": {"around": float(_array(a)), "order": n}})


def _scalar_function_at(session: Session, f: Any, depth: int):
    """f(x) and its first two derivatives at a number, as floats."""

    def at(x: float, order: int) -> list[float]:
        v = Variable(np.array(x))
        with using_config("enable_backprop", True):
            y = applied(session, f, [v], depth + 1)
            if y.ndim != 0:
                raise CalcError("the function must return a number", kind=ErrorKind.TypeError)
            coefficients = taylor_coefficients(y, v, order)
        return [float(_array(c)) * math.factorial(k) for k, c in enumerate(coefficients)]

    return at


def _start_point(value: Any, form: str) -> np.ndarray:
    if is_function(value) or value is None or isinstance(value, slice):
        raise CalcError(
            f"{form} starts from a number or a list of numbers", kind=ErrorKind.TypeError
        )
    data = np.asarray(value.data if isinstance(value, Variable) else value, dtype=np.float64)
    if not np.all(np.isfinite(data)):
        raise CalcError(f"{form} needs a finite starting point", kind=ErrorKind.ValueError)
    return data


def _newton_1d(at: Any, x: float, order: int, form: str) -> tuple[float, int]:
    """Newton's method on the (order-1)-th derivative, using the order-th."""
    for iteration in range(1, MAX_ITERATIONS + 1):
        values = at(x, order)
        g, dg = values[order - 1], values[order]
        if not (math.isfinite(g) and math.isfinite(dg)):
            raise CalcError(
                f"{form} diverged: the function is not finite at x = {x!r}",
                kind=ErrorKind.ConvergenceError,
            )
        if g == 0:
            return x, iteration - 1
        if dg == 0:
            what = "derivative" if order == 1 else "second derivative"
            raise CalcError(
                f"{form}: the {what} is zero at x = {x!r}; try another start",
                kind=ErrorKind.ConvergenceError,
            )
        step = g / dg
        x_new = x - step
        if abs(step) <= TOLERANCE * max(1.0, abs(x_new)):
            return x_new, iteration
        x = x_new
    raise CalcError(
        f"{form} did not converge in {MAX_ITERATIONS} iterations (last x = {x!r})",
        kind=ErrorKind.ConvergenceError,
    )


EPS = float(np.finfo(np.float64).eps)
#: solve's answer must leave a residual this small next to max(1, |f(x0)|), or it is refused.
RESIDUAL = 1e-9


def _check_root(at: Any, x: float, start: float) -> None:
    """Refuse a point where Newton's steps became tiny but f is not near zero (a function
    that is steep but never zero, such as tanh(1e15 t) + 2)."""
    residual, initial = at(x, 0)[0], at(start, 0)[0]
    if not abs(residual) <= RESIDUAL * max(1.0, abs(initial)):
        raise CalcError(
            f"solve found no root: Newton's steps stopped at x = {x!r}, where the function is "
            f"{residual!r}, not zero",
            kind=ErrorKind.ConvergenceError,
        )


def _check_minimum(x: Any, g: Any, g0: Any, curvature: Any) -> None:
    """Refuse a point where Newton's steps became tiny but the gradient ``g`` is not near
    zero (2t + log(cosh(1e15 t))/1e15 has no minimum, and its gradient is 1 or more): it
    must be small next to the gradient at the start ``g0``, or no more than the rounding of
    x makes of it through the curvature (the second derivatives)."""
    size = float(np.max(np.abs(g)))
    rounding = 1000 * EPS * float(np.max(np.abs(curvature))) * float(np.max(np.abs(x)))
    if not size <= max(RESIDUAL * max(1.0, float(np.max(np.abs(g0)))), rounding):
        where = f"x = {x!r}" if np.ndim(x) == 0 else f"{np.asarray(x).tolist()}"
        raise CalcError(
            f"minimize found no minimum: Newton's steps stopped at {where}, where the "
            f"gradient is {np.asarray(g).tolist()!r}, not zero",
            kind=ErrorKind.ConvergenceError,
        )


def _solve(session: Session, node: nodes.Call, args: list[Any], depth: int) -> Figured:
    _count("solve", args, 2, 2, "solve(f, x0)")
    f = _function_argument(session, args[0], "solve")
    _one_parameter(f, "solve")
    x0 = _start_point(args[1], "solve")
    if x0.ndim != 0:
        raise CalcError("solve starts from a number", kind=ErrorKind.TypeError)
    at = _scalar_function_at(session, f, depth)
    x, iterations = _newton_1d(at, float(x0), 1, "solve")
    _check_root(at, x, float(x0))

    root = _refined(session, f, x, 1, depth)
    return Figured(root, {"iterations": iterations, "method": "Newton"})


def _minimize(session: Session, node: nodes.Call, args: list[Any], depth: int) -> Figured:
    _count("minimize", args, 2, 2, "minimize(f, x0)")
    f = _function_argument(session, args[0], "minimize")
    x0 = _start_point(args[1], "minimize")
    n = f.arity
    if n == 1 and x0.ndim == 0:
        at = _scalar_function_at(session, f, depth)
        x, iterations = _newton_1d(at, float(x0), 2, "minimize")
        _, g, curvature = at(x, 2)
        _check_minimum(x, g, at(float(x0), 1)[1], curvature)

        answer = _refined(session, f, x, 2, depth)
        return Figured(answer, {"iterations": iterations, "method": "Newton"})
    if x0.ndim != 1 or (n is not None and x0.shape[0] != n):
        raise CalcError(
            f"minimize needs a starting point with one number per parameter ({n}), "
            f"e.g. minimize(f, [0, 2])",
            kind=ErrorKind.TypeError,
        )
    point, iterations, g0 = _newton_nd(session, f, x0, depth)
    _, g, h = _value_gradient_hessian(session, f, point, depth)
    _check_minimum(point, g, g0, h)

    answer = _refined_nd(session, f, point, depth)
    method = "Newton (damped, with Hessian)"
    return Figured(answer, {"iterations": iterations, "method": method})


def _value_gradient_hessian(session: Session, f: Any, x: np.ndarray, depth: int):
    y, first, second = _gradient_hessian(session, f, x, depth)
    return float(_array(y)), np.array([float(_array(g)) for g in first]), second


def _gradient_hessian(
    session: Session, f: Any, x: np.ndarray, depth: int
) -> tuple[Variable, list[Variable], np.ndarray]:
    """f at x, its gradient (Variables, with their graphs) and its Hessian (numbers)."""
    xs = [Variable(np.array(v)) for v in x]
    with using_config("enable_backprop", True):
        y = applied(session, f, xs, depth + 1)
        if y.ndim != 0:
            raise CalcError("the function must return a number", kind=ErrorKind.TypeError)
        first = _partials(y, xs)
        second = [[float(_array(h)) for h in _partials(g, xs)] for g in first]
    return y, first, np.array(second)


#: Newton's steps that give a solver's answer its derivatives: each step doubles the
#: orders that are right, so 7 make every order up to 127 right.
REFINEMENTS = 7


def _refined(session: Session, f: Any, x: float, order: int, depth: int) -> Variable:
    """The answer x* of solve (order 1: f(x*) = 0) or of minimize (order 2: f'(x*) = 0)
    as a function of the variables that f reads, while a graph is recorded.

    With R = f^(order-1), Newton's step x - (R(x) - R(x*)) / R'(x) is taken REFINEMENTS
    times from x* on the graph. Its value stays x* exactly, but its derivatives are those
    of the root of R: right to first order after one step (the implicit function theorem,
    dx*/dv = -(∂R/∂v) / R'), and each further step doubles the orders that are right.
    """
    point = Variable(np.array(x))
    if not Config.enable_backprop:
        return point
    for _ in range(REFINEMENTS):
        y = applied(session, f, [point], depth + 1)
        c = taylor_coefficients(y, point, order)
        residual, slope = c[order - 1], c[order] * float(order)  # R = f^(order-1), R'
        point = point - (residual - residual.data) / slope
    return point


def _refined_nd(session: Session, f: Any, x: np.ndarray, depth: int) -> Variable:
    """The answer x* of minimize in several variables as a function of the variables that
    f reads, as ``_refined`` makes it: Newton's step x - H(x)⁻¹ (∇f(x) - ∇f(x*)), on the
    graph. Where the Hessian at x* is singular (a parameter f ignores), the answer has no
    derivative; it is a constant, and a derivative through it is refused."""
    point = Variable(x.copy())
    if not Config.enable_backprop:
        return point
    for _ in range(REFINEMENTS):
        xs = [point[i] for i in range(x.shape[0])]
        y = applied(session, f, xs, depth + 1)
        gradient = _partials(y, xs)
        hessian = F.stack([F.stack(_partials(g, xs)) for g in gradient])
        change = F.stack(gradient)
        try:
            point = point - F.linear_solve(hessian, change - change.data)
        except np.linalg.LinAlgError:
            return Flat(x)(change)
    return point


class Flat(Function):
    """minimize's answer where the Hessian is singular: a value whose derivative with
    respect to the variables the function reads does not exist, so asking for one is an
    error rather than a 0."""

    def __init__(self, point: np.ndarray) -> None:
        self.point = point

    def forward(self, gradient: np.ndarray) -> np.ndarray:
        return self.point.copy()

    def backward(self, gy: Variable) -> Variable:
        raise self._refused()

    def taylor(self, gradient: list) -> list:
        raise self._refused()

    def _refused(self) -> CalcError:
        return CalcError(
            "minimize's answer has no derivative with respect to the variables its function "
            "reads: the Hessian there is singular (a parameter the function ignores); :nograd "
            "gives the answer alone",
            kind=ErrorKind.ValueError,
        )


def _newton_nd(
    session: Session, f: Any, x: np.ndarray, depth: int
) -> tuple[np.ndarray, int, np.ndarray]:
    """Damped Newton: the Newton step where it descends, a gradient step otherwise,
    each shortened by backtracking until the function decreases. The work is counted as it
    goes (``Tally``): the forecast cannot know how often a step is halved. Returns the
    point, the iterations and the gradient at the start (the scale of ``_check_minimum``)."""
    tally = Tally(ranges.function_steps(session, f), "minimize")
    start = None

    def value(point: np.ndarray) -> float:
        tally.charge()
        with no_grad():
            xs = [Variable(np.array(v)) for v in point]
            return float(_array(applied(session, f, xs, depth + 1)))

    for iteration in range(1, MAX_ITERATIONS + 1):
        tally.charge(2 + x.shape[0])  # the function, its gradient, a row of Hessian each
        fx, g, h = _value_gradient_hessian(session, f, x, depth)
        start = g if start is None else start
        if not (math.isfinite(fx) and np.all(np.isfinite(g))):
            raise CalcError(
                f"minimize diverged: the function is not finite at {x.tolist()}",
                kind=ErrorKind.ConvergenceError,
            )
        if np.all(g == 0):
            return x, iteration - 1, start
        try:
            step = -np.linalg.solve(h, g)
        except np.linalg.LinAlgError:  # singular: a parameter is flat, so take the least step
            step = -np.linalg.lstsq(h, g, rcond=None)[0]
        if not float(step @ g) < 0:
            step = -g
        t = 1.0
        while t > 1e-12 and not value(x + t * step) <= fx:
            t /= 2
        x_new = x + t * step
        if np.max(np.abs(x_new - x)) <= TOLERANCE * max(1.0, float(np.max(np.abs(x_new)))):
            return x_new, iteration, start
        x = x_new
    raise CalcError(
        f"minimize did not converge in {MAX_ITERATIONS} iterations (last point {x.tolist()})",
        kind=ErrorKind.ConvergenceError,
    )


def _integrate(session: Session, node: nodes.Call, args: list[Any], depth: int) -> Variable:
    """integrate(f, a, b); integrate(expr, t, a, b) is a node of its own (ranges.py)."""
    if len(args) != 3:
        raise CalcError(
            "integrate takes a function and two bounds, integrate(f, a, b), or an "
            "expression, its variable and two bounds, integrate(t^2, t, a, b)",
            kind=ErrorKind.TypeError,
        )
    f, lower, upper = args
    return ranges.integrate_function(session, f, lower, upper, depth)


_FORMS = {
    "diff": _diff,
    "grad": _grad,
    "hessian": _hessian,
    "taylor": _taylor,
    "solve": _solve,
    "minimize": _minimize,
    "integrate": _integrate,
}
