"""dezero.special against mpmath at 40 digits: values, Taylor rules to order 12, backward to
the third derivative, arrays, compositions, and SciPy imported only when first used."""

from __future__ import annotations

import subprocess
import sys

import mpmath
import numpy as np
import pytest

import dezero
import dezero.functions as F
import dezero.special as sp
from dezero import Variable, gradients

DIGITS = 40


def _lgamma(t):
    return mpmath.log(abs(mpmath.gamma(t)))


def _polygamma(n):
    return lambda t: mpmath.polygamma(n, t)


# name, dezero function, mpmath reference, points (negative non-integers where defined)
CASES = [
    ("erf", sp.erf, mpmath.erf, [-1.3, 0.2, 0.7, 2.5]),
    ("erfc", sp.erfc, mpmath.erfc, [-0.8, 0.7, 3.0, 5.0, 5.3]),
    ("gamma", sp.gamma, mpmath.gamma, [0.3, 2.5, 7.2, -0.5, -2.7]),
    ("lgamma", sp.lgamma, _lgamma, [0.3, 2.5, 30.7, -0.5, -2.7, -5.25]),
    ("digamma", sp.digamma, mpmath.digamma, [0.3, 2.5, 30.7, -0.5, -2.7, -5.25]),
    ("polygamma1", lambda x: sp.polygamma(1, x), _polygamma(1), [0.3, 2.5, -2.7]),
    ("polygamma2", lambda x: sp.polygamma(2, x), _polygamma(2), [0.3, 2.5, -2.7, -3.5]),
    ("polygamma5", lambda x: sp.polygamma(5, x), _polygamma(5), [0.3, 2.5, -2.7]),
    ("factorial", sp.factorial, lambda t: mpmath.gamma(t + 1), [0.0, 3.0, 4.5, -0.5]),
]
POINTS = [(name, f, ref, x0) for name, f, ref, points in CASES for x0 in points]
IDS = [f"{name}({x0})" for name, _, _, x0 in POINTS]


def _close(ours, exact, rel):
    exact = float(exact)
    assert abs(float(ours) - exact) <= rel * abs(exact), (float(ours), exact)


@pytest.mark.parametrize(("name", "f", "reference", "x0"), POINTS, ids=IDS)
def test_value_matches_mpmath(name, f, reference, x0):
    y = f(Variable(np.array(x0)))
    assert isinstance(y, Variable)
    with mpmath.workdps(DIGITS):
        _close(y.data, reference(mpmath.mpf(x0)), 1e-14)


@pytest.mark.parametrize(("name", "f", "reference", "x0"), POINTS, ids=IDS)
def test_taylor_rule_matches_mpmath_to_order_12(name, f, reference, x0):
    x = Variable(np.array(x0))
    ours = dezero.taylor(f(x), x, 12).data
    with mpmath.workdps(DIGITS):
        exact = mpmath.taylor(reference, mpmath.mpf(x0), 12)
    scale = max(abs(float(c)) for c in exact)
    for k, (c, e) in enumerate(zip(ours, exact)):
        assert abs(c - float(e)) <= 1e-12 * max(abs(float(e)), 1e-3 * scale), (name, k)


@pytest.mark.parametrize(("name", "f", "reference", "x0"), POINTS, ids=IDS)
def test_backward_to_the_third_derivative_matches_mpmath(name, f, reference, x0):
    x = Variable(np.array(x0))
    y = f(x)
    (first,) = gradients(y, [x])
    (g,) = gradients(y, [x], create_graph=True)
    (second,) = gradients(g, [x], create_graph=True)
    (third,) = gradients(second, [x])
    with mpmath.workdps(DIGITS):
        exact = [mpmath.diff(reference, mpmath.mpf(x0), k) for k in (1, 2, 3)]
    for ours, e in zip((first, g, second, third), [exact[0], *exact]):
        _close(ours.data, e, 1e-12)


@pytest.mark.parametrize(("name", "f", "reference", "points"), CASES, ids=[c[0] for c in CASES])
def test_arrays_are_elementwise(name, f, reference, points):
    x = Variable(np.array(points))
    y = f(x)
    (g,) = gradients(F.sum(y), [x])
    for i, x0 in enumerate(points):
        s = Variable(np.array(x0))
        ys = f(s)
        (gs,) = gradients(ys, [s])
        assert y.data[i] == ys.data
        assert g.data[i] == pytest.approx(float(gs.data), rel=1e-15)


@pytest.mark.parametrize(
    ("f", "reference", "x0"),
    [
        (lambda x: sp.lgamma(F.sin(x) + 2), lambda t: mpmath.loggamma(mpmath.sin(t) + 2), 0.4),
        (lambda x: sp.erf(x * x), lambda t: mpmath.erf(t * t), 0.8),
        (lambda x: sp.gamma(F.exp(-x)), lambda t: mpmath.gamma(mpmath.exp(-t)), 0.3),
        (lambda x: sp.digamma(1 / x), lambda t: mpmath.digamma(1 / t), -0.7),
    ],
    ids=["lgamma(sin x + 2)", "erf(x²)", "gamma(exp(-x))", "digamma(1/x)"],
)
def test_compositions_to_order_8(f, reference, x0):
    x = Variable(np.array(x0))
    ours = dezero.taylor(f(x), x, 8).data
    with mpmath.workdps(DIGITS):
        exact = mpmath.taylor(reference, mpmath.mpf(x0), 8)
    scale = max(abs(float(c)) for c in exact)
    for k, (c, e) in enumerate(zip(ours, exact)):
        assert abs(c - float(e)) <= 1e-12 * max(abs(float(e)), 1e-3 * scale), k


@pytest.mark.parametrize("f", [sp.gamma, sp.lgamma, sp.erfc], ids=["gamma", "lgamma", "erfc"])
def test_series_coefficients_are_differentiable_in_x0(f):
    # d/dx0 of f'''(x0)/3! is f''''(x0)/3! = 4 c4
    x = Variable(np.array(1.7))
    c = dezero.series.coefficients(f(x), x, 4)
    (g,) = gradients(c[3], [x])
    assert float(g.data) == pytest.approx(4 * float(c[4].data), rel=1e-13)


@pytest.mark.parametrize("f", [sp.erf, sp.erfc], ids=["erf", "erfc"])
@pytest.mark.parametrize("x0", [27.4, 40.0, 3e10, 43604424166258.31, -4.6e13, 1e150])
def test_erf_slopes_far_out_are_zero_not_nan(f, x0):
    # 2/√π e^(-x²) is below float64's least number here, whatever the low part of x² (as large
    # as half a unit of x², 1e10 at x = 4.4e13), whose e^(-low) overflowed: 0 · inf gave nan
    x = Variable(np.array(x0))
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        y = f(x)
        (first,) = dezero.backprop.gradient_arrays(y, [x])
        (recorded,) = gradients(y, [x], create_graph=True)
        (second,) = gradients(recorded, [x])
        series = dezero.taylor(y, x, 4).data
    assert float(first) == float(recorded.data) == float(second.data) == 0.0
    assert list(series[1:]) == [0.0] * 4
    assert float(y.data) == float(f(Variable(np.array(np.sign(x0) * 30.0))).data)  # ±1, 0 or 2


def test_the_calculator_reports_a_zero_slope_of_erf_far_out(calc):
    out, err = calc.run("x = 43604424166258.31\nerf(x)\nerfc(-x)")
    assert out.splitlines()[1:] == ["1", "  ∂/∂x = 0", "2", "  ∂/∂x = 0"]
    assert err == ""


@pytest.mark.parametrize("x0", [8.3, 12.7, 18.1, 26.0])
def test_erfc_keeps_full_relative_precision_far_in_the_tail(x0):
    # (d/dx)^k erfc = (-1)^k 2/√π H_(k-1)(x) e^(-x²), exactly: mpmath.taylor and mpmath.diff
    # take differences of step 1e-40 or so, below what erfc is out there
    x = Variable(np.array(x0))
    y = sp.erfc(x)
    series = dezero.taylor(y, x, 12).data
    (g,) = gradients(y, [x], create_graph=True)
    (second,) = gradients(g, [x], create_graph=True)
    (third,) = gradients(second, [x])
    with mpmath.workdps(DIGITS):
        t = mpmath.mpf(x0)

        def exact(k):
            return (
                (-1) ** k
                * 2
                / mpmath.sqrt(mpmath.pi)
                * mpmath.hermite(k - 1, t)
                * mpmath.exp(-t * t)
            )

        _close(y.data, mpmath.erfc(t), 1e-14)
        for k in range(1, 13):
            _close(series[k], exact(k) / mpmath.factorial(k), 1e-12)
        for k, ours in zip((1, 2, 3), (g, second, third)):
            _close(ours.data, exact(k), 1e-12)


def test_polygamma_of_even_order_at_negative_half_integers():
    # SciPy's own sum cancels there: its ψ^(12)(-10.5) is 30 times too large, with the wrong sign
    for n, x0 in [(0, -10.5), (4, -3.5), (6, -3.5), (12, -10.5), (8, -6.25)]:
        with mpmath.workdps(DIGITS):
            exact = mpmath.polygamma(n, mpmath.mpf(x0))
        _close(sp.polygamma(n, x0).data, exact, 1e-14)


def test_high_derivatives_of_lgamma_are_polygamma():
    x = Variable(np.array(2.5))
    y = sp.lgamma(x)
    with mpmath.workdps(DIGITS):
        for n in (10, 25):
            _close(dezero.derivative(y, x, n).data, mpmath.polygamma(n - 1, 2.5), 1e-12)


@pytest.mark.parametrize(
    ("f", "x0", "n", "shift"),
    [
        (sp.digamma, -1.5, 18, 0),
        (sp.digamma, -20.5, 22, 0),
        (sp.digamma, -7.7, 30, 0),
        (sp.lgamma, -2.5, 25, 1),
        (sp.lgamma, -0.3, 12, 1),
        (sp.lgamma, -100.25, 6, 1),
    ],
)
def test_high_derivatives_at_negative_points_do_not_cross_the_poles(f, x0, n, shift):
    # Brought up to x0 + m ≥ 20 + n, the series came back by a sum across the poles at
    # 0, -1, ...: ψ^(18)(-1.5) was -176490368.8 for -176284125.4, and ψ^(24)(-2.5) positive.
    # (mpmath needs 120 digits for the reference: at 50, its ψ^(38)(-20.5) is -0.5 for -7e-8.)
    x = Variable(np.array(x0))
    with mpmath.workdps(120):
        exact = mpmath.polygamma(n - shift, mpmath.mpf(x0))
    _close(dezero.derivative(f(x), x, n).data, exact, 1e-13)


def test_small_facts():
    assert float(sp.factorial(5).data) == pytest.approx(120.0, rel=1e-15)
    assert float(sp.polygamma(0, 3.7).data) == float(sp.digamma(3.7).data)
    assert float(sp.erf(0.3).data + sp.erfc(0.3).data) == pytest.approx(1.0, rel=1e-15)
    assert sp.gamma(np.array([2.0, 3.0])).shape == (2,)
    with pytest.raises(ValueError):
        sp.polygamma(-1, 1.0)
    with pytest.raises(TypeError):
        sp.polygamma(1.5, 1.0)


def test_importing_dezero_does_not_import_scipy():
    code = "import dezero, dezero.special, sys; assert 'scipy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
