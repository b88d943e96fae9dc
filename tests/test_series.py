"""Taylor mode (dezero.series): each function's rule against mpmath, closed forms at high
order, arrays, and the rules that used to break when differentiated again."""

from __future__ import annotations

import json
import math
import time

import mpmath
import numpy as np
import pytest

import dezero
import dezero.functions as F
import dezero.piecewise as P
from dezero import Variable, gradients

# One line per function: the dezero expression, the same in mpmath, and a point inside
# its domain. Each is checked to order 12 against mpmath's Taylor coefficients.
RULES = [
    ("x + x", lambda x: x + x, lambda t: t + t, 0.7),
    ("x - 3x", lambda x: x - 3 * x, lambda t: t - 3 * t, 0.7),
    ("x * sin x", lambda x: x * F.sin(x), lambda t: t * mpmath.sin(t), 0.7),
    ("x / (1 + x²)", lambda x: x / (1 + x**2), lambda t: t / (1 + t**2), 0.7),
    ("-x", lambda x: -x, lambda t: -t, 0.7),
    ("x ** 3", lambda x: x**3, lambda t: t**3, -1.3),
    ("x ** 2.5", lambda x: x**2.5, lambda t: t**2.5, 1.3),
    ("x ** -2", lambda x: x**-2, lambda t: t**-2, 1.3),
    ("x ** x", lambda x: x**x, lambda t: t**t, 1.3),
    ("2 ** x", lambda x: 2**x, lambda t: 2**t, 1.3),
    ("x + 2", lambda x: x + 2, lambda t: t + 2, 0.7),
    ("2 - x", lambda x: 2 - x, lambda t: 2 - t, 0.7),
    ("x * 2", lambda x: x * 2, lambda t: t * 2, 0.7),
    ("x / 2", lambda x: x / 2, lambda t: t / 2, 0.7),
    ("2 / x", lambda x: 2 / x, lambda t: 2 / t, 0.7),
    ("sin", F.sin, mpmath.sin, 0.7),
    ("cos", F.cos, mpmath.cos, 0.7),
    ("tan", F.tan, mpmath.tan, 0.7),
    ("tanh", F.tanh, mpmath.tanh, 0.7),
    ("exp", F.exp, mpmath.exp, 0.7),
    ("log", F.log, mpmath.log, 0.7),
    ("log2", F.log2, lambda t: mpmath.log(t, 2), 0.7),
    ("log10", F.log10, mpmath.log10, 0.7),
    ("sqrt", F.sqrt, mpmath.sqrt, 0.7),
    ("abs", F.abs, abs, -0.7),
    ("sigmoid", F.sigmoid, lambda t: 1 / (1 + mpmath.exp(-t)), 0.7),
    ("sinh", F.sinh, mpmath.sinh, 0.7),
    ("cosh", F.cosh, mpmath.cosh, -0.7),
    ("asin", F.asin, mpmath.asin, 0.4),
    ("acos", F.acos, mpmath.acos, -0.3),
    ("atan", F.atan, mpmath.atan, 1.7),
    ("asinh", F.asinh, mpmath.asinh, -1.2),
    ("acosh", F.acosh, mpmath.acosh, 1.9),
    ("atanh", F.atanh, mpmath.atanh, 0.6),
    ("cbrt", F.cbrt, lambda t: -mpmath.cbrt(-t) if t < 0 else mpmath.cbrt(t), -2.3),
    ("exp2", F.exp2, lambda t: 2**t, 0.7),
    ("atan2(x, 2)", lambda x: F.atan2(x, np.array(2.0)), lambda t: mpmath.atan2(t, 2), 0.7),
    ("atan2(1, x)", lambda x: F.atan2(np.array(1.0), x), lambda t: mpmath.atan2(1, t), -0.3),
    ("atan2(x, -x²)", lambda x: F.atan2(x, -(x**2)), lambda t: mpmath.atan2(t, -(t**2)), 1.3),
    ("hypot(x, 2x+1)", lambda x: F.hypot(x, 2 * x + 1), lambda t: mpmath.hypot(t, 2 * t + 1), 0.7),
    ("relu", F.relu, lambda t: t, 0.7),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda t: 0.2 * t, -0.7),
    ("clip", lambda x: F.clip(x, -1, 1), lambda t: t, 0.7),
    ("max(x, 2x)", lambda x: F.max(F.stack([x, 2 * x])), lambda t: 2 * t, 0.7),
    ("min(x, 2x)", lambda x: F.min(F.stack([x, 2 * x])), lambda t: t, 0.7),
    ("sum(x·[1,2])", lambda x: F.sum(x * np.array([1.0, 2.0])), lambda t: 3 * t, 0.7),
    ("[x, x²][1]", lambda x: F.stack([x, x**2])[1], lambda t: t**2, 0.7),
    ("reshape", lambda x: F.reshape(F.stack([x, x]), (1, 2))[0, 1], lambda t: t, 0.7),
    ("transpose", lambda x: F.transpose(F.stack([F.stack([x, x**2])]))[1, 0], lambda t: t**2, 0.7),
    (
        "matmul",
        lambda x: F.matmul(F.stack([x, x**2]), F.stack([F.sin(x), x])),
        lambda t: t * mpmath.sin(t) + t**3,
        0.7,
    ),
    (
        "softmax",
        lambda x: F.softmax(F.reshape(F.stack([x, 2 * x]), (1, 2)))[0, 0],
        lambda t: mpmath.exp(t) / (mpmath.exp(t) + mpmath.exp(2 * t)),
        0.7,
    ),
    ("floor(x) + x", lambda x: P.floor(x) + x, lambda t: mpmath.floor(t) + t, 1.3),
    ("ceil(x²)·x", lambda x: P.ceil(x * x) * x, lambda t: mpmath.ceil(t * t) * t, 1.3),
    ("round(x) + sin x", lambda x: P.round(x) + F.sin(x), lambda t: 1 + mpmath.sin(t), 1.3),
    ("sign(x)·x²", lambda x: P.sign(x) * x**2, lambda t: -(t**2), -1.3),
    ("x² // 0.7", lambda x: P.floordiv(x * x, 0.7) + x, lambda t: 2 + t, 1.3),
    (
        "x² % 0.7",
        lambda x: P.mod(x * x, 0.7),
        lambda t: t * t - 0.7 * mpmath.floor(t * t / 0.7),
        1.3,
    ),
    ("3 % x", lambda x: P.mod(3.0, x), lambda t: 3 - t * mpmath.floor(3 / t), 1.3),
    ("max(sin x, x²)", lambda x: P.maximum(F.sin(x), x * x), lambda t: mpmath.sin(t), 0.7),
    ("min(sin x, x², 2)", lambda x: P.minimum(F.sin(x), x * x, 2.0), lambda t: t * t, 0.7),
    ("where(x>1, e^x, x³)", lambda x: P.where(x.data > 1, F.exp(x), x**3), mpmath.exp, 1.3),
    ("where(x>1, e^x, x³)", lambda x: P.where(x.data > 1, F.exp(x), x**3), lambda t: t**3, 0.7),
    (
        "log_softmax",
        lambda x: F.log_softmax(F.reshape(F.stack([x, 2 * x]), (1, 2)))[0, 1],
        lambda t: 2 * t - mpmath.log(mpmath.exp(t) + mpmath.exp(2 * t)),
        0.7,
    ),
]


@pytest.mark.parametrize(("name", "f", "reference", "x0"), RULES, ids=[r[0] for r in RULES])
def test_taylor_rule_matches_mpmath_to_order_12(name, f, reference, x0):
    x = Variable(np.array(x0))
    ours = dezero.taylor(f(x), x, 12).data
    with mpmath.workdps(40):
        exact = mpmath.taylor(reference, mpmath.mpf(x0), 12)
    scale = max(abs(float(c)) for c in exact)
    for k, (c, e) in enumerate(zip(ours, exact)):
        assert abs(c - float(e)) <= 1e-12 * max(abs(float(e)), 1e-3 * scale), (name, k)


def test_taylor_value_and_first_coefficient_are_the_forward_value_and_gradient():
    x = Variable(np.array(0.3))
    y = F.exp(F.sin(x)) / (1 + x**2)
    series = dezero.taylor(y, x, 1).data
    (g,) = gradients(y, [x])
    assert series[0] == pytest.approx(float(y.data), rel=1e-15)
    assert series[1] == pytest.approx(float(g.data), rel=1e-14)


@pytest.mark.parametrize(
    ("f", "derivative", "x0"),
    [
        (F.sin, lambda n, x: math.sin(x + n * math.pi / 2), 0.4),
        (F.exp, lambda n, x: math.exp(x), -0.5),
        (lambda x: 1 / x, lambda n, x: (-1) ** n * math.factorial(n) / x ** (n + 1), 2.0),
        (F.log, lambda n, x: (-1) ** (n - 1) * math.factorial(n - 1) / x**n, 3.0),
    ],
    ids=["sin", "exp", "1/x", "log"],
)
def test_closed_forms_hold_to_order_100(f, derivative, x0):
    x = Variable(np.array(x0))
    y = f(x)
    for n in (10, 50, 100):
        value = float(dezero.derivative(y, x, n).data)
        assert value == pytest.approx(derivative(n, x0), rel=1e-12)


def test_exp_of_sin_to_order_60_matches_mpmath_quickly():
    start = time.perf_counter()
    x = Variable(np.array(0.0))
    ours = dezero.taylor(F.exp(F.sin(x)), x, 60).data
    elapsed = time.perf_counter() - start
    with mpmath.workdps(50):
        exact = mpmath.taylor(lambda t: mpmath.exp(mpmath.sin(t)), 0, 60)
    for c, e in zip(ours, exact):
        assert c == pytest.approx(float(e), rel=1e-12, abs=1e-300)
    assert elapsed < 1.0


def test_arrays_are_elementwise_with_coefficients_on_a_new_axis():
    points = np.array([[0.1, 0.5], [-0.3, 2.0]])
    x = Variable(points.copy())
    ours = dezero.taylor(F.sin(x) * F.exp(x), x, 6).data
    assert ours.shape == (7, 2, 2)
    for index in np.ndindex(points.shape):
        s = Variable(np.array(points[index]))
        alone = dezero.taylor(F.sin(s) * F.exp(s), s, 6).data
        np.testing.assert_allclose(ours[(slice(None), *index)], alone, rtol=1e-15)


def test_a_value_that_does_not_depend_on_x_has_zero_derivatives():
    x = Variable(np.array(1.0))
    c = Variable(np.array(5.0))
    np.testing.assert_array_equal(dezero.taylor(c * 2, x, 3).data, [10.0, 0.0, 0.0, 0.0])


def test_history_upstream_of_x_is_ignored():
    u = Variable(np.array(3.0))
    x = u * u  # x = 9: the series is in x, not in u
    np.testing.assert_allclose(dezero.taylor(x**2, x, 2).data, [81.0, 18.0, 1.0])


def test_coefficients_can_be_differentiated_again_by_reverse_mode():
    x = Variable(np.array(0.5))
    w = Variable(np.array(2.0))
    d2 = dezero.derivative(F.sin(w * x), x, 2)  # -w² sin(w x)
    gx, gw = gradients(d2, [x, w])
    assert float(gx.data) == pytest.approx(-(2.0**3) * math.cos(1.0), rel=1e-14)
    assert float(gw.data) == pytest.approx(-2 * 2 * math.sin(1.0) - 4 * 0.5 * math.cos(1.0))


# ---- rules that must stay exact when differentiated again (nested reverse mode) ----------


def _nested(f, x0: float, order: int) -> float:
    x = Variable(np.array(x0))
    y = f(x)
    for _ in range(order):
        (y,) = gradients(y, [x], create_graph=True)
    return float(y.data)


def test_division_differentiated_ten_times_stays_exact():
    # The book's rule squares the denominator at each order: x^(2^n) overflows.
    assert _nested(lambda x: 1 / x, 2.0, 10) == pytest.approx(1771.875, rel=1e-13)
    assert _nested(lambda x: Variable(np.array(1.0)) / x, 2.0, 10) == pytest.approx(1771.875)


def test_zero_to_a_variable_power_has_slope_zero():
    c = Variable(np.array(2.0))
    (g,) = gradients(0**c, [c], create_graph=True)
    assert float(g.data) == 0.0
    assert float(dezero.derivative(0**c, c, 3).data) == 0.0


@pytest.mark.parametrize("x0", [-700.0, -40.0, 0.0, 40.0, 700.0])
def test_sigmoid_and_its_log_are_accurate_in_the_tails(x0):
    with mpmath.workdps(40):
        exact = 1 / (1 + mpmath.exp(-x0))
        slope = exact * (1 - exact)
        log_exact = mpmath.log(exact)
    x = Variable(np.array(x0))
    y = F.sigmoid(x)
    (g,) = gradients(y, [x])
    assert float(y.data) == pytest.approx(float(exact), rel=1e-14)
    assert float(g.data) == pytest.approx(float(slope), rel=1e-13)
    # Where sigmoid rounds to 1, its log is 0 instead of -e^-x: right to 1e-17, not relatively.
    assert float(F.log(y).data) == pytest.approx(float(log_exact), rel=1e-14, abs=1e-17)
    assert float(dezero.derivative(y, x, 1).data) == pytest.approx(float(slope), rel=1e-13)


def test_tanh_slope_keeps_its_precision_where_tanh_rounds_to_one():
    x = Variable(np.array(20.0))
    (g,) = gradients(F.tanh(x), [x])
    assert float(g.data) == pytest.approx(1 / math.cosh(20.0) ** 2, rel=1e-13)


def test_max_and_min_split_the_gradient_among_ties():
    t = Variable(np.array(1.0))
    for reduce in (F.max, F.min):
        y = reduce(F.stack([t, t, t]))
        (g,) = gradients(y, [t])
        assert float(g.data) == 1.0
        assert float(dezero.derivative(y, t, 1).data) == 1.0
    a = Variable(np.array([3.0, 1.0, 3.0]))
    (g,) = gradients(F.max(a), [a])
    np.testing.assert_array_equal(g.data, [0.5, 0.0, 0.5])


# ---- the calculator ------------------------------------------------------------------------

TABLE = [  # the statement, and the exact value of the last one
    ("x = 2\ndiff(1/x, x, 10)", 1771.875),
    ("g(t) = 1/exp(t)\ng''''''(12)", math.exp(-12)),
    ("q(t) = cos(t) * (2.645 / t)\nx = -0.23\ndiff(q(x), x, 9)", -2316916322134.9683),
    ("x = 0.7\ndiff(sin(x/x), x, 8)", 0.0),
    ("k(t) = sin(t)*exp(t)/(1+t^2)\nx = 0.5\ndiff(k(x), x, 20)", 1.743994248181706e17),
    ("m(t) = max([t, t, t])\nm'(1)", 1.0),
    ("log(sigmoid(-40))", -40.0),
]


@pytest.mark.parametrize(("text", "exact"), TABLE, ids=[t[0].split("\n")[-1] for t in TABLE])
def test_the_calculator_prints_exact_high_order_derivatives(jcalc, text, exact):
    result = jcalc.last(text)
    assert result["value"] == pytest.approx(exact, rel=1e-9, abs=1e-300)


def test_zero_to_a_variable_power_reports_slope_zero(jcalc):
    assert jcalc.last("c = 2\n0 ** c") == {"input": "0 ** c", "value": 0.0, "grad": {"c": 0.0}}


def test_taylor_of_exp_sin_to_order_60_in_the_calculator(run_cli):
    start = time.perf_counter()
    result = run_cli("--json", "-e", "f(t) = exp(sin(t))", "-e", "taylor(f, 0, 60)")
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.splitlines()[-1])["value"]
    with mpmath.workdps(50):
        exact = mpmath.taylor(lambda t: mpmath.exp(mpmath.sin(t)), 0, 60)
    assert len(values) == 61
    for c, e in zip(values, exact):
        assert c == pytest.approx(float(e), rel=1e-12, abs=1e-300)
    assert elapsed < 5.0  # the whole process, start-up included; the work itself is ~20 ms


def test_elementwise_diff_over_an_array_uses_each_elements_series(jcalc):
    result = jcalc.last("v = [0.1, 0.5, 2]\ndiff(sin(v)^2, v, 40)")
    exact = [-(2.0**39) * math.cos(2 * v) for v in (0.1, 0.5, 2.0)]  # d^40 sin² = -2^39 cos 2v
    assert result["value"] == pytest.approx(exact, rel=1e-10)


def test_diff_over_an_array_combined_by_sum_uses_nested_reverse_mode(jcalc):
    result = jcalc.last("v = [0.1, 0.5]\ndiff(sum(v)^3, v, 2)")
    # The gradient of the sum, twice: d/dv_i of Σ_j 3 s² (s = v1 + v2) is 2 · 6s.
    assert result["value"] == pytest.approx([12 * 0.6, 12 * 0.6])
    error = jcalc.last("v = [0.1, 0.5]\ndiff(sum(v)^3, v, 40)")["error"]
    assert "limit 32 when elements are combined" in error["message"]


def test_orders_beyond_the_limit_and_huge_graphs_are_refused(jcalc):
    error = jcalc.last("x = 1\ndiff(x, x, 101)")["error"]
    assert error["message"] == "derivative order 101 is too high (limit 100)"
    big = "+".join(f"sin({i}*x)" for i in range(1, 600))
    error = jcalc.last(f"x = 1\ndiff({big}, x, 100)")["error"]
    assert error["type"] == "ResourceError"
    assert "coefficient products" in error["message"]


# ---- what float64 cannot give is refused, not printed ------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "h(t) = exp(t)^(-1.372) / exp(t / -1.846)\nx = -1.6457\ndiff(h(x), x, 17)",
        "x = -1.4352\ndiff(x / sigmoid(x), x, 40)",
    ],
)
def test_a_derivative_lost_to_rounding_is_refused(jcalc, text):
    error = jcalc.last(text)["error"]
    assert error["type"] == "PrecisionError"
    assert "cannot be computed to 9 digits here: rounding errors are amplified" in error["message"]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("x = 1e-12\ndiff((exp(x) - 1)/x, x, 2)", "1.778011637e+20"),  # true: 1/3
        ("x = 1e-12\ndiff(sin(x)/x, x, 4)", "-8e+24"),  # true: 1/5
        ("x = [1, 1e-12]\ndiff(sin(x)/x, x, 4)", "-8e+24"),
    ],
)
def test_a_derivative_whose_nearby_point_is_not_finite_is_refused(jcalc, text, shown):
    # x0 - 1e-12 is 0 here, where the quotient is 0/0: the check had nothing to compare
    # with, and let the derivative through.
    error = jcalc.last(text)["error"]
    assert error["type"] == "PrecisionError"
    where = " (at element (1,))" if "[" in text else ""
    assert error["message"] == (
        f"the derivative of order {text[-2]} cannot be vouched for here{where}: it comes out "
        f"as {shown}, and as nan at a point 1e-12 away, where it is checked"
    )


LONGDOUBLE = np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant


@pytest.mark.skipif(not LONGDOUBLE, reason="no extended precision on this platform")
@pytest.mark.parametrize(
    ("text", "true"),
    [
        # Each was printed, the nearby points agreeing: their rounding is the same there.
        ("x = 1e-8\ndiff(sin(x)/x, x, 2)", -1 / 3),  # printed -1
        ("x = 1e-8\ndiff(tan(x)/x, x, 2)", 2 / 3),  # printed 2
        ("x = 2\ndiff(x/sigmoid(x), x, 20)", -18 * math.exp(-2)),  # off by 1.8e-9
        # Below 1e-12 of the value, they passed as rounding noise around 0.
        ("x = 1\ndiff(exp(x)*exp(-x)*1e14 + x^3, x, 3)", 6.0),  # printed 6.0167
        ("x = 100\ndiff(log(exp(x)*x), x, 10)", -math.factorial(9) / 100**10),  # -2.04e-14
        ("x = -26\ndiff(log(sigmoid(x)), x, 2)", -5.1090890280111e-12),  # 1e-5 off
        ("x = 1e10\ndiff((1+1/x)^x, x, 2)", -2.7182818277115e-30),  # 6.5e-5 off
        # Through a special function too (SciPy's values in float64, the rest extended).
        ("x = 150\ndiff(log(gamma(x)), x, 6)", 3.2135198756951330e-10),  # 6.9e-2 off
        ("x = 150\ndiff(log(gamma(x)), x, 7)", -1.0747318e-11),  # printed -3.0e-10
    ],
)
def test_a_derivative_that_float64_rounds_the_same_nearby_is_refused(jcalc, text, true):
    error = jcalc.last(text)["error"]
    assert error["type"] == "PrecisionError"
    assert "cannot be computed to 9 digits here: float64's rounding decides it" in error["message"]
    extended = float(error["message"].split("and as ")[1].split()[0])
    assert extended == pytest.approx(true, rel=1e-2)  # what the 11 more bits found


@pytest.mark.skipif(not LONGDOUBLE, reason="no extended precision on this platform")
def test_taylor_refuses_a_coefficient_that_float64_rounds_the_same_nearby(jcalc):
    error = jcalc.last("f(t) = sin(t)/t\ntaylor(f, 1e-9, 2)")["error"]  # printed -0.5 for -1/6
    assert error["type"] == "PrecisionError"
    assert error["message"].startswith("the coefficient of order 2 ")
    assert error["message"].endswith("orders up to 1 can be computed")
    # Rounding noise around a true 0 shrinks with precision, and still passes as noise.
    value = jcalc.last("x = 2\ndiff(sin(x)^2 + cos(x)^2, x, 3)")["value"]
    assert abs(value) < 1e-15


def test_taylor_names_the_first_coefficient_it_cannot_vouch_for(jcalc):
    error = jcalc.last("h(t) = exp(t)^(-1.372) / exp(t / -1.846)\ntaylor(h, 0, 30)")["error"]
    assert error["type"] == "PrecisionError"
    assert error["message"].startswith("the coefficient of order ")
    k = int(error["message"].split()[4])
    assert 5 < k < 30
    assert error["message"].endswith(f"orders up to {k - 1} can be computed")
    values = jcalc.last(f"h(t) = exp(t)^(-1.372) / exp(t / -1.846)\ntaylor(h, 0, {k - 1})")
    with mpmath.workdps(40):
        c = -1.372 + 1 / 1.846  # h(t) = e^(c t)
        exact = [c**j / math.factorial(j) for j in range(k)]
    assert values["value"] == pytest.approx(exact, rel=1e-9)


def test_a_derivative_that_cancels_to_zero_shows_as_rounding_noise(jcalc):
    result = jcalc.last("s(t) = sin(t)^2 + cos(t)^2\ntaylor(s, 0.3, 10)")
    assert result["value"][0] == pytest.approx(1.0, rel=1e-15)
    assert all(abs(c) <= 1e-12 for c in result["value"][1:])


def test_the_sinh_cosh_pair_matches_mpmath():
    # The recurrence that sinh and cosh (with the language's other functions) will use.
    from dezero import series as S

    x0 = 0.3
    x = [Variable(np.array(x0)), Variable(np.array(1.0))] + [S.ZERO] * 11
    s, c = S.sinh_cosh(x, Variable(np.array(math.sinh(x0))), Variable(np.array(math.cosh(x0))))
    with mpmath.workdps(40):
        exact_s = mpmath.taylor(mpmath.sinh, mpmath.mpf(x0), 12)
        exact_c = mpmath.taylor(mpmath.cosh, mpmath.mpf(x0), 12)
    for ours, exact in ((s, exact_s), (c, exact_c)):
        for k, (a, e) in enumerate(zip(ours, exact)):
            assert float(a.data) == pytest.approx(float(e), rel=1e-14), k
