"""Taylor mode: derivatives of any order by pushing truncated Taylor series forward.

A value that depends on x along a recorded graph is, near x0, a power series in t = x - x0:

    y(x0 + t) = y0 + y1 t + y2 t² + ... + yd t^d,        yk = y^(k)(x0) / k!

``taylor(y, x, d)`` finds y0 ... yd by walking the graph from x to y once, in the order it was
built, and giving each Function the series of its inputs: the Function's ``taylor`` rule,
next to its ``backward``, returns the series of its output. The rules use the recurrences of
Griewank & Walther, *Evaluating Derivatives* (2nd ed.), chapter 13, collected below: each
costs O(d²) operations, where nested reverse mode makes graphs that grow about threefold per
order. Everything is elementwise, so an array x gives every element its own series.

A coefficient is a Variable, so with ``Config.enable_backprop`` the series is itself a graph
and can be differentiated again, by reverse mode (gradients of a derivative) or by this module.
A coefficient known to be zero is ``ZERO``, and products with it are skipped: the series of x
itself, x0 + t, is two terms long, so a function of x alone costs O(d).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from typing import Any

import numpy as np

from dezero.core import Function, Variable, as_variable

ZERO = None  # a coefficient known to be zero
Series = list  # [y0, y1, ..., yd]: Variables, or ZERO


# ---------------------------------------------------------------------------
# Arithmetic on coefficients that may be ZERO
# ---------------------------------------------------------------------------


def total(terms: Iterable[Any]) -> Any:
    """The sum of the terms that are not ZERO (ZERO if none is)."""
    result = ZERO
    for term in terms:
        if term is not ZERO:
            result = term if result is ZERO else result + term
    return result


def times(a: Any, b: Any) -> Any:
    """a · b, ZERO if either is ZERO."""
    return ZERO if a is ZERO or b is ZERO else a * b


def scale(a: Any, c: Any) -> Any:
    """a · c for a number (or constant array) c; a itself when c is the number 1."""
    if a is ZERO or (type(c) is int and c == 1):
        return a
    return a * c


def plus(a: Any, b: Any) -> Any:
    """a + b."""
    if b is ZERO:
        return a
    return b if a is ZERO else a + b


def minus(a: Any, b: Any) -> Any:
    """a - b."""
    if b is ZERO:
        return a
    return -b if a is ZERO else a - b


def over(a: Any, b: Any) -> Any:
    """a / b, for a non-zero b; a itself when b is the number 1."""
    if a is ZERO or (type(b) is int and b == 1):
        return a
    return a / b


def each(f: Callable[[Any], Any], x: Series) -> Series:
    """A linear function applied to every coefficient: the rule of sums, reshapes, indexing."""
    return [ZERO if c is ZERO else f(c) for c in x]


def branch(y0: Any, x: Series, slope: Any) -> Series:
    """The series of a function that is linear on the branch x0 is on (abs, relu, clip):
    its value y0, then x's coefficients times the branch's slope."""
    return [y0] + each(lambda v: v * slope, x[1:])


def constant(value: Any, order: int) -> Series:
    """The series of a value that does not depend on x."""
    return [as_variable(value)] + [ZERO] * order


# ---------------------------------------------------------------------------
# The recurrences (Griewank & Walther, table 13.2)
# ---------------------------------------------------------------------------


def sum_of(a: Series, b: Series) -> Series:
    """a + b, coefficient by coefficient."""
    return [plus(p, q) for p, q in zip(a, b)]


def negative(x: Series) -> Series:
    """-x, coefficient by coefficient."""
    return [minus(ZERO, c) for c in x]


def difference(a: Series, b: Series) -> Series:
    """a - b, coefficient by coefficient."""
    return [minus(p, q) for p, q in zip(a, b)]


def product(a: Series, b: Series, multiply: Callable[[Any, Any], Any] = times) -> Series:
    """a · b, the Cauchy product: yk = Σ_j aj b(k-j) (``multiply`` may be a matrix product)."""
    return [total(multiply(a[j], b[k - j]) for j in range(k + 1)) for k in range(len(a))]


def quotient(a: Series, b: Series) -> Series:
    """a / b, from a = y · b: yk = (ak - Σ_{j<k} yj b(k-j)) / b0."""
    y: Series = []
    for k in range(len(a)):
        y.append(over(minus(a[k], total(times(y[j], b[k - j]) for j in range(k))), b[0]))
    return y


def integral(x: Series, u: Series, k: int) -> Any:
    """The k-th coefficient of y with y' = u x':  k yk = Σ_{j=1..k} j xj u(k-j).

    Only u0 ... u(k-1) are read, so an ODE's series can be built one coefficient at a time.
    """
    return over(total(scale(times(x[j], u[k - j]), j) for j in range(1, k + 1)), k)


def ode(x: Series, y0: Any, slope: Callable[[Series, int], Any]) -> Series:
    """The series of y with y' = u(y) x', y(x0) = y0, where ``slope(y, m)`` is um.

    The exponential (u = y), the tangent (u = 1 + y²), tanh and the sigmoid are all of this
    kind: each new coefficient of y gives the next of u, which gives the next of y.
    """
    y = [y0]
    u = [slope(y, 0)]
    for k in range(1, len(x)):
        y.append(integral(x, u, k))
        u.append(slope(y, k))
    return y


def square_term(y: Series, m: int) -> Any:
    """The m-th coefficient of y², from y0 ... ym."""
    return total(times(y[i], y[m - i]) for i in range(m + 1))


def exp(x: Series, y0: Variable) -> Series:
    """e^x: y' = y x'."""
    return ode(x, y0, lambda y, m: y[m])


def log(x: Series, y0: Variable | None) -> Series:
    """ln x, from x y' = x':  yk = (xk - (1/k) Σ_{j=1..k-1} (k-j) xj y(k-j)) / x0.

    ``y0`` may be ZERO, where only the derivatives are wanted."""
    y = [y0]
    for k in range(1, len(x)):
        inner = total(scale(times(x[j], y[k - j]), k - j) for j in range(1, k))
        y.append(over(minus(x[k], over(inner, k)), x[0]))
    return y


def power(x: Series, c: Any, y0: Variable) -> Series:
    """x^c for a constant c, from x y' = c y x' (x0 ≠ 0):

    yk = Σ_{j=1..k} (c j - (k - j)) xj y(k-j) / (k x0).
    """
    y = [y0]
    for k in range(1, len(x)):
        terms = (scale(times(x[j], y[k - j]), c * j - (k - j)) for j in range(1, k + 1))
        y.append(over(over(total(terms), k), x[0]))
    return y


def integer_power(x: Series, n: int) -> Series:
    """x^n for an integer n ≥ 0 by repeated squaring: exact at x0 = 0, where ``power`` is not."""
    result = None
    while n:
        if n & 1:
            result = x if result is None else product(result, x)
        n >>= 1
        if n:
            x = product(x, x)
    return result if result is not None else constant(np.ones(np.shape(x[0].data)), len(x) - 1)


def constant_power(x: Series, c: Any, y0: Callable[[], Any]) -> Series:
    """The series of x ** c for a constant c (a number, or a Variable the rule keeps).

    Whole powers up to 1024 multiply series, which stays exact where x0 = 0 (and near it,
    where x0^c underflows), as do larger ones where an x0 is 0; others use the recurrence
    of x y' = c y x', which divides by x0.
    ``y0`` makes the value, if needed.
    """
    k: Any = c.data if isinstance(c, Variable) else c  # an array or a number
    whole = np.ndim(k) == 0 and float(k).is_integer() and k >= 0
    if whole and (k <= 1024 or not np.all(x[0].data)):  # 2·log2(k) products at most
        return integer_power(x, int(k))
    return power(x, c, y0())


def sqrt(x: Series, y0: Variable) -> Series:
    """√x, from y² = x:  yk = (xk - Σ_{j=1..k-1} yj y(k-j)) / (2 y0)."""
    y = [y0]
    for k in range(1, len(x)):
        inner = total(times(y[j], y[k - j]) for j in range(1, k))
        y.append(over(minus(x[k], inner), 2 * y0))
    return y


def sin_cos(x: Series, s0: Variable, c0: Variable) -> tuple[Series, Series]:
    """sin x and cos x as a pair: s' = c x', c' = -s x'."""
    s, c = [s0], [c0]
    for k in range(1, len(x)):
        s.append(integral(x, c, k))
        c.append(minus(ZERO, integral(x, s, k)))
    return s, c


def antiderivative(x: Series, y0: Any, u: Series) -> Series:
    """The series of y with y' = u x', y(x0) = y0, for a u known in advance (asin, atan, ...)."""
    return [y0] + [integral(x, u, k) for k in range(1, len(x))]


def sinh_cosh(x: Series, s0: Variable, c0: Variable) -> tuple[Series, Series]:
    """sinh x and cosh x as a pair: s' = c x', c' = s x'."""
    s, c = [s0], [c0]
    for k in range(1, len(x)):
        s.append(integral(x, c, k))
        c.append(integral(x, s, k))
    return s, c


def compose(x: Series, c: list) -> Series:
    """f(x) from f's own coefficients ck = f^(k)(x0) / k!, k = 0 ... len(x) - 1, by Horner:

    y = c0 + δ (c1 + δ (c2 + ...)),  δ = x - x0.  O(d³), for an f with no simpler recurrence.
    """
    delta = [ZERO] + x[1:]
    y = [c[-1]] + [ZERO] * (len(x) - 1)
    for ck in reversed(c[:-1]):
        y = product(delta, y)
        y[0] = ck
    return y


# ---------------------------------------------------------------------------
# The forward pass along a recorded graph
# ---------------------------------------------------------------------------


def taylor(y: Any, x: Variable, order: int, direction: Any = 1.0) -> Variable:
    """The Taylor coefficients y^(k)(x0) / k!, k = 0 ... order, stacked along a new first axis.

    ``x`` must be upstream of ``y`` in a recorded graph (built with ``enable_backprop``).
    For an array x every element moves on its own: the coefficients are those of
    y(x0 + t·direction), so for a y computed elementwise from x they are each element's own.
    (Along another direction v they are v^k y^(k)(x0) / k!.) Nothing upstream of x
    matters: x acts as the variable, whatever computed it.

    >>> import numpy as np
    >>> from dezero import Variable, series
    >>> import dezero.functions as F
    >>> x = Variable(np.array(0.0))
    >>> series.taylor(F.exp(x), x, 3).data   # 1, 1, 1/2, 1/6
    array([1.        , 1.        , 0.5       , 0.16666667])
    """
    from dezero import functions as F

    return F.stack(coefficients(y, x, order, direction))


def coefficients(y: Any, x: Variable, order: int, direction: Any = 1.0) -> list[Variable]:
    """y^(k)(x0) / k! for k = 0 ... order, each a Variable of y's shape with its own graph."""
    y = as_variable(y)
    return [_filled(c, y) for c in propagate(y, x, order, direction)]


def derivative(y: Any, x: Variable, order: int) -> Variable:
    """The order-th derivative of y with respect to x, elementwise: order! · y_order."""
    y = as_variable(y)
    c = propagate(y, x, order)[order]
    return _filled(c, y) * float(np.prod(np.arange(1, order + 1, dtype=np.float64)))


def propagate(
    y: Variable,
    x: Variable,
    order: int,
    direction: Any = 1.0,
    known: dict | None = None,
    shift: Any = 0.0,
    dtype: Any = np.float64,
) -> Series:
    """The series of y along x0 + t·direction, each coefficient a Variable or ZERO.

    ``known``, if given, receives the series of every value between x and y, by id. With a
    ``shift``, the series is taken around x0 + shift instead: every value that depends on x
    is computed afresh by the rules, so the recorded graph serves for nearby points too.
    With another ``dtype`` (np.longdouble), so is every value, in that precision.
    """
    step = as_variable(np.broadcast_to(np.asarray(direction, dtype=dtype), x.shape).copy())
    known = {} if known is None else known
    origin = x if np.all(np.equal(shift, 0)) else x + shift
    if dtype is not np.float64:
        origin = as_variable(np.asarray(origin.data, dtype=dtype))
    known[id(x)] = ([origin, step] + [ZERO] * (order - 1))[: order + 1]
    _sweep(functions_between(x, y), known, order)
    return known.get(id(y), constant(y, order))


def tangent(y: Variable, seeds: dict[int, tuple[Variable, Any]]) -> Variable:
    """Forward mode: how y changes, to first order, when each Variable of ``seeds`` (by id:
    the Variable and its tangent, an array of its shape) moves along its tangent.

    The seeds act as the variables: nothing upstream of them is visited, so a seed may be a
    value whose own history is long. The result is a Variable of y's shape.
    """
    known = {i: [v, as_variable(t)] for i, (v, t) in seeds.items()}
    _sweep(functions_between(None, y, stop=set(seeds)), known, 1)
    return _filled(known.get(id(y), [y, ZERO])[1], y)


def _sweep(functions: list[Function], known: dict, order: int) -> None:
    """Apply each Function's Taylor rule in turn, from the series in ``known`` (by id)."""
    for f in functions:
        xs = f.inputs
        if not any(id(v) in known for v in xs):
            continue  # a constant: its outputs keep their values
        ins = [known[id(v)] if id(v) in known else _constant(v, order) for v in xs]
        outs = f.taylor(*ins)
        outputs = [ref() for ref in f.outputs]
        if any(out is not None and out.data is None for out in outputs):
            raise ValueError("a value on the way was released by a backward pass")
        for out, s in zip(outputs, (outs,) if len(outputs) == 1 else outs):
            if out is not None:
                known[id(out)] = [s[0]] + [_shaped(c, out.shape) for c in s[1:]]


def functions_between(
    x: Variable | None, y: Variable, stop: AbstractSet[int] = frozenset()
) -> list[Function]:
    """The Functions upstream of y but not of x (nor of the Variables whose ids are in
    ``stop``), in the order they ran (by generation)."""
    funcs = [] if y.creator is None or y is x or id(y) in stop else [y.creator]
    seen = {id(f) for f in funcs}
    found = []
    while funcs:
        f = funcs.pop()
        found.append(f)
        for v in f.inputs:
            if v is x or id(v) in stop:
                continue
            if v.creator is not None and id(v.creator) not in seen:
                seen.add(id(v.creator))
                funcs.append(v.creator)
    found.sort(key=lambda f: f.generation)
    return found


def _shaped(c: Any, shape: tuple[int, ...]) -> Any:
    """A coefficient broadcast to its value's shape, so that shape-aware rules can use it."""
    from dezero import functions as F

    if c is ZERO or c.shape == shape:
        return c
    return F.broadcast_to(c, shape)


def _constant(v: Variable, order: int) -> Series:
    if v.data is None:
        raise ValueError("a value of the graph was released by an earlier backward pass")
    return constant(v, order)


def _filled(c: Any, y: Variable) -> Variable:
    """A coefficient as a Variable of y's shape (ZERO becomes zeros)."""
    from dezero import functions as F

    if c is ZERO:
        return Variable(np.zeros(y.shape, dtype=np.result_type(y.dtype, np.float64)))
    return F.broadcast_to(as_variable(c), y.shape)
