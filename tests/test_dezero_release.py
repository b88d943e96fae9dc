"""Tests for the memory a first-order backward pass reuses: large intermediate values that
only the graph holds and no gradient rule reads are released, and their buffers receive a
gradient instead of a fresh allocation. Whatever is released, gradients must be identical
to those of a pass that releases nothing (``retain_grad=True``)."""

import gc
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dezero.functions as F
from dezero import Function, Variable, gradients
from dezero.utils import get_dot_graph

N = 1 << 18  # 2 MiB of float64: above the size at which buffers are released


def big(seed=0, n=N, dtype=np.float64):
    return np.random.default_rng(seed).uniform(0.5, 2.0, n).astype(dtype)


# --------------------------------------------------------------------------- the main case


def test_sum_of_square_releases_the_square_and_keeps_what_rules_read():
    x = big()
    v = Variable(x)
    y = F.sum((v + 3) ** 2)
    y.backward()
    np.testing.assert_array_equal(v.grad.data, 2 * (x + 3))
    released = y.creator.inputs[0]
    assert released.data is None  # as the README says: only a walk of the graph sees it
    assert repr(released) == "variable(None)"
    shifted = y.creator.inputs[0].creator.inputs[0]
    np.testing.assert_array_equal(shifted.data, x + 3)  # the power's rule reads it: kept


def peak_arrays(run, nbytes: int) -> float:
    """The peak memory that ``run()`` allocates, in arrays of ``nbytes``."""
    gc.collect()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / nbytes
    finally:
        tracemalloc.stop()


def test_peak_memory_of_sum_of_square_is_two_arrays():
    x = big()
    gc.collect()
    tracemalloc.start()
    try:
        v = Variable(x)
        y = F.sum((v + 3) ** 2)
        y.backward()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # x + 3 and the square; the gradient reuses the square. (Book: 4 arrays.)
    assert peak / x.nbytes == pytest.approx(2.0, abs=0.05)


# One-input functions whose rule may write into their output's buffer, each under a sum.
RECYCLERS = {
    "square": lambda v: v**2,
    "sin": F.sin,
    "cos": F.cos,
    "log": F.log,
    "neg": lambda v: -v,
    "times 3": lambda v: v * 3.0,
    "over 4": lambda v: v / 4.0,
    "5 minus": lambda v: 5.0 - v,
}

# Consumers that read only the shape of their input.
REDUCERS = {
    "sum": F.sum,
    "sum_to": lambda v: F.sum_to(v.reshape(-1, 8), (1, 8)),
    "mean": F.mean,
    "sum axis 0": lambda v: F.sum(v.reshape(-1, 8), axis=0),
}


def first_order(build, x, retain_grad):
    v = Variable(x.copy(order="K"))  # in x's own layout
    y = build(v)
    y.backward(retain_grad=retain_grad)
    return v.grad.data, y


@pytest.mark.parametrize("reducer", list(REDUCERS.values()), ids=list(REDUCERS))
@pytest.mark.parametrize(
    "recycler", [*RECYCLERS.values(), lambda v: v**3], ids=[*RECYCLERS, "cube"]
)
def test_released_gradients_equal_those_of_a_pass_that_keeps_everything(recycler, reducer):
    x = big()
    kept, _ = first_order(lambda v: reducer(recycler(v)), x, retain_grad=True)
    released, y = first_order(lambda v: reducer(recycler(v)), x, retain_grad=False)
    np.testing.assert_array_equal(released, kept)
    assert released.dtype == kept.dtype and released.shape == x.shape


@pytest.mark.parametrize("recycler", list(RECYCLERS.values()), ids=list(RECYCLERS))
def test_each_recycling_rule_needs_no_array_beyond_its_output(recycler):
    x = big()
    v = Variable(x)

    def run():
        y = F.sum(recycler(v))
        y.backward()
        assert y.creator.inputs[0].data is None

    assert peak_arrays(run, x.nbytes) == pytest.approx(1.0, abs=0.05)  # else 2


def test_a_product_needs_one_array_beyond_its_output():
    a, b = big(1), big(2)
    va, vb = Variable(a), Variable(b)

    def run():
        y = F.sum(va * vb)
        y.backward()

    assert peak_arrays(run, a.nbytes) == pytest.approx(2.0, abs=0.05)  # else 3
    np.testing.assert_array_equal(va.grad.data, b)
    np.testing.assert_array_equal(vb.grad.data, a)


def test_a_chain_of_releasing_functions_releases_every_intermediate():
    x = big()
    v = Variable(x)
    y = F.sum(-(2.0 * v**2) + 1.0)
    y.backward()
    intermediates, f = [], y.creator
    while f.inputs[0].creator is not None:
        intermediates.append(f.inputs[0])
        f = f.inputs[0].creator
    assert len(intermediates) == 4  # + 1, negation, times 2, square
    assert [u.data is None for u in intermediates] == [False, True, True, True]
    np.testing.assert_array_equal(v.grad.data, -4.0 * x)


def test_float32_buffers_are_reused_and_keep_their_dtype():
    x = big(dtype=np.float32)
    v = Variable(x)

    def run():
        F.sum(v**2).backward()

    assert peak_arrays(run, x.nbytes) == pytest.approx(1.0, abs=0.05)
    assert v.grad.dtype == np.float32
    np.testing.assert_allclose(v.grad.data, 2 * x, rtol=1e-6)


def test_integer_values_differentiate_correctly_whatever_is_released():
    x = np.arange(N, dtype=np.int64)
    for retain in (True, False):
        v = Variable(x)
        F.sum(v**2).backward(retain_grad=retain)
        np.testing.assert_array_equal(v.grad.data, 2 * x)


# --------------------------------------------------------------------------- what is kept


def test_an_intermediate_the_caller_holds_is_kept():
    x = big()
    v = Variable(x)
    square = v**2
    F.sum(square).backward()
    np.testing.assert_array_equal(square.data, x**2)
    assert not np.shares_memory(v.grad.data, square.data)


def test_an_intermediate_array_the_caller_holds_is_kept():
    v = Variable(big())
    square = v**2
    held = square.data
    y = F.sum(square)
    del square
    y.backward()
    assert y.creator.inputs[0].data is held
    np.testing.assert_array_equal(held, v.data**2)


def test_a_view_of_an_intermediate_keeps_it():
    v = Variable(big())
    square = v**2
    view = square.data[:10]
    y = F.sum(square)
    del square
    y.backward()
    np.testing.assert_array_equal(view, v.data[:10] ** 2)
    assert y.creator.inputs[0].data is view.base


def test_retain_grad_releases_nothing():
    v = Variable(big())
    y = F.sum((v + 3) ** 2)
    y.backward(retain_grad=True)
    assert y.creator.inputs[0].data is not None
    assert y.creator.inputs[0].grad is not None


def test_create_graph_releases_nothing():
    x = big()
    v = Variable(x)
    y = F.sum(v**2)
    y.backward(create_graph=True)
    np.testing.assert_array_equal(y.creator.inputs[0].data, x**2)
    gx = v.grad
    v.cleargrad()
    F.sum(gx).backward()
    np.testing.assert_array_equal(v.grad.data, np.full(N, 2.0))


def test_small_intermediates_are_kept():
    v = Variable(np.linspace(0.0, 1.0, 1000))
    y = F.sum(v**2)
    y.backward()
    np.testing.assert_array_equal(y.creator.inputs[0].data, v.data**2)


def test_an_intermediate_used_twice_is_kept():
    v = Variable(big())
    square = v**2
    y = F.sum(square) + F.sum(square * 3.0)
    del square
    y.backward()
    np.testing.assert_array_equal(v.grad.data, 8 * v.data)
    assert y.creator.inputs[0].creator.inputs[0].data is not None


def cube(v):
    return v**3  # its rule allocates x**2 and does not take a buffer


@pytest.mark.parametrize(
    "creator", [F.exp, F.tanh, F.sqrt, F.sigmoid, cube], ids=lambda f: f.__name__
)
def test_values_whose_creator_cannot_reuse_them_are_kept(creator):
    x = big()
    v = Variable(x)
    y = F.sum(creator(v))
    y.backward()
    assert y.creator.inputs[0].data is not None
    kept, _ = first_order(lambda u: F.sum(creator(u)), x, retain_grad=True)
    np.testing.assert_array_equal(v.grad.data, kept)


OUTPUT_READERS = {  # tanh and sigmoid read their input: 1 - y loses precision where y ≈ 1
    "exp": F.exp,
    "tan": F.tan,
    "sqrt": F.sqrt,
    "softmax": lambda v: F.softmax(v, axis=1),
    "log_softmax": lambda v: F.log_softmax(v, axis=1),
}


@pytest.mark.parametrize("reader", list(OUTPUT_READERS.values()), ids=list(OUTPUT_READERS))
def test_a_function_that_reads_only_its_output_releases_its_input(reader):
    x = big().reshape(-1, 8)
    v = Variable(x)
    y = F.sum(reader(5.0 - v**2))  # no rule reads the value of 5 - x², nor of x²
    y.backward()
    difference = y.creator.inputs[0].creator.inputs[0]
    assert difference.data is None
    assert difference.creator.inputs[0].data is None  # x², released by 5 - x²
    kept, _ = first_order(lambda u: F.sum(reader(5.0 - u**2)), x, retain_grad=True)
    np.testing.assert_array_equal(v.grad.data, kept)


def test_inputs_that_their_user_reads_are_kept():
    x = big()
    v = Variable(x)
    y = F.sum(v**2 * v)  # the product reads both inputs
    y.backward()
    product = y.creator.inputs[0]
    assert [u.data is not None for u in product.creator.inputs] == [True, True]
    np.testing.assert_allclose(v.grad.data, 3 * x**2, rtol=1e-15)


def test_a_stopping_point_is_kept():
    v = Variable(big())
    y = F.sum(v**2)
    stop = frozenset({id(y.creator.inputs[0])})
    (g,) = gradients(y, [v], stop=stop)
    assert g is None
    assert y.creator.inputs[0].data is not None


class Doubling(Function):
    """A function written as in the book, with the default flags."""

    def forward(self, x):
        return 2 * x

    def backward(self, gy):
        return 2 * gy


def test_user_functions_release_nothing_by_default():
    v = Variable(big())
    y = F.sum(Doubling()(Doubling()(v)))
    y.backward()
    assert y.creator.inputs[0].data is not None
    assert y.creator.inputs[0].creator.inputs[0].data is not None
    np.testing.assert_array_equal(v.grad.data, np.full(N, 4.0))


# --------------------------------------------------------------------------- after a release


def test_a_second_backward_after_a_release_gives_the_same_gradient():
    x = big()
    v = Variable(x)
    y = F.sum(F.sin(v) * 3.0)
    y.backward()
    first = v.grad.data.copy()
    v.cleargrad()
    y.backward()
    np.testing.assert_array_equal(v.grad.data, first)


def test_create_graph_after_a_release_differentiates_twice():
    x = big()
    v = Variable(x)
    y = F.sum(F.sin(v) * 3.0)
    y.backward()
    v.cleargrad()
    y.backward(create_graph=True)
    gx = v.grad
    np.testing.assert_allclose(gx.data, 3 * np.cos(x), rtol=1e-15)
    v.cleargrad()
    F.sum(gx).backward()
    np.testing.assert_allclose(v.grad.data, -3 * np.sin(x), rtol=1e-15)


def test_accumulating_into_a_held_gradient_after_a_release_leaves_it_alone():
    x = big()
    v = Variable(x)
    y = F.sum(v**2)
    y.backward()
    held = v.grad.data
    snapshot = held.copy()
    y.backward()  # no cleargrad: the gradients add up
    np.testing.assert_array_equal(held, snapshot)
    np.testing.assert_array_equal(v.grad.data, 4 * x)


def test_graph_drawing_after_a_release():
    v = Variable(big(), name="x")
    y = F.sum(v**2)
    y.backward()
    dot = get_dot_graph(y, verbose=True)
    assert f"{(N,)} float64" in dot  # x and its shape
    assert f'{id(y.creator.inputs[0])} [label=""' in dot  # released: no shape to show


# --------------------------------------------------------------------------- subclasses


class BookSin(F.Sin):
    """A subclass with a rule of its own, as the book writes one."""

    def backward(self, gy):
        return gy * F.cos(self.inputs[0])


class SumOfSquares(F.Sum):
    """A subclass whose rule reads the input that ``Sum``'s rule does not."""

    def __init__(self):
        super().__init__(None, False)

    def forward(self, x):
        self.x_shape = x.shape
        return np.sum(x * x)

    def backward(self, gy):
        return 2 * gy * self.inputs[0]


def test_a_subclass_with_its_own_rule_takes_no_buffer():
    x = big()
    v = Variable(x)
    y = F.sum(BookSin()(v))
    y.backward()
    assert y.creator.inputs[0].data is not None
    np.testing.assert_array_equal(v.grad.data, np.cos(x))


def test_a_subclass_with_its_own_rule_keeps_its_input():
    x = big()
    v = Variable(x)
    y = SumOfSquares()(F.sin(v) * 3.0)
    for _ in range(2):
        v.cleargrad()
        y.backward()
        np.testing.assert_allclose(v.grad.data, 18 * np.sin(x) * np.cos(x), rtol=1e-13)
    assert y.creator.inputs[0].data is not None


# --------------------------------------------------------------------------- layout, dtypes


def test_fortran_ordered_values_keep_the_layout_of_a_fresh_gradient():
    a = np.asfortranarray(big().reshape(512, 512))
    grads = [first_order(lambda v: F.sum(v * 2.0), a, retain)[0] for retain in (True, False)]
    assert grads[0].strides == grads[1].strides == (512 * 8, 8)
    np.testing.assert_array_equal(grads[0], grads[1])


@pytest.mark.parametrize("n", [1000, N], ids=["small", "large"])
@pytest.mark.parametrize(
    "fn", [F.sin, F.cos, lambda v: v**2, lambda v: v * v], ids=["sin", "cos", "square", "product"]
)
def test_complex_gradients_match_the_differentiable_rules_bit_for_bit(fn, n):
    rng = np.random.default_rng(3)
    z = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    w = rng.standard_normal(n) + 1j * rng.standard_normal(n)

    def build(v):
        return F.sum(fn(v) * w)

    released, _ = first_order(build, z, retain_grad=False)
    kept, _ = first_order(build, z, retain_grad=True)
    v = Variable(z.copy())
    build(v).backward(create_graph=True)
    np.testing.assert_array_equal(released, kept)
    np.testing.assert_array_equal(released, v.grad.data)


def test_a_gradient_the_caller_seeds_is_left_alone():
    x = big()
    v = Variable(x)
    y = F.sin(v) * 3.0
    seed = np.full(N, 0.5)
    y.grad = Variable(seed)
    y.backward()
    np.testing.assert_array_equal(seed, np.full(N, 0.5))
    np.testing.assert_array_equal(v.grad.data, 1.5 * np.cos(x))
    assert y.creator.inputs[0].data is None  # sin's value: released into its gradient


def test_gradients_keeps_the_intermediates_it_is_asked_about():
    x = big()
    v = Variable(x)
    square = v**2
    y = F.sum(square)
    gv, gs = gradients(y, [v, square])
    np.testing.assert_array_equal(square.data, x**2)
    np.testing.assert_array_equal(gs.data, np.ones(N))
    np.testing.assert_array_equal(gv.data, 2 * x)


# --------------------------------------------------------------------------- property


STEPS = {
    "square": lambda v: v**2,
    "sin": F.sin,
    "cos": F.cos,
    "neg": lambda v: -v,
    "times": lambda v: v * 1.5,
    "over": lambda v: v / 3.0,
    "plus": lambda v: v + 0.25,
    "exp": F.exp,
    "tanh": F.tanh,
    "product": lambda v: v * v,
    "log": F.log,
    "sqrt": F.sqrt,
    "tan": F.tan,
    "sigmoid": F.sigmoid,
}


@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=6),
    reducer=st.sampled_from(sorted(REDUCERS)),
    seed=st.integers(0, 2**16),
)
def test_any_chain_gives_identical_gradients_whatever_is_released(steps, reducer, seed):
    def build(v):
        for step in steps:
            v = STEPS[step](v)
        return REDUCERS[reducer](v)

    x = np.random.default_rng(seed).uniform(-1.0, 1.0, N)
    with np.errstate(all="ignore"):  # exp of exp overflows, log of a negative is nan
        kept, _ = first_order(build, x, retain_grad=True)
        released, _ = first_order(build, x, retain_grad=False)
    np.testing.assert_array_equal(released, kept)
