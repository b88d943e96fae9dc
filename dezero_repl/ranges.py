"""Sums, products and integrals over a range of one variable.

``sum(k^2 for k in 1..10)`` and ``prod(...)`` run k over the whole numbers from one bound to
the other; ``integrate(expr, t, a, b)`` and ``integrate(f, a, b)`` integrate by adaptive
Gauss–Kronrod quadrature (``dezero.quadrature``). Either way the body is evaluated at many
points at once when it acts element by element (it calls only elementwise functions), and
point by point otherwise, so its meaning never depends on how it is evaluated. The results are
Variables built from dezero operations, so they are differentiable in every variable the
body reads, and an integral in its bounds too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

import dezero.functions as F
from dezero import Variable, as_variable
from dezero import quadrature as Q  # noqa: N812 - the quadrature, as a module
from dezero.budget import active as active_budget
from dezero.budget import size_text
from dezero_repl import limits, nodes
from dezero_repl.errors import CalcError, ErrorKind
from dezero_repl.format import format_number
from dezero_repl.limits import CALL_STEPS, MAX_STEPS, about, current_work
from dezero_repl.values import UserFunction, data_of, is_function, require_array
from dezero_repl.vocabulary import BUILTINS, Builtin, check_size, integer, product

if TYPE_CHECKING:
    from dezero_repl.evaluator import Session

#: The reductions that take `for k in a..b`, and what an empty range gives.
REDUCTIONS = {"sum": 0.0, "prod": 1.0}
#: Integrals reach this relative tolerance where the integrand is smooth ...
RTOL = 1e-12
#: ... bisecting at most this many times.
MAX_INTERVALS = 2000


def over_range(
    session: Session, node: nodes.OverRange, f: Any, lower: Any, upper: Any, scope: dict, depth: int
) -> Variable:
    """``sum(body for k in lower..upper)`` or ``prod(...)``."""
    name = f.name if isinstance(f, Builtin) else None
    if name not in REDUCTIONS:
        what = f"'{node.func.id}'" if isinstance(node.func, nodes.Name) else "this"
        raise CalcError(
            f"{what} cannot take 'for {node.var} in ...': only sum(...) and prod(...) can",
            node.func.start,
            node.func.end,
            kind=ErrorKind.TypeError,
        )
    lo, hi = (
        _whole(v, b, "a bound of the range") for v, b in ((lower, node.lower), (upper, node.upper))
    )
    count = max(hi - lo + 1, 0)
    if count == 0:
        return Variable(np.array(REDUCTIONS[name]))
    check_size((count,), f"the range {lo}..{hi}", arrays=2)  # before a single k is made
    values = _terms(session, node, np.arange(lo, hi + 1, dtype=np.float64), scope, depth)
    return F.sum(values, axis=0) if name == "sum" else product(values, first_axis=True)


def _terms(
    session: Session, node: nodes.OverRange, ks: np.ndarray, scope: dict, depth: int
) -> Variable:
    """The body at each k, stacked along a first axis: a number or an array for each k.

    With k laid along an axis of its own, a body that acts element by element (on k and on
    the arrays it reads) is evaluated once for all k; any other body, once per k.
    """
    arrays = {}
    for name in {n.id for n in nodes.walk(node.body) if type(n) is nodes.Name} - {node.var}:
        value = _data(session.value_of(name, scope))
        if np.ndim(value):
            arrays[name] = value
    dims = max((np.ndim(v) for v in arrays.values()), default=0)
    if not _reads(node.body, node.var):  # the same term for every k: computed once
        value = _value(session.evaluate(node.body, scope, depth + 1))
        check_size((len(ks), *value.shape), "the terms of this range", arrays=2)
        return F.broadcast_to(value, (len(ks), *value.shape))
    if elementwise(session, node.body, {node.var, *arrays}, scope):
        # Each term has the shape of the arrays read: all of them are forecast at once. (A
        # body that indexes an array, v[k], is not elementwise: its terms are checked as
        # they come, below.)
        try:
            shape = np.broadcast_shapes(*(np.shape(v) for v in arrays.values()))
        except ValueError:
            shapes = " and ".join(f"{name} {np.shape(v)}" for name, v in sorted(arrays.items()))
            raise CalcError(
                f"the arrays of this term do not match: {shapes}",
                node.body.start,
                node.body.end,
                kind=ErrorKind.ValueError,
            ) from None
        check_size((len(ks), *shape), "the terms of this range", arrays=2)
        k = Variable(ks.reshape((-1,) + (1,) * dims))
        value = _value(session.evaluate(node.body, {**scope, node.var: k}, depth + 1))
        if value.ndim <= dims:  # the body does not use k
            value = F.broadcast_to(value, (len(ks), *value.shape))
        return value
    _check_steps(session, node.body, node.var, len(ks), node)

    def held(term: Variable) -> None:  # the terms, and their stack, beside what is held
        check_size((len(ks), *term.shape), "the terms of this range", arrays=2)

    values = _pointwise(session, node.body, node.var, ks, scope, depth, len(ks), node, held)
    try:
        common = np.broadcast_shapes(*(v.shape for v in values))
    except ValueError:
        raise CalcError(
            "the terms of this range have shapes that do not match",
            node.body.start,
            node.body.end,
            kind=ErrorKind.ValueError,
        ) from None
    return F.stack([v if v.shape == common else F.broadcast_to(v, common) for v in values])


def integral(
    session: Session, node: nodes.Integral, lower: Any, upper: Any, scope: dict, depth: int
) -> Variable:
    """``integrate(body, t, a, b)``: the integral of body as t runs from a to b; one
    integral per element where the bounds or the arrays the body reads are arrays (as a plot
    of a function defined by an integral asks)."""
    arrays = _arrays_read(session, node.body, {node.var}, scope)
    shape = _elementwise_shape(node, lower, upper, *arrays.values())
    if shape is None:
        spent = [0]  # the points evaluated one by one so far, over all of the refinement
        body_steps = limits.steps(node.body, session.functions, frozenset((node.var,)))

        def integrand(t: Variable) -> Variable:
            before = spent[0]
            value = _evaluate_at(session, node.body, node.var, t, scope, depth, node, spent)
            current_work().charge(_call_steps(body_steps, spent[0] - before))
            return value

        return _integrate(integrand, lower, upper, node.var)

    def at(index: tuple[int, ...]) -> Variable:
        inner = {**scope, **{n: _element(v, shape, index) for n, v in arrays.items()}}
        return integral(session, node, _element(lower, shape, index),
                        _element(upper, shape, index), inner, depth)  # fmt: skip

    return _per_element(shape, at)


def _call_steps(body_steps: int, one_by_one: int) -> int:
    """What one call of an integrand took, in steps: its body once, and the refinement's
    work around the call; or its body at each of the ``one_by_one`` points it evaluated
    one by one, which ``_check_points`` counts too (it refuses first, saying why)."""
    return body_steps * one_by_one if one_by_one else CALL_STEPS + body_steps


def _per_element(shape: tuple[int, ...], at: Callable[[tuple[int, ...]], Variable]) -> Variable:
    """One integral per element of ``shape``, ``at(index)``; the first forecasts the rest."""
    work = current_work()
    pieces = []
    for index in np.ndindex(shape):
        before = work.steps
        pieces.append(at(index))
        if len(pieces) == 1:
            work.forecast(work.steps - before, int(np.prod(shape)))
    return F.reshape(F.stack(pieces), shape)


#: The most integrals one statement computes element by element.
MAX_INTEGRALS = 10_000


def _arrays_read(session: Session, body: nodes.Expr, bound: set[str], scope: dict) -> dict:
    """The names that the body reads, other than ``bound``, whose values are arrays."""
    names = {n.id for n in nodes.walk(body) if type(n) is nodes.Name} - bound
    return {n: v for n in names if np.ndim(_data(v := session.value_of(n, scope)))}


def _elementwise_shape(node: nodes.Node | None, *values: Any) -> tuple[int, ...] | None:
    """The shape of the integrals to compute one by one, or None for a single one."""
    span: tuple[int | None, int | None] = (
        (node.start, node.end) if node is not None else (None, None)
    )
    shapes = [np.shape(data_of(v)) for v in values if not is_function(v)]
    if all(s == () for s in shapes):
        return None
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise CalcError(
            f"shapes {', '.join(map(str, shapes))} do not match for integrate",
            *span,
            kind=ErrorKind.ValueError,
        ) from None
    if int(np.prod(shape)) > MAX_INTEGRALS:
        raise CalcError(
            f"integrate over an array of shape {shape} would compute "
            f"{int(np.prod(shape)):,} integrals (limit {MAX_INTEGRALS:,})",
            *span,
            kind=ErrorKind.ResourceError,
        )
    return shape


def _element(value: Any, shape: tuple[int, ...], index: tuple[int, ...]) -> Any:
    """One element of ``value`` broadcast to ``shape`` (differentiably, for a Variable)."""
    if isinstance(value, Variable):
        return (F.broadcast_to(value, shape) if value.shape != shape else value)[index]
    return np.float64(np.broadcast_to(np.asarray(value, dtype=np.float64), shape)[index])


def integrate_function(session: Session, f: Any, lower: Any, upper: Any, depth: int) -> Variable:
    """``integrate(f, a, b)`` for a function of one variable."""
    if not is_function(f) or not f.takes(1):
        raise CalcError(
            "integrate takes a function of one variable, as in integrate(f, 0, 1), or an "
            "expression and its variable, as in integrate(t^2, t, 0, 1)",
            kind=ErrorKind.TypeError,
        )
    pointwise = not _elementwise_function(session, f)
    shape = _elementwise_shape(None, lower, upper)
    if shape is not None:
        return _per_element(
            shape,
            lambda i: integrate_function(
                session, f, _element(lower, shape, i), _element(upper, shape, i), depth
            ),
        )

    spent = [0]  # the points evaluated one by one so far, over all of the refinement
    f_steps = function_steps(session, f)

    def integrand(t: Variable) -> Variable:
        if pointwise:
            _check_points(f_steps, t.size, f"'{f.name}'", spent)
            current_work().charge(_call_steps(f_steps, t.size))
            values = [_value(session.apply(f, [t[i]], depth + 1)) for i in range(t.size)]
            if any(v.ndim for v in values):
                _not_a_number(None)
            return F.stack(values)
        current_work().charge(_call_steps(f_steps, 0))
        value = _value(session.apply(f, [t], depth + 1))
        if value.ndim and value.shape != t.shape:
            _not_a_number(None)
        return value

    return _integrate(integrand, lower, upper)


def _moving(bound: Any) -> Any:
    """A bound that something computed is a Variable (the integral is differentiable in it);
    a written number stays a number (a constant)."""
    return bound if isinstance(bound, Variable) else float(data_of(bound))


def _integrate(
    integrand: Callable[[Variable], Variable], lower: Any, upper: Any, var: str = "t"
) -> Variable:
    for bound in (lower, upper):
        require_array(bound, "integrate")
        if np.ndim(data_of(bound)) != 0:
            raise CalcError("the bounds of an integral must be numbers", kind=ErrorKind.ValueError)
        if np.isnan(data_of(bound)):
            raise CalcError("a bound of the integral is nan", kind=ErrorKind.ValueError)
    try:
        return Q.integrate(
            integrand, _moving(lower), _moving(upper), rtol=RTOL, max_intervals=MAX_INTERVALS
        )
    except Q.NotConverged as e:
        if e.derivative:
            message = (
                f"the integral converges, but not its derivative with respect to the "
                f"variables it uses (after {e.intervals} subintervals): the derivative may be "
                f"infinite; :nograd gives the value alone"
            )
        else:
            message = (
                f"the integral did not converge: the estimate {e.estimate:.12g} may be off by "
                f"{e.error:.2g} after {e.intervals} subintervals (is it divergent, or singular "
                f"inside the range?)"
            )
        raise CalcError(message, kind=ErrorKind.ConvergenceError) from None
    except Q.NotFinite as e:
        raise CalcError(
            f"the integrand is not finite at {var} = {format_number(e.at)}",
            kind=ErrorKind.ValueError,
        ) from None
    except ValueError as e:
        raise CalcError(str(e), kind=ErrorKind.ValueError) from None


# ---------------------------------------------------------------------------
# The body at many points
# ---------------------------------------------------------------------------


def _evaluate_at(
    session: Session,
    body: nodes.Expr,
    var: str,
    points: Any,
    scope: dict,
    depth: int,
    where: nodes.Node,
    spent: list[int] | None = None,
) -> Variable:
    """The body's values with ``var`` at each point, as an array of the points' shape.
    ``spent`` counts the points already evaluated one by one for the same integral."""
    points = as_variable(points)
    check_size(points.shape, "this range", arrays=2)
    if not _reads(body, var):  # a constant in var (a solver's answer, say): computed once
        value = _value(session.evaluate(body, scope, depth + 1), body)
        return F.broadcast_to(value, points.shape) if value.ndim == 0 else _not_a_number(body)
    if elementwise(session, body, {var}, scope):
        value = _value(session.evaluate(body, {**scope, var: points}, depth + 1), body)
        if value.shape == points.shape:
            return value
        return F.broadcast_to(value, points.shape) if value.ndim == 0 else _not_a_number(body)
    _check_steps(session, body, var, points.size, where, spent)
    total = spent[0] if spent is not None else points.size
    each = (points[i] for i in range(points.size))
    values = _pointwise(session, body, var, each, scope, depth, total, where)
    return F.stack([v if v.ndim == 0 else _not_a_number(body) for v in values])


def _pointwise(
    session: Session,
    body: nodes.Expr,
    var: str,
    points: Iterable[Any],
    scope: dict,
    depth: int,
    total: int,
    where: nodes.Node,
    first: Callable[[Variable], None] | None = None,
) -> list[Variable]:
    """The body with ``var`` at each point, one by one. What it made at the first point
    forecasts its ``total`` points (MAX_WORK, and ``first``, given the first value), before
    the others are paid for."""
    budget = active_budget()
    values: list[Variable] = []
    for point in points:
        before = budget.made if budget is not None else 0
        values.append(_value(session.evaluate(body, {**scope, var: point}, depth + 1), body))
        if len(values) == 1:
            if budget is not None:
                _check_work(budget.made - before, total, where)
            if first is not None:
                first(values[0])
    return values


#: What a body evaluated point by point may make in all, in bytes of arrays, forecast from
#: what it made at its first point: steps count syntax, not the arrays a step makes, and a
#: sum of 100,000 terms that each made three arrays of 10^6 elements ran for 40 minutes.
MAX_WORK = 8 << 30


def _check_work(made: int, points: int, where: nodes.Node) -> None:
    """Refuse a body that made ``made`` bytes of arrays at its first point, if its
    ``points`` points would make over MAX_WORK in all."""
    if made * points > MAX_WORK:
        raise CalcError(
            f"this would make about {size_text(made * points)} of arrays (limit "
            f"{size_text(MAX_WORK)}): the body, evaluated point by point, made "
            f"{size_text(made)} at the first of {points:,} points",
            where.start,
            where.end,
            kind=ErrorKind.ResourceError,
        )


def _reads(body: nodes.Expr, name: str) -> bool:
    """Whether ``name`` occurs in the body (user functions see only their parameters)."""
    return any(type(n) is nodes.Name and n.id == name for n in nodes.walk(body))


def _check_steps(
    session: Session,
    body: nodes.Expr,
    var: str,
    points: int,
    where: nodes.Node,
    spent: list[int] | None = None,
) -> None:
    """Refuse a body evaluated point by point that would take over MAX_STEPS steps (with
    the user functions and solvers it calls); see ``_check_points``."""
    per_point = limits.steps(body, session.functions, frozenset((var,)))
    _check_points(per_point, points, "the body", spent, where)


def _check_points(
    per_point: int,
    points: int,
    what: str,
    spent: list[int] | None,
    where: nodes.Node | None = None,
) -> None:
    """Refuse ``points`` evaluations one by one of ``per_point`` steps each, after the
    ``spent`` already made for the same integral, if they come to over MAX_STEPS; else count
    them in ``spent``. An integral asks for its points batch by batch as it refines."""
    before = spent[0] if spent is not None else 0
    steps = per_point * (before + points)
    if steps > MAX_STEPS:
        raise CalcError(
            f"this would take about {about(steps)} steps to evaluate (limit {MAX_STEPS:,}): "
            f"{what} is evaluated point by point, since it does not act element by element",
            where.start if where is not None else None,
            where.end if where is not None else None,
            kind=ErrorKind.ResourceError,
        )
    if spent is not None:
        spent[0] += points


def function_steps(session: Session, f: Any) -> int:
    """What one call of a function value is forecast to take, in steps."""
    if isinstance(f, UserFunction):
        return 1 + limits.steps(f.body, session.functions, frozenset(f.params))
    base = getattr(f, "base", None)  # a derivative or a gradient: its function's body
    return 1 if base is None else function_steps(session, base)


def _value(value: Any, body: nodes.Expr | None = None) -> Variable:
    if is_function(value):
        raise CalcError("the body must give a number, not a function", kind=ErrorKind.TypeError)
    return as_variable(value)


def _not_a_number(body: nodes.Expr | None) -> Variable:
    span: tuple[int | None, int | None] = (
        (body.start, body.end) if body is not None else (None, None)
    )
    raise CalcError(
        "the body must give one number for each point, not an array",
        *span,
        kind=ErrorKind.ValueError,
    )


def _whole(value: Any, node: nodes.Expr, what: str) -> int:
    require_array(value, what)
    try:
        return integer(value, what)
    except CalcError as e:
        raise e.at(node.start, node.end) from None


def elementwise(session: Session, body: nodes.Expr, bound: set[str], scope: dict) -> bool:
    """Whether the body acts element by element on its variables: arithmetic, comparisons,
    choices and elementwise functions only (no reductions, indexing, arrays or calculus),
    and every other value it reads is a number."""
    for node in nodes.walk(body):
        kind = type(node)
        if (
            type(node) is nodes.Name
            and node.id not in bound
            and np.ndim(_data(session.value_of(node.id, scope)))
        ):
            return False
        if kind in (nodes.Index, nodes.ArrayLit, nodes.Transpose, nodes.OverRange, nodes.Integral):
            return False
        if type(node) is nodes.Binary and node.op == "@":
            return False
        if type(node) is nodes.Call:
            if not isinstance(node.func, nodes.Name) or node.func.primes:
                return False
            if node.func.id in ("max", "min") and len(node.args) > 1:
                continue  # of several values: elementwise (of one, a reduction)
            if node.func.id in bound or not _elementwise_name(session, node.func.id):
                return False
    return True


def _data(value: Any) -> Any:
    """A value's data, as far as its shape goes (0 for a function or nothing)."""
    return 0.0 if value is None or is_function(value) else data_of(value)


def _elementwise_name(session: Session, name: str) -> bool:
    if name in session.functions:
        return _elementwise_function(session, session.functions[name])
    builtin = BUILTINS.get(name)
    return builtin is not None and builtin.elementwise


def _elementwise_function(session: Session, f: Any) -> bool:
    if isinstance(f, Builtin):
        return f.elementwise
    if isinstance(f, UserFunction):  # definitions are never cyclic
        return elementwise(session, f.body, set(f.params), {})
    return False
