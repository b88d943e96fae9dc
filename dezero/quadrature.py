"""Definite integrals that dezero can differentiate, by adaptive Gauss–Kronrod quadrature.

``integrate(f, a, b)`` returns ∫_a^b f(t) dt as a Variable. An adaptive phase (QUADPACK's
QAG with the 7-point Gauss / 15-point Kronrod pair) runs on plain values under ``no_grad()``
and only decides where the intervals lie. The result is then computed once, with dezero
operations, as the Kronrod sum over those intervals, with the nodes written as
t = a + (b − a)·u for fixed fractions u (or through a change of variables where a bound is
infinite). Its derivatives, by backprop or by Taylor mode, with respect to a, b and any
Variable that f uses, are those of that sum: the quadrature of the derivative plus the
endpoint terms, accurate to about the tolerance on the same intervals.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from dezero import functions as F
from dezero.core import Config, Function, Value, Variable, as_variable, no_grad, using_config
from dezero.series import functions_between, tangent

# QK15 of QUADPACK (R. Piessens, E. de Doncker-Kapenga, C. W. Überhuber, D. K. Kahaner,
# QUADPACK, Springer 1983, routine qk15): the Kronrod abscissae xgk on [-1, 1] from the
# outermost to the centre (xgk[1], xgk[3], xgk[5] and the centre are the Gauss nodes), their
# Kronrod weights wgk, and the Gauss weights wg of xgk[1], xgk[3], xgk[5], 0.
XGK = np.array([
    0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
    0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
    0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
    0.207784955007898467600689403773245, 0.000000000000000000000000000000000,
])  # fmt: skip
WGK = np.array([
    0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
    0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
    0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
    0.204432940075298892414161999234649, 0.209482141084727828012999174891714,
])  # fmt: skip
WG = np.array([
    0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
    0.381830050505118944950369775488975, 0.417959183673469387755102040816327,
])  # fmt: skip

# The same rules on all 15 nodes, left to right: s, Kronrod weights, Gauss weights (0 at the
# Kronrod-only nodes).
NODES = np.concatenate([-XGK[:-1], XGK[::-1]])
KRONROD = np.concatenate([WGK[:-1], WGK[::-1]])
_G = np.zeros(8)
_G[1::2] = WG
GAUSS = np.concatenate([_G[:-1], _G[::-1]])

EPS, TINY = np.finfo(float).eps, np.finfo(float).tiny
#: An error this small relative to ∫|f| is the rounding of the sum itself (each interval's
#: error is at least 50 eps of its ∫|f|), so it is accepted whatever the integral's size.
ROUNDING = 100 * EPS

Change = Callable[[np.ndarray], tuple[Variable, Any]]  # u -> (t(u), dt/du)


class NotConverged(Exception):
    """The estimate did not reach the tolerance: carries .estimate (float), .error (float),
    .intervals (int), and .derivative: whether it is the integral's derivative with respect to
    what the integrand reads that did not converge, while the integral itself did."""

    def __init__(
        self, estimate: float, error: float, intervals: int, derivative: bool = False
    ) -> None:
        what = "the derivative of the integral" if derivative else "the integral"
        super().__init__(
            f"{what} did not converge: estimate {estimate!r} with error {error:.3g} "
            f"on {intervals} intervals"
        )
        self.estimate, self.error, self.intervals = estimate, error, intervals
        self.derivative = derivative


class NotFinite(ValueError):
    """The integrand is not finite at a node: carries the abscissa, .at."""

    def __init__(self, at: float) -> None:
        super().__init__(f"the integrand is not finite at t = {at!r}")
        self.at = at


def integrate(
    f: Callable[[Variable], Variable],
    a: Any,
    b: Any,
    *,
    rtol: float = 1e-12,
    atol: float = 0.0,
    max_intervals: int = 2000,
) -> Variable:
    """∫_a^b f(t) dt, as a Variable differentiable with respect to a, b and what f uses.

    ``f`` maps a 1-D Variable of abscissae to a Variable of the same shape (or to a scalar:
    a constant integrand). Either bound may be ±inf; b < a gives the negated integral, and
    a == b gives 0. A bound given as a Variable may move (the result is differentiable in
    it); one given as a number is a constant. The interval of largest error is bisected
    until the total error is at most max(atol, rtol·|estimate|); an interval's error is
    QUADPACK's scaled |K15 − G7|, resasc·min(1, (200·|K15 − G7|/resasc)^1.5), and at least
    50·eps·∫|f|. Each refinement
    step calls f once, on the 30 nodes of the two halves. That floor limits the relative
    accuracy of an integral much smaller than ∫|f| (heavy cancellation, or a value of 0),
    which is accepted at 100·eps·∫|f| once the range is split.

    Derivatives. When a graph is being recorded, the refinement also watches the derivative
    of the integrand with respect to what it reads besides t (in one random direction, by
    forward mode), so that the quadrature of that derivative, which the graph gives, meets
    the same tolerance: the intervals are then right for ∂/∂p too (∫ t^p log t, singular at
    0, say). The bounds enter through an end term c ↦ (c - c0) Σ w f(c0 + (c - c0) s), a
    Kronrod rule on the moving piece [c0, c]: 0 at c = c0, with derivatives f(c0), f'(c0), ...
    exactly, to order 23.

    Raises ``NotConverged`` after ``max_intervals`` intervals, or when the interval to bisect
    is too small to split (a divergent integral, say); ``ValueError`` if f is not finite at
    a node ("the integrand is not finite at t = ..."), or if the tolerance is unattainable.
    """
    if not (rtol >= 0 and atol >= 0) or (atol == 0 and rtol < 50 * EPS):
        raise ValueError("need rtol >= 50 machine epsilons, or atol > 0")
    moving = {"a": isinstance(a, Variable), "b": isinstance(b, Variable)}
    a, b = _bound(a), _bound(b)
    if float(a.data) == float(b.data) and math.isinf(float(a.data)):
        return Variable(np.array(0.0))
    tracked = Config.enable_backprop
    a0, b0 = _Fixed(a.data.copy()), _Fixed(b.data.copy())  # the nodes do not move
    if float(a.data) == float(b.data):
        result = Variable(np.array(0.0))
    else:
        change, u0, u1 = _substitution(a0, b0)
        sample = partial(_sample, f, change, tracked, np.random.default_rng(0))
        with no_grad():
            lo, hi = _refine(sample, u0, u1, rtol, atol, max_intervals)
        half = (hi - lo) / 2
        t, jac = change(_nodes(lo, hi).ravel())
        jac = np.asarray(jac.data if isinstance(jac, Variable) else jac)  # the nodes are fixed
        result = _KronrodSum(np.broadcast_to(jac, t.shape), half)(_values(f, t))
    if tracked and moving["b"]:
        result = result + _end(f, b0, b)
    if tracked and moving["a"]:
        result = result - _end(f, a0, a)
    return result


#: The error that QUADPACK's estimate may give a derivative of order 2 or more of an
#: integral on the intervals chosen for the integral, relative to ∫|its integrand| (see
#: ``_KronrodSum``). The estimate is pessimistic: on integrands singular at an end
#: (t^a (log t)^k), the error is a hundredth of it or less; on smooth ones, far less.
DERIVATIVE_RTOL = 1e-7


class DerivativeNotConverged(NotConverged):
    """A derivative of higher order of the integral is not accurate on its intervals."""

    def __init__(self, order: int, estimate: float, error: float, intervals: int) -> None:
        super().__init__(estimate, error, intervals, derivative=True)
        self.order = order
        self.args = (
            f"the derivative of order {order} of the integral cannot be vouched for on the "
            f"{intervals} intervals chosen for the integral (its estimate "
            f"{estimate / math.factorial(order):.10g}·{order}! may be off by "
            f"{error / math.factorial(order):.2g}·{order}!)",
        )


class _KronrodSum(Function):
    """Σ w g: the Kronrod rule over the chosen intervals applied to the integrand's values
    g at their nodes, with w the weights times the change of variables' dt/du.

    The refinement chose the intervals for the integral and its first derivative. Taylor
    mode sums each coefficient of g by the same rule, so a derivative of higher order is
    the quadrature of the integrand's derivative on those intervals; QUADPACK's estimate of
    its error (from the Gauss rule on the same nodes) is checked, and a derivative that
    misses DERIVATIVE_RTOL is refused (t^a (log t)^k, ever more singular at 0 as k grows,
    lost four digits at order 20).
    """

    __slots__ = ("half", "jac", "weights")

    def __init__(self, jac: np.ndarray, half: np.ndarray) -> None:
        self.jac, self.half = jac, half
        self.weights = jac * (half[:, None] * KRONROD).ravel()

    def forward(self, g: np.ndarray) -> np.ndarray:
        return np.sum(g * self.weights)

    def backward(self, gy: Variable) -> Variable:
        return gy * self.weights

    def taylor(self, g: list) -> list:
        for k, c in enumerate(g[2:], start=2):
            if c is not None:
                self._check(k, c.data)
        return [c if c is None else F.sum(c * self.weights) for c in g]

    def _check(self, order: int, values: np.ndarray) -> None:
        rows = (values * self.jac).reshape(1, len(self.half), len(NODES))
        with np.errstate(all="ignore"):
            estimates, errors, absolute = _rule(rows, self.half)
        total, error = float(estimates.sum()), float(errors.sum())
        if error > DERIVATIVE_RTOL * float(absolute.sum()):
            raise DerivativeNotConverged(order, total, error, len(self.half))


def is_quadrature(f: Function) -> bool:
    """Whether ``f`` is a quadrature's sum, whose error is its rule's, not rounding's: it does
    not shrink with more precision."""
    return isinstance(f, _KronrodSum)


def _end(f: Callable[[Variable], Variable], c0: Variable, c: Variable) -> Any:
    """∫ from c0 to c by one Kronrod rule on the moving piece [c0, c]: 0 at c = c0, and its
    k-th derivative in c there is f^(k-1)(c0), exactly while the rule is (degree 22)."""
    assert c0.data is not None  # a copy of the bound's value
    if not math.isfinite(float(c0.data)):
        return 0.0
    d = c - c0
    with np.errstate(all="ignore"):  # f may be infinite at an end it is integrable from
        values = _values(f, c0 + d * ((NODES + 1) / 2))
    slope = F.sum(values * (KRONROD / 2))
    assert slope.data is not None  # just computed
    if np.isfinite(slope.data):
        return d * slope
    return _Unbounded(slope.data)(d)  # f is not finite at the end: nor is the derivative


class _Unbounded(Function):
    """The end term where f is not finite at the end: 0, with slope f(c0) (inf or nan)."""

    __slots__ = ("slope",)

    def __init__(self, slope: Value) -> None:
        self.slope = slope

    def forward(self, d):
        return np.zeros_like(d)

    def backward(self, gy):
        return gy * self.slope

    def taylor(self, d):
        return (
            [Variable(np.zeros(()))]
            + [c if c is None else c * self.slope for c in d[1:2]]
            + [None] * (len(d) - 2)
        )


def _bound(x: Any) -> Variable:
    """A bound as a 0-d Variable (a Variable of one element is reshaped in the graph)."""
    v = x if isinstance(x, Variable) else Variable(np.array(float(x)))
    if v.data is None or v.size != 1 or np.isnan(v.data).any():
        raise ValueError(f"a bound must be a number, not {v!r}")
    return F.reshape(v, ())


def _substitution(a: Variable, b: Variable) -> tuple[Change, float, float]:
    """t(u) with dt/du, and the u-interval that t maps onto [a, b]."""
    assert a.data is not None and b.data is not None  # copies of the bounds' values
    lo, hi = float(a.data), float(b.data)
    sign = 1.0
    if lo > hi and (math.isinf(lo) or math.isinf(hi)):  # ∫_a^b = −∫_b^a
        a, b, lo, hi, sign = b, a, hi, lo, -1.0

    def finite(u: np.ndarray) -> tuple[Variable, Any]:  # t = a + (b − a)u, also for b < a
        d = b - a
        return a + d * u, d

    def right(u: np.ndarray) -> tuple[Variable, Any]:  # [a, ∞): t = a + u/(1 − u)
        return a + u / (1 - u), sign / (1 - u) ** 2

    def left(u: np.ndarray) -> tuple[Variable, Any]:  # (−∞, b]: t = b − u/(1 − u)
        return b - u / (1 - u), sign / (1 - u) ** 2

    def line(u: np.ndarray) -> tuple[Variable, Any]:  # ℝ: t = u/(1 − u²), u in (−1, 1)
        return as_variable(u / (1 - u * u)), sign * (1 + u * u) / (1 - u * u) ** 2

    if math.isfinite(lo) and math.isfinite(hi):
        return finite, 0.0, 1.0
    if math.isfinite(lo):
        return right, 0.0, 1.0
    return (left, 0.0, 1.0) if math.isfinite(hi) else (line, -1.0, 1.0)


def _nodes(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The 15 nodes of each interval [lo, hi], one row per interval."""
    return ((lo + hi) / 2)[:, None] + ((hi - lo) / 2)[:, None] * NODES


def _values(f: Callable[[Variable], Variable], t: Variable) -> Variable:
    """f(t), a scalar broadcast to t's shape."""
    y = as_variable(f(t))
    if y.ndim == 0:
        y = F.broadcast_to(y, t.shape)
    if y.shape != t.shape:
        raise ValueError(f"the integrand gave shape {y.shape} for abscissae of shape {t.shape}")
    return y


def _sample(
    f: Callable, change: Change, tracked: bool, rng: Any, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """g = f(t(u))·dt/du at the nodes of the intervals, in one call of f: shape (1, m, 15);
    when ``tracked``, a second row holds the derivative of g in what f reads besides t."""
    u = _nodes(lo, hi)
    t, jac = change(u.ravel())
    jac = np.asarray(jac.data if isinstance(jac, Variable) else jac)
    nodes = np.array(t.data)
    t = Variable(nodes)
    with using_config("enable_backprop", tracked):
        y = _values(f, t)
    g = y.data * jac
    bad = ~np.isfinite(g)
    if bad.any():
        raise NotFinite(float(nodes[bad][0]))
    rows = [g]
    readings = _readings(y, t) if tracked else []
    if readings:
        seeds = {id(v): (v, rng.uniform(1.0, 2.0, v.shape)) for v in readings}
        with using_config("enable_backprop", False):
            rows.append(tangent(y, seeds).data * jac)
    return np.stack(rows).reshape((len(rows), *u.shape))


class _Fixed(Variable):
    """A bound's value, where an integral's nodes lie: they do not move, so it is never a
    parameter of an integrand that contains the integral."""


def _readings(y: Variable, t: Variable) -> list[Variable]:
    """What the integrand reads besides t: the inputs of its operations on t that do not
    themselves depend on t (the parameters it is differentiated in). The nodes of an
    integral inside the integrand are no parameters: watched as such, the noise of their
    subdivisions, different at each outer node, kept the outer integral from converging
    (∫_0^b ∫_0^t s ds dt refined until it was stopped)."""
    depends, found = {id(t)}, {}
    for function in functions_between(None, y, stop={id(t)}):
        if any(id(v) in depends or isinstance(v, _Fixed) for v in function.inputs):
            depends.update(id(out()) for out in function.outputs if out() is not None)
            for v in function.inputs:
                if id(v) not in depends and not isinstance(v, _Fixed):
                    found[id(v)] = v
    return list(found.values())


def _rule(g: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """K15 estimates, QUADPACK's error estimates and ∫|g| of intervals of half-widths
    ``half``, for each row of g (the integrand, and its derivative when watched)."""
    k = half * (g @ KRONROD)
    diff = half * np.abs(g @ (KRONROD - GAUSS))
    resabs = half * (np.abs(g) @ KRONROD)
    resasc = half * (np.abs(g - (k / (2 * half))[..., None]) @ KRONROD)  # ∫|g − mean g|
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scaled = resasc * np.minimum(1.0, (200 * diff / resasc) ** 1.5)
    err = np.where((resasc != 0) & (diff != 0), scaled, diff)
    floor = np.where(resabs > TINY / (50 * EPS), np.maximum(50 * EPS * resabs, err), err)
    return k, floor, resabs


def _refine(
    sample: Callable[[np.ndarray, np.ndarray], np.ndarray],
    u0: float,
    u1: float,
    rtol: float,
    atol: float,
    limit: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Bisect [u0, u1] where the error is largest until the total error is small enough;
    return the intervals' ends."""
    lo, hi = np.array([u0]), np.array([u1])
    est, err, absolute = _rule(sample(lo, hi), (hi - lo) / 2)
    while True:
        total, error = est.sum(axis=1), err.sum(axis=1)
        # Done at the tolerance, or at the rounding of ∫|g| where the integral cancels to
        # about nothing (∫ sin over [0, 2π]): no bisection can do better than that.
        # Not on one interval: an odd integrand over a symmetric range (t over ℝ, which
        # diverges) sums to 0 there, with a Gauss-Kronrod difference of 0.
        rounding = ROUNDING * absolute.sum(axis=1) if len(lo) > 1 else 0.0
        tolerance = np.maximum(np.maximum(atol, rtol * np.abs(total)), rounding)
        if np.all(error <= tolerance):
            return lo, hi
        score = err / np.maximum(tolerance, TINY)[:, None]  # each row against its own goal
        i = int(np.argmax(score.max(axis=0)))
        mid = (lo[i] + hi[i]) / 2
        # QUADPACK's test for an interval too small to split: |ends| ≤ (1 + 100 eps)|mid|
        if len(lo) >= limit or max(abs(lo[i]), abs(hi[i])) <= (1 + 100 * EPS) * (
            abs(mid) + 1000 * TINY
        ):
            row = 1 if len(error) > 1 and error[0] <= tolerance[0] else 0
            raise NotConverged(float(total[row]), float(error[row]), len(lo), derivative=row > 0)
        pair_lo, pair_hi = np.array([lo[i], mid]), np.array([mid, hi[i]])
        k, e, r = _rule(sample(pair_lo, pair_hi), (pair_hi - pair_lo) / 2)
        lo, hi = np.append(lo, mid), np.append(hi, hi[i])
        est, err = np.append(est, k[:, 1:], axis=1), np.append(err, e[:, 1:], axis=1)
        absolute = np.append(absolute, r[:, 1:], axis=1)
        hi[i], est[:, i], err[:, i], absolute[:, i] = mid, k[:, 0], e[:, 0], r[:, 0]
