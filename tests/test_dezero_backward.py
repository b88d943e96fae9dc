"""Tests for backpropagation semantics: graph traversal, memory, retained and higher-order grads."""

import gc
import math
import os
import tracemalloc
import warnings
import weakref

import numpy as np
import pytest

import dezero.functions as F
from dezero import Function, Variable, no_grad


def var(value):
    return Variable(np.array(value, dtype=np.float64))


def square(x):
    return x**2


# --------------------------------------------------------------------------- seed examples


def test_quadratic_value_and_gradient():
    x = var(2.0)
    y = (x + 3) ** 2
    y.backward()
    assert y.data == 25.0
    assert x.grad.data == 10.0


def test_multiply_add_gradients():
    a, b, c = var(3.0), var(2.0), var(1.0)
    y = a * b + c
    y.backward()
    assert y.data == 7.0
    assert a.grad.data == 2.0
    assert b.grad.data == 3.0
    assert c.grad.data == 1.0


def test_output_gradient_is_seeded_with_ones():
    x = Variable(np.array([[1.0, 2.0], [3.0, 4.0]]))
    y = x * 1.0
    y.backward(retain_grad=True)
    np.testing.assert_array_equal(y.grad.data, np.ones((2, 2)))


# --------------------------------------------------------------------------- graph topology


def test_diamond_graph_gradient():
    x = var(3.0)
    y = x * x + x * x
    y.backward()
    assert y.data == 18.0
    assert x.grad.data == 12.0


def test_add_same_variable_twice():
    x = var(3.0)
    y = F.add(x, x)
    y.backward()
    assert y.data == 6.0
    assert x.grad.data == 2.0


def test_add_same_variable_three_times():
    x = var(3.0)
    y = x + x + x
    y.backward()
    assert x.grad.data == 3.0


def test_wide_sum_gradient_is_sum_of_coefficients():
    x = var(0.5)
    y = x * 1
    for k in range(2, 201):
        y = y + x * k
    y.backward()
    assert y.data == pytest.approx(0.5 * 20100)
    assert x.grad.data == 20100.0


@pytest.mark.parametrize("create_graph", [False, True], ids=["plain", "recorded"])
def test_generations_order_backward_pass(create_graph):
    x = var(2.0)
    a = square(x)
    y = square(a) + square(a)
    y.backward(create_graph=create_graph)
    assert y.data == 32.0
    assert x.grad.data == 64.0


def test_branches_of_different_depth():
    x = var(2.0)
    deep = x
    for _ in range(10):
        deep = deep * 1.0
    y = deep * x + x
    y.backward()
    assert y.data == 6.0
    assert x.grad.data == 5.0


@pytest.mark.parametrize("create_graph", [False, True], ids=["plain", "recorded"])
@pytest.mark.parametrize("deep_first", [False, True], ids=["shallow_first", "deep_first"])
def test_shared_intermediate_waits_for_every_branch(deep_first, create_graph):
    x = var(0.7)
    a = F.sin(x)
    deep = a
    for _ in range(5):
        deep = deep * 1.0
    shallow = a * 2
    y = deep + shallow if deep_first else shallow + deep
    y.backward(create_graph=create_graph)
    assert x.grad.data == pytest.approx(3 * math.cos(0.7))


@pytest.mark.parametrize("create_graph", [False, True], ids=["plain", "recorded"])
def test_shared_intermediates_at_several_depths(create_graph):
    x = var(1.5)
    a = x * 2
    b = a * a
    c = b + a
    y = c * b + a
    y.backward(create_graph=create_graph)
    # y = (4x^2 + 2x) * 4x^2 + 2x = 16x^4 + 8x^3 + 2x
    assert y.data == pytest.approx(16 * 1.5**4 + 8 * 1.5**3 + 3)
    assert x.grad.data == pytest.approx(64 * 1.5**3 + 24 * 1.5**2 + 2)


@pytest.mark.parametrize(
    "make, expected_grad",
    [
        (lambda x: x**2 + x**3, lambda v: 2 * v + 3 * v**2),
        (lambda x: x**2 + x * 3, lambda v: 2 * v + 3),
        (lambda x: x * 3 + x**2, lambda v: 3 + 2 * v),
        (lambda x: F.sin(x) + x**2, lambda v: np.cos(v) + 2 * v),
        (lambda x: F.exp(x) + F.sum(x**2, keepdims=True), lambda v: np.exp(v) + 6 * v),
        (lambda x: x / 2 + 2 / x + x**2, lambda v: 0.5 - 2 / v**2 + 2 * v),
    ],
    ids=["pow_pow", "pow_mul", "mul_pow", "sin_pow", "exp_sum", "div_rdiv_pow"],
)
def test_sibling_branches_get_independent_gradients(make, expected_grad):
    v = np.array([0.5, 1.5, 3.0])
    x = Variable(v.copy())
    make(x).backward()
    np.testing.assert_allclose(x.grad.data, expected_grad(v))


def test_long_chain_backward_is_iterative():
    x = var(1.0)
    y = x
    for _ in range(100_000):
        y = y + 1
    y.backward()
    assert y.data == 100_001.0
    assert x.grad.data == 1.0


def test_long_multiplicative_chain_backward():
    x = var(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert y.data == 1.0
    assert x.grad.data == 1.0


# --------------------------------------------------------------------------- gradient accumulation


def test_second_backward_accumulates_without_mutating_held_gradient():
    x = var(3.0)
    y = x * x
    y.backward()
    first = x.grad
    first_data = first.data
    assert first_data == 6.0
    y.backward()
    assert x.grad.data == 12.0
    assert first_data == 6.0
    assert first.data == 6.0


def test_accumulation_does_not_alias_output_gradient():
    x = var(3.0)
    y = F.add(x, x)
    y.backward(retain_grad=True)
    assert y.grad.data == 1.0
    assert x.grad.data == 2.0
    assert x.grad.data is not y.grad.data
    x.grad.data[...] = 100.0
    assert y.grad.data == 1.0


def test_accumulation_does_not_alias_user_array_through_add_of_vector():
    x = Variable(np.array([1.0, 2.0]))
    y = x + x
    y.backward(retain_grad=True)
    np.testing.assert_array_equal(y.grad.data, [1.0, 1.0])
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


def test_cleargrad_between_backward_calls_gives_fresh_gradient():
    x = var(3.0)
    (x * x).backward()
    x.cleargrad()
    (x * 4).backward()
    assert x.grad.data == 4.0


def test_reusing_variable_in_new_graph_after_cleargrad():
    x = var(2.0)
    y = (x + 3) ** 2
    y.backward()
    assert x.grad.data == 10.0
    x.cleargrad()
    z = x**3
    z.backward()
    assert x.grad.data == 12.0


SEEDED = [
    lambda x: x**2,
    lambda x: x**3,
    lambda x: x * x,
    lambda x: x * 2,
    lambda x: x + x,
    lambda x: x / 2,
    lambda x: 2 / x,
    lambda x: 2**x,
    lambda x: -x,
    lambda x: F.sin(x),
    lambda x: F.exp(x),
    lambda x: F.tanh(x),
    lambda x: F.sqrt(x),
    lambda x: F.reshape(x, (3, 1)),
    lambda x: F.get_item(x, np.array([0, 0, 2])),
    lambda x: F.sum(x, keepdims=True) * 1.0,
]
SEEDED_IDS = [
    "pow2", "pow3", "mul_self", "mul_const", "add_self", "div_const", "rdiv", "rpow", "neg",
    "sin", "exp", "tanh", "sqrt", "reshape", "get_item", "sum",
]  # fmt: skip


@pytest.mark.parametrize("make", SEEDED, ids=SEEDED_IDS)
def test_backward_does_not_modify_user_seeded_gradient(make):
    x = Variable(np.array([0.5, 1.5, 3.0]))
    y = make(x)
    seed = np.linspace(1.5, 2.5, y.size).reshape(y.shape)
    held = seed.copy()
    y.grad = Variable(seed)
    y.backward()
    np.testing.assert_array_equal(seed, held)
    reference = Variable(np.array([0.5, 1.5, 3.0]))
    (make(reference) * held).backward()
    np.testing.assert_allclose(x.grad.data, reference.grad.data)


@pytest.mark.parametrize("make", SEEDED, ids=SEEDED_IDS)
@pytest.mark.parametrize("create_graph", [False, True], ids=["plain", "recorded"])
def test_retained_output_gradient_stays_ones(make, create_graph):
    x = Variable(np.array([0.5, 1.5, 3.0]))
    y = make(x)
    y.backward(retain_grad=True, create_graph=create_graph)
    np.testing.assert_array_equal(y.grad.data, np.ones(y.shape))


@pytest.mark.parametrize(
    "make",
    [
        lambda x: F.sum(x),
        lambda x: F.average(x),
        lambda x: F.broadcast_to(x, (2, 3)),
        lambda x: F.get_item(x, 1),
        lambda x: F.max(x),
        lambda x: x * 2,
        lambda x: x + 1,
        lambda x: x**2,
        lambda x: F.reshape(x, (3, 1)),
    ],
    ids=["sum", "average", "broadcast_to", "get_item", "max", "mul", "add", "pow", "reshape"],
)
def test_leaf_gradients_are_writable_and_independent(make):
    x = Variable(np.array([0.5, 1.5, 3.0]))
    make(x).backward()
    g = x.grad.data
    before = g.copy()
    assert g.flags.writeable
    g[0] += 10.0
    np.testing.assert_array_equal(g[1:], before[1:])
    assert g[0] == before[0] + 10.0


# --------------------------------------------------------------------------- retain_grad


def test_intermediate_gradients_are_released_by_default():
    x0, x1 = var(1.0), var(1.0)
    t = x0 + x1
    y = x0 + t
    y.backward()
    assert y.grad is None
    assert t.grad is None
    assert x0.grad.data == 2.0
    assert x1.grad.data == 1.0


def test_retain_grad_keeps_intermediate_gradients():
    x0, x1 = var(1.0), var(1.0)
    t = x0 + x1
    y = x0 + t
    y.backward(retain_grad=True)
    assert y.grad.data == 1.0
    assert t.grad.data == 1.0
    assert x0.grad.data == 2.0
    assert x1.grad.data == 1.0


# --------------------------------------------------------------------------- memory


def _collect_chain_refs(x, length):
    refs = []
    y = x
    for i in range(length):
        y = y * 1.0 if i % 2 else y + 1
        refs.append(weakref.ref(y))
        refs.append(weakref.ref(y.creator))
    return y, refs


@pytest.mark.parametrize("run_backward", [False, True], ids=["forward_only", "after_backward"])
def test_graph_is_freed_by_refcounting_alone(run_backward):
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        x = var(1.0)
        y, refs = _collect_chain_refs(x, 1000)
        assert y.data == 501.0
        if run_backward:
            y.backward()
            assert x.grad.data == 1.0
        assert all(r() is not None for r in refs)
        del y
        alive = sum(r() is not None for r in refs)
        assert alive == 0
    finally:
        if was_enabled:
            gc.enable()


def test_function_does_not_keep_its_output_alive():
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        x = var(2.0)
        y = x * 3
        f = y.creator
        y_ref = weakref.ref(y)
        del y
        assert y_ref() is None
        assert f is not None
    finally:
        if was_enabled:
            gc.enable()


def _rss_bytes():
    with open("/proc/self/statm") as fh:
        resident_pages = int(fh.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc/self/statm")
def test_repeated_backward_keeps_memory_flat():
    rss_at_10k = None
    for i in range(100_000):
        x = Variable(np.array(2.0))
        y = (x + 3) ** 2
        y.backward()
        if i == 0:
            assert x.grad.data == 10.0
        del x, y
        if i == 10_000:
            rss_at_10k = _rss_bytes()
    growth = _rss_bytes() - rss_at_10k
    assert growth < 5 * 1024 * 1024


def _traced_forward_bytes(x, backprop):
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        if backprop:
            y = square(square(square(x)))
        else:
            with no_grad():
                y = square(square(square(x)))
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(y.data, np.ones_like(x.data))
    return used


def test_no_grad_forward_keeps_only_the_result():
    x = Variable(np.ones((100, 100, 100)))
    used = _traced_forward_bytes(x, backprop=False)
    assert used < 1.5 * x.data.nbytes


def test_backprop_forward_keeps_intermediate_results():
    x = Variable(np.ones((100, 100, 100)))
    used = _traced_forward_bytes(x, backprop=True)
    assert used >= 2.5 * x.data.nbytes


# --------------------------------------------------------------------------- higher order


def test_create_graph_makes_gradient_differentiable():
    x = var(2.0)
    y = x**3
    y.backward(create_graph=True)
    assert x.grad.data == 12.0
    assert x.grad.creator is not None


def test_gradient_has_no_graph_without_create_graph():
    x = var(2.0)
    y = x**3
    y.backward()
    assert x.grad.data == 12.0
    assert x.grad.creator is None


def test_second_derivative_of_cubic():
    x = var(2.0)
    y = x**3
    y.backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    gx.backward()
    assert x.grad.data == 12.0


def test_newton_method_converges_within_ten_iterations():
    x = var(2.0)
    for _ in range(10):
        y = x**4 - 2 * x**2
        x.cleargrad()
        y.backward(create_graph=True)
        gx = x.grad
        x.cleargrad()
        gx.backward()
        gx2 = x.grad
        x.data -= gx.data / gx2.data
    assert x.data == pytest.approx(1.0, abs=1e-12)


def test_newton_method_first_step_matches_closed_form():
    x = var(2.0)
    y = x**4 - 2 * x**2
    y.backward(create_graph=True)
    gx = x.grad
    assert gx.data == 24.0
    x.cleargrad()
    gx.backward()
    assert x.grad.data == 44.0


@pytest.mark.parametrize("point", [-2.0, 0.0, 0.3, 1.0, 2.5])
def test_sin_derivatives_cycle(point):
    x = var(point)
    y = F.sin(x)
    y.backward(create_graph=True)
    derivatives = [x.grad.data.item()]
    for _ in range(3):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
        derivatives.append(x.grad.data.item())
    expected = [math.cos(point), -math.sin(point), -math.cos(point), math.sin(point)]
    np.testing.assert_allclose(derivatives, expected, atol=1e-12)


def test_tanh_second_derivative():
    x = var(0.5)
    y = F.tanh(x)
    y.backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    gx.backward()
    t = math.tanh(0.5)
    assert x.grad.data == pytest.approx(-2 * t * (1 - t**2))


def test_double_backprop():
    x = var(2.0)
    y = x**2
    y.backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    z = gx**3 + y
    z.backward()
    assert x.grad.data == 100.0


def test_higher_order_through_mul_and_exp():
    x = var(0.5)
    y = x * F.exp(x)
    y.backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    gx.backward()
    assert x.grad.data == pytest.approx((2 + 0.5) * math.exp(0.5))


# --------------------------------------------------------------------------- exponents


def test_variable_exponent_differentiates_base_and_exponent():
    x, y = var(2.0), var(3.0)
    z = x**y
    z.backward()
    assert z.data == 8.0
    assert x.grad.data == pytest.approx(12.0)
    assert y.grad.data == pytest.approx(8.0 * math.log(2.0))


def test_scalar_base_with_variable_exponent():
    x = var(3.0)
    y = 2**x
    y.backward()
    assert isinstance(y, Variable)
    assert y.data == 8.0
    assert x.grad.data == pytest.approx(8.0 * math.log(2.0))


def test_array_exponent_of_variable_is_constant():
    x = Variable(np.array([1.0, 2.0, 3.0]))
    y = x ** np.array([2.0, 3.0, 0.5])
    np.testing.assert_allclose(y.data, [1.0, 8.0, math.sqrt(3.0)])
    y.backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 12.0, 0.5 / math.sqrt(3.0)])


def test_constant_exponent_gradient():
    x = var(2.0)
    y = x**3
    y.backward()
    assert y.data == 8.0
    assert x.grad.data == 12.0


def test_function_pow_with_constant():
    x = var(2.0)
    y = F.pow(x, 3)
    y.backward()
    assert y.data == 8.0
    assert x.grad.data == 12.0


@pytest.mark.parametrize("base, value, grad", [(-2.0, -8.0, 12.0), (0.0, 0.0, 0.0)])
def test_constant_exponent_is_clean_for_non_positive_base(base, value, grad):
    x = var(base)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = x**3
        y.backward()
    assert y.data == value
    assert x.grad.data == grad


def test_variable_exponent_second_derivative_in_exponent():
    x = var(2.0)
    y = 3**x
    y.backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    gx.backward()
    assert x.grad.data == pytest.approx(9.0 * math.log(3.0) ** 2)


# --------------------------------------------------------------------------- custom function


class Cube(Function):
    def forward(self, x):
        return x**3

    def backward(self, gy):
        (x,) = self.inputs
        return 3 * x**2 * gy


def test_user_function_supports_higher_order_gradients():
    x = var(2.0)
    y = Cube()(x)
    y.backward(create_graph=True)
    assert x.grad.data == 12.0
    gx = x.grad
    x.cleargrad()
    gx.backward()
    assert x.grad.data == 12.0


@pytest.mark.parametrize("c", [2, 3, 0.5, -1])
def test_power_under_a_sum_folds_the_repeated_gradient(c):
    """sum's gradient is one number broadcast; the power rule multiplies by it directly."""
    x = Variable(np.array([0.5, 1.5, 2.0]))
    y = F.sum(x**c) * 3.0  # the sum hands back 3.0, broadcast
    y.backward()
    np.testing.assert_allclose(x.grad.data, 3.0 * c * x.data ** (c - 1))
    assert x.grad.data.flags.writeable and x.grad.data.shape == (3,)


def test_power_under_a_broadcast_sum_keeps_the_input_shape():
    x = Variable(np.array([1.0, 2.0]))
    y = F.sum(x**2 + np.zeros((3, 2)))  # x**2 is broadcast to (3, 2) after the power
    y.backward()
    np.testing.assert_allclose(x.grad.data, 3 * 2 * x.data)


def test_chain_and_branches_mixed_in_one_graph():
    """Long chains (walked without the frontier) joined with branches (walked with it)."""
    x = Variable(np.array(1.0))
    a = x
    for _ in range(50):
        a = a + 1  # a chain: 51
    b = x * 2
    for _ in range(7):
        b = b * 1  # a shorter chain: 2x
    y = a * b + F.sin(a)  # d/dx = b + 2a + cos(a)
    y.backward()
    assert x.grad.data == pytest.approx(2.0 + 2 * 51.0 + np.cos(51.0))


def test_repeated_value_recognises_one_number_broadcast():
    from dezero.fast import repeated_value

    assert repeated_value(np.broadcast_to(np.array(3.0), (4,))) == 3.0
    assert repeated_value(np.broadcast_to(np.array(2.0), (2, 3))) == 2.0
    assert repeated_value(np.ones(3)) is None  # a real array: no shortcut
    assert repeated_value(np.broadcast_to(np.array([1.0, 2.0]), (3, 2))) is None
    assert repeated_value(np.broadcast_to(np.array(1.0), (0,))) is None  # empty


def test_power_of_an_empty_array_under_a_sum():
    x = Variable(np.array([]))
    y = F.sum(x**2)
    y.backward()
    assert y.data == 0.0 and x.grad.data.shape == (0,)


class Halves(Function):
    """Two outputs, x/2 and x/2, counting how often its backward runs."""

    calls = 0

    def forward(self, x):
        return x / 2, x / 2

    def backward(self, gy0, gy1):
        Halves.calls += 1
        return gy0 / 2 + gy1 / 2


@pytest.mark.parametrize("create_graph", [False, True])
def test_two_output_function_found_twice_runs_once_with_both_gradients(create_graph):
    """Its outputs are reached by paths of different lengths: it is found through both, and
    must run once, after both gradients have arrived."""
    Halves.calls = 0
    x = var(0.3)
    a, b = Halves()(x)
    y = F.sin(F.sin(a)) + b * 5
    y.backward(create_graph=create_graph)
    inner = math.sin(0.15)
    expected = math.cos(inner) * math.cos(0.15) / 2 + 5 / 2
    assert Halves.calls == 1
    assert float(x.grad.data) == pytest.approx(expected, rel=1e-15)


class SquareInATuple(Function):
    """The book allows a lone gradient to come back in a tuple of one."""

    def forward(self, x):
        return x**2

    def backward(self, gy):
        (x,) = self.inputs
        return (2 * x * gy,)


@pytest.mark.parametrize("value", [3.0, [3.0, 1.0]])
def test_a_lone_gradient_returned_in_a_tuple(value):
    x = var(value)
    y = SquareInATuple()(SquareInATuple()(x))
    y.backward()
    assert x.grad.shape == x.shape
    np.testing.assert_array_equal(x.grad.data, 4 * np.asarray(value) ** 3)


def test_stack_of_one_array_gives_its_gradient_its_shape():
    x = var([1.0, 2.0])
    y = F.sum(F.stack([x]) * 3)
    y.backward()
    assert x.grad.shape == (2,)
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


def test_gradient_arrays_hand_out_values_as_dezero_holds_them():
    from dezero.backprop import gradient_arrays, gradients

    x, v = Variable(np.array(2.0)), Variable(np.array([1.0, 2.0]))
    y = F.sum(v * x) + x * x  # dy/dx = sum(v) + 2x = 7, dy/dv = x = [2, 2]
    gx, gv = gradient_arrays(y, [x, v])
    assert type(gx) is np.float64 and gx == 7.0  # one number: NumPy's scalar, as .data is
    assert type(gv) is np.ndarray and gv.flags.writeable and list(gv) == [2.0, 2.0]
    assert [g.data for g in gradients(y, [x, v])][0] == 7.0
    assert x.grad is None and v.grad is None  # the pass sets no .grad
    y.backward()
    assert type(x.grad.data) is np.ndarray and x.grad.data == 7.0  # backward: arrays, as the book


@pytest.mark.parametrize(
    ("x0", "build", "cancels"),
    [
        (1.0001, lambda x: x - x, True),  # 1 + (-1): all of it cancels
        (1.0001, lambda x: x * x - 2 * x, True),  # 2x - 2 at 1.0001: 2e-4 of terms of 2
        (1.0001, lambda x: x * x + 2 * x, False),
        (1.0001, lambda x: F.sin(x) * 3, False),  # a chain: no sum at all
        ([1.0, 1.0], lambda x: F.sum(x * np.array([1.0, -1.0])) + x[1], True),  # x[1]: -1 + 1
        ([1.0, 1.0], lambda x: F.sum(x * np.array([1.0, 2.0])) + x[1], False),
        # inside a matrix product: the gradient is m's column sums, [0, 3] and [2, 3]
        ([1.0, 1.0], lambda x: F.sum(F.matmul(np.array([[1.0, 1.0], [-1.0, 2.0]]), x)), True),
        ([1.0, 1.0], lambda x: F.sum(F.matmul(np.array([[1.0, 1.0], [1.0, 2.0]]), x)), False),
        # ... and for the matrix, x's row sums times the output's gradient
        ([[1.0, -1.0]], lambda m: F.sum(F.matmul(m, np.array([[1.0], [1.0]]))), False),
        ([[1.0, 2.0]], lambda m: F.sum(F.matmul(np.array([[1.0], [-1.0]]), m)), True),
        # an index's repeated elements add up (np.add.at): 1 - 1, and 1 + 2
        ([1.0, 2.0], lambda x: F.sum(x[np.array([0, 0])] * np.array([1.0, -1.0])), True),
        ([1.0, 2.0], lambda x: F.sum(x[np.array([0, 0])] * np.array([1.0, 2.0])), False),
    ],
)
def test_gradient_arrays_note_the_sums_that_cancel(x0, build, cancels):
    from dezero.backprop import gradient_arrays

    x = Variable(np.array(x0))
    y = build(x)
    watch: list[str] = []
    (g,) = gradient_arrays(y, [x], watch=watch)
    (unwatched,) = gradient_arrays(y, [x])
    assert bool(watch) == cancels
    np.testing.assert_array_equal(g, unwatched)  # watching changes no number


def test_a_watched_sum_raises_no_floating_point_complaint_of_its_own():
    from dezero.backprop import watched_sum

    watch: list[str] = []
    with np.errstate(all="raise"):  # 1e3 times the sum overflows; the sum does not
        assert watched_sum(np.float64(2.0**1023), np.float64(-(2.0**1022)), watch) == 2.0**1022
        total = watched_sum(np.array([2.0**1023, 1e-320]), np.array([-(2.0**1022), -1e-320]), watch)
    np.testing.assert_array_equal(total, [2.0**1022, 0.0])
    assert watch == ["cancellation"]  # the second: 1e-320 - 1e-320
