"""dezero.quadrature: the QK15 constants, values against mpmath, derivatives of integrals by
backprop and by Taylor mode, and failures that are reported rather than returned."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

import dezero
import dezero.functions as F
from dezero import Config, Variable, no_grad, using_config
from dezero.quadrature import GAUSS, KRONROD, NODES, NotConverged, integrate

mpmath.mp.dps = 30


def close(x, y, rel):
    return abs(float(np.asarray(x)) - float(y)) <= rel * abs(float(y))


# ---- the constants ------------------------------------------------------------------------


@pytest.mark.parametrize("k", range(23))
def test_kronrod_is_exact_to_degree_22(k):
    exact = 2 / (k + 1) if k % 2 == 0 else 0.0
    assert abs(np.sum(KRONROD * NODES**k) - exact) <= 1e-15


@pytest.mark.parametrize("k", range(14))
def test_gauss_is_exact_to_degree_13(k):
    exact = 2 / (k + 1) if k % 2 == 0 else 0.0
    assert abs(np.sum(GAUSS * NODES**k) - exact) <= 1e-15


def test_weights_sum_to_two_and_gauss_nodes_are_legendre():
    assert abs(KRONROD.sum() - 2) <= 1e-15 and abs(GAUSS.sum() - 2) <= 1e-15
    x, w = np.polynomial.legendre.leggauss(7)
    gauss = GAUSS != 0
    np.testing.assert_allclose(NODES[gauss], x, rtol=0, atol=1e-15)
    np.testing.assert_allclose(GAUSS[gauss], w, rtol=0, atol=1e-15)


def test_kronrod_is_not_exact_at_degree_24():
    assert abs(np.sum(KRONROD * NODES**24) - 2 / 25) > 1e-10


# ---- values against mpmath ----------------------------------------------------------------

INF = math.inf
A, B = 0.7, 1.3
CASES = {
    "exp(a t) on [0, b]": (lambda t: F.exp(A * t), lambda t: mpmath.exp(A * t), 0, B),
    "1/(1+t²) on [0, 1]": (lambda t: 1 / (1 + t * t), lambda t: 1 / (1 + t * t), 0, 1),
    "sin on [0, π]": (F.sin, mpmath.sin, 0, math.pi),
    "exp(-t²) on ℝ": (lambda t: F.exp(-t * t), lambda t: mpmath.exp(-t * t), -INF, INF),
    "1/(1+t²) on [0, ∞)": (lambda t: 1 / (1 + t * t), lambda t: 1 / (1 + t * t), 0, INF),
    "exp(-t) on [0, ∞)": (lambda t: F.exp(-t), lambda t: mpmath.exp(-t), 0, INF),
    "t exp(-t) on [2, ∞)": (lambda t: t * F.exp(-t), lambda t: t * mpmath.exp(-t), 2, INF),
    "exp(t) on (-∞, 1]": (F.exp, mpmath.exp, -INF, 1),
    "sqrt on [0, 1]": (F.sqrt, mpmath.sqrt, 0, 1),
}


@pytest.mark.parametrize("name", CASES)
def test_value_against_mpmath(name):
    f, g, a, b = CASES[name]
    ref = mpmath.quad(g, [a, b])
    assert close(integrate(f, a, b).data, ref, 1e-12), name


def test_log_endpoint_singularity_converges():
    assert abs(float(integrate(F.log, 0, 1).data) + 1) <= 1e-10


def test_value_to_the_requested_tolerance():
    ref = mpmath.quad(lambda t: mpmath.exp(-t * t), [0, 3])
    value = integrate(lambda t: F.exp(-t * t), 0, 3, rtol=1e-6).data
    assert close(value, ref, 1e-6)


# ---- derivatives --------------------------------------------------------------------------


def _exp_integral(a=A, b=B):
    a, b = Variable(np.array(a)), Variable(np.array(b))
    return integrate(lambda t: F.exp(a * t), 0, b), a, b


def test_first_derivatives_by_backprop():
    integral, a, b = _exp_integral()
    ga, gb = dezero.gradients(integral, [a, b])
    e = math.exp(A * B)
    assert close(ga.data, B * e / A - (e - 1) / A**2, 1e-11)
    assert close(gb.data, e, 1e-11)


def test_second_derivatives_by_create_graph():
    integral, a, b = _exp_integral()
    ga, gb = dezero.gradients(integral, [a, b], create_graph=True)
    gaa, gab = dezero.gradients(ga, [a, b])
    (gbb,) = dezero.gradients(gb, [b])
    e = math.exp(A * B)
    assert close(gaa.data, B * B * e / A - 2 * B * e / A**2 + 2 * (e - 1) / A**3, 1e-10)
    assert close(gab.data, B * e, 1e-10)
    assert close(gbb.data, A * e, 1e-10)


def test_taylor_mode_in_the_upper_bound():
    integral, _, b = _exp_integral()
    c = dezero.taylor(integral, b, 3).data
    e = math.exp(A * B)
    assert close(c[0], (e - 1) / A, 1e-12)
    for k, want in enumerate([e, A * e / 2, A * A * e / 6], start=1):
        assert close(c[k], want, 1e-10), k


def test_derivative_with_respect_to_the_finite_end_of_an_infinite_interval():
    a = Variable(np.array(0.5))
    (ga,) = dezero.gradients(integrate(lambda t: F.exp(-t), a, INF), [a])
    assert close(ga.data, -math.exp(-0.5), 1e-11)


# ---- orientation, empty intervals, constants ----------------------------------------------


def test_reversed_bounds_negate():
    assert close(integrate(F.sin, math.pi, 0).data, -2.0, 1e-13)
    assert close(integrate(lambda t: F.exp(-t), INF, 0).data, -1.0, 1e-13)
    assert close(integrate(lambda t: F.exp(-t * t), INF, -INF).data, -math.sqrt(math.pi), 1e-13)


def test_equal_bounds_give_zero_with_the_endpoint_derivatives():
    b = Variable(np.array(0.3))
    integral = integrate(F.exp, 0.3, b)
    assert float(integral.data) == 0.0
    (gb,) = dezero.gradients(integral, [b])
    assert close(gb.data, math.exp(0.3), 1e-14)
    assert float(integrate(F.exp, INF, INF).data) == 0.0


def test_constant_integrand():
    c = Variable(np.array(2.5))
    b = Variable(np.array(4.0))
    integral = integrate(lambda t: c, 1, b)
    assert close(integral.data, 7.5, 1e-15)
    gc, gb = dezero.gradients(integral, [c, b])
    assert close(gc.data, 3.0, 1e-15) and close(gb.data, 2.5, 1e-15)
    assert close(integrate(lambda t: 2.0, -1, 1).data, 4.0, 1e-15)


# ---- failures -----------------------------------------------------------------------------


def test_oscillation_with_few_intervals_does_not_converge():
    with pytest.raises(NotConverged) as info:
        integrate(lambda t: F.sin(1 / t), 0, 1, max_intervals=50)
    e = info.value
    assert e.intervals == 50 and math.isfinite(e.estimate) and e.error > 0


def test_divergent_integral_does_not_converge():
    with pytest.raises(NotConverged) as info:
        integrate(lambda t: 1 / t, 0, 1)
    assert info.value.error > 1e-12 * abs(info.value.estimate)


def test_integrand_not_finite():
    with pytest.raises(ValueError, match="the integrand is not finite at t = "):
        with np.errstate(divide="ignore", invalid="ignore"):
            integrate(lambda t: F.log(t - 0.5), 0, 1)


def test_unattainable_tolerance():
    with pytest.raises(ValueError, match="rtol"):
        integrate(F.exp, 0, 1, rtol=0.0)


# ---- the adaptive phase: batched and unrecorded -------------------------------------------


def _recorded(f):
    calls = []

    def g(t):
        calls.append((t.size, Config.enable_backprop))
        return f(t)

    return g, calls


def test_one_call_per_refinement_then_one_final_pass():
    f, calls = _recorded(lambda t: F.exp(-t * t))
    integrate(f, -INF, INF)  # infinite ends: no end terms
    *adaptive, final = calls
    assert adaptive[0][0] == 15 and all(c[0] == 30 for c in adaptive[1:])
    assert final[1] is True and final[0] % 15 == 0 and final[0] > 15
    calls.clear()
    with using_config("enable_backprop", False):
        integrate(f, -INF, INF)
    assert not any(enabled for _, enabled in calls)  # nothing watched, nothing recorded


def test_the_caller_s_mode_is_honoured():
    f, calls = _recorded(F.exp)
    with no_grad():
        integral = integrate(f, 0, 1)
    assert integral.creator is None and not any(enabled for _, enabled in calls)


def _functions_reachable(y):
    seen, todo = set(), [y.creator]
    while todo:
        f = todo.pop()
        if f is None or id(f) in seen:
            continue
        seen.add(id(f))
        todo.extend(x.creator for x in f.inputs)
    return len(seen)


def test_graph_holds_only_the_final_pass_and_the_end_terms():
    # the same graph, whether the answer needs 1 interval or many
    a = Variable(np.array(1.0))
    f, calls = _recorded(lambda t: F.sin(a * t))
    few = integrate(f, 0, math.pi)
    many_calls_before = len(calls)
    many = integrate(f, 0, 20 * math.pi + 1)
    assert len(calls) - many_calls_before > many_calls_before  # it refined more
    assert _functions_reachable(few) == _functions_reachable(many)
