"""Special functions of one real variable, differentiable to any order: erf, erfc, gamma,
lgamma, digamma, polygamma and factorial.

Values come from SciPy's ``scipy.special`` (imported on first use, not with dezero), with
two repairs where it loses precision that the argument does not lack:

- erfc(x) for x >= 1 is erfcx(x) e^(-x²), with x² split exactly into two doubles (Dekker);
- ψ^(n) of even order at negative non-integers, where SciPy's Hurwitz-zeta sum cancels
  (ψ^(12)(-10.5) comes out with the wrong sign), is found by reflection:

      ψ^(n)(x) = (-1)^n ψ^(n)(1 - x) - π^(n+1) cot^(n)(πx).

Each derivative is another function of this module (lgamma' = ψ, ψ^(n)' = ψ^(n+1),
Γ' = Γψ, erf' = 2/√π e^(-x²)), so ``backward`` is differentiable again. The Taylor rules
use the recurrences of ``dezero.series``: erf and erfc integrate their slope
(``antiderivative``), lgamma and ψ^(n) compose their own coefficients ψ^(n+k)(x0) / k!
(``compose``), and Γ = exp(lgamma) with the sign of Γ(x0) (``exp``).
"""

from __future__ import annotations

import functools
import math
import operator
from typing import Any

import numpy as np

import dezero.functions as F  # noqa: N812
from dezero import series as S  # noqa: N812 - the series arithmetic, as a module
from dezero.budget import LARGE, active
from dezero.core import Function, Value, Variable, as_variable

__all__ = ["erf", "erfc", "gamma", "lgamma", "digamma", "polygamma", "factorial"]

_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


@functools.cache
def _scipy_special() -> Any:
    import scipy.special

    return scipy.special


# ---------------------------------------------------------------------------
# The error functions: y' = ±(2/√π) e^(-x²)
# ---------------------------------------------------------------------------


class Erf(Function):
    __slots__ = ()

    sign = 1.0

    def forward(self, x):
        x = _float64(x)
        return _underflow_flagged(x, _scipy_special().erf(x))

    def backward(self, gy):
        (x,) = self.inputs
        return gy * (self.sign * _TWO_OVER_SQRT_PI) * _gauss(x)

    def taylor(self, x):
        return S.antiderivative(x, type(self)()(x[0]), _slope(x, self.sign * _TWO_OVER_SQRT_PI))


class Erfc(Erf):
    """1 - erf x, with full relative precision where it is small (erfc 18.1 = 1.6e-144)."""

    __slots__ = ()

    sign = -1.0

    def forward(self, x):
        _reserve(x, 12)  # measured: 11 arrays of x's size at most, the value among them
        x = _float64(x)
        return _underflow_flagged(x, _erfc(x))


def _erfc(x: np.ndarray) -> np.ndarray:
    """SciPy's erfc, but erfcx(x) e^(-x²) for 1 <= x < 30: SciPy's erfc rounds x² before its
    exponential, an error of up to x² eps relative (2e-14 at x = 18.1)."""
    special = _scipy_special()
    x = np.asarray(x, dtype=np.float64)
    y = np.array(special.erfc(x))
    far = (x >= 1) & (x < 30)
    if np.any(far):
        xf = x[far]
        y[far] = special.erfcx(xf) * np.exp(-(xf * xf)) * np.exp(-_square_low(xf))
    return y


def _square_low(x: Value) -> np.ndarray:
    """x² - fl(x²), exactly (Dekker's product), where e^(-x²) is a float64 number; 0 where
    it is not (fl(x²) > 746), since there e^(-fl(x²)) is 0 and the low part, as large as
    half a unit of x², would only make e^(-low) overflow: 0 · inf, nan for 0."""
    with np.errstate(all="ignore"):
        hi = x * x
        c = 134217729.0 * x  # 2^27 + 1 splits x into two halves of 26 bits
        xh = c - (c - x)
        xl = x - xh
        lo = ((xh * xh - hi) + 2 * xh * xl) + xl * xl
    return np.where(np.isfinite(lo) & (hi <= _GAUSS_UNDERFLOW), lo, 0.0)


#: e^(-746) is below float64's least subnormal number (4.9e-324 = e^(-744.4)).
_GAUSS_UNDERFLOW = 746.0


def _gauss(x: Variable) -> Variable:
    """e^(-x²) to full relative precision: e^(-fl(x²)) e^(-(x² - fl(x²)))."""
    assert x.data is not None  # erf's input, or a series' value: never released
    return F.exp(-(x * x)) * np.exp(-_square_low(x.data))


def _slope(x: S.Series, c: float) -> S.Series:
    """The series of c e^(-x²)."""
    q = S.negative(S.product(x, x))
    return S.each(lambda v: v * c, S.exp(q, _gauss(x[0])))


# ---------------------------------------------------------------------------
# Γ, ln|Γ| and the polygamma functions ψ^(n) = (d/dx)^(n+1) ln|Γ|
# ---------------------------------------------------------------------------


class Gamma(Function):
    __slots__ = ()

    def forward(self, x):
        _reserve(x, 3)
        x = _float64(x)
        y = np.asarray(_scipy_special().gamma(x))
        pole = (x < 0) & (x == np.floor(x))  # ±∞ from either side: no value (SciPy's vary)
        return _underflow_flagged(x, _flagged(x, np.where(pole, np.nan, y) if np.any(pole) else y))

    def backward(self, gy):
        (x,) = self.inputs
        return gy * self.outputs[0]() * digamma(x)

    def taylor(self, x):  # Γ = ±exp(ln|Γ|): y' = y ψ(x) x', from y0 = Γ(x0) of either sign
        return S.exp(_lgamma_series(x, S.ZERO), gamma(x[0]))


class Lgamma(Function):
    """ln|Γ(x)|, real for negative non-integers too."""

    __slots__ = ()

    def forward(self, x):
        _reserve(x, 4)
        x = _float64(x)
        return _flagged(x, _lgamma(x))

    def backward(self, gy):
        (x,) = self.inputs
        return gy * digamma(x)

    def taylor(self, x):
        return _lgamma_series(x, lgamma(x[0]))


def _lgamma_series(x: S.Series, y0: Any) -> S.Series:
    """ln|Γ| of x from y0 on: its k-th coefficient at u is ψ^(k-1)(u) / k!, taken at
    u = x0 + m and brought back by ln|Γ(x)| = ln|Γ(x + m)| - Σ_{j<m} ln|x + j|."""
    m, u = _shift(x)
    c = [S.ZERO] + [polygamma(k - 1, u) * (1 / math.factorial(k)) for k in range(1, len(x))]
    terms = _shifted_sum(x, m, lambda xj: S.log(xj, S.ZERO))
    return [y0] + S.difference(S.compose(x, c), terms)[1:]


#: lgamma and ψ^(n) compose their own Taylor coefficients, which at a small argument are large
#: and of alternating sign: composed at x0 = e^1.06, ψ(e^x) lost 7 digits at order 10. So
#: they are composed at x0 + m ≥ SHIFT + order, where the coefficients fall off
#: geometrically, and brought back by the recurrences ln Γ(x + 1) = ln Γ(x) + ln x and
#: ψ^(n)(x + 1) = ψ^(n)(x) + (-1)^n n! x^-(n+1), whose series are plain powers and logs.
SHIFT = 20


def _shift(x: S.Series) -> tuple[np.ndarray, Variable]:
    """The whole steps m that move each positive element of x0 to SHIFT + order or beyond,
    and x0 + m. A negative one stays: the sum would cross the poles at 0, -1, ..., where
    its terms are huge and cancel (ψ^(18) at -1.5 lost 13 digits); ψ^(n) there comes from
    the reflection formula instead (``_polygamma``)."""
    order = len(x) - 1
    target = SHIFT + order
    x0 = np.nan_to_num(np.asarray(x[0].data, dtype=np.float64), nan=target, posinf=target)
    m = np.where(x0 < 0, 0.0, np.ceil(np.maximum(target - x0, 0.0)))
    return m, x[0] + m


def _shifted_sum(x: S.Series, m: np.ndarray, term: Any) -> S.Series:
    """Σ_{j < m} term(x + j), where each element has its own m."""
    total: S.Series = [S.ZERO] * len(x)
    for j in range(int(m.max(initial=0))):
        xj = [x[0] + float(j)] + x[1:]
        t = term(xj)
        inside = j < m
        if not inside.all():
            mask = inside.astype(np.float64)

            # not a lambda: mypy cannot infer the type of one with a default argument
            def masked(v: Any, mask: np.ndarray = mask) -> Any:
                return v * mask

            t = S.each(masked, t)
        total = S.sum_of(total, t)
    return total


class Polygamma(Function):
    """ψ^(n), the n-th derivative of the digamma function ψ = Γ'/Γ."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n

    def forward(self, x):
        _reserve(x, 9)
        x = _float64(x)
        return _flagged(x, _polygamma(self.n, x))

    def backward(self, gy):
        (x,) = self.inputs
        return gy * polygamma(self.n + 1, x)

    def taylor(self, x):  # composed at x0 + m, then ψ^(n)(x) = ψ^(n)(x + m) - Σ (see SHIFT)
        n = self.n
        m, u = _shift(x)
        c = [S.ZERO] + [polygamma(n + k, u) * (1 / math.factorial(k)) for k in range(1, len(x))]
        scale = (-1) ** n * math.factorial(n)
        terms = _shifted_sum(x, m, lambda xj: S.power(xj, -(n + 1), xj[0] ** -(n + 1)))
        rest = S.difference(S.compose(x, c), S.each(lambda v: v * scale, terms))
        return [polygamma(n, x[0])] + rest[1:]


class Digamma(Polygamma):
    """ψ = Γ'/Γ = ψ^(0)."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(0)


def _lgamma(x: np.ndarray) -> np.ndarray:
    """ln|Γ(x)|: SciPy's, but by series near its zeros at 1 and 2, where SciPy's loses
    relative precision (1.5e-4 at 2 - 1e-12), and as -ln|x| - γx for |x| < 1e-8 (SciPy's is
    inf for a subnormal x):

        ln Γ(1 + ε) = -γε + Σ_{k≥2} (-1)^k ζ(k) ε^k / k,   ln Γ(2 + ε) = ln Γ(1 + ε) + ln(1 + ε).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.array(_scipy_special().gammaln(x))
    for centre in (1.0, 2.0):
        near = np.abs(x - centre) < 0.2
        if np.any(near):
            e = x[near] - centre
            total = np.zeros_like(e)
            for k, z in reversed(list(enumerate(_zetas(), start=2))):
                total = (total + (-1) ** k * z / k) * e
            series = (total - np.euler_gamma) * e
            y[near] = series if centre == 1.0 else series + np.log1p(e)
    tiny = (np.abs(x) < 1e-8) & (x != 0)
    if np.any(tiny):
        y[tiny] = -np.log(np.abs(x[tiny])) - np.euler_gamma * x[tiny]
    return y


@functools.cache
def _zetas() -> list[float]:
    """ζ(2) ... ζ(40): enough terms of the series above for |ε| < 0.2 (0.2^40 / 40 ~ 1e-30)."""
    return [float(z) for z in _scipy_special().zeta(np.arange(2, 41, dtype=np.float64))]


def _reserve(x: np.ndarray, arrays: int) -> None:
    """Refuse, before it starts, a value whose working arrays (``arrays`` of x's size at
    most, SciPy's and the repairs') the statement's memory budget cannot hold: the budget
    sees a Function's output only once it is made (see ``dezero.budget``)."""
    budget = active()
    if budget is not None and x.nbytes >= LARGE:
        budget.reserve(x.nbytes * arrays)


def _float64(x: np.ndarray) -> np.ndarray:
    """x as float64, which SciPy computes in: a longdouble (``dezero_repl``'s check of a
    derivative in extended precision) is rounded, and the rest of its graph stays extended."""
    return np.asarray(x, dtype=np.float64)


def _flagged(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``y``, after raising the floating-point flags that NumPy's own functions raise (SciPy's
    special functions raise none), so that a caller watching them can say what happened:
    division by zero at a pole (inf at a whole number <= 0), invalid for nan, overflow."""
    y = np.asarray(y)
    bad = ~np.isfinite(y) & np.isfinite(x)
    if np.any(bad):
        pole = bad & (x <= 0) & (x == np.floor(x)) & np.isinf(y)
        if np.any(pole):
            np.divide(np.ones(1), np.zeros(1))
        if np.any(bad & np.isnan(y)):
            np.subtract(np.full(1, np.inf), np.inf)
        if np.any(bad & np.isinf(y) & ~pole):
            np.multiply(np.full(1, 1e308), 10.0)
    return y


def _underflow_flagged(x: np.ndarray, y: Any) -> Any:
    """``y``, after raising the underflow flag where it fell below float64's normal range
    (SciPy raises none): where it is 0 or subnormal, but for x = 0 (erf 0 = 0 exactly) and
    x = ∞ (erfc ∞ = 0). erf, erfc and Γ have no other zeros, so such a value underflowed."""
    tiny = np.abs(y) < np.finfo(np.float64).tiny
    if np.any(tiny) and np.any(tiny & np.isfinite(x) & (x != 0)):
        np.multiply(np.full(1, 1e-300), 1e-300)
    return y


def _polygamma(n: int, x: np.ndarray) -> np.ndarray:
    """ψ^(n)(x) on an array: SciPy's, but by reflection at negative non-integers for even n.

    There ψ^(n) changes sign between poles, and SciPy's sum of n!/(x+k)^(n+1) cancels.
    """
    special = _scipy_special()

    def psi(z: np.ndarray) -> np.ndarray:
        return special.digamma(z) if n == 0 else special.polygamma(n, z)

    y = np.array(psi(x))
    x = np.asarray(x, dtype=np.float64)
    tiny = (np.abs(x) < 1e-300) & (x != 0) if n == 0 else np.zeros(x.shape, dtype=bool)
    if np.any(tiny):  # ψ(x) = -1/x - γ + O(x): SciPy gives nan for a subnormal x < 0
        y[tiny] = -np.sign(x[tiny]) * np.inf
    if n % 2 == 0:
        reflect = (x < 0) & (x != np.floor(x)) & ~tiny
        if np.any(reflect):
            xr = x[reflect]
            cot = np.polynomial.polynomial.polyval(_cot_pi(xr), _cot_derivative(n))
            y[reflect] = psi(1 - xr) - np.pi ** (n + 1) * cot
    return y


def _cot_pi(x: np.ndarray) -> np.ndarray:
    """cot(πx), exact where it is 0: x is reduced to r in [-1/2, 1/2] without rounding, and
    |r| > 1/4 uses cot(πr) = tan(π(1/2 - |r|)) sign r, whose 1/2 - |r| is exact too."""
    r = x - np.round(x)
    a = np.abs(r)
    with np.errstate(divide="ignore"):
        return np.where(a < 0.25, 1 / np.tan(np.pi * r), np.sign(r) * np.tan(np.pi * (0.5 - a)))


@functools.cache
def _cot_derivative(n: int) -> tuple[float, ...]:
    """The coefficients of P with cot^(n)(u) = P(cot u), from P0 = c, P(k+1) = -(1 + c²) Pk'.

    They all have the sign (-1)^n, and P has the parity of n + 1: no cancellation."""
    p = [0, 1]
    for _ in range(n):
        d = [k * p[k] for k in range(1, len(p))]
        p = [-(d[i] if i < len(d) else 0) - (d[i - 2] if i >= 2 else 0) for i in range(len(d) + 2)]
    return tuple(float(a) for a in p)


# ---------------------------------------------------------------------------
# The functions
# ---------------------------------------------------------------------------


def erf(x: Any) -> Variable:
    """The error function, 2/√π ∫_0^x e^(-t²) dt."""
    return Erf()(x)


def erfc(x: Any) -> Variable:
    """The complementary error function, 1 - erf x."""
    return Erfc()(x)


def gamma(x: Any) -> Variable:
    """Γ(x); poles at 0, -1, -2, ..."""
    return Gamma()(x)


def lgamma(x: Any) -> Variable:
    """ln|Γ(x)|."""
    return Lgamma()(x)


def digamma(x: Any) -> Variable:
    """ψ(x) = Γ'(x) / Γ(x)."""
    return Digamma()(x)


def polygamma(n: int, x: Any) -> Variable:
    """ψ^(n)(x), the n-th derivative of ψ, for a whole n ≥ 0 (ψ^(0) = ψ)."""
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"polygamma: the order must be at least 0, not {n}")
    return Polygamma(n)(x)


def factorial(x: Any) -> Variable:
    """x! = Γ(x + 1), for any real x that is not a negative integer: ``gamma(x + 1)``, so its
    graph is a Gamma after an addition."""
    return gamma(as_variable(x) + 1)
