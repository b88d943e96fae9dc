"""Tests for dezero.functions: forward values, gradient checks and closed forms."""

import math

import hypothesis.extra.numpy as hnp
import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dezero.functions as F
from dezero import Variable
from dezero.utils import gradient_check

# --------------------------------------------------------------------------- domains

REAL = st.floats(-2.0, 2.0)
WIDE = st.floats(-4.0, 4.0)
POSITIVE = st.floats(0.5, 3.0)
NEAR_ZERO_TAN = st.floats(-1.2, 1.2)
# multiples of 0.1 offset by 0.05: never 0 or +-0.5, pairwise at least 0.1 apart
GRID = st.integers(-20, 19).map(lambda i: (i + 0.5) / 10)


def arrays(elements=REAL, shape=(2, 3), unique=False):
    return hnp.arrays(np.float64, shape, elements=elements, unique=unique)


A = np.array([[0.5, -1.2, 2.0], [1.5, 0.7, -0.3]])
B = np.array([[1.1, 0.6, -0.9], [2.0, -1.4, 0.8]])
ROW = np.array([0.3, -0.7, 1.9])
W = np.array([[0.2, -0.5, 1.0, 0.4], [1.3, 0.1, -0.6, 0.9], [-0.8, 0.7, 0.3, -1.1]])
LEFT = np.array([[0.4, -1.0], [1.2, 0.5], [-0.3, 0.9]])


def np_softmax(x, axis=1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(x, axis=1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


# (id, dezero function of one argument, numpy reference, input strategy)
GRADIENT_TABLE = [
    ("add_lhs", lambda x: F.add(x, B), lambda x: x + B, arrays()),
    ("add_rhs", lambda x: F.add(A, x), lambda x: A + x, arrays()),
    ("add_broadcast", lambda x: F.add(x, A), lambda x: x + A, arrays(shape=(3,))),
    ("add_scalar", lambda x: F.add(x, 2.5), lambda x: x + 2.5, arrays()),
    ("sub_lhs", lambda x: F.sub(x, B), lambda x: x - B, arrays()),
    ("sub_rhs", lambda x: F.sub(A, x), lambda x: A - x, arrays()),
    ("sub_broadcast", lambda x: F.sub(A, x), lambda x: A - x, arrays(shape=(3,))),
    ("rsub", lambda x: F.rsub(x, B), lambda x: B - x, arrays()),
    ("rsub_scalar", lambda x: F.rsub(x, 2.0), lambda x: 2.0 - x, arrays()),
    ("mul_lhs", lambda x: F.mul(x, B), lambda x: x * B, arrays()),
    ("mul_rhs", lambda x: F.mul(A, x), lambda x: A * x, arrays()),
    ("mul_broadcast", lambda x: F.mul(x, A), lambda x: x * A, arrays(shape=(3,))),
    ("mul_self", lambda x: F.mul(x, x), lambda x: x * x, arrays()),
    ("div_lhs", lambda x: F.div(x, B), lambda x: x / B, arrays()),
    ("div_rhs", lambda x: F.div(A, x), lambda x: A / x, arrays(POSITIVE)),
    ("div_broadcast", lambda x: F.div(A, x), lambda x: A / x, arrays(POSITIVE, (3,))),
    ("neg", F.neg, np.negative, arrays()),
    ("pow_cube", lambda x: F.pow(x, 3), lambda x: x**3, arrays()),
    ("pow_square", lambda x: F.pow(x, 2), lambda x: x**2, arrays()),
    ("pow_fractional", lambda x: F.pow(x, 2.5), lambda x: x**2.5, arrays(POSITIVE)),
    ("pow_negative", lambda x: F.pow(x, -2), lambda x: x**-2.0, arrays(POSITIVE)),
    # the other operand as a Variable, broadcast against x from either side
    ("add_var", lambda x: F.add(x, Variable(A)), lambda x: x + A, arrays(shape=(3,))),
    ("add_var_rhs", lambda x: F.add(Variable(ROW), x), lambda x: ROW + x, arrays()),
    ("sub_var", lambda x: F.sub(x, Variable(A)), lambda x: x - A, arrays(shape=(3,))),
    ("sub_var_rhs", lambda x: F.sub(Variable(A), x), lambda x: A - x, arrays(shape=(2, 1))),
    ("rsub_var", lambda x: F.rsub(x, Variable(A)), lambda x: A - x, arrays(shape=(3,))),
    ("mul_var", lambda x: F.mul(x, Variable(A)), lambda x: x * A, arrays(shape=(3,))),
    ("mul_var_rhs", lambda x: F.mul(Variable(ROW), x), lambda x: ROW * x, arrays()),
    ("div_var", lambda x: F.div(x, Variable(B)), lambda x: x / B, arrays(shape=(3,))),
    ("div_var_rhs", lambda x: F.div(Variable(A), x), lambda x: A / x, arrays(POSITIVE, (2, 1))),
    ("pow_var_base", lambda x: F.pow(x, Variable(B)), lambda x: x**B, arrays(POSITIVE, (3,))),
    (
        "pow_var_exponent",
        lambda x: F.pow(Variable(ROW**2 + 0.5), x),
        lambda x: (ROW**2 + 0.5) ** x,
        arrays(),
    ),
    ("rpow_scalar", lambda x: 2.0**x, lambda x: 2.0**x, arrays()),
    ("sin", F.sin, np.sin, arrays(WIDE)),
    ("cos", F.cos, np.cos, arrays(WIDE)),
    ("tan", F.tan, np.tan, arrays(NEAR_ZERO_TAN)),
    ("tanh", F.tanh, np.tanh, arrays(WIDE)),
    ("exp", F.exp, np.exp, arrays()),
    ("log", F.log, np.log, arrays(POSITIVE)),
    ("sqrt", F.sqrt, np.sqrt, arrays(POSITIVE)),
    ("abs", F.abs, np.abs, arrays(GRID)),
    ("sigmoid", F.sigmoid, np_sigmoid, arrays(WIDE)),
    ("relu", F.relu, lambda x: np.maximum(x, 0.0), arrays(GRID)),
    ("leaky_relu", F.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x), arrays(GRID)),
    (
        "leaky_relu_slope",
        lambda x: F.leaky_relu(x, slope=0.05),
        lambda x: np.where(x > 0, x, 0.05 * x),
        arrays(GRID),
    ),
    ("softmax", F.softmax, np_softmax, arrays(WIDE)),
    ("softmax_axis0", lambda x: F.softmax(x, axis=0), lambda x: np_softmax(x, 0), arrays(WIDE)),
    ("log_softmax", F.log_softmax, np_log_softmax, arrays(WIDE)),
    (
        "log_softmax_axis0",
        lambda x: F.log_softmax(x, axis=0),
        lambda x: np_log_softmax(x, 0),
        arrays(WIDE),
    ),
    ("reshape", lambda x: F.reshape(x, (3, 2)), lambda x: x.reshape(3, 2), arrays()),
    ("reshape_flat", lambda x: F.reshape(x, (6,)), lambda x: x.reshape(6), arrays()),
    ("transpose", F.transpose, np.transpose, arrays()),
    (
        "transpose_axes",
        lambda x: F.transpose(x, (2, 0, 1)),
        lambda x: x.transpose(2, 0, 1),
        arrays(shape=(2, 3, 2)),
    ),
    (
        "expand_dims",
        lambda x: F.expand_dims(x, 1),
        lambda x: np.expand_dims(x, 1),
        arrays(),
    ),
    (
        "flatten",
        F.flatten,
        lambda x: x.reshape(x.shape[0], -1),
        arrays(shape=(2, 3, 2)),
    ),
    ("get_item_row", lambda x: F.get_item(x, 1), lambda x: x[1], arrays()),
    ("get_item_element", lambda x: F.get_item(x, (1, 2)), lambda x: x[1, 2], arrays()),
    (
        "get_item_slice",
        lambda x: F.get_item(x, (slice(None), slice(1, 3))),
        lambda x: x[:, 1:3],
        arrays(),
    ),
    (
        "get_item_repeated",
        lambda x: F.get_item(x, np.array([0, 0, 1])),
        lambda x: x[np.array([0, 0, 1])],
        arrays(),
    ),
    ("sum", F.sum, np.sum, arrays()),
    ("sum_axis0", lambda x: F.sum(x, axis=0), lambda x: x.sum(axis=0), arrays()),
    (
        "sum_axis1_keepdims",
        lambda x: F.sum(x, axis=1, keepdims=True),
        lambda x: x.sum(axis=1, keepdims=True),
        arrays(),
    ),
    (
        "sum_axes_tuple",
        lambda x: F.sum(x, axis=(0, 2)),
        lambda x: x.sum(axis=(0, 2)),
        arrays(shape=(2, 3, 2)),
    ),
    ("sum_to_row", lambda x: F.sum_to(x, (3,)), lambda x: x.sum(axis=0), arrays()),
    (
        "sum_to_keepdims",
        lambda x: F.sum_to(x, (2, 1)),
        lambda x: x.sum(axis=1, keepdims=True),
        arrays(),
    ),
    (
        "broadcast_to",
        lambda x: F.broadcast_to(x, (2, 3)),
        lambda x: np.broadcast_to(x, (2, 3)),
        arrays(shape=(3,)),
    ),
    (
        "broadcast_to_column",
        lambda x: F.broadcast_to(x, (2, 3)),
        lambda x: np.broadcast_to(x, (2, 3)),
        arrays(shape=(2, 1)),
    ),
    ("average", F.average, np.mean, arrays()),
    (
        "average_axis",
        lambda x: F.average(x, axis=1, keepdims=True),
        lambda x: x.mean(axis=1, keepdims=True),
        arrays(),
    ),
    ("mean", F.mean, np.mean, arrays()),
    ("matmul_lhs", lambda x: F.matmul(x, W), lambda x: x @ W, arrays()),
    ("matmul_rhs", lambda x: F.matmul(LEFT, x), lambda x: LEFT @ x, arrays()),
    ("max", F.max, np.max, arrays(GRID, unique=True)),
    ("max_axis", lambda x: F.max(x, axis=1), lambda x: x.max(axis=1), arrays(GRID, unique=True)),
    (
        "max_axis_keepdims",
        lambda x: F.max(x, axis=0, keepdims=True),
        lambda x: x.max(axis=0, keepdims=True),
        arrays(GRID, unique=True),
    ),
    ("min", F.min, np.min, arrays(GRID, unique=True)),
    ("min_axis", lambda x: F.min(x, axis=1), lambda x: x.min(axis=1), arrays(GRID, unique=True)),
    (
        "clip",
        lambda x: F.clip(x, -0.5, 0.5),
        lambda x: np.clip(x, -0.5, 0.5),
        arrays(GRID),
    ),
    (
        "composite",
        lambda x: F.sin(F.mul(x, x)) + F.exp(-x),
        lambda x: np.sin(x * x) + np.exp(-x),
        arrays(),
    ),
]


def weighted(fn):
    """Scale outputs by distinct weights so a misrouted gradient cannot cancel out."""

    def f(x, *args):
        y = fn(x, *args)
        w = np.linspace(0.5, 1.5, y.size).reshape(y.shape)
        return y * w

    return f


@pytest.mark.parametrize(
    "fn, reference, strategy",
    [pytest.param(fn, ref, strat, id=name) for name, fn, ref, strat in GRADIENT_TABLE],
)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_function_matches_reference_and_gradient_check(fn, reference, strategy, data):
    x = data.draw(strategy)
    original = x.copy()
    y = fn(Variable(x))
    assert isinstance(y, Variable)
    assert type(y.data) is (np.float64 if y.shape == () else np.ndarray)  # as NumPy returns it
    np.testing.assert_allclose(y.data, reference(original), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(x, original)
    assert gradient_check(weighted(fn), original.copy())


@pytest.mark.parametrize(
    "fn, strategy",
    [pytest.param(fn, strat, id=name) for name, fn, _, strat in GRADIENT_TABLE],
)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_recorded_backward_matches_plain_backward(fn, strategy, data):
    x = data.draw(strategy)
    plain, recorded = Variable(x.copy()), Variable(x.copy())
    weighted(fn)(plain).backward()
    weighted(fn)(recorded).backward(create_graph=True)
    assert isinstance(recorded.grad, Variable)
    assert recorded.grad.shape == plain.grad.shape == x.shape
    np.testing.assert_allclose(recorded.grad.data, plain.grad.data, rtol=1e-12, atol=1e-12)


def derivative(fn):
    """The gradient of weighted(fn) as a differentiable function of x."""

    def g(x):
        x = x if isinstance(x, Variable) else Variable(np.asarray(x))
        weighted(fn)(x).backward(create_graph=True)
        gx = x.grad
        x.cleargrad()
        return gx

    return g


SECOND_ORDER = {
    "mul_self", "div_rhs", "div_broadcast", "div_var_rhs", "pow_cube", "pow_square",
    "pow_fractional", "pow_negative", "pow_var_base", "pow_var_exponent", "rpow_scalar",
    "sin", "cos", "tan", "tanh", "exp", "log", "sqrt", "sigmoid", "softmax", "softmax_axis0",
    "log_softmax", "log_softmax_axis0", "composite",
}  # fmt: skip


@pytest.mark.parametrize(
    "fn, strategy",
    [
        pytest.param(fn, strat, id=name)
        for name, fn, _, strat in GRADIENT_TABLE
        if name in SECOND_ORDER
    ],
)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_second_derivative_gradient_check(fn, strategy, data):
    x = data.draw(strategy)
    assert gradient_check(derivative(fn), x, rtol=1e-3, atol=1e-4)


# --------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize(
    "y0, x0",
    [(0.3, -0.7), (1.0, 1e200), (-0.77, 1.4e251), (1e-200, 2e-200), (3e-160, -4e-160)],
)
def test_atan2_slopes_hold_where_r_squared_overflows_or_underflows(y0, x0):
    # ∂/∂y = x / r², ∂/∂x = -y / r²: r² alone leaves float64's range from |r| = 1.3e154
    # down, or below 1.5e-154, where the slopes themselves are still numbers
    import mpmath

    from dezero import gradients
    from dezero.backprop import gradient_arrays

    y, x = Variable(np.array(y0)), Variable(np.array(x0))
    z = F.atan2(y, x)
    with mpmath.workdps(30):
        r2 = mpmath.mpf(x0) ** 2 + mpmath.mpf(y0) ** 2
        expected = [float(mpmath.mpf(x0) / r2), float(-mpmath.mpf(y0) / r2)]
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        first = [float(g) for g in gradient_arrays(z, [y, x])]
        recorded = [float(g.data) for g in gradients(z, [y, x], create_graph=True)]
    assert first == pytest.approx(expected, rel=1e-15, abs=0)
    assert recorded == pytest.approx(expected, rel=1e-15, abs=0)


#: name, function, and its slope in closed form (for mpmath)
_INVERSES = [
    ("atan", F.atan, lambda t: 1 / (1 + t**2)),
    ("asinh", F.asinh, lambda t: 1 / mpmath.sqrt(t**2 + 1)),
    ("acosh", F.acosh, lambda t: 1 / mpmath.sqrt(t**2 - 1)),
]


@pytest.mark.parametrize(("name", "fn", "slope"), _INVERSES)
@pytest.mark.parametrize("x0", [1.0000001, 1.5, 7.25, 1e10, 3e153, 2e154, 1e200, 1.7e308])
def test_inverse_slopes_hold_where_x_squared_overflows(name, fn, slope, x0):
    # 1/(1 + x²), 1/√(x² + 1), 1/√(x² - 1): x² leaves float64's range from 1.3e154, where
    # the slopes (about 1/x² and 1/x) are still numbers; they had come out as 1/∞ = 0
    from dezero import gradients
    from dezero.backprop import gradient_arrays

    x = Variable(np.array(x0))
    y = fn(x)
    with mpmath.workdps(50):
        expected = float(slope(mpmath.mpf(x0)))
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        (first,) = gradient_arrays(y, [x])
        (recorded,) = gradients(y, [x], create_graph=True)
    tiny = 4e-323  # a few of the smallest subnormal: 1/x² at 2e154 is one, 2.5e-309
    assert float(first) == pytest.approx(expected, rel=4e-16, abs=tiny)
    assert float(recorded.data) == pytest.approx(expected, rel=4e-16, abs=tiny)


@pytest.mark.parametrize(("name", "fn", "slope"), _INVERSES)
@pytest.mark.parametrize("x0", [1.03, 1.5, 7.25, 1e10, 3e50, 2e100])
def test_inverse_series_hold_for_large_arguments(name, fn, slope, x0):
    # Taylor mode's series of the same slopes, scaled by a power of two: orders 1 to 4,
    # against the slope's derivatives in mpmath, as a function of t where x = x0 (1 + t)
    from dezero import series

    x = Variable(np.array(x0))
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        coefficients = series.coefficients(fn(x), x, 4)
    with mpmath.workdps(60):
        a = mpmath.mpf(x0)
        exact = mpmath.diffs(lambda t: slope(a + a * t), 0, 3)  # f^(k) x0^(k-1), k = 1..4
        expected = [0.0] + [float(d / a**k / mpmath.factorial(k + 1)) for k, d in enumerate(exact)]
    for k in range(1, 5):
        assert float(coefficients[k].data) == pytest.approx(expected[k], rel=1e-13, abs=0)


def test_atan2_second_derivative_through_its_slope():
    # ∂²/∂y² atan2(y, x) = -2xy / r⁴
    from dezero import gradients

    y, x = Variable(np.array(0.3)), Variable(np.array(-0.7))
    (gy,) = gradients(F.atan2(y, x), [y], create_graph=True)
    (gyy,) = gradients(gy, [y])
    assert float(gyy.data) == pytest.approx(-2 * -0.7 * 0.3 / 0.58**2, rel=1e-14)


def var(value):
    return Variable(np.array(value, dtype=np.float64))


def grad_of(fn, value):
    x = var(value)
    y = fn(x)
    y.backward()
    return y.data, x.grad.data


@pytest.mark.parametrize(
    "fn, x, value, grad",
    [
        (lambda x: (x + 3) ** 2, 2.0, 25.0, 10.0),
        (lambda x: 2.0 - x, 5.0, -3.0, -1.0),
        (lambda x: x - 1.0, 5.0, 4.0, 1.0),
        (lambda x: x**3, 2.0, 8.0, 12.0),
        (lambda x: F.rsub(x, 2.0), 5.0, -3.0, -1.0),
        (lambda x: F.sub(x, 1.0), 5.0, 4.0, 1.0),
        (lambda x: F.div(1.0, x), 2.0, 0.5, -0.25),
        (lambda x: F.neg(x), 2.0, -2.0, -1.0),
        (F.exp, 0.0, 1.0, 1.0),
        (F.log, math.e, 1.0, 1 / math.e),
        (F.sqrt, 4.0, 2.0, 0.25),
        (F.abs, -3.0, 3.0, -1.0),
        (F.abs, 3.0, 3.0, 1.0),
        (F.sin, math.pi / 2, 1.0, 0.0),
        (F.cos, 0.0, 1.0, 0.0),
        (F.tan, math.pi / 4, 1.0, 2.0),
        (F.tanh, 0.0, 0.0, 1.0),
        (F.sigmoid, 0.0, 0.5, 0.25),
        (F.relu, -1.0, 0.0, 0.0),
        (F.relu, 2.0, 2.0, 1.0),
        (F.leaky_relu, -1.0, -0.2, 0.2),
        (F.leaky_relu, 2.0, 2.0, 1.0),
        (lambda x: F.clip(x, -1.0, 1.0), 3.0, 1.0, 0.0),
        (lambda x: F.clip(x, -1.0, 1.0), -3.0, -1.0, 0.0),
        (lambda x: F.clip(x, -1.0, 1.0), 0.5, 0.5, 1.0),
    ],
    ids=[
        "square_shift",
        "rsub_op",
        "sub_op",
        "cube",
        "rsub",
        "sub",
        "reciprocal",
        "neg",
        "exp",
        "log",
        "sqrt",
        "abs_neg",
        "abs_pos",
        "sin",
        "cos",
        "tan",
        "tanh",
        "sigmoid",
        "relu_neg",
        "relu_pos",
        "leaky_relu_neg",
        "leaky_relu_pos",
        "clip_high",
        "clip_low",
        "clip_inside",
    ],
)
def test_scalar_closed_form(fn, x, value, grad):
    y_data, g_data = grad_of(fn, x)
    assert y_data == pytest.approx(value, abs=1e-12)
    assert g_data == pytest.approx(grad, abs=1e-12)


def test_nested_squares_at_ones():
    x = Variable(np.ones((2, 2)))
    y = F.pow(F.pow(F.pow(x, 2), 2), 2)
    y.backward()
    np.testing.assert_array_equal(y.data, np.ones((2, 2)))
    np.testing.assert_array_equal(x.grad.data, np.full((2, 2), 8.0))


def test_matmul_gradient_shapes_and_values():
    a = Variable(np.arange(6.0).reshape(2, 3))
    b = Variable(np.arange(12.0).reshape(3, 4))
    y = F.matmul(a, b)
    assert y.shape == (2, 4)
    y.backward()
    assert a.grad.shape == (2, 3)
    assert b.grad.shape == (3, 4)
    np.testing.assert_allclose(a.grad.data, np.ones((2, 4)) @ b.data.T)
    np.testing.assert_allclose(b.grad.data, a.data.T @ np.ones((2, 4)))


def test_softmax_rows_sum_to_one():
    x = Variable(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]))
    y = F.softmax(x)
    np.testing.assert_allclose(y.data.sum(axis=1), [1.0, 1.0])
    np.testing.assert_allclose(y.data[1], [1 / 3, 1 / 3, 1 / 3])


def test_softmax_is_stable_for_large_inputs():
    x = Variable(np.array([[1000.0, 1001.0, 1002.0]]))
    y = F.softmax(x)
    np.testing.assert_allclose(y.data, np_softmax(np.array([[0.0, 1.0, 2.0]])))


def test_log_softmax_is_stable_for_large_inputs():
    x = Variable(np.array([[1000.0, 1001.0, 1002.0]]))
    y = F.log_softmax(x)
    assert np.all(np.isfinite(y.data))
    np.testing.assert_allclose(y.data, np_log_softmax(np.array([[0.0, 1.0, 2.0]])))
    y.backward()
    assert np.all(np.isfinite(x.grad.data))


def test_max_gradient_goes_to_argmax():
    x = Variable(np.array([[1.0, 5.0], [3.0, 2.0]]))
    y = F.max(x)
    assert y.data == 5.0
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [[0, 1], [0, 0]])


def test_max_along_axis_with_keepdims():
    x = Variable(np.array([[1.0, 5.0], [3.0, 2.0]]))
    y = F.max(x, axis=1, keepdims=True)
    np.testing.assert_array_equal(y.data, [[5.0], [3.0]])
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [[0, 1], [1, 0]])


def test_min_gradient_goes_to_argmin():
    x = Variable(np.array([[1.0, 5.0], [3.0, 2.0]]))
    y = F.min(x, axis=0)
    np.testing.assert_array_equal(y.data, [1.0, 2.0])
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [[1, 0], [0, 1]])


def test_clip_vector_values_and_mask():
    x = Variable(np.array([-2.0, -0.5, 0.0, 0.5, 2.0]))
    y = F.clip(x, -1.0, 1.0)
    np.testing.assert_array_equal(y.data, [-1.0, -0.5, 0.0, 0.5, 1.0])
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [0, 1, 1, 1, 0])


def test_average_value_and_gradient():
    x = Variable(np.array([[1.0, 2.0], [3.0, 6.0]]))
    y = F.average(x)
    assert y.data == 3.0
    y.backward()
    np.testing.assert_array_equal(x.grad.data, np.full((2, 2), 0.25))


def test_mean_is_average():
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    np.testing.assert_array_equal(F.mean(Variable(x), axis=0).data, [2.0, 4.0])
    np.testing.assert_array_equal(F.average(Variable(x), axis=0).data, [2.0, 4.0])


def test_sum_keepdims_shape():
    x = Variable(np.ones((2, 3, 4)))
    assert F.sum(x, axis=1, keepdims=True).shape == (2, 1, 4)
    assert F.sum(x, axis=(0, 2)).shape == (3,)
    assert F.sum(x).shape == ()


@pytest.mark.parametrize("n", [1 << 16, (1 << 16) + 1, 3 * 1024 * 100 + 777, 10**6 + 3])
@pytest.mark.parametrize("kind", ["normal", "offset", "wide", "cancelling"])
def test_sum_of_a_large_array_is_as_accurate_as_a_pairwise_sum(n, kind):
    rng = np.random.default_rng(n)
    x = {
        "normal": lambda: rng.standard_normal(n),
        "offset": lambda: rng.standard_normal(n) + 1e3,
        "wide": lambda: rng.standard_normal(n) * np.exp(rng.uniform(-30, 30, n)),
        "cancelling": lambda: np.concatenate([a := rng.standard_normal(n // 2), -a[::-1]]),
    }[kind]()
    exact, scale = math.fsum(x), math.fsum(np.abs(x))
    total = F.sum(Variable(x)).data
    assert total.shape == () and total.dtype == np.float64
    # NumPy's pairwise sum is off by up to ~2e-16 of sum|x| on these; the bound has room.
    assert abs(total - exact) <= 1e-15 * scale
    kept = F.sum(Variable(x.reshape(1, -1)), keepdims=True).data
    assert kept.shape == (1, 1) and kept[0, 0] == total


def test_sum_by_blas_keeps_numpys_special_values_and_leaves_other_sums_to_numpy():
    n = 1 << 20  # large enough for BLAS to give the last rows to another thread
    zeros = np.full(n, -0.0)
    assert np.signbit(F.sum(Variable(zeros)).data) == np.signbit(zeros.sum())
    with_inf = np.ones(n)
    with_inf[5] = np.inf
    assert F.sum(Variable(with_inf)).data == np.inf
    for inf_at in (5, n - 2):
        both = np.ones(n)
        both[inf_at : inf_at + 2] = (np.inf, -np.inf)
        with pytest.warns(RuntimeWarning, match="invalid value"):
            assert np.isnan(F.sum(Variable(both)).data)
    last_row_overflows = np.zeros(n)
    last_row_overflows[-1024:] = 1e306
    with pytest.warns(RuntimeWarning, match="overflow"):
        assert F.sum(Variable(last_row_overflows)).data == np.inf
    with_nan = np.ones(n)
    with_nan[n // 2] = np.nan
    assert np.isnan(F.sum(Variable(with_nan)).data)
    # Along an axis, strided, or not float64: NumPy's own sum, bit for bit.
    x = np.random.default_rng(0).standard_normal((512, 256))
    for a, axis in ((x, 0), (x.T, None), (x[:, ::2], None), (x.astype(np.float32), None)):
        np.testing.assert_array_equal(F.sum(Variable(a), axis=axis).data, a.sum(axis=axis))


def test_sum_to_and_broadcast_to_are_adjoint():
    x = Variable(np.array([1.0, 2.0, 3.0]))
    y = F.broadcast_to(x, (2, 3))
    np.testing.assert_array_equal(y.data, [[1, 2, 3], [1, 2, 3]])
    z = F.sum_to(y, (3,))
    np.testing.assert_array_equal(z.data, [2.0, 4.0, 6.0])
    z.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0, 2.0])


def test_sum_to_same_shape_is_identity():
    x = Variable(np.array([[1.0, 2.0]]))
    y = F.sum_to(x, (1, 2))
    np.testing.assert_array_equal(y.data, [[1.0, 2.0]])


def test_reshape_to_same_shape_returns_equal_variable():
    x = Variable(np.array([[1.0, 2.0]]))
    y = F.reshape(x, (1, 2))
    assert isinstance(y, Variable)
    np.testing.assert_array_equal(y.data, [[1.0, 2.0]])


def test_transpose_default_reverses_axes():
    x = Variable(np.zeros((2, 3, 4)))
    assert F.transpose(x).shape == (4, 3, 2)
    assert F.transpose(x, (1, 0, 2)).shape == (3, 2, 4)


def test_expand_dims_and_flatten_shapes():
    x = Variable(np.zeros((2, 3)))
    assert F.expand_dims(x, 0).shape == (1, 2, 3)
    assert F.expand_dims(x, 2).shape == (2, 3, 1)
    assert F.flatten(Variable(np.zeros((2, 3, 4)))).shape == (2, 12)


def test_get_item_repeated_indices_accumulate():
    x = Variable(np.array([1.0, 2.0, 3.0]))
    y = F.get_item(x, [0, 0, 2])
    np.testing.assert_array_equal(y.data, [1.0, 1.0, 3.0])
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 0.0, 1.0])


def test_leaky_relu_default_slope_is_point_two():
    x = Variable(np.array([-1.0, -2.0, 3.0]))
    y = F.leaky_relu(x)
    np.testing.assert_allclose(y.data, [-0.2, -0.4, 3.0])


def test_functions_accept_plain_arrays():
    y = F.sin(np.array([0.0, math.pi / 2]))
    assert isinstance(y, Variable)
    np.testing.assert_allclose(y.data, [0.0, 1.0], atol=1e-15)


def test_softmax_simple_agrees_with_softmax_in_value_and_gradient():
    data = np.array([[0.1, -2.0, 3.0], [1.0, 1.0, 0.5]])
    a, b = Variable(data.copy()), Variable(data.copy())
    ya, yb = F.softmax_simple(a), F.softmax(b)
    np.testing.assert_allclose(ya.data, yb.data, rtol=1e-15)
    weights = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
    F.sum(ya * weights).backward()
    F.sum(yb * weights).backward()
    np.testing.assert_allclose(a.grad.data, b.grad.data, rtol=1e-12, atol=1e-15)


def test_every_public_function_class_and_method_of_dezero_has_a_docstring():
    import importlib
    import inspect

    missing = []
    for name in ["dezero", "dezero.core", "dezero.functions", "dezero.operators",
                 "dezero.backprop", "dezero.series", "dezero.utils", "dezero.piecewise",
                 "dezero.special", "dezero.quadrature", "dezero.budget"]:  # fmt: skip
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", None) or dir(module):
            obj = getattr(module, attr, None)
            if attr.startswith("_") or getattr(obj, "__module__", None) != name:
                continue
            if inspect.isfunction(obj) and not inspect.getdoc(obj):
                missing.append(f"{name}.{attr}")
            if inspect.isclass(obj):
                if not obj.__doc__:
                    missing.append(f"{name}.{attr}")
                for method, value in vars(obj).items():
                    if inspect.isfunction(value) and not method.startswith("_"):
                        if not inspect.getdoc(getattr(obj, method)):
                            missing.append(f"{name}.{attr}.{method}")
    assert missing == []


def test_linear_solve_differentiates_to_any_order_as_mpmath_does():
    # y = |A(a)⁻¹ b(a)|², with A and b smooth in a: Taylor mode to order 4, and backward.
    import mpmath

    from dezero import series, using_config

    rng = np.random.default_rng(1)
    m, n = rng.standard_normal((3, 3)) + 3 * np.eye(3), rng.standard_normal((3, 3))
    v, w = rng.standard_normal(3), rng.standard_normal(3)
    a = Variable(np.array(0.7))
    with using_config("enable_backprop", True):
        x = F.linear_solve(F.exp(a) * m + F.sin(a) * n, a * v + F.cos(a) * w)
        y = F.sum(x * x)
        got = [float(c.data) for c in series.coefficients(y, a, 4)]
    y.backward()

    def exact(t):
        matrix = mpmath.matrix(
            [
                [mpmath.exp(t) * m[i, j] + mpmath.sin(t) * n[i, j] for j in range(3)]
                for i in range(3)
            ]
        )
        vector = mpmath.matrix([t * v[i] + mpmath.cos(t) * w[i] for i in range(3)])
        solution = mpmath.lu_solve(matrix, vector)
        return sum(solution[i] ** 2 for i in range(3))

    with mpmath.workdps(40):
        want = [float(c) for c in mpmath.taylor(exact, mpmath.mpf(0.7), 4)]
    assert got == pytest.approx(want, rel=1e-12)
    assert float(a.grad.data) == pytest.approx(want[1], rel=1e-12)


# ---- Taylor mode's sums: correctly rounded however their terms cancel ----------------


def _exact(terms) -> float:
    """The sum of float terms, exactly, rounded once to float64 (mpmath at 2,200 bits holds
    every float64 sum exactly)."""
    with mpmath.workprec(2200):
        return float(mpmath.fsum(mpmath.mpf(float(t)) for t in terms))


cancelling = st.lists(
    st.floats(min_value=-1e20, max_value=1e20, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=12,
).map(lambda ts: ts + [-t for t in ts[: len(ts) // 2]] + [1.0])


@settings(max_examples=300, deadline=None)
@given(terms=cancelling)
def test_exact_sum_is_within_1e_13_however_the_terms_cancel(terms):
    x = np.array(terms)
    assert F.exact_sum_array(x) == pytest.approx(_exact(terms), rel=1e-13, abs=0)
    grid = np.array([terms, terms[::-1]])
    np.testing.assert_allclose(F.exact_sum_array(grid, 1), [_exact(terms)] * 2, 1e-13, 0)
    assert F.exact_sum_array(grid, -1, keepdims=True).shape == (2, 1)


def test_exact_sum_keeps_numpy_s_shapes_and_its_non_finite_totals():
    x = np.arange(24.0).reshape(2, 3, 4)
    for axis in (None, 0, 1, 2, -1, (0, 2), (2, 0)):
        for keepdims in (False, True):
            want = np.sum(x, axis=axis, keepdims=keepdims)
            got = F.exact_sum_array(x, axis, keepdims)
            assert np.shape(got) == want.shape
            np.testing.assert_array_equal(got, want)  # small integers: every sum is exact
    assert type(F.exact_sum_array(np.array([1.0, 2.0]))) is np.float64  # as NumPy's sum
    assert F.exact_sum_array(np.array([np.inf, 1.0])) == np.inf
    with np.errstate(invalid="ignore"):
        assert np.isnan(F.exact_sum_array(np.array([np.inf, -np.inf])))
    with np.errstate(over="ignore"):
        assert F.exact_sum_array(np.array([1e308, 1e308])) == np.inf


def test_exact_sum_in_longdouble_keeps_its_extra_bits():
    if np.finfo(np.longdouble).nmant <= 52:
        pytest.skip("this platform's longdouble is float64")
    x = np.array([1e20, 1, -1e20, 2.0**-60], dtype=np.longdouble)
    total = F.exact_sum_array(x)
    assert total.dtype == np.longdouble
    assert total == np.longdouble(1) + np.longdouble(2.0**-60)  # beyond float64's bits


def test_taylor_mode_sums_exactly_where_backpropagation_loses_the_terms():
    """The derivative of sum(c·v), c = [1e20, 1, -1e20], is 1: NumPy's pairwise sum of c
    gives 0, in float64 and in extended precision alike."""
    from dezero import series

    v = Variable(np.array(2.0))
    y = F.sum(Variable(np.array([1e20, 1.0, -1e20])) * v)
    assert series.coefficients(y, v, 1)[1].data == 1.0
    w = Variable(np.array([3.0, 5.0]))
    z = F.sum_to(Variable(np.array([[1e20, 1.0], [1.0, 2.0], [-1e20, 3.0]])) * w, (1, 2))
    np.testing.assert_array_equal(series.coefficients(z, w, 1)[1].data, [[1.0, 6.0]])


def _exact_dot(a, b) -> float:
    with mpmath.workprec(2200):
        return float(mpmath.fsum(mpmath.mpf(float(x)) * mpmath.mpf(float(y)) for x, y in zip(a, b)))


@settings(max_examples=200, deadline=None)
@given(terms=cancelling, scale=st.floats(min_value=0.1, max_value=10))
def test_exact_matmul_is_within_1e_13_however_its_products_cancel(terms, scale):
    a = np.array(terms)
    b = np.full(a.shape, scale) * np.linspace(1, 1.5, a.size)  # products that round
    assert F.exact_matmul_array(a, b) == pytest.approx(_exact_dot(a, b), rel=1e-13, abs=0)
    m = np.array([a, -a[::-1]])
    want = [_exact_dot(a, b), _exact_dot(-a[::-1], b)]
    np.testing.assert_allclose(F.exact_matmul_array(m, b), want, rtol=1e-13, atol=0)


def test_exact_matmul_keeps_numpy_s_shapes_and_falls_back_where_it_cannot_split():
    rng = np.random.default_rng(1)
    for sa, sb in [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)),
                   ((5, 2, 3), (3, 4)), ((5, 2, 3), (5, 3, 1))]:  # fmt: skip
        a, b = rng.normal(size=sa), rng.normal(size=sb)
        got = F.exact_matmul_array(a, b)
        assert np.shape(got) == np.matmul(a, b).shape
        np.testing.assert_allclose(got, np.matmul(a, b), rtol=1e-13, atol=1e-15)
    huge = np.array([1e305, 1.0])  # its split overflows: NumPy's product, as it was
    np.testing.assert_array_equal(F.exact_matmul_array(huge, np.ones(2)), huge @ np.ones(2))
    ints = np.array([1, 2]), np.array([3, 4])
    assert F.exact_matmul_array(*ints) == 11


def test_taylor_mode_multiplies_matrices_exactly_where_blas_loses_the_terms():
    from dezero import series

    x = Variable(np.array(2.0))
    y = F.matmul(Variable(np.array([1e20, 1.0, -1e20])), F.stack([x, x * x, x]))
    c = series.coefficients(y, x, 2)
    assert (c[1].data, c[2].data) == (4.0, 1.0)  # (x^2)' at 2, and (x^2)''/2
