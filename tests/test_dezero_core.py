"""Tests for the Variable class, operators, configuration and the public API surface."""

import gc
import operator
import subprocess
import sys
import textwrap
import weakref
from pathlib import Path

import numpy as np
import pytest

import dezero
import dezero.functions as F
from dezero import (
    Config,
    Function,
    Variable,
    as_array,
    as_variable,
    no_grad,
    setup_variable,
    using_config,
)


def kept(data):
    """The type dezero keeps a Function's result as: a 0-d float64 as NumPy's float64 scalar
    (what NumPy's 0-d arithmetic returns), anything else as an ndarray."""
    return np.float64 if data.dtype == np.float64 and data.shape == () else np.ndarray


def var(value):
    return Variable(np.array(value, dtype=np.float64))


# --------------------------------------------------------------------------- public API


def test_public_names_are_exported():
    assert isinstance(Variable, type)
    assert isinstance(Function, type)
    assert hasattr(Config, "enable_backprop")
    for fn in (using_config, no_grad, as_array, as_variable, setup_variable):
        assert callable(fn)


def test_importing_dezero_alone_enables_operators():
    script = textwrap.dedent(
        """
        import numpy as np
        import dezero
        x = dezero.Variable(np.array(2.0))
        results = [x + 3, 3 + x, x - 1, 1 - x, x * 2, 2 * x, x / 4, 4 / x, x ** 2, 2 ** x,
                   -x, +x, np.array(1.0) + x]
        print(" ".join(type(r).__name__ for r in results))
        print(" ".join(repr(float(r.data)) for r in results))
        """
    )
    package_root = Path(dezero.__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=package_root
    )
    assert proc.returncode == 0, proc.stderr
    names, values = proc.stdout.strip().splitlines()
    assert set(names.split()) == {"Variable"}
    expected = [5.0, 5.0, 1.0, -1.0, 4.0, 4.0, 0.5, 2.0, 4.0, 4.0, -2.0, 2.0, 3.0]
    assert [float(v) for v in values.split()] == expected


def test_setup_variable_is_idempotent():
    setup_variable()
    setup_variable()
    y = Variable(np.array(2.0)) * 3 + 1
    assert isinstance(y, Variable)
    assert y.data == 7.0


def test_as_array_wraps_scalars_and_passes_arrays_through():
    a = as_array(1.5)
    assert type(a) is np.ndarray
    assert a.shape == ()
    assert a == 1.5
    arr = np.array([1.0, 2.0])
    assert as_array(arr) is arr


def test_as_variable_wraps_arrays_and_passes_variables_through():
    x = Variable(np.array(1.0))
    assert as_variable(x) is x
    arr = np.array([1.0, 2.0])
    v = as_variable(arr)
    assert isinstance(v, Variable)
    np.testing.assert_array_equal(v.data, arr)


# --------------------------------------------------------------------------- construction


@pytest.mark.parametrize(
    "value, type_name",
    [(1.0, "float"), (1, "int"), ([1.0, 2.0], "list"), ((1.0,), "tuple"), ("1", "str")],
)
def test_variable_rejects_non_arrays_with_type_name(value, type_name):
    with pytest.raises(TypeError, match=type_name):
        Variable(value)


def test_variable_accepts_none():
    x = Variable(None)
    assert x.data is None
    assert x.grad is None


def test_variable_initial_attributes():
    data = np.array([1.0, 2.0])
    x = Variable(data, name="x")
    assert x.data is data
    assert x.name == "x"
    assert x.grad is None
    assert x.creator is None
    assert x.generation == 0


def test_variable_name_defaults_to_none():
    assert Variable(np.array(1.0)).name is None


def test_variable_array_properties():
    x = Variable(np.array([[1, 2, 3], [4, 5, 6]]))
    assert x.shape == (2, 3)
    assert x.ndim == 2
    assert x.size == 6
    assert x.dtype == x.data.dtype
    assert len(x) == 2


def test_scalar_variable_properties():
    x = Variable(np.array(3.0, dtype=np.float32))
    assert x.shape == ()
    assert x.ndim == 0
    assert x.size == 1
    assert x.dtype == np.float32


# --------------------------------------------------------------------------- repr


def test_repr_of_empty_variable():
    assert repr(Variable(None)) == "variable(None)"


def test_repr_of_scalar_variable():
    assert repr(Variable(np.array(1.0))) == "variable(1.0)"


def test_repr_of_vector_variable():
    assert repr(Variable(np.array([1, 2, 3]))) == "variable([1 2 3])"


def test_repr_indents_continuation_lines_by_nine_spaces():
    x = Variable(np.array([[1, 2, 3], [4, 5, 6]]))
    assert repr(x) == "variable([[1 2 3]\n          [4 5 6]])"


def test_repr_of_three_dimensional_variable():
    data = np.arange(8).reshape(2, 2, 2)
    expected = "variable(" + str(data).replace("\n", "\n" + " " * 9) + ")"
    assert repr(Variable(data)) == expected


# --------------------------------------------------------------------------- creator / generation


def test_operation_sets_creator_and_generation():
    x = var(2.0)
    y = x * 2
    z = y * 2
    assert x.creator is None
    assert isinstance(y.creator, Function)
    assert y.generation == 1
    assert z.generation == 2


def test_generation_is_one_past_deepest_input():
    x = var(2.0)
    a = (x * 2) * 2
    b = a + x
    assert a.generation == 2
    assert b.generation == 3


def test_cleargrad_resets_gradient():
    x = var(3.0)
    (x * x).backward()
    assert x.grad.data == 6.0
    x.cleargrad()
    assert x.grad is None


def test_grad_is_a_variable():
    x = var(3.0)
    (x * x).backward()
    assert isinstance(x.grad, Variable)
    assert type(x.grad.data) is np.ndarray


# --------------------------------------------------------------------------- custom functions


class Square(Function):
    def forward(self, x):
        return x**2

    def backward(self, gy):
        (x,) = self.inputs
        return 2 * x * gy


class SplitScale(Function):
    def forward(self, x):
        return x * 2, x * 3

    def backward(self, gy0, gy1):
        return gy0 * 2 + gy1 * 3


class ScaleBy(Function):
    """As the book writes them: no __slots__, attributes set where they are needed."""

    def __init__(self, k):
        self.k = k

    def forward(self, x):
        self.seen_shape = x.shape
        return x * self.k

    def backward(self, gy):
        return gy * self.k


def test_a_function_without_slots_keeps_its_attributes():
    x = var(3.0)
    y = ScaleBy(4.0)(x)
    y.backward()
    assert y.data == 12.0 and x.grad.data == 4.0
    assert y.creator.seen_shape == () and vars(y.creator) == {"k": 4.0, "seen_shape": ()}


def _function_classes(cls=Function):
    for sub in cls.__subclasses__():
        yield sub
        yield from _function_classes(sub)


def test_every_function_of_dezero_declares_its_slots():
    # A graph holds one Function per operation: one without a __dict__ is an object fewer
    # for the cycle collector. A subclass that forgets __slots__ silently has one again.
    import dezero.quadrature  # noqa: F401 - its Functions too
    import dezero.special  # noqa: F401

    ours = [c for c in _function_classes() if c.__module__.startswith("dezero.")]
    assert len(ours) > 60
    assert [c.__name__ for c in ours if "__slots__" not in vars(c)] == []
    assert not hasattr((var(1.0) + 1).creator, "__dict__")


def test_user_defined_function_forward_and_backward():
    x = var(3.0)
    f = Square()
    y = f(x)
    assert isinstance(y, Variable)
    assert y.creator is f
    assert y.data == 9.0
    y.backward()
    assert x.grad.data == 6.0


def test_user_defined_function_accepts_arrays():
    y = Square()(np.array([1.0, 2.0]))
    assert isinstance(y, Variable)
    np.testing.assert_array_equal(y.data, [1.0, 4.0])


def test_user_defined_function_with_two_outputs():
    x = var(1.5)
    y0, y1 = SplitScale()(x)
    assert y0.data == 3.0
    assert y1.data == 4.5
    (y0 + y1).backward()
    assert x.grad.data == 5.0


def test_inputs_and_outputs_are_the_books_lists():
    x, w = var(2.0), var(3.0)
    y = x * w
    f = y.creator
    assert isinstance(f.inputs, list) and isinstance(f.outputs, list)
    assert f.inputs[0] is x and f.inputs[1] is w
    assert len(f.outputs) == 1 and f.outputs[0]() is y
    z = F.sin(x)
    assert z.creator.inputs == [x] and z.creator.outputs[0]() is z


def test_inputs_and_outputs_of_a_two_output_function():
    x = var(1.5)
    y0, y1 = SplitScale()(x)
    f = y0.creator
    assert y1.creator is f
    assert f.inputs == [x]
    assert [ref() for ref in f.outputs] == [y0, y1]


def test_inputs_and_outputs_can_be_assigned():
    """Code that sets them itself, as the book's own Function.__call__ does, still works."""
    a, b = var(1.0), var(2.0)
    f = Square()
    f.inputs = [a, b]
    assert f.inputs == [a, b]
    f.inputs = [a]
    assert f.inputs == [a]
    f.outputs = [weakref.ref(b)]
    assert f.outputs[0]() is b


def test_function_with_three_inputs():
    class AddThree(Function):
        def forward(self, a, b, c):
            return a + b + c

        def backward(self, gy):
            return gy, 2 * gy, 3 * gy

    a, b, c = var(1.0), var(2.0), var(3.0)
    y = AddThree()(a, b, c)
    assert y.data == 6.0 and y.creator.inputs == [a, b, c]
    assert y.generation == 1
    y.backward()
    assert (a.grad.data, b.grad.data, c.grad.data) == (1.0, 2.0, 3.0)


def _tracked_objects_made_by(build):
    """How many objects the cycle collector tracks after ``build()``, beyond before."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        before = len(gc.get_objects())
        kept = build()
        after = len(gc.get_objects())
    finally:
        if enabled:
            gc.enable()
    del kept
    return after - before


@pytest.mark.parametrize(
    "step, per_op",
    [
        (lambda y: y + 1, 3),  # Variable, Function, weak reference to the output
        (lambda y: F.sin(y), 3),
        (lambda y: y * y, 4),  # two inputs: a tuple of them as well
    ],
    ids=["constant", "unary", "two inputs"],
)
def test_graph_costs_the_cycle_collector_few_objects_per_operation(step, per_op):
    """Each object of a graph is work for every full collection; a million-operation chain
    spends more time in the collector than in its operations unless there are few."""
    n = 1000

    def build():
        y = var(0.5)
        for _ in range(n):
            y = step(y)
        return y

    if sys.version_info < (3, 11):  # before 3.11 an instance's attributes are a dict of its own
        per_op += 1
    assert _tracked_objects_made_by(build) <= per_op * n + 20


@pytest.mark.parametrize("shape", [(), (2,)], ids=["0-d", "1-d"])  # 0-d float64: NumPy scalars
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32, np.bool_])
@pytest.mark.parametrize("constant", [1, 1.5, True, -3, 0])
@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv])
def test_constants_follow_numpys_promotion(shape, dtype, constant, op):
    data = np.ones(shape, dtype=dtype)
    if op is operator.sub and dtype is np.bool_ and type(constant) is bool:
        op = operator.add  # x - c is computed as x + (-c), which NumPy allows for bools
        constant = -constant
    with np.errstate(all="ignore"):
        try:
            want = op(data, constant)
        except TypeError:  # e.g. bool - bool: NumPy refuses it, and so must we
            with pytest.raises(TypeError):
                op(Variable(data), constant)
            return
        got = op(Variable(data), constant).data
        flipped = op(constant, Variable(data)).data  # the constant on the left
        want_flipped = op(constant, data)
    assert type(got) is kept(got) and got.dtype == np.asarray(want).dtype
    np.testing.assert_array_equal(got, want)
    assert flipped.dtype == np.asarray(want_flipped).dtype
    np.testing.assert_array_equal(flipped, want_flipped)


def test_python_int_constants_follow_numpys_promotion():
    assert (var(1.5) + 1).data.dtype == np.float64
    assert (Variable(np.array(2)) + 1).data.dtype == np.int64
    assert (Variable(np.array(2)) + 1).data == 3
    float32 = np.array(1.0, dtype=np.float32)
    assert (Variable(float32) + 1).data.dtype == (float32 + 1).dtype
    assert (Variable(float32) * 1.5).data.dtype == (float32 * 1.5).dtype
    big = 2**60 + 1  # not a float64: converted as NumPy converts it
    assert (var(0.0) + big).data == np.array(0.0) + big
    with pytest.raises(OverflowError):
        var(1.0) + 10**400  # as np.array(1.0) + 10**400


@pytest.mark.parametrize(
    "compute, warning",
    [
        (lambda: var(1e308) * 10, "overflow"),
        (lambda: var(1.0) / 0, "divide by zero"),
        (lambda: var(0.0) / var(0.0), "invalid value"),
        (lambda: var(-1e308) - 1e308, "overflow"),
        (lambda: var(1e200) ** 2, "overflow"),
    ],
)
def test_scalar_arithmetic_keeps_numpys_warnings(compute, warning):
    with pytest.warns(RuntimeWarning, match=warning):
        y = compute()
    assert type(y.data) is np.float64 and y.data.shape == ()
    assert not np.isfinite(y.data)


def test_power_of_a_zero_dim_value_is_numpys_array_power():
    with pytest.warns(RuntimeWarning, match="invalid value"):
        y = var(-np.inf) ** 0.5
    assert np.isnan(y.data)
    assert np.signbit((var(-0.0) ** 0.5).data)  # sqrt(-0.0) is -0.0


def test_bool_constants_work_as_numpy_bools():
    x = var(2.0)
    y = (x - True) * (True / x)
    y.backward()
    assert y.data == 0.5
    assert x.grad.data == pytest.approx(1 / 4)  # d/dx (1 - 1/x) = 1/x²


def test_constant_base_power_keeps_float32():
    x = Variable(np.array([1.0, 2.0], dtype=np.float32))
    y = 2.0**x
    y.backward()
    assert y.data.dtype == np.float32 and x.grad.data.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, 2.0**x.data * np.log(2.0), rtol=1e-6)


def test_no_grad_as_a_decorator_and_entered_twice():
    @no_grad()
    def inner():
        return Config.enable_backprop

    assert inner() is False and Config.enable_backprop is True
    switch = no_grad()
    with switch:
        with switch:
            assert Config.enable_backprop is False
        assert Config.enable_backprop is False
    assert Config.enable_backprop is True


def test_scalar_arithmetic_respects_errstate():
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        var(1e308) * 10
    with np.errstate(divide="ignore"):
        assert (var(1.0) / 0).data == np.inf


# --------------------------------------------------------------------------- methods


@pytest.mark.parametrize("shape_args", [(2, 3), ((2, 3),), ([2, 3],)])
def test_reshape_method_accepts_varargs_or_tuple(shape_args):
    x = Variable(np.arange(6.0))
    y = x.reshape(*shape_args)
    assert y.shape == (2, 3)
    np.testing.assert_array_equal(y.data, np.arange(6.0).reshape(2, 3))
    y.backward()
    assert x.grad.shape == (6,)
    np.testing.assert_array_equal(x.grad.data, np.ones(6))


def test_reshape_gradient_routes_each_element():
    x = Variable(np.arange(6.0))
    y = x.reshape(3, 2)
    (y * Variable(np.arange(6.0).reshape(3, 2))).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.arange(6.0))


def test_transpose_method_without_axes_reverses_dimensions():
    data = np.arange(6.0).reshape(2, 3)
    x = Variable(data)
    y = x.transpose()
    np.testing.assert_array_equal(y.data, data.T)
    w = np.arange(6.0).reshape(3, 2)
    (y * w).sum().backward()
    np.testing.assert_array_equal(x.grad.data, w.T)


@pytest.mark.parametrize("axes_args", [(1, 0, 2), ((1, 0, 2),), ([1, 0, 2],)])
def test_transpose_method_accepts_varargs_or_tuple(axes_args):
    data = np.arange(24.0).reshape(2, 3, 4)
    x = Variable(data)
    y = x.transpose(*axes_args)
    np.testing.assert_array_equal(y.data, data.transpose(1, 0, 2))
    w = np.arange(24.0).reshape(3, 2, 4)
    (y * w).sum().backward()
    np.testing.assert_array_equal(x.grad.data, w.transpose(1, 0, 2))


def test_T_property_transposes():
    data = np.arange(6.0).reshape(2, 3)
    x = Variable(data)
    y = x.T
    assert isinstance(y, Variable)
    np.testing.assert_array_equal(y.data, data.T)
    y.backward()
    assert x.grad.shape == (2, 3)


def test_sum_method_without_axis():
    x = Variable(np.arange(6.0).reshape(2, 3))
    y = x.sum()
    assert type(y.data) is np.float64
    assert y.shape == ()
    assert y.data == 15.0
    y.backward()
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 3)))


@pytest.mark.parametrize("axis, keepdims", [(0, False), (1, False), (0, True), (1, True)])
def test_sum_method_with_axis_and_keepdims(axis, keepdims):
    data = np.arange(6.0).reshape(2, 3)
    x = Variable(data)
    y = x.sum(axis=axis, keepdims=keepdims)
    np.testing.assert_array_equal(y.data, data.sum(axis=axis, keepdims=keepdims))
    y.backward()
    assert x.grad.shape == (2, 3)
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 3)))


def test_unchain_cuts_only_own_creator():
    x = var(2.0)
    a = x * 2
    y = a * 3
    y.unchain()
    assert y.creator is None
    assert a.creator is not None


def test_unchain_backward_cuts_whole_graph():
    x = var(2.0)
    a = x * 2
    b = a + 1
    y = b * b
    y.unchain_backward()
    assert y.creator is None
    assert a.creator is None
    assert b.creator is None
    y.backward()
    assert x.grad is None
    assert y.grad.data == 1.0


# --------------------------------------------------------------------------- indexing


def test_index_row_and_gradient():
    x = Variable(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    y = x[1]
    np.testing.assert_array_equal(y.data, [4.0, 5.0, 6.0])
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [[0, 0, 0], [1, 1, 1]])


def test_slice_and_gradient():
    x = Variable(np.arange(5.0))
    y = x[1:3]
    np.testing.assert_array_equal(y.data, [1.0, 2.0])
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [0, 1, 1, 0, 0])


def test_two_dimensional_slice_and_gradient():
    x = Variable(np.arange(6.0).reshape(2, 3))
    y = x[:, 1:]
    np.testing.assert_array_equal(y.data, [[1.0, 2.0], [4.0, 5.0]])
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [[0, 1, 1], [0, 1, 1]])


def test_fancy_index_and_gradient():
    x = Variable(np.array([10.0, 20.0, 30.0]))
    y = x[[0, 2]]
    np.testing.assert_array_equal(y.data, [10.0, 30.0])
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [1, 0, 1])


def test_repeated_index_accumulates_gradient():
    x = Variable(np.array([1.0, 2.0, 3.0]))
    y = x[[0, 0]].sum()
    assert y.data == 2.0
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [2, 0, 0])


def test_scalar_element_is_zero_dim_value():
    x = Variable(np.array([1.0, 2.0, 3.0]))
    y = x[1]
    assert isinstance(y, Variable)
    assert type(y.data) is np.float64
    assert y.shape == ()
    assert y.data == 2.0
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [0, 1, 0])


# --------------------------------------------------------------------------- operators

BINARY_OPS = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "pow": operator.pow,
}

# derivative of op(a, b) with respect to a and to b
PARTIALS = {
    "add": (lambda a, b: np.ones_like(a * b), lambda a, b: np.ones_like(a * b)),
    "sub": (lambda a, b: np.ones_like(a * b), lambda a, b: -np.ones_like(a * b)),
    "mul": (lambda a, b: b * np.ones_like(a), lambda a, b: a * np.ones_like(b)),
    "truediv": (lambda a, b: 1 / b * np.ones_like(a), lambda a, b: -a / b**2),
    "pow": (lambda a, b: b * a ** (b - 1), lambda a, b: a**b * np.log(a)),
}

LHS = np.array([1.5, 2.0, 3.0])
OTHERS = {
    "variable": np.array([0.5, 2.0, 4.0]),
    "ndarray": np.array([0.5, 2.0, 4.0]),
    "int": 2,
    "float": 0.5,
}


def wrap(kind, value):
    return Variable(np.array(value, dtype=np.float64)) if kind == "variable" else value


@pytest.mark.parametrize("op_name", BINARY_OPS)
@pytest.mark.parametrize("kind", OTHERS)
def test_operator_with_variable_on_left(op_name, kind):
    op = BINARY_OPS[op_name]
    other = OTHERS[kind]
    y = op(Variable(LHS.copy()), wrap(kind, other))
    assert isinstance(y, Variable)
    assert type(y.data) is np.ndarray
    np.testing.assert_allclose(y.data, op(LHS, np.asarray(other, dtype=np.float64)))


@pytest.mark.parametrize("op_name", BINARY_OPS)
@pytest.mark.parametrize("kind", OTHERS)
def test_operator_with_variable_on_right(op_name, kind):
    op = BINARY_OPS[op_name]
    other = OTHERS[kind]
    y = op(wrap(kind, other), Variable(LHS.copy()))
    assert isinstance(y, Variable)
    assert type(y.data) is np.ndarray
    np.testing.assert_allclose(y.data, op(np.asarray(other, dtype=np.float64), LHS))


@pytest.mark.parametrize("op_name", BINARY_OPS)
@pytest.mark.parametrize("kind", ["ndarray", "int", "float"])
def test_operator_gradient_for_left_operand(op_name, kind):
    op = BINARY_OPS[op_name]
    other = OTHERS[kind]
    x = Variable(LHS.copy())
    op(x, other).backward()
    expected = PARTIALS[op_name][0](LHS, np.asarray(other, dtype=np.float64))
    assert x.grad.shape == x.shape
    np.testing.assert_allclose(x.grad.data, expected)


@pytest.mark.parametrize("op_name", BINARY_OPS)
@pytest.mark.parametrize("kind", ["ndarray", "int", "float"])
def test_operator_gradient_for_right_operand(op_name, kind):
    op = BINARY_OPS[op_name]
    other = OTHERS[kind]
    x = Variable(LHS.copy())
    op(other, x).backward()
    expected = PARTIALS[op_name][1](np.asarray(other, dtype=np.float64), LHS)
    assert x.grad.shape == x.shape
    np.testing.assert_allclose(x.grad.data, expected)


@pytest.mark.parametrize("op_name", BINARY_OPS)
def test_operator_gradients_for_two_variables(op_name):
    op = BINARY_OPS[op_name]
    a_data, b_data = LHS, OTHERS["variable"]
    a, b = Variable(a_data.copy()), Variable(b_data.copy())
    op(a, b).backward()
    da, db = PARTIALS[op_name]
    np.testing.assert_allclose(a.grad.data, da(a_data, b_data))
    np.testing.assert_allclose(b.grad.data, db(a_data, b_data))


def test_ndarray_plus_variable_returns_variable():
    y = np.array([1.0, 2.0]) + Variable(np.array([3.0, 4.0]))
    assert isinstance(y, Variable)
    np.testing.assert_array_equal(y.data, [4.0, 6.0])


def test_ndarray_times_scalar_variable_returns_variable():
    x = Variable(np.array(2.0))
    y = np.array([1.0, 2.0]) * x
    assert isinstance(y, Variable)
    np.testing.assert_array_equal(y.data, [2.0, 4.0])
    y.backward()
    assert x.grad.data == 3.0


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda x: np.float64(3.0) * x, [3.0, 6.0]),
        (lambda x: x * np.float64(3.0), [3.0, 6.0]),
        (lambda x: np.float64(3.0) - x, [2.0, 1.0]),
        (lambda x: x / np.float32(2.0), [0.5, 1.0]),
        (lambda x: np.int64(2) ** x, [2.0, 4.0]),
        (lambda x: x ** np.int64(2), [1.0, 4.0]),
    ],
    ids=["rmul", "mul", "rsub", "div", "rpow", "pow"],
)
def test_numpy_scalar_operands(make, expected):
    y = make(Variable(np.array([1.0, 2.0])))
    assert isinstance(y, Variable)
    assert type(y.data) is np.ndarray
    np.testing.assert_allclose(y.data, expected)


def test_negation():
    x = Variable(np.array([1.0, -2.0]))
    y = -x
    assert isinstance(y, Variable)
    np.testing.assert_array_equal(y.data, [-1.0, 2.0])
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [-1.0, -1.0])


def test_unary_plus():
    x = Variable(np.array([1.0, -2.0]))
    y = +x
    assert isinstance(y, Variable)
    np.testing.assert_array_equal(y.data, [1.0, -2.0])
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])


def test_expression_mixing_operand_types():
    x = Variable(np.array(2.0))
    y = 3 * x**2 - 4 / x + np.array(1.0) - 0.5
    assert isinstance(y, Variable)
    assert y.data == pytest.approx(12 - 2 + 1 - 0.5)
    y.backward()
    assert x.grad.data == pytest.approx(6 * 2 + 4 / 4)


@pytest.mark.parametrize(
    "make",
    [
        lambda x: x * 3,
        lambda x: 3 * x,
        lambda x: x + 1.5,
        lambda x: x - 1,
        lambda x: 1 - x,
        lambda x: x / 2,
        lambda x: 2 / x,
        lambda x: x**2,
        lambda x: 2**x,
        lambda x: -x,
        lambda x: x * x,
        lambda x: np.array(1.0) + x,
    ],
    ids=["mul", "rmul", "add", "sub", "rsub", "div", "rdiv", "pow", "rpow", "neg", "square", "np"],
)
def test_zero_dim_float64_results_are_numpys_scalars(make):
    y = make(Variable(np.array(2.0)))
    assert type(y.data) is np.float64  # what NumPy's arithmetic returns, not wrapped again
    assert y.shape == () and y.ndim == 0 and y.size == 1 and y.dtype == np.float64
    z = make(Variable(np.array(2.0, dtype=np.float32)))
    assert type(z.data) is kept(z.data) and z.shape == ()  # float32 stays a 0-d array
    w = make(Variable(y.data))  # a Variable may be made of one, as of an array
    assert type(w.data) is np.float64 and w.data == make(y).data


def same(got, want):
    return np.array_equal(got, want, equal_nan=True) and np.signbit(got) == np.signbit(want)


def test_zero_dim_float64_values_behave_as_arrays_in_powers():
    # NumPy's scalar ** is C's pow: (-inf) ** 0.5 would be inf, and -0.0 ** 0.5 0.0, where
    # an array's takes a square root. Each power must give what it gives on 0-d arrays.
    for start in (-np.inf, -0.0):
        y = Variable(np.array(start)) * 1.0  # a float64 scalar
        with np.errstate(invalid="ignore"):
            got = (y**0.5).data
            want = np.array(start) ** 0.5
        assert type(y.data) is np.float64
        assert same(got, want)
    with np.errstate(invalid="ignore"):
        x = Variable(np.array(-np.inf))
        z = (x * 1.0) ** 1.5  # its gradient reads (x * 1.0) ** 0.5, a float64 scalar's
        z.backward()
        want = np.array(-np.inf) ** 1.5, 1.5 * np.array(-np.inf) ** 0.5
    assert np.array_equal((z.data, x.grad.data), want, equal_nan=True)
    assert np.isnan(x.grad.data)  # a square root of -inf; C's pow gives inf
    half = Variable(np.array(0.5)) * 1.0  # a float64 scalar as the exponent
    with np.errstate(invalid="ignore"):
        for base, array_base in [
            (Variable(np.array(-np.inf)) * 1.0, np.array(-np.inf)),  # Variable ** Variable
            (np.float64(-np.inf), np.array(-np.inf)),  # a constant base
            (float("-inf"), float("-inf")),
        ]:
            assert same((base**half).data, array_base ** np.array(0.5))


def test_reductions_return_zero_dim_values():
    x = Variable(np.array([[1.0, 5.0], [3.0, 2.0]]))
    for y, expected in [
        (x.sum(), 11.0),
        (F.sum(x), 11.0),
        (F.max(x), 5.0),
        (F.min(x), 1.0),
        (F.average(x), 2.75),
        (x[1, 0], 3.0),
    ]:
        assert type(y.data) is np.float64
        assert y.data == expected


def test_gradient_data_is_ndarray_for_scalar_input():
    x = Variable(np.array(2.0))
    (x * 3).backward()
    assert type(x.grad.data) is np.ndarray
    assert x.grad.data == 3.0


# --------------------------------------------------------------------------- matmul operator


def test_matmul_operator_between_variables():
    a_data = np.arange(6.0).reshape(2, 3)
    b_data = np.arange(12.0).reshape(3, 4)
    a, b = Variable(a_data), Variable(b_data)
    y = a @ b
    assert isinstance(y, Variable)
    np.testing.assert_allclose(y.data, a_data @ b_data)
    y.backward()
    assert a.grad.shape == (2, 3)
    assert b.grad.shape == (3, 4)
    np.testing.assert_allclose(a.grad.data, np.ones((2, 4)) @ b_data.T)
    np.testing.assert_allclose(b.grad.data, a_data.T @ np.ones((2, 4)))


def test_matmul_operator_with_ndarray_on_right():
    a = Variable(np.arange(6.0).reshape(2, 3))
    w = np.arange(12.0).reshape(3, 4)
    y = a @ w
    assert isinstance(y, Variable)
    np.testing.assert_allclose(y.data, a.data @ w)
    y.backward()
    np.testing.assert_allclose(a.grad.data, np.ones((2, 4)) @ w.T)


def test_matmul_operator_with_ndarray_on_left():
    m = np.arange(6.0).reshape(2, 3)
    b = Variable(np.arange(12.0).reshape(3, 4))
    y = m @ b
    assert isinstance(y, Variable)
    np.testing.assert_allclose(y.data, m @ b.data)
    y.backward()
    np.testing.assert_allclose(b.grad.data, m.T @ np.ones((2, 4)))


# --------------------------------------------------------------------------- broadcasting


@pytest.mark.parametrize("op_name", ["add", "sub", "mul", "truediv"])
def test_broadcast_gradients_have_input_shapes(op_name):
    op = BINARY_OPS[op_name]
    a_data = np.array([1.0, 2.0, 4.0])
    b_data = np.array([[0.5, 1.0, 2.0], [4.0, 5.0, 8.0]])
    a, b = Variable(a_data), Variable(b_data)
    y = op(a, b)
    np.testing.assert_allclose(y.data, op(a_data, b_data))
    y.backward()
    assert a.grad.shape == (3,)
    assert b.grad.shape == (2, 3)
    da, db = PARTIALS[op_name]
    np.testing.assert_allclose(a.grad.data, da(a_data, b_data).sum(axis=0))
    np.testing.assert_allclose(b.grad.data, db(a_data, b_data))


def test_broadcast_with_larger_operand_on_left():
    x = Variable(np.ones((2, 3)))
    y = Variable(np.array([1.0, 2.0, 3.0]))
    z = x + y
    z.backward()
    assert x.grad.shape == (2, 3)
    assert y.grad.shape == (3,)
    np.testing.assert_array_equal(y.grad.data, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 3)))


def test_broadcast_column_and_row():
    col = Variable(np.array([[1.0], [2.0]]))
    row = Variable(np.array([[10.0, 20.0, 30.0]]))
    y = col * row
    np.testing.assert_array_equal(y.data, [[10, 20, 30], [20, 40, 60]])
    y.backward()
    assert col.grad.shape == (2, 1)
    assert row.grad.shape == (1, 3)
    np.testing.assert_array_equal(col.grad.data, [[60.0], [60.0]])
    np.testing.assert_array_equal(row.grad.data, [[3.0, 3.0, 3.0]])


def test_scalar_variable_times_matrix_gets_summed_gradient():
    s = Variable(np.array(2.0))
    m = Variable(np.arange(6.0).reshape(2, 3))
    y = s * m
    y.backward()
    assert s.grad.shape == ()
    assert s.grad.data == 15.0
    np.testing.assert_array_equal(m.grad.data, np.full((2, 3), 2.0))


def test_broadcast_with_python_scalar_keeps_variable_gradient_shape():
    x = Variable(np.array([[1.0, 2.0], [3.0, 4.0]]))
    y = 10 - x
    y.backward()
    assert x.grad.shape == (2, 2)
    np.testing.assert_array_equal(x.grad.data, -np.ones((2, 2)))


# --------------------------------------------------------------------------- config


def test_backprop_enabled_by_default():
    assert Config.enable_backprop is True


def test_using_config_sets_and_restores():
    with using_config("enable_backprop", False):
        assert Config.enable_backprop is False
    assert Config.enable_backprop is True


def test_using_config_restores_when_body_raises():
    with pytest.raises(ZeroDivisionError):
        with using_config("enable_backprop", False):
            assert Config.enable_backprop is False
            raise ZeroDivisionError
    assert Config.enable_backprop is True


def test_no_grad_disables_backprop_and_restores():
    with no_grad():
        assert Config.enable_backprop is False
    assert Config.enable_backprop is True


def test_no_grad_restores_when_body_raises():
    with pytest.raises(KeyError):
        with no_grad():
            raise KeyError("boom")
    assert Config.enable_backprop is True


def test_nested_config_restores_each_level():
    with no_grad():
        with using_config("enable_backprop", True):
            assert Config.enable_backprop is True
        assert Config.enable_backprop is False
    assert Config.enable_backprop is True


def test_no_grad_output_has_no_creator():
    x = Variable(np.array(3.0))
    with no_grad():
        y = x * 2
    assert isinstance(y, Variable)
    assert y.data == 6.0
    assert y.creator is None
    z = x * 2
    assert z.creator is not None


def test_no_grad_output_does_not_backpropagate():
    x = Variable(np.array(3.0))
    with no_grad():
        y = x * 2 + 1
    y.backward()
    assert y.grad.data == 1.0
    assert x.grad is None


def test_no_grad_function_keeps_no_inputs():
    x = Variable(np.array(3.0))
    f = Square()
    with no_grad():
        y = f(x)
    assert y.data == 9.0
    assert y.creator is None
    assert not getattr(f, "inputs", None)


def test_dezero_module_exposes_variable_class():
    assert dezero.Variable is Variable
    assert dezero.Function is Function


# ---- the grad mode is per thread ---------------------------------------------------------


def test_no_grad_in_one_thread_does_not_stop_another_threads_graphs():
    import threading

    stop = threading.Event()

    def toggler():
        while not stop.is_set():
            with no_grad():
                Variable(np.array(1.0)) * 2
            x = Variable(np.array(2.0))
            (x * x).backward()

    threads = [threading.Thread(target=toggler) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        lost = 0
        for _ in range(20_000):
            y = Variable(np.array(3.0)) * 2
            lost += y.creator is None
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert lost == 0
    assert Config.enable_backprop is True


def test_each_thread_starts_with_graphs_on_and_sets_only_its_own():
    import threading

    seen = []
    with no_grad():
        thread = threading.Thread(target=lambda: seen.append(Config.enable_backprop))
        thread.start()
        thread.join()
        assert Config.enable_backprop is False
    assert seen == [True]
    Config.enable_backprop = False  # the book's spelling still sets it
    try:
        assert (Variable(np.array(1.0)) + 1).creator is None
    finally:
        Config.enable_backprop = True
