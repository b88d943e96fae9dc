"""The mathematics: built-in functions, array operations, derivatives of every order,
gradients and Hessians, Taylor coefficients, Newton's method, and the graph.

Values and gradients are checked against closed forms and against central differences
computed from the calculator's own values.
"""

import math
import shutil

import mpmath
import numpy as np
import pytest

# ---- elementwise functions: value and gradient at several points -----------------------


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _relu(x):
    return max(x, 0.0)


# name, value, derivative, points (both sides of every kink)
ELEMENTWISE = [
    ("sin",     np.sin,     np.cos,                                 [-2.0, 0.0, 0.5, 3.0]),
    ("cos",     np.cos,     lambda x: -np.sin(x),                   [-2.0, 0.0, 0.5, 3.0]),
    ("tan",     np.tan,     lambda x: 1 / np.cos(x) ** 2,           [-1.0, 0.0, 0.5, 1.2]),
    ("tanh",    np.tanh,    lambda x: 1 - np.tanh(x) ** 2,          [-3.0, 0.0, 0.5, 2.0]),
    ("exp",     np.exp,     np.exp,                                 [-2.0, 0.0, 1.0, 3.0]),
    ("log",     np.log,     lambda x: 1 / x,                        [0.1, 1.0, 2.5, 100.0]),
    ("ln",      np.log,     lambda x: 1 / x,                        [0.1, 1.0, 2.5, 100.0]),
    ("log2",    np.log2,    lambda x: 1 / (x * np.log(2)),          [0.1, 1.0, 8.0]),
    ("log10",   np.log10,   lambda x: 1 / (x * np.log(10)),         [0.1, 1.0, 1000.0]),
    ("sqrt",    np.sqrt,    lambda x: 0.5 / np.sqrt(x),             [0.01, 1.0, 4.0, 10.0]),
    ("abs",     np.abs,     np.sign,                                [-2.0, -1e-3, 1e-3, 2.0]),
    ("sigmoid", _sigmoid,   lambda x: _sigmoid(x) * _sigmoid(-x),   [-5.0, 0.0, 0.5, 5.0]),
    ("relu",    _relu,      lambda x: float(x > 0),                 [-2.0, -1e-3, 1e-3, 2.0]),
    ("sinh",    np.sinh,    np.cosh,                                [-2.0, 0.0, 0.5, 3.0]),
    ("cosh",    np.cosh,    np.sinh,                                [-2.0, 0.0, 0.5, 3.0]),
    ("asin",    np.arcsin,  lambda x: 1 / np.sqrt(1 - x * x),       [-0.9, 0.0, 0.5]),
    ("acos",    np.arccos,  lambda x: -1 / np.sqrt(1 - x * x),      [-0.9, 0.0, 0.5]),
    ("atan",    np.arctan,  lambda x: 1 / (1 + x * x),              [-3.0, 0.0, 0.5, 40.0]),
    ("asinh",   np.arcsinh, lambda x: 1 / np.sqrt(x * x + 1),       [-3.0, 0.0, 0.5]),
    ("acosh",   np.arccosh, lambda x: 1 / np.sqrt(x * x - 1),       [1.5, 3.0]),
    ("atanh",   np.arctanh, lambda x: 1 / (1 - x * x),              [-0.9, 0.0, 0.5]),
    ("cbrt",    np.cbrt,    lambda x: 1 / (3 * np.cbrt(x) ** 2),    [-8.0, -0.1, 2.0]),
    ("exp2",    np.exp2,    lambda x: np.exp2(x) * np.log(2),       [-3.0, 0.0, 10.0]),
]  # fmt: skip

ELEMENTWISE_CASES = [
    pytest.param(name, f, df, x, id=f"{name}({x})") for name, f, df, xs in ELEMENTWISE for x in xs
]


@pytest.mark.parametrize(("name", "f", "df", "x"), ELEMENTWISE_CASES)
def test_elementwise_value_and_gradient_match_closed_forms(jcalc, name, f, df, x):
    value, prime = jcalc.json(f"x = {x!r}\n{name}(x)\n{name}'(x)")[1:]
    assert value["value"] == pytest.approx(f(x), rel=1e-14, abs=1e-300)
    assert value["grad"]["x"] == pytest.approx(df(x), rel=1e-13, abs=1e-300)
    assert prime["value"] == pytest.approx(value["grad"]["x"], rel=2e-16)  # Taylor vs reverse


@pytest.mark.parametrize(("name", "f", "df", "x"), ELEMENTWISE_CASES)
def test_elementwise_gradient_matches_central_differences(jcalc, name, f, df, x):
    h = 1e-6 * max(1.0, abs(x))
    at, ahead, behind = jcalc.json(f"x = {x!r}; {name}(x); {name}({x + h!r}); {name}({x - h!r})")[
        1:
    ]
    central = (ahead["value"] - behind["value"]) / (2 * h)
    assert at["grad"]["x"] == pytest.approx(central, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize(("name", "slope"), [("abs", 0.0), ("relu", 0.0)])
def test_kinks_take_slope_zero_exactly_at_zero(jcalc, name, slope):
    assert jcalc.last(f"x = 0\n{name}(x)")["grad"] == {"x": slope}


def test_elementwise_functions_apply_to_each_element_of_an_array(jcalc):
    result = jcalc.last("a = [0, 1, 2]\nexp(a)")
    assert result["value"] == pytest.approx(np.exp([0.0, 1.0, 2.0]), rel=1e-15)
    assert result["grad"]["a"] == pytest.approx(np.exp([0.0, 1.0, 2.0]), rel=1e-15)


@pytest.mark.parametrize(
    ("text", "value", "warning"),
    [
        ("log(-1)", "nan", "invalid value in log() (result contains nan)"),
        ("sqrt(-1)", "nan", "invalid value in sqrt() (result contains nan)"),
        ("log10(-2)", "nan", "invalid value in log10() (result contains nan)"),
        ("log(0)", "-inf", "division by zero in log() (result contains -inf)"),
    ],
)
def test_domain_errors_give_nan_and_a_warning_naming_the_function(calc, text, value, warning):
    assert calc.run(text) == (value + "\n", f"warning: {warning}\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sin(1, 2)", "sin takes 1 argument (sin(x)), got 2"),
        ("exp()", "exp takes 1 argument (exp(x)), got 0"),
        ("sum()", "sum takes 1 to 2 arguments (sum(a, [axis])), got 0"),
        ("linspace(0, 1)", "linspace takes 3 arguments (linspace(a, b, n)), got 2"),
        ("[1, 2] @ [1, 2, 3]",
         "shapes (2,) and (3,) do not fit a matrix product (inner sizes 2 and 3 differ)"),
        ("dot([1, 2], [1, 2, 3])",
         "shapes (2,) and (3,) do not fit a matrix product (inner sizes 2 and 3 differ)"),
        ("[[1, 2]] @ [[1, 2]]",
         "shapes (1, 2) and (1, 2) do not fit a matrix product (inner sizes 2 and 1 differ)"),
        ("[1, 2] @ 2", "a matrix product needs arrays, not scalars: use '*'"),
        ("reshape([1, 2, 3], [2, 2])",
         "cannot reshape an array of shape (3,) (3 elements) into [2, 2]"),
        ("sum([[1, 2]], 2)", "axis 2 is out of range for an array of 2 dimensions"),
        ("sum([1, 2], 0.5)", "the axis must be a whole number, got 0.5"),
        ("zeros(1.5)", "the shape must be a whole number, got 1.5"),
        ("zeros(10**12)", "this array would need 7.3 TiB for an array of shape (1000000000000,), "
                          "over the statement's memory budget of 1.0 GiB"),
        ("linspace(0, 1, -1)", "the number of points cannot be negative"),
        ("arange(0, 1, 0)", "the step of arange cannot be zero"),
        ("arange(0, 1/0)", "arange needs finite ends"),
        ("[1, 2, 3][3]", "index 3 is out of range for axis 0 with size 3"),
        ("[[1, 2]][0, 0, 0]", "too many indices: 3 for an array of 2 dimension(s)"),
    ],
)  # fmt: skip
def test_wrong_arity_and_wrong_shapes_are_clear_errors(jcalc, text, message):
    assert jcalc.last(text)["error"]["message"] == message


# ---- reductions, shapes, products and indexing, with gradients of the right shape ---------

A = "a = [[1, 2, 3], [4, 5, 6]]"
ONES = [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]

ARRAY_CASES = [
    # expression,            value,                                   ∂(sum of value)/∂a
    ("sum(a)",               21.0,                                    ONES),
    ("sum(a, 0)",            [5.0, 7.0, 9.0],                         ONES),
    ("sum(a, 1)",            [6.0, 15.0],                             ONES),
    ("sum(a, -1)",           [6.0, 15.0],                             ONES),
    ("mean(a)",              3.5,                                     [[1 / 6] * 3] * 2),
    ("mean(a, 0)",           [2.5, 3.5, 4.5],                         [[0.5] * 3] * 2),
    ("max(a)",               6.0,                                     [[0, 0, 0], [0, 0, 1]]),
    ("maxalong(a, 0)",       [4.0, 5.0, 6.0],                         [[0, 0, 0], [1, 1, 1]]),
    ("min(a)",               1.0,                                     [[1, 0, 0], [0, 0, 0]]),
    ("minalong(a, 1)",       [1.0, 4.0],                              [[1, 0, 0], [1, 0, 0]]),
    ("transpose(a)",         [[1, 4], [2, 5], [3, 6]],                ONES),
    ("a.T",                  [[1, 4], [2, 5], [3, 6]],                ONES),
    ("reshape(a, [3, 2])",   [[1, 2], [3, 4], [5, 6]],                ONES),
    ("reshape(a, [6])",      [1, 2, 3, 4, 5, 6],                      ONES),
    ("reshape(a, [-1])",     [1, 2, 3, 4, 5, 6],                      ONES),
    ("a @ [1, 0, 2]",        [7.0, 16.0],                             [[1, 0, 2], [1, 0, 2]]),
    ("dot(a, [1, 0, 2])",    [7.0, 16.0],                             [[1, 0, 2], [1, 0, 2]]),
    ("[1, 1] @ a",           [5.0, 7.0, 9.0],                         ONES),
    ("a @ a.T",              [[14, 32], [32, 77]],                    [[10, 14, 18], [10, 14, 18]]),
    ("a * a",                [[1, 4, 9], [16, 25, 36]],               [[2, 4, 6], [8, 10, 12]]),
    ("a * [10, 0, 1]",       [[10, 0, 3], [40, 0, 6]],                [[10, 0, 1], [10, 0, 1]]),
    ("a[0]",                 [1.0, 2.0, 3.0],                         [[1, 1, 1], [0, 0, 0]]),
    ("a[-1]",                [4.0, 5.0, 6.0],                         [[0, 0, 0], [1, 1, 1]]),
    ("a[0, 1]",              2.0,                                     [[0, 1, 0], [0, 0, 0]]),
    ("a[1, -1]",             6.0,                                     [[0, 0, 0], [0, 0, 1]]),
    ("a[:, 1]",              [2.0, 5.0],                              [[0, 1, 0], [0, 1, 0]]),
    ("a[0, 1:3]",            [2.0, 3.0],                              [[0, 1, 1], [0, 0, 0]]),
    ("a[:, ::2]",            [[1, 3], [4, 6]],                        [[1, 0, 1], [1, 0, 1]]),
    ("a[[0, 0], 0]",         [1.0, 1.0],                              [[2, 0, 0], [0, 0, 0]]),
    ("a.T[2, 1]",            6.0,                                     [[0, 0, 0], [0, 0, 1]]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "value", "grad"), ARRAY_CASES)
def test_array_operation_value_and_gradient(jcalc, text, value, grad):
    result = jcalc.last(f"{A}\n{text}")
    np.testing.assert_allclose(result["value"], value, rtol=1e-15)
    grad_a = np.array(result["grad"]["a"])
    assert grad_a.shape == (2, 3)
    np.testing.assert_allclose(grad_a, grad, rtol=1e-15)


@pytest.mark.parametrize(
    ("text", "value", "grad"),
    [
        ("v[0]", 1.0, [1, 0, 0, 0]),
        ("v[-1]", 4.0, [0, 0, 0, 1]),
        ("v[1:3]", [2.0, 3.0], [0, 1, 1, 0]),
        ("v[::2]", [1.0, 3.0], [1, 0, 1, 0]),
        ("v[::-1]", [4.0, 3.0, 2.0, 1.0], [1, 1, 1, 1]),
        ("v @ v", 30.0, [2, 4, 6, 8]),
        ("sum(v ** 3)", 100.0, [3, 12, 27, 48]),
        ("max(v * [1, -1, 1, -1])", 3.0, [0, 0, 1, 0]),
    ],
)
def test_vector_indexing_and_products_with_gradients(jcalc, text, value, grad):
    result = jcalc.last(f"v = [1, 2, 3, 4]\n{text}")
    assert result["value"] == value
    assert result["grad"] == {"v": [float(g) for g in grad]}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("zeros(3)", [0.0, 0.0, 0.0]),
        ("zeros([2, 3])", [[0.0] * 3] * 2),
        ("ones(2)", [1.0, 1.0]),
        ("ones([2, 1])", [[1.0], [1.0]]),
        ("zeros(0)", []),
        ("linspace(0, 1, 5)", [0.0, 0.25, 0.5, 0.75, 1.0]),
        ("linspace(-1, 1, 3)", [-1.0, 0.0, 1.0]),
        ("linspace(2, 3, 1)", [2.0]),
        ("arange(0, 1, 0.25)", [0.0, 0.25, 0.5, 0.75]),
        ("arange(3)", [0.0, 1.0, 2.0]),
        ("arange(1, 3)", [1.0, 2.0]),
        ("arange(3, 0, -1)", [3.0, 2.0, 1.0]),
        ("arange(1, 0)", []),
    ],
)
def test_array_constructors(jcalc, text, value):
    assert jcalc.last(text)["value"] == value


def test_linspace_is_differentiable_in_both_ends(jcalc):
    result = jcalc.last("lo = 0\nhi = 1\nlinspace(lo, hi, 5)")
    assert result["grad"] == {"lo": 2.5, "hi": 2.5}


@pytest.mark.parametrize(("lo", "hi", "n"), [(0.1, 0.7, 999), (-3e5, 1 / 3, 77), (2, -1e-9, 10)])
def test_linspace_gives_the_same_numbers_with_a_graph_and_without(jcalc, lo, hi, n):
    # Without a gradient to report it is computed in place, in one array: the same steps
    recorded = jcalc.last(f"lo = {lo!r}\nlinspace(lo, {hi!r}, {n})")
    plain = jcalc.last(f"linspace({lo!r}, {hi!r}, {n})")
    without = jcalc.json(f":nograd\nlinspace(lo, {hi!r}, {n})\n:nograd")[1]
    assert recorded["grad"] and not plain["grad"] and not without.get("grad")
    assert recorded["value"] == plain["value"] == without["value"]


def test_matrix_vector_gradient_flows_to_both_operands(jcalc):
    result = jcalc.last("m = [[1, 2], [3, 4]]\nw = [1, -1]\nm @ w")
    assert result["value"] == [-1.0, -1.0]
    assert result["grad"] == {"m": [[1.0, -1.0], [1.0, -1.0]], "w": [4.0, 6.0]}


# ---- derivatives by primes --------------------------------------------------------------

QUARTIC = "f(x) = x**4 - 2*x**2"


@pytest.mark.parametrize(
    ("primes", "value"),
    [("", 8.0), ("'", 24.0), ("''", 44.0), ("'''", 48.0), ("''''", 24.0), ("'''''", 0.0)],
)
def test_primes_of_a_polynomial_are_exact(jcalc, primes, value):
    assert jcalc.last(f"{QUARTIC}\nf{primes}(2)")["value"] == value


def test_fourth_derivative_of_sin_is_sin_within_one_ulp(jcalc):
    value = jcalc.last("sin''''(1)")["value"]
    assert abs(value - math.sin(1)) <= math.ulp(math.sin(1))


def test_derivative_of_sin_at_zero_is_one(jcalc):
    assert jcalc.last("sin'(0)")["value"] == 1.0


def test_prime_of_an_array_is_elementwise(jcalc):
    result = jcalc.last(f"{QUARTIC}\nf'(linspace(0, 1, 5))")
    xs = np.linspace(0, 1, 5)
    assert result["value"] == pytest.approx(4 * xs**3 - 4 * xs, abs=1e-15)


def test_prime_at_a_variable_reports_its_gradient(jcalc):
    result = jcalc.last(f"{QUARTIC}\nx = 2\nf'(x)")
    assert (result["value"], result["grad"]) == (24.0, {"x": 44.0})


def test_prime_on_a_function_of_two_parameters_suggests_diff(jcalc):
    error = jcalc.last("g(x, y) = x*y + sin(y)\ng'(1)")["error"]
    assert error["message"] == (
        "the derivative g' needs a function of one variable, but g takes 2 arguments; "
        "for a partial derivative use diff(g(x1, x2), x1)"
    )


def test_prime_on_a_variable_is_an_error(jcalc):
    error = jcalc.last("x = 1\nx'(2)")["error"]
    assert error["message"] == "'x' is not a function: primes (') mark derivatives of functions"


def test_derivative_order_is_limited(jcalc):
    error = jcalc.last(f"{QUARTIC}\nf{chr(39) * 101}(1)")["error"]
    assert error["message"] == "derivative order 101 is too high (limit 100)"


def _log_derivative(n):
    return lambda x: (-1) ** (n - 1) * math.factorial(n - 1) / x**n


def _tanh_derivatives(x):
    t = math.tanh(x)
    s = 1 - t * t
    return [t, s, -2 * t * s, s * (6 * t * t - 2), 8 * s * t * (2 - 3 * t * t),
            8 * s * (15 * t**4 - 15 * t * t + 2)]  # fmt: skip


# The n-th derivative, n = 0..5, of each function.
HIGHER_ORDER = {
    "p": lambda x: [x**5 - 3 * x**3 + 2 * x, 5 * x**4 - 9 * x**2 + 2, 20 * x**3 - 18 * x,
                    60 * x**2 - 18, 120 * x, 120.0],
    "sin": lambda x: [math.sin(x), math.cos(x), -math.sin(x), -math.cos(x), math.sin(x),
                      math.cos(x)],
    "exp": lambda x: [math.exp(x)] * 6,
    "log": lambda x: [math.log(x)] + [_log_derivative(n)(x) for n in range(1, 6)],
    "tanh": _tanh_derivatives,
}  # fmt: skip

HIGHER_ORDER_CASES = [
    pytest.param(name, x, n, id=f"{name}{chr(39) * n}({x})")
    for name, points in [
        ("p", [-1.5, 0.0, 2.0]),
        ("sin", [0.0, 1.0, -2.5]),
        ("exp", [-1.0, 0.0, 2.0]),
        ("log", [0.5, 1.0, 3.0]),
        ("tanh", [-0.7, 0.0, 1.3]),
    ]
    for x in points
    for n in range(1, 6)
]


@pytest.mark.parametrize(
    ("text", "reference", "point"),
    [
        ("atan2(y, x)", lambda y, x: mpmath.atan2(y, x), (1.5, -0.5)),
        ("hypot(y, x)", lambda y, x: mpmath.hypot(y, x), (-2.0, 0.7)),
        ("log(y, x)", lambda y, x: mpmath.log(y, x), (8.0, 2.0)),
    ],
)
def test_functions_of_two_values_and_their_gradients_match_mpmath(jcalc, text, reference, point):
    y, x = point
    result = jcalc.json(f"y = {y!r}; x = {x!r}; {text}")[-1]
    with mpmath.workdps(30):
        value = reference(mpmath.mpf(y), mpmath.mpf(x))
        dy = mpmath.diff(lambda t: reference(t, mpmath.mpf(x)), mpmath.mpf(y))
        dx = mpmath.diff(lambda t: reference(mpmath.mpf(y), t), mpmath.mpf(x))
    assert result["value"] == pytest.approx(float(value), rel=1e-15)
    assert result["grad"]["y"] == pytest.approx(float(dy), rel=1e-14)
    assert result["grad"]["x"] == pytest.approx(float(dx), rel=1e-14)


@pytest.mark.parametrize(
    ("name", "reference", "x"),
    [
        ("asin", mpmath.asin, 0.3), ("acos", mpmath.acos, -0.6), ("atan", mpmath.atan, 2.0),
        ("sinh", mpmath.sinh, 1.1), ("cosh", mpmath.cosh, -0.4), ("asinh", mpmath.asinh, 0.8),
        ("acosh", mpmath.acosh, 2.5), ("atanh", mpmath.atanh, -0.35), ("exp2", lambda t: 2**t, 1.5),
        ("cbrt", mpmath.cbrt, 3.0),
    ],
)  # fmt: skip
def test_new_functions_differentiate_to_order_six_as_mpmath_does(jcalc, name, reference, x):
    results = jcalc.json("\n".join(f"{name}{chr(39) * n}({x!r})" for n in range(1, 7)))
    with mpmath.workdps(30):
        exact = [mpmath.diff(reference, mpmath.mpf(x), n) for n in range(1, 7)]
    for n, (got, want) in enumerate(zip(results, exact), start=1):
        assert got["value"] == pytest.approx(float(want), rel=1e-11), n


@pytest.mark.parametrize(("name", "x", "order"), HIGHER_ORDER_CASES)
def test_derivatives_up_to_fifth_order_match_closed_forms(jcalc, name, x, order):
    expected = HIGHER_ORDER[name](x)[order]
    results = jcalc.json(
        f"p(t) = t**5 - 3*t**3 + 2*t\n{name}{chr(39) * order}({x!r})\n"
        f"x = {x!r}\ndiff({name}(x), x, {order})"
    )
    prime, by_diff = results[1]["value"], results[3]["value"]
    assert prime == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert by_diff == pytest.approx(prime, rel=1e-14, abs=1e-14)


# ---- diff ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "grad"),
    [
        ("diff(x**3, x)", 12.0, {"x": 12.0}),
        ("diff(x**3, x, 2)", 12.0, {"x": 6.0}),
        ("diff(x**3, x, 3)", 6.0, {}),  # a constant: nothing upstream
        ("diff(x**3, x, 0)", 8.0, {"x": 12.0}),
        ("diff(x**3 * y, y)", 8.0, {"x": 12.0}),
        ("diff(x**3 * y, x)", 36.0, {"x": 36.0, "y": 12.0}),
        ("diff(diff(x**2 * y, x), y)", 4.0, {"x": 2.0}),
        ("diff(diff(x**2 * y, y), x)", 4.0, {"x": 2.0}),
        ("diff(sin(x) * y, x, 4)", 3 * math.sin(2), {"x": 3 * math.cos(2), "y": math.sin(2)}),
        ("diff(5, x)", 0.0, {}),
        ("diff(y ** 2, x)", 0.0, {}),
    ],
)
def test_diff_of_an_expression(jcalc, text, value, grad):
    result = jcalc.last(f"x = 2\ny = 3\n{text}")
    assert result["value"] == pytest.approx(value, rel=1e-15)
    assert result["grad"] == pytest.approx(grad, rel=1e-15)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("x ** 0", (1.0, 0.0)), ("x ** 1", (0.0, 1.0)), ("diff(x ** 3, x, 4)", (0.0, 0.0))],
)
def test_powers_at_zero_have_finite_derivatives(jcalc, text, expected):
    result = jcalc.last(f"x = 0\n{text}")
    # A derivative that is identically 0 (x³ four times) no longer depends on x at all.
    assert (result["value"], result["grad"].get("x", 0.0)) == expected
    assert "warnings" not in result


def test_power_with_a_variable_exponent_at_base_zero_has_finite_gradients(jcalc):
    result = jcalc.last("x = 0\nn = 2\nx ** n")
    assert result == {"input": "x ** n", "value": 0.0, "grad": {"x": 0.0, "n": 0.0}}


def test_diff_of_an_array_expression_is_elementwise(jcalc):
    assert jcalc.last("v = [1, 2, 3]\ndiff(v ** 2, v)")["value"] == [2.0, 4.0, 6.0]


def test_diff_with_a_user_function(jcalc):
    assert jcalc.last(f"{QUARTIC}\nx = 2\ndiff(f(x), x, 2)")["value"] == 44.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("diff(x**2, 3)", "the second argument of diff must be a variable, as in diff(x**2, x)"),
        ("diff(sin, x)", "diff takes an expression, e.g. diff(f(x), x); for a function use f'"),
        ("diff(x**2, x, -1)", "the order of diff cannot be negative"),
        ("diff(x**2, x, 1.5)", "the order of diff must be a whole number, got 1.5"),
        ("diff(x**2, x, sin)", "the order of diff must be a whole number"),
        ("diff(x**2)", "diff takes 2 or 3 arguments (diff(expr, x, n)), got 1"),
    ],
)
def test_diff_misuse_is_a_clear_error(jcalc, text, message):
    assert jcalc.last(f"x = 2\n{text}")["error"]["message"] == message


# ---- grad and hessian --------------------------------------------------------------------

G = "g(x, y) = x*y + sin(y)"


def test_grad_is_the_vector_of_partials(jcalc):
    assert jcalc.last(f"{G}\ngrad(g)(1, 2)")["value"] == [2.0, 1 + math.cos(2)]


def test_hessian_is_the_matrix_of_second_partials(jcalc):
    assert jcalc.last(f"{G}\nhessian(g)(1, 2)")["value"] == [[0.0, 1.0], [1.0, -math.sin(2)]]


def test_hessian_of_three_variables_is_symmetric(jcalc):
    result = jcalc.last("q(x, y, z) = x*y*z + x**2\nhessian(q)(1, 2, 3)")
    assert result["value"] == [[2.0, 3.0, 2.0], [3.0, 0.0, 1.0], [2.0, 1.0, 0.0]]


def test_grad_of_a_builtin(jcalc):
    assert jcalc.last("grad(sin)(0)")["value"] == [1.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("grad(g)(1)", "grad(g) takes 2 argument(s), got 1"),
        ("hessian(g)(1, 2, 3)", "hessian(g) takes 2 argument(s), got 3"),
        ("grad(g)([1, 2], [3, 4])", "grad(g) needs numbers as arguments"),
        ("grad(5)", "grad takes a function, as in grad(f)"),
        ("grad(diff)", "grad takes a function, as in grad(f)"),
        ("grad(h)(1)", "h must return a number"),
    ],
)
def test_grad_misuse_is_a_clear_error(jcalc, text, message):
    assert jcalc.last(f"{G}\nh(t) = [t, t]\n{text}")["error"]["message"] == message


# ---- taylor --------------------------------------------------------------------------


def test_taylor_coefficients_of_sin_around_zero(calc):
    assert calc.run("taylor(sin, 0, 5)") == (
        "[                   0                    1                    0 -0.16666666666666666\n"
        "                    0 0.008333333333333333]\n",
        "",
    )


@pytest.mark.parametrize(
    ("source", "coefficients"),
    [
        ("taylor(sin, 0, 5)", [0.0, 1.0, 0.0, -1 / 6, 0.0, 1 / 120]),
        ("taylor(exp, 0, 4)", [1.0, 1.0, 1 / 2, 1 / 6, 1 / 24]),
        (f"{QUARTIC}\ntaylor(f, 2, 4)", [8.0, 24.0, 22.0, 8.0, 1.0]),
        (f"{QUARTIC}\ntaylor(f, 2, 6)", [8.0, 24.0, 22.0, 8.0, 1.0, 0.0, 0.0]),
        ("taylor(cos, 1, 0)", [math.cos(1)]),
        ("taylor(log, 1, 3)", [0.0, 1.0, -1 / 2, 1 / 3]),
    ],
)
def test_taylor_coefficients_are_derivatives_over_factorials(jcalc, source, coefficients):
    assert jcalc.last(source)["value"] == pytest.approx(coefficients, rel=1e-15, abs=1e-300)


def test_taylor_json_names_centre_and_order(jcalc):
    result = jcalc.last("taylor(exp, 0, 2)")
    assert result["taylor"] == {"around": 0.0, "order": 2}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("taylor(g, 0, 2)", "taylor needs a function of one variable, but g takes 2 arguments; "
                            "for a partial derivative use diff(g(x1, x2), x1)"),
        ("taylor(sin, 0, 101)", "the order of taylor must be between 0 and 100"),
        ("taylor(sin, [0, 1], 3)", "taylor expands around a number"),
        ("taylor(1, 0, 3)", "taylor takes a function, as in taylor(f)"),
    ],
)  # fmt: skip
def test_taylor_misuse_is_a_clear_error(jcalc, text, message):
    assert jcalc.last(f"{G}\n{text}")["error"]["message"] == message


# ---- solve and minimize: Newton's method ---------------------------------------------------


def test_solve_finds_a_root_and_reports_iterations(calc):
    assert calc.run("h(x) = x**2 - 2\nsolve(h, 1)") == (
        "defined h(x)\n1.414213562373095  (Newton, 6 iterations)\n",
        "",
    )


@pytest.mark.parametrize(
    ("source", "root"),
    [
        ("h(x) = x**2 - 2\nsolve(h, 1)", math.sqrt(2)),
        ("h(x) = x**2 - 2\nsolve(h, -3)", -math.sqrt(2)),
        ("solve(sin, 3)", math.pi),
        ("solve(cos, 1)", math.pi / 2),
        ("h(x) = exp(x) - 2\nsolve(h, 0)", math.log(2)),
        ("h(x) = x**3 - x - 1\nsolve(h, 1.5)", 1.324717957244746),
        ("h(x) = x - 5\nsolve(h, 5)", 5.0),
    ],
)
def test_solve_converges_to_the_root(jcalc, source, root):
    result = jcalc.last(source)
    assert result["value"] == pytest.approx(root, rel=1e-12)
    assert isinstance(result["iterations"], int) and result["iterations"] <= 100
    assert result["method"] == "Newton"


def test_solve_already_at_a_root_takes_no_iterations(jcalc):
    result = jcalc.last("h(x) = x - 5\nsolve(h, 5)")
    assert (result["value"], result["iterations"]) == (5.0, 0)


@pytest.mark.parametrize(
    ("source", "kind", "message"),
    [
        ("solve(h, 0)", "ConvergenceError",
         "solve: the derivative is zero at x = 0.0; try another start"),
        ("solve(exp, 0)", "ConvergenceError",
         "solve did not converge in 100 iterations (last x = -100.0)"),
        ("solve(h, 1/0)", "ValueError", "solve needs a finite starting point"),
        ("solve(h, [1, 2])", "TypeError", "solve starts from a number"),
        ("solve(h, sin)", "TypeError", "solve starts from a number or a list of numbers"),
        ("solve(inverse, 0)", "ConvergenceError",
         "solve diverged: the function is not finite at x = 0.0"),
        ("solve(pair, 1)", "TypeError", "the function must return a number"),
    ],
)  # fmt: skip
def test_solve_failure_is_an_error_not_a_wrong_number(jcalc, source, kind, message):
    error = jcalc.last(f"h(x) = x**2 - 2\ninverse(x) = 1 / x\npair(x) = [x, x]\n{source}")["error"]
    assert (error["type"], error["message"]) == (kind, message)


def test_solve_without_a_root_does_not_converge(jcalc):
    error = jcalc.last("h(x) = x**2 + 1\nsolve(h, 0.5)")["error"]
    assert error["type"] == "ConvergenceError"
    assert error["message"].startswith("solve did not converge in 100 iterations (last x = ")


@pytest.mark.parametrize(
    ("source", "point"),
    [
        ("k(x) = (x - 3)**2\nminimize(k, 0)", 3.0),
        ("k(x) = x**4 - 2*x**2\nminimize(k, 2)", 1.0),
        ("k(x) = x**4 - 2*x**2\nminimize(k, -2)", -1.0),
        ("minimize(cos, 3)", math.pi),
        ("k(x) = exp(x) - 2*x\nminimize(k, 0)", math.log(2)),
    ],
)
def test_minimize_finds_a_stationary_point(jcalc, source, point):
    result = jcalc.last(source)
    assert result["value"] == pytest.approx(point, rel=1e-12)
    assert result["method"] == "Newton"


def test_minimize_reports_point_and_iteration_count(calc):
    assert calc.run("k(x) = (x - 3)**2\nminimize(k, 0)") == (
        "defined k(x)\n3  (Newton, 1 iteration)\n",
        "",
    )


def test_minimize_with_zero_second_derivative_is_an_error(jcalc):
    error = jcalc.last("k(x) = 2*x + 1\nminimize(k, 0)")["error"]
    assert error["type"] == "ConvergenceError"
    assert (
        error["message"] == "minimize: the second derivative is zero at x = 0.0; try another start"
    )


def test_minimize_rosenbrock_from_zero_two(jcalc):
    result = jcalc.last("r(x, y) = (1 - x)**2 + 100*(y - x**2)**2\nminimize(r, [0, 2])")
    assert np.allclose(result["value"], [1.0, 1.0], rtol=0, atol=1e-6)
    assert isinstance(result["iterations"], int) and 0 < result["iterations"] <= 100
    assert result["method"] == "Newton (damped, with Hessian)"


def test_minimize_quadratic_of_two_variables(jcalc):
    result = jcalc.last("q(x, y) = (x - 1)**2 + (y + 2)**2 + x*y\nminimize(q, [0, 0])")
    assert result["value"] == pytest.approx([8 / 3, -10 / 3], rel=1e-12)


@pytest.mark.parametrize(
    ("source", "point"),
    [
        ("s(x, y) = x**2\nminimize(s, [1, 1])", [0.0, 1.0]),
        ("s(x, y, z) = (x - 1)**2 + (z + 1)**2\nminimize(s, [0, 5, 0])", [1.0, 5.0, -1.0]),
    ],
)
def test_minimize_over_a_parameter_the_function_ignores_keeps_it(jcalc, source, point):
    # The Hessian is singular there; the step must still reach the valley, not bounce over it.
    result = jcalc.last(source)
    assert result["value"] == pytest.approx(point, abs=1e-12)
    assert result["iterations"] == 1


def test_minimize_reaches_a_flat_minimum_to_full_precision(jcalc):
    result = jcalc.last("c(x, y) = cos(x) + cos(y)\nminimize(c, [0.5, 0.5])")
    assert result["value"] == pytest.approx([math.pi, math.pi], rel=1e-15)


# ---- a solver's answer depends on the variables its function reads ----------------------


def _root(a):  # of t^3 - a t - 5, near 2
    return mpmath.findroot(lambda t: t**3 - a * t - 5, 2)


def _minimum(a):  # of (t - a)^2 + t^4: where 2 (t - a) + 4 t^3 = 0
    return mpmath.findroot(lambda t: 2 * (t - a) + 4 * t**3, 1)


def _minimum_2d(a):  # of (u - a)^2 + (u v - 1)^2 + v^4, summed over u and v
    def gradient(u, v):
        return [2 * (u - a) + 2 * (u * v - 1) * v, 2 * (u * v - 1) * u + 4 * v**3]

    u, v = mpmath.findroot(gradient, (2, 0.3))
    return u + v


@pytest.mark.parametrize(
    ("form", "reference", "orders"),
    [
        ("solve(f, 2)", _root, range(1, 8)),
        ("minimize(g, 1)", _minimum, range(1, 7)),
        ("sum(minimize(h, [1, 1]))", _minimum_2d, range(1, 4)),
    ],
)
def test_a_solvers_answer_is_differentiated_in_the_variables_its_function_reads(
    jcalc, form, reference, orders
):
    # The answer x*(a) solves R(x*; a) = 0: its derivatives in a are those of the implicit
    # function, never 0 as for a constant.
    definitions = (
        "a = 2\nf(t) = t^3 - a*t - 5\ng(t) = (t - a)^2 + t^4\n"
        "h(u, v) = (u - a)^2 + (u*v - 1)^2 + v^4\n"
    )
    with mpmath.workdps(40):
        exact = [mpmath.diff(reference, 2, n) for n in orders]
    for n, want in zip(orders, exact):
        got = jcalc.last(f"{definitions}diff({form}, a, {n})")["value"]
        assert got == pytest.approx(float(want), rel=1e-9, abs=1e-12), n
    reported = jcalc.last(f"{definitions}{form}")["grad"]["a"]
    assert reported == pytest.approx(float(exact[0]), rel=1e-12)


def test_a_solvers_answer_is_the_same_with_and_without_gradients(jcalc):
    source = "a = 2\nf(t) = t^3 - a*t - 5\nh(u, v) = (u - a)^2 + (u*v - 1)^2 + v^4\n"
    with_graph = [
        jcalc.last(source + form)["value"] for form in ("solve(f, 2)", "minimize(h, [1, 1])")
    ]
    jcalc.run(":nograd on")
    alone = [jcalc.last(form)["value"] for form in ("solve(f, 2)", "minimize(h, [1, 1])")]
    assert with_graph == alone


def test_a_total_derivative_goes_through_a_solvers_answer(calc):
    out, err = calc.run("a = 2\nf(t) = t^2 - a\nr = solve(f, 1)\nr + a")
    assert err == ""
    assert "r = 1.414213562373095  (Newton, 6 iterations)\n  ∂/∂a = 0.3535533905932738\n" in out
    assert out.endswith("3.414213562373095\n  ∂/∂a = 1.3535533905932737\n  ∂/∂r = 1\n")


def test_an_answer_with_no_derivative_is_refused_not_given_as_0(jcalc):
    # v is a parameter the function ignores: the Hessian is singular, and how the answer moves
    # with a is not defined. Without a variable read, or without gradients, the answer stands.
    source = "a = 2\nu(x, y) = (x - a)^2\n"
    error = jcalc.last(source + "minimize(u, [1, 1])")["error"]
    assert "the Hessian there is singular" in error["message"]
    assert jcalc.last("s(x, y) = x^2\nminimize(s, [1, 1])")["value"] == [0.0, 1.0]
    assert jcalc.last(":nograd on\nminimize(u, [1, 1])")["value"] == [2.0, 1.0]


@pytest.mark.parametrize("start", ["0", "[0, 1, 2]", "[[0, 1]]"])
def test_minimize_needs_one_start_number_per_parameter(jcalc, start):
    error = jcalc.last(f"r(x, y) = x**2 + y**2\nminimize(r, {start})")["error"]
    assert error["message"] == (
        "minimize needs a starting point with one number per parameter (2), "
        "e.g. minimize(f, [0, 2])"
    )


def test_minimize_of_an_unbounded_function_is_an_error(jcalc):
    error = jcalc.last("u(x, y) = x + y\nminimize(u, [0, 0])")["error"]
    assert error == {
        "type": "ConvergenceError",
        "message": "minimize did not converge in 100 iterations (last point [-100.0, -100.0])",
        "line": 2,
        "column": 1,
        "source": "<stdin>",
    }


# ---- :graph ---------------------------------------------------------------------------


def test_graph_prints_graphviz_dot(jcalc):
    result = jcalc.last("x = 2\n:graph x * sin(x)")
    dot = result["dot"]
    assert dot.startswith("digraph g {\n") and dot.endswith("\n}")
    for label in ('label="result\\n() 1.81', 'label="x\\n() 2"', 'label="Mul"', 'label="Sin"'):
        assert label in dot, (label, dot)
    assert result["command"] == "graph"


def test_graph_leaves_the_session_as_it_was(jcalc):
    results = jcalc.json("x = 2\n7\n:nograd on\n:graph x * sin(x)\nans\nx * 3")
    assert "Sin" in results[3]["dot"]
    assert results[4]["value"] == 7.0
    assert "grad" not in results[5]


def test_graph_writes_a_dot_file(calc, tmp_path):
    target = tmp_path / "g.dot"
    out, err = calc.run(f"x = 2\n:graph x ** 2 > {target}")
    assert out == f"x = 2\nwrote the graph to {target}\n"
    assert err == ""
    text = target.read_text(encoding="utf-8")
    assert text.startswith("digraph g {\n") and 'label="Pow"' in text


@pytest.mark.skipif(shutil.which("dot") is not None, reason="Graphviz is installed")
def test_graph_to_png_without_graphviz_is_a_clear_error(jcalc, tmp_path):
    error = jcalc.last(f"x = 2\n:graph x * 2 > {tmp_path / 'g.png'}")["error"]
    assert (error["type"], error["message"]) == (
        "GraphvizError",
        "the Graphviz 'dot' program is not installed; install Graphviz "
        "(e.g. 'apt-get install graphviz' or 'brew install graphviz') to render graphs",
    )
    assert not (tmp_path / "g.png").exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graph_to_png_renders_with_graphviz(calc, tmp_path):
    target = tmp_path / "g.png"
    calc.run(f"x = 2\n:graph x * 2 > {target}")
    assert target.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (":graph", "':graph' needs an expression, e.g. :graph sin(x) * x"),
        (":graph x > g.txt", "':graph' writes .dot, .png, .svg or .pdf files"),
        (":graph y = 2", "':graph' takes an expression"),
        (":graph sin", "':graph' needs an expression with a value, not a function"),
        (":graph (x", "in ':graph': expected ')' after 'x', found end of input"),
    ],
)
def test_graph_misuse_is_a_clear_error(jcalc, command, message):
    assert jcalc.last(f"x = 2\n{command}")["error"]["message"] == message


# ---- values beyond float64's range on the way to a derivative ---------------------------


@pytest.mark.parametrize(
    ("text", "reference", "x", "order"),
    [
        ("x^120", lambda t: t**120, "0.001", 100),  # x^120 is 1e-360 there: it underflows
        ("x^65", lambda t: t**65, "1e-5", 65),
        ("x^70", lambda t: t**70, "0", 70),  # a whole power past 64 at 0 (was nan)
    ],
)
def test_whole_powers_differentiate_exactly_where_their_value_underflows(
    jcalc, text, reference, x, order
):
    with mpmath.workdps(40):
        exact = float(mpmath.diff(reference, mpmath.mpf(x), order))
    result = jcalc.last(f"x = {x}\ndiff({text}, x, {order})")
    assert result["value"] == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x = 0.75\ndiff(exp(-1000*x), x, 100)", "the derivative of order 100 comes out as 0"),
        ("x = 0.75\ndiff(exp(-1000*x), x)", "the derivative of order 1 comes out as 0"),
        ("x = 0.75\ndiff(exp(-1000*x)*1e300 + 1, x)", "the derivative of order 1 comes out"),
        ("x = 28\ndiff(erfc(x), x, 100)", "the derivative of order 100 comes out as 0"),
        ("f(t) = t^2.5\ntaylor(f, 1e-200, 3)", "the coefficient of order 2 comes out as 0"),
    ],
)
def test_a_derivative_that_is_0_only_by_underflow_is_refused(jcalc, text, message):
    # True values: 1.9e-26, 1.6e-169, and 1.9e-100 (then 3.1e99); all came out as 0,
    # since the function's value itself is below the smallest float64.
    error = jcalc.last(text)["error"]
    assert error["type"] == "PrecisionError"
    assert error["message"].startswith(message)
    assert "fell below the smallest float64 (underflow)" in error["message"]


# ---- reported gradients that one backward pass may get wrong are computed again ----------


def _slope(f, x0: str) -> float:
    with mpmath.workdps(40):
        return float(mpmath.diff(f, mpmath.mpf(x0)))


def test_a_report_whose_contributions_cancel_is_computed_again(jcalc):
    # atan2(x, x)'s two contributions to ∂/∂x, about 1e5 each, cancel: one backward pass
    # gave 0.00025362633459 (1.1e-8 off); Taylor mode, vouched for, gives the right one.
    def f(x):
        a = mpmath.exp(mpmath.atan2(x, x))
        return mpmath.hypot((a ** (a * mpmath.mpf("2.346"))) ** 2, mpmath.cbrt(x + x))

    text = "hypot((exp(atan2(x, x)) ^ (exp(atan2(x, x)) * 2.346))^2, cbrt(x + x))"
    result = jcalc.last(f"x = 0.2677\n{text}")
    assert result["grad"]["x"] == pytest.approx(_slope(f, "0.2677"), rel=1e-12, abs=0)
    assert "warnings" not in result


def test_a_report_through_a_value_that_underflowed_is_computed_again(jcalc):
    # The slope of c/a, -c/a/a, underflowed to 0 before the a of ∂a/∂x could bring it back:
    # the report said 0, with no warning, for -1.46e-171.
    def f(x):
        a = mpmath.exp(((mpmath.mpf(2) ** x) ** 2 + 1) ** mpmath.mpf("2.118"))
        return mpmath.mpf("1.291") / a * mpmath.mpf("1.925")

    result = jcalc.last("x = 1.9978\n1.291 / exp((exp2(x)^2 + 1)^2.118) * 1.925")
    assert result["grad"]["x"] == pytest.approx(_slope(f, "1.9978"), rel=1e-12, abs=0)
    assert result["grad"]["x"] == pytest.approx(-1.4628786645738e-171, rel=1e-12, abs=0)


def test_a_report_that_overflowed_on_the_way_is_computed_again(jcalc):
    # c/a's slope -c/a/a overflowed (a = e^tan(x) = 1e-241), though the slope is -1.8e246
    def f(x):
        return mpmath.erf(x) / mpmath.exp(mpmath.tan(x))

    result = jcalc.last("x = 1.5726\nerf(x) / exp(tan(x))")
    assert result["grad"]["x"] == pytest.approx(_slope(f, "1.5726"), rel=1e-12, abs=0)
    assert result["warnings"] == [
        "overflow in the gradient (on the way; the result holds no infinity)"
    ]
    # a slope that is infinite stays so, with its warning
    result = jcalc.last("z = 0\nsqrt(z)")
    assert result["grad"]["z"] == "inf" and "division by zero" in result["warnings"][0]


@pytest.mark.parametrize(
    ("text", "name", "reason"),
    [
        # -1000 e^-750 = -5.2e-323, a number, though e^-750 is not: the pass gave 0
        ("x = 0.75\nexp(-1000*x)", "x", "comes out as 0 only because a value on the way fell"),
        # the value of u underflowed: what goes through it cannot be vouched for either
        ("x = 0.75\nu = exp(-1000*x)\nw = u * 1e300", "x", "it goes through u, whose own"),
        ("x = 0.75\nexp(-1000*x)\nans * 1e300", "x", "comes out as 0 only because"),
        ("x = 0.75\nv = exp(-1000*[x, x])\nsum(v) * 1e300", "x", "comes out as 0 only because"),
        # a ^ (a c) where a underflowed to 0: 0 · ∞ on the way, nan for 0
        (
            "x = -1.8104\nu = x / sigmoid(x)\nexp(x / sigmoid(u)) ^ (exp(x / sigmoid(u)) * -1.453)",
            "x",
            "and it comes out as nan",
        ),
        # the sum inside @, whose exact products split beyond float64's range: 0 for 1
        ("x = 2\n[1e305, 1, -1e305] @ [x, x, x]", "x", "float64's rounding decides it"),
        # an array whose elements are combined, too large to compute again element by element
        (
            "n = 20001\nv = ones(n)\nsum([ones(n), -ones(n)] @ v)",
            "v",
            "computing it again for each of its 20,001 elements, through",
        ),
        # -1.9e-23 came out as 0: small next to the value, but no rounding noise
        ("x = 0.75\nexp(-1000*x)*1e300 + 1", "x", "comes out as 0 only because"),
        # a derivative times a value that underflowed: extended precision does not
        # compute again what is not made from d (0 for 1e-25)
        ("x = 0.75\nd = diff(x^2, x)\nd * (exp(-1000*x*[1,1])*1e300)", "d", "comes out as 0"),
        # SciPy's Γ raises no underflow flag of its own: 0 for 3.49e-23
        ("x = -177.5\ngamma(x)*1e300", "x", "comes out as 0 only because"),
        # the report of a derivative (the sum of grad's vector): e^q - e^-q cancels
        ("q = 1e-10\ng(a, b) = exp(a) - exp(-a) + b\ngrad(g)(q, 1)", "q", "9 digits"),
        # inside one rule: the sum of a broadcast's gradient, e^x - e^-x
        ("x = 1e-10\nsum(exp(x*[1, -1]))", "x", "cannot be computed to 9 digits"),
        # a value that underflowed, then summarized when its name was taken
        (
            "x = 0.75\nv = exp(-1000*x*[1,1])*1e300\nw = v * 1\nv = 0\nsum(w)",
            "x",
            "comes out as 0 only because",
        ),
    ],
)
def test_a_reported_gradient_that_cannot_be_vouched_for_is_not_shown(jcalc, text, name, reason):
    result = jcalc.last(text)
    assert result["grad"][name] is None  # JSON's null: left out, not "does not depend"
    (warning,) = [w for w in result["warnings"] if w.startswith(f"∂/∂{name} is not shown")]
    assert reason in warning


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # column sums of m, one exactly 0: the sums inside @ cancel, and are exact
        ("m = [[1, 2], [-1, 3]]\nv = [1, 1]\nsum(m @ v)", {"v": [0, 5], "m": [[1, 1], [1, 1]]}),
        ("m = [[1, 2], [-1, 3]]\nv = [1, 1]\nm @ v", {"v": [0, 5], "m": [[1, 1], [1, 1]]}),
        ("v = [1, 2, 3]\nsum(v) - sum(v)", {"v": [0, 0, 0]}),
        ("x = [1e16, 1, 2]\nsum(x[[0, 1, 0]] * [1, 1, -1])", {"x": [0, 1, 0]}),
        # a broadcast's summed gradient: 1 + 2 - 3
        ("v = [2]\nsum([1, 2, -3] * v)", {"v": [0]}),
        # the sums inside @ and an index's repeated elements, and a broadcast's, lose the 1
        # of 1e16 + 1 - 1e16 (the report gave 0): Taylor mode's sums keep it
        ("v = [2]\nm = [[1e16], [1], [-1e16]]\nsum(m @ v)", {"v": [1], "m": [[2], [2], [2]]}),
        ("x = [1, 2]\nsum(x[[0, 0, 0]] * [1e16, 1, -1e16])", {"x": [1, 0]}),
        ("v = 2\nsum([1e20, 1, -1e20] * v)", {"v": 1}),
        ("x = 2\n[1e20, 1, -1e20] @ [x, x, x]", {"x": 1}),
        # a slope through @ that is no round number: m·[cos(v)] summed, 1.5 cos(0.3) - cos(0.3)
        ("m = [[1.5], [-1]]\nv = [0.3]\nsum(m @ sin(v))", {"v": [0.5 * math.cos(0.3)]}),
    ],
)
def test_a_gradient_with_respect_to_a_combined_array_is_computed_again_by_element(
    jcalc, text, expected
):
    """Where the sums inside @, an index's repeated elements or a broadcast cancel, each
    element of the gradient is computed again by Taylor mode, and shown once vouched for."""
    result = jcalc.last(text)
    assert "warnings" not in result
    for name, gradient in expected.items():
        np.testing.assert_allclose(result["grad"][name], gradient, rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    ("text", "slope"),
    [
        # -60 e^-900 is below the smallest float64 too: extended precision's range says so
        ("y = 30\nexp(-y^2)", 0.0),
        (
            "x = [-40, -20, 0, 20, 40]\nexp(-x^2)",
            [0, 40 * math.exp(-400), 0, -40 * math.exp(-400), 0],
        ),
        (
            "x = [-40, -20, 0, 20, 40]\nsum(exp(-x^2))",
            [0, 40 * math.exp(-400), 0, -40 * math.exp(-400), 0],
        ),
        ("t = 2\nexp(-t^2) * 3 - exp(-t^2) * 3 + t", 1.0),
        ("x = 0.75\nx - x", 0.0),  # an exact 0 where contributions cancel
        ("x = 1e10\nerf(x)", 0.0),  # e^-1e20: below extended precision's range too
    ],
)
def test_a_gradient_computed_again_is_shown_where_it_holds(jcalc, text, slope):
    result = jcalc.last(text)
    (name,) = result["grad"]
    assert result["grad"][name] == pytest.approx(slope, rel=1e-12, abs=0)
    assert not any("not shown" in w for w in result.get("warnings", []))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # one backward pass gives 0.0001268131673: atan2(a, a)'s contributions cancel
        (
            "g(a, b) = hypot((exp(atan2(a, a)) ^ (exp(atan2(a, a)) * 2.346))^2, cbrt(a + b))\n"
            "grad(g)(0.2677, 0.2677)",
            "the partial derivative in argument 1 cannot be computed to 9 digits here",
        ),
        # -1000 e^-750 = -5.2e-323 came out as 0
        (
            "k(a, b) = exp(-1000*a) * b\ngrad(k)(0.75, 1)",
            "the partial derivative in argument 1 comes out as 0 only because a value",
        ),
    ],
)
def test_a_gradient_that_cannot_be_vouched_for_is_refused(jcalc, text, message):
    error = jcalc.last(text)["error"]
    assert error["type"] == "PrecisionError"
    assert error["message"].startswith(message)


def test_grad_of_a_variable_passed_twice_gives_partial_derivatives(jcalc):
    # each argument its own node: the partials of a*b at (2, 2), not the total 2a
    assert jcalc.last("x = 2\nm(a, b) = a * b\ngrad(m)(x, x)")["value"] == [2, 2]
    assert jcalc.last("n(a, b) = a * b - a * b + a\ngrad(n)(x, x)")["value"] == [1, 0]
    # and the check, where something underflowed, moves each alone as well
    result = jcalc.last("k(a, b) = a * b + exp(-1000)\ngrad(k)(x, x)")
    assert result["value"] == [2, 2] and result["grad"] == {"x": 2}


def test_a_gradient_with_nothing_in_doubt_is_not_checked(jcalc):
    # at a kink, the check would find two sides; nothing underflowed or cancelled here
    assert jcalc.last("n(a, b) = relu(a) + abs(b)\ngrad(n)(0, 0)")["value"] == [0, 0]
    assert jcalc.last("m(a, b) = a * b + sin(a)\ngrad(m)(1, 2)")["value"] == [
        pytest.approx(2 + math.cos(1), rel=1e-15),
        1,
    ]


# ---- derivatives of higher order through an integral ------------------------------------


@pytest.mark.parametrize(
    ("setup", "body", "reference", "point", "orders"),
    [
        ("a = 0", "integrate(t^a, t, 0, 1)", lambda a: 1 / (a + 1), 0, range(2, 5)),
        (
            "a = 2",
            "integrate(exp(a*t), t, 0, 1)",
            lambda a: (mpmath.exp(a) - 1) / a,
            2,
            range(2, 11),
        ),
        (
            "a = 1",
            "integrate(cos(a*t)*exp(-t), t, 0, inf)",
            lambda a: 1 / (1 + a**2),
            1,
            range(2, 7),
        ),
    ],
)
def test_derivatives_of_integrals_that_are_given_match_mpmath(
    jcalc, setup, body, reference, point, orders
):
    with mpmath.workdps(40):
        exact = [float(mpmath.diff(reference, mpmath.mpf(point), n)) for n in orders]
    for n, want in zip(orders, exact):
        result = jcalc.last(f"{setup}\ndiff({body}, a, {n})")
        assert result["value"] == pytest.approx(want, rel=1e-9, abs=1e-12), (n, result)


@pytest.mark.parametrize(
    ("setup", "body", "order"),
    [
        ("a = 0", "integrate(t^a, t, 0, 1)", 8),  # printed 40319.9991 for 8! = 40320
        ("a = 1.5", "integrate(t^a, t, 0, 1)", 20),  # off by 2.4e-4
        ("a = 1", "integrate(cos(a*t)*exp(-t), t, 0, inf)", 14),  # off by 3.7e-8
    ],
)
def test_a_derivative_of_an_integral_its_intervals_cannot_give_is_refused(
    jcalc, setup, body, order
):
    # The intervals are chosen for the integral and its first derivative; a derivative of
    # high order of an integrand singular at an end (t^a (log t)^k) needs finer ones.
    error = jcalc.last(f"{setup}\ndiff({body}, a, {order})")["error"]
    assert error["type"] == "PrecisionError"
    assert "of the integral cannot be vouched for on the" in error["message"]


@pytest.mark.parametrize(
    "source",
    [
        "x = 1.5\ndiff(diff(exp(x) - exp(x + 1e-10), x), x)",
        "f(t) = exp(t) - exp(t + 1e-10)\ng(t) = f'(t)\ng'(1.5)",
    ],
)
def test_a_derivative_of_a_derivative_is_vouched_for_as_its_order_says(jcalc, source):
    # The second derivative of exp(x) - exp(x + 1e-10) cannot be had to 9 digits: asked
    # for directly it is refused, and taken as a derivative of a derivative (each of order
    # 1, which alone is not checked) it printed -4.48169501510165e-10 for -4.48168907e-10.
    assert jcalc.last("x = 1.5\ndiff(exp(x) - exp(x + 1e-10), x, 2)")["error"]["type"] == (
        "PrecisionError"
    )
    assert jcalc.last(source)["error"]["type"] == "PrecisionError"
    with mpmath.workdps(30):
        exact = float(mpmath.diff(lambda t: mpmath.sin(t) * t, mpmath.mpf(1.5), 2))
    nested = jcalc.last("x = 1.5\ndiff(diff(sin(x)*x, x), x)")["value"]  # a good one passes
    assert nested == pytest.approx(exact, rel=1e-12)


def test_the_gradient_of_a_function_of_no_parameters_is_a_clear_error(jcalc):
    for form in ("grad", "hessian"):
        error = jcalc.last(f"h() = 3\n{form}(h)()")["error"]
        assert error["message"] == f"{form}(h) needs a function of at least one parameter"


def test_a_gradient_reported_of_a_derivative_is_vouched_for_as_a_higher_one(calc, jcalc):
    # After diff(E, x, 20), ∂/∂x is the 21st derivative: x / sigmoid(x) at 2 gave
    # 2.5713702920896173 for 19·e^-2 = 2.5713703814956411. It is left out, with the reason.
    # (The 20th itself, -2.436035094 for -18·e^-2 = -2.4360350983, is refused now; the
    # 19th is right to 1e-10, and its ∂/∂x, the 20th, is left out.)
    out, err = calc.run("x = 2\ndiff(x / sigmoid(x), x, 19)")
    assert "∂/∂x" not in out
    assert float(out.split()[-1]) == pytest.approx(17 * math.exp(-2), rel=1e-9)
    assert "warning: ∂/∂x is not shown: it cannot be computed to 9 digits here" in err
    result = jcalc.last("x = 2\ndiff(sin(x), x, 3)")  # a good one is shown
    assert result["grad"]["x"] == pytest.approx(math.sin(2), rel=1e-14)


@pytest.mark.skipif(
    np.finfo(np.longdouble).nmant <= 52, reason="no extended precision on this platform"
)
def test_a_hessian_that_float64_rounds_the_same_nearby_is_refused(jcalc):
    # log(sigmoid(a*b)) at (-6, 5): H_aa printed -2.34035013590983e-12 for
    # -2.3394057422096e-12, below 1e-12 of the value (30), so it passed as rounding noise.
    error = jcalc.last("g(a, b) = log(sigmoid(a*b))\nhessian(g)(-6, 5)")["error"]
    assert error["type"] == "PrecisionError"
    assert error["message"].startswith(
        "the Hessian cannot be computed to 9 digits here (entry [0, 0]): float64's rounding "
        "decides it (it comes out as -2.340350136e-12, and as -2.3394"
    )
    good = jcalc.last("g(a, b) = log(sigmoid(a*b))\nhessian(g)(1, 2)")["value"]
    with mpmath.workdps(40):
        g = lambda a, b: -mpmath.log(1 + mpmath.exp(-a * b))  # noqa: E731
        exact = [
            [float(mpmath.diff(g, (1, 2), (2 - i - j, i + j))) for j in (0, 1)] for i in (0, 1)
        ]
    np.testing.assert_allclose(good, exact, rtol=1e-12)


def test_a_hessian_that_rounding_spoils_is_refused_like_a_second_derivative(jcalc):
    # exp(a) - exp(a + 1e-10) cancels: its second derivative is refused by diff, and the
    # Hessian printed -4.48169501510165e-10 for -4.4816890705621494e-10.
    error = jcalc.last("h(a, b) = exp(a) - exp(a + 1e-10) + b\nhessian(h)(1.5, 0)")["error"]
    assert error["type"] == "PrecisionError"
    assert error["message"].startswith("the Hessian cannot be computed to 9 digits here")
    # Good ones pass, exact zeros among them, where the function and its gradient are 0 too.
    assert jcalc.last("g(x, y) = x^3*y^3\nhessian(g)(0, 0)")["value"] == [[0.0, 0.0], [0.0, 0.0]]
    with mpmath.workdps(30):
        x, y = mpmath.mpf(0.3), mpmath.mpf(-1.2)
        exact = [[-mpmath.sin(x) * mpmath.exp(y), mpmath.cos(x) * mpmath.exp(y) + 1],
                 [mpmath.cos(x) * mpmath.exp(y) + 1, mpmath.sin(x) * mpmath.exp(y)]]  # fmt: skip
    value = jcalc.last("g(x, y) = sin(x)*exp(y) + x*y\nhessian(g)(0.3, -1.2)")["value"]
    assert np.allclose(value, np.array(exact, dtype=float), rtol=1e-14, atol=0)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # relu's slope at its kink is its left piece's, 0: the sides (0 and 1) average 0.5,
        # which had been read as rounding amplified, with exp(-1000)'s underflow as the doubt
        ("x = 0\nrelu(x) + exp(-1000)", {"x": 0.0}),
        ("x = 0\nabs(x) * 2 - exp(-1000)", {"x": 0.0}),
        ("x = [-1, 0, 2]\nrelu(x) + exp(-1000)", {"x": [0.0, 0.0, 1.0]}),
    ],
)
def test_a_gradient_at_a_kink_is_vouched_for_by_its_own_side(jcalc, text, value):
    result = jcalc.last(text)
    assert result["grad"] == value and "warnings" not in result


def test_a_derivative_at_a_kink_is_its_piece_and_rounding_is_still_refused(jcalc):
    # each side of the kink is smooth: the derivative at it is the piece the value is on
    assert jcalc.last("x = 0\ndiff(relu(x)^2, x, 2)")["value"] == 0.0
    assert jcalc.last("x = 0\ndiff(relu(x + 1e-300)^2, x, 2)")["value"] == 2.0
    assert jcalc.last("x = 0\ndiff(abs(x)^3, x, 3)")["value"] == 0.0  # abs's slope: 0 at 0
    # a value that underflowed where it is added to another that underflowed: no vouching
    error = jcalc.last("x = 0\n1/(x*1e-300 + exp(-1000))")
    assert error["grad"] == {"x": None}


def test_a_finite_gradient_from_a_pass_that_overflowed_is_computed_again_or_left_out():
    # A backward pass whose rule overflows may give a finite gradient that is wrong:
    # asinh's slope was 1/√(x² + 1), which is 1/∞ = 0 at 1e200, for 1e-200; atan's
    # 1/(1 + x²) likewise. Such a gradient is computed again by Taylor mode (whose series
    # are scaled) and shown only where vouched for.
    import dezero.functions as F
    from dezero import Variable
    from dezero.backprop import gradient_arrays
    from dezero_repl.calculus import finite_again

    class OldAsinh(F.Asinh):  # the rules as they were, beside Taylor mode's series
        __slots__ = ()

        def backward(self, gy):
            (x,) = self.inputs
            return gy / F.sqrt(x * x + 1)

    class OldAtan(F.Atan):
        __slots__ = ()

        def backward(self, gy):
            (x,) = self.inputs
            return gy / (1 + x * x)

    def report(y, x):
        with np.errstate(over="ignore"):
            (g,) = gradient_arrays(y, [x])
        assert g == 0.0  # what the pass gives
        notes: list[str] = []
        ((_, _, again),) = finite_again(y, [("x", x, g)], notes.append)
        return again, notes

    x = Variable(np.array(1e200))
    again, notes = report(OldAsinh()(x) * 3, x)
    assert float(again) == pytest.approx(3e-200, rel=1e-15) and notes == []
    # atan's slope at 3e160, 1.1e-321, is below float64's normal range before the 1e300:
    # Taylor mode's 1.1116e-21 for 1.1111e-21 fails its check in extended precision
    x = Variable(np.array(3e160))
    again, notes = report(OldAtan()(x) * 1e300, x)
    assert again is None and "11 more bits" in notes[0]


@pytest.mark.parametrize(
    ("text", "x0", "f"),
    [
        # acosh's argument e^622: its slope had been 1/√(x² - 1) = 1/∞, printed as 0
        (
            "acosh(exp((x^4 + 1)^((x^4 + 1) * 0.871)) + 1.5)",
            "1.391",
            lambda t: mpmath.acosh(mpmath.exp((t**4 + 1) ** ((t**4 + 1) * 0.871)) + 1.5),
        ),
        ("atan(x) * 1e300", "1e100", lambda t: mpmath.atan(t) * mpmath.mpf(1e300)),
        ("asinh(x) + acosh(x)", "1e200", lambda t: mpmath.asinh(t) + mpmath.acosh(t)),
    ],
)
def test_reported_slopes_of_inverse_functions_at_large_arguments(jcalc, text, x0, f):
    result = jcalc.last(f"x = {x0}\n{text}")
    with mpmath.workdps(400):  # a slope of about 1/x next to a value of about log x
        a = mpmath.mpf(x0)
        slope = mpmath.diff(lambda t: f(a + a * t), 0) / a
    assert result["grad"]["x"] == pytest.approx(float(slope), rel=1e-13)
    assert "warnings" not in result


def test_a_derivative_s_report_over_large_arrays_keeps_the_values_it_checks_again(jcalc):
    """The report's backward pass releases large values that only the graph holds; a
    derivative's report is vouched for by going over that graph again, which met a value
    released (an internal error, for 10^6 elements). d³/dx³ Σ sin(t x) = -Σ t³ cos(t x),
    whose slope is Σ t⁴ sin(t x)."""
    result = jcalc.last("x = 0.5\ndiff(sum(sin(linspace(0, 1, 10**6) * x)), x, 3)")
    t = np.linspace(0, 1, 10**6)
    assert result["value"] == pytest.approx(-np.sum(t**3 * np.cos(t * 0.5)), rel=1e-12)
    assert result["grad"]["x"] == pytest.approx(np.sum(t**4 * np.sin(t * 0.5)), rel=1e-9)


def test_a_report_checked_again_through_released_values_is_left_out_with_the_reason(jcalc):
    """Where the pass released values on the way and its sums cancel, the gradient cannot
    be computed again: it is left out, saying why (an internal error before)."""
    for text in (
        "x = 0.5\nsum(exp(linspace(0, 1, 10**6) * x) - exp(linspace(0, 1, 10**6) * x))",
        "x = 0.5\ny = linspace(0, 1, 10**6) * x\nsum(y * y) - sum(y * y)",
    ):
        result = jcalc.last(text)
        assert result["value"] == 0 and result["grad"]["x"] is None
        (warning,) = [w for w in result["warnings"] if w.startswith("∂/∂x is not shown")]
        assert warning.endswith("the backward pass released values on the way to save memory")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v = [2]\ndiff(sum([1e20, 1, -1e20] * v), v)", [1]),  # gave [0]
        ("x = [1, 2]\ndiff(sum(x[[0, 0, 0]] * [1e16, 1, -1e16]), x)", [1, 0]),  # gave [0 0]
        ("v = [2]\ndiff(sum([[1e16], [1], [-1e16]] @ v), v)", [1]),  # gave [0]
        # no sum cancels: backpropagation's value, as it was
        ("v = [0.3, 0.7]\ndiff(sum([[1, 2], [3, 4]] @ sin(v)), v)", None),
    ],
)
def test_diff_with_respect_to_a_combined_array_is_checked_where_its_sums_cancel(
    jcalc, text, expected
):
    result = jcalc.last(text)
    if expected is None:  # [4 cos 0.3, 6 cos 0.7]
        expected = [4 * math.cos(0.3), 6 * math.cos(0.7)]
    np.testing.assert_allclose(result["value"], expected, rtol=1e-12, atol=0)
    assert "warnings" not in result


def test_diff_with_respect_to_a_combined_array_it_cannot_check_is_refused(jcalc):
    error = jcalc.last("n = 20001\nw = ones(n)\ndiff(sum([ones(n), -ones(n)] @ w), w)")
    assert error["error"]["type"] == "PrecisionError"
    assert "for each of its 20,001 elements" in error["error"]["message"]


@pytest.mark.parametrize(
    ("raised", "reason"),
    [
        ("HistoryLost", "cannot be vouched for: its history is not kept"),
        ("ValueError", "cannot be vouched for: its history is not kept"),
        ("CalcError", "cannot be vouched for: too much work"),
    ],
)
def test_a_derivative_s_reported_gradient_that_cannot_be_checked_is_left_out(
    monkeypatch, raised, reason
):
    """The report of a derivative vouches for each gradient as one order higher; where that
    check cannot run, the gradient is left out with the reason (it was shown unchecked)."""
    from dezero import Variable
    from dezero_repl import calculus
    from dezero_repl.errors import CalcError
    from dezero_repl.ledger import HistoryLost

    kinds = {"HistoryLost": HistoryLost, "ValueError": ValueError, "CalcError": CalcError}

    def fails(*args, **kwargs):
        raise kinds[raised]("too much work")

    monkeypatch.setattr(calculus, "unreliable_orders", fails)
    x = Variable(np.array(2.0))
    value = x * x
    notes: list[str] = []
    report = calculus.vouched_report(value, [("x", x, np.float64(4.0))], notes.append)
    assert report == [("x", x, None)]
    assert notes == [f"∂/∂x is not shown: it {reason}"]
