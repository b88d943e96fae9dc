"""The differentiable functions of dezero, each a forward next to its backward.

Read down the file like a table of derivatives: every class computes its value on arrays in
``forward`` and says, a few lines below in ``backward``, how a gradient flows back, written
with Variable operations so that it can itself be differentiated (``create_graph=True``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dezero import utils
from dezero.core import (
    Function,
    Variable,
    _into,
    _product,
    add,
    as_array,
    as_variable,
    div,
    mul,
    neg,
    pow,
    rsub,
    sub,
)

__all__ = [
    "add", "sub", "rsub", "mul", "div", "neg", "pow",
    "sin", "cos", "tan", "tanh", "exp", "log", "log2", "log10", "sqrt", "abs",
    "sigmoid", "relu", "leaky_relu", "softmax", "log_softmax",
    "reshape", "transpose", "expand_dims", "flatten", "get_item", "stack",
    "sum", "sum_to", "broadcast_to", "average", "mean", "matmul", "dot", "max", "min", "clip",
]  # fmt: skip

Axis = int | tuple[int, ...] | None


def _mask(condition: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A 0/1 array of ``dtype``: the derivative of a piecewise-linear function."""
    return condition.astype(dtype)


# ---------------------------------------------------------------------------
# Elementwise functions
# ---------------------------------------------------------------------------


class Sin(Function):
    recycles_output = True

    def forward(self, x):
        return np.sin(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * cos(x)

    def backward_array(self, gy, out=None):
        x = self.inputs[0].data
        cosine = _into(np.cos, out, x)
        return _product(gy, cosine, cosine)


class Cos(Function):
    recycles_output = True

    def forward(self, x):
        return np.cos(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * -sin(x)

    def backward_array(self, gy, out=None):
        x = self.inputs[0].data
        sine = _into(np.sin, out, x)
        minus_sine = _into(np.negative, sine, sine)
        return _product(gy, minus_sine, minus_sine)


class Tan(Function):
    reads_input_data = False  # its rules read its output

    def forward(self, x):
        return np.tan(x)

    def backward(self, gy):
        y = self.outputs[0]()
        return gy * (1 + y * y)  # sec² x = 1 + tan² x, from the output we already have

    def backward_array(self, gy):
        y = self.outputs[0]().data
        return gy * (1 + y * y)


class Tanh(Function):
    reads_input_data = False  # its rules read its output

    def forward(self, x):
        return np.tanh(x)

    def backward(self, gy):
        y = self.outputs[0]()
        return gy * (1 - y * y)

    def backward_array(self, gy):
        y = self.outputs[0]().data
        return gy * (1 - y * y)


class Exp(Function):
    reads_input_data = False  # its rules read its output

    def forward(self, x):
        return np.exp(x)

    def backward(self, gy):
        y = self.outputs[0]()
        return gy * y

    def backward_array(self, gy):
        return gy * self.outputs[0]().data


class Log(Function):
    recycles_output = True

    def forward(self, x):
        return np.log(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy / x

    def backward_array(self, gy, out=None):
        x = self.inputs[0].data
        return gy / x if out is None else _into(np.divide, out, gy, x)


class Log2(Function):
    def forward(self, x):
        return np.log2(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy / (x * np.log(2.0))


class Log10(Function):
    def forward(self, x):
        return np.log10(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy / (x * np.log(10.0))


class Sqrt(Function):
    reads_input_data = False  # its rules read its output

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, gy):
        y = self.outputs[0]()
        return gy / (2 * y)

    def backward_array(self, gy):
        return gy / (2 * self.outputs[0]().data)


class Abs(Function):
    def forward(self, x):
        return np.abs(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * np.sign(x.data)


class Sigmoid(Function):
    reads_input_data = False  # its rules read its output

    def forward(self, x):
        return np.tanh(x * 0.5) * 0.5 + 0.5  # overflow-free form of 1 / (1 + e^-x)

    def backward(self, gy):
        y = self.outputs[0]()
        return gy * y * (1 - y)


class ReLU(Function):
    def forward(self, x):
        return np.maximum(x, 0.0)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * _mask(x.data > 0, gy.dtype)


class LeakyReLU(Function):
    def __init__(self, slope: float) -> None:
        self.slope = slope

    def forward(self, x):
        return np.where(x > 0, x, x * self.slope)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * np.where(x.data > 0, 1.0, self.slope).astype(gy.dtype)


class Softmax(Function):
    reads_input_data = False  # its rules read its output

    def __init__(self, axis: Axis) -> None:
        self.axis = axis

    def forward(self, x):
        y = np.exp(x - x.max(axis=self.axis, keepdims=True))
        return y / y.sum(axis=self.axis, keepdims=True)

    def backward(self, gy):
        y = self.outputs[0]()
        gx = y * gy
        return gx - y * sum(gx, axis=self.axis, keepdims=True)


class LogSoftmax(Function):
    reads_input_data = False  # its rules read its output

    def __init__(self, axis: Axis) -> None:
        self.axis = axis

    def forward(self, x):
        m = x.max(axis=self.axis, keepdims=True)
        return x - m - np.log(np.exp(x - m).sum(axis=self.axis, keepdims=True))

    def backward(self, gy):
        y = self.outputs[0]()
        return gy - exp(y) * sum(gy, axis=self.axis, keepdims=True)


def sin(x: Any) -> Variable:
    return Sin()(x)


def cos(x: Any) -> Variable:
    return Cos()(x)


def tan(x: Any) -> Variable:
    return Tan()(x)


def tanh(x: Any) -> Variable:
    return Tanh()(x)


def exp(x: Any) -> Variable:
    return Exp()(x)


def log(x: Any) -> Variable:
    return Log()(x)


def log2(x: Any) -> Variable:
    return Log2()(x)


def log10(x: Any) -> Variable:
    return Log10()(x)


def sqrt(x: Any) -> Variable:
    return Sqrt()(x)


def abs(x: Any) -> Variable:  # noqa: A001 - the calculator's and NumPy's name
    return Abs()(x)


def sigmoid(x: Any) -> Variable:
    return Sigmoid()(x)


def relu(x: Any) -> Variable:
    return ReLU()(x)


def leaky_relu(x: Any, slope: float = 0.2) -> Variable:
    return LeakyReLU(slope)(x)


def softmax(x: Any, axis: Axis = 1) -> Variable:
    return Softmax(axis)(x)


def log_softmax(x: Any, axis: Axis = 1) -> Variable:
    return LogSoftmax(axis)(x)


# ---------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------


class Reshape(Function):
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return reshape(gy, self.x_shape)

    def backward_array(self, gy):
        return gy.reshape(self.x_shape)


class Transpose(Function):
    def __init__(self, axes: tuple[int, ...] | None = None) -> None:
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        if self.axes is None:
            return transpose(gy)
        inverse = tuple(np.argsort([a % len(self.axes) for a in self.axes]))
        return transpose(gy, inverse)


class GetItem(Function):
    def __init__(self, slices: Any) -> None:
        self.slices = slices

    def forward(self, x):
        return x[self.slices]

    def backward(self, gy):
        (x,) = self.inputs
        return GetItemGrad(self.slices, x.shape)(gy)

    def backward_array(self, gy):
        gx = np.zeros(self.inputs[0].shape, dtype=np.result_type(gy, np.float64))
        np.add.at(gx, self.slices, gy)
        return gx


class GetItemGrad(Function):
    """Scatter a gradient back into the shape indexing came from; repeated indices add up."""

    def __init__(self, slices: Any, in_shape: tuple[int, ...]) -> None:
        self.slices = slices
        self.in_shape = in_shape

    def forward(self, gy):
        gx = np.zeros(self.in_shape, dtype=gy.dtype)
        np.add.at(gx, self.slices, gy)
        return gx

    def backward(self, ggx):
        return get_item(ggx, self.slices)


class Stack(Function):
    """Join equally shaped inputs along a new axis: ``[x0, x1, ...]`` as one array."""

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs):
        return np.stack(xs, axis=self.axis)

    def backward(self, gy):
        lead = (slice(None),) * (self.axis % gy.ndim)
        return tuple(get_item(gy, lead + (i,)) for i in range(gy.shape[self.axis]))

    def backward_array(self, gy):
        return tuple(np.moveaxis(gy, self.axis, 0))


def stack(xs: list[Any], axis: int = 0) -> Variable:
    return Stack(axis)(*xs)


def reshape(x: Any, shape: tuple[int, ...]) -> Variable:
    if as_variable(x).shape == tuple(shape):
        return as_variable(x)
    return Reshape(tuple(shape))(x)


def transpose(x: Any, axes: tuple[int, ...] | None = None) -> Variable:
    return Transpose(None if axes is None else tuple(axes))(x)


def expand_dims(x: Any, axis: int) -> Variable:
    x = as_variable(x)
    return reshape(x, np.expand_dims(x.data, axis).shape)


def flatten(x: Any) -> Variable:
    """Flatten all axes but the first, as the book does for a batch of inputs."""
    x = as_variable(x)
    return reshape(x, (x.shape[0], -1))


def get_item(x: Any, slices: Any) -> Variable:
    return GetItem(slices)(x)


# ---------------------------------------------------------------------------
# Sums and broadcasting
# ---------------------------------------------------------------------------


class Sum(Function):
    reads_input_data = False

    def __init__(self, axis: Axis, keepdims: bool) -> None:
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        self.x_shape = x.shape
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        gy = utils.reshape_sum_backward(gy, self.x_shape, self.axis, self.keepdims)
        return broadcast_to(gy, self.x_shape)

    def backward_array(self, gy):
        gy = utils.reshape_sum_backward(gy, self.x_shape, self.axis, self.keepdims)
        return np.broadcast_to(gy, self.x_shape)


class SumTo(Function):
    reads_input_data = False

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        self.x_shape = x.shape
        return utils.sum_to(x, self.shape)

    def backward(self, gy):
        return broadcast_to(gy, self.x_shape)

    def backward_array(self, gy):
        return np.broadcast_to(gy, self.x_shape)


class BroadcastTo(Function):
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        self.x_shape = x.shape
        return np.broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.x_shape)

    def backward_array(self, gy):
        return utils.sum_to(gy, self.x_shape)


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:  # noqa: A001
    return Sum(axis, keepdims)(x)


def sum_to(x: Any, shape: tuple[int, ...]) -> Variable:
    if as_variable(x).shape == tuple(shape):
        return as_variable(x)
    return SumTo(tuple(shape))(x)


def broadcast_to(x: Any, shape: tuple[int, ...]) -> Variable:
    if as_variable(x).shape == tuple(shape):
        return as_variable(x)
    return BroadcastTo(tuple(shape))(x)


def average(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:
    x = as_variable(x)
    y = sum(x, axis, keepdims)
    count = x.data.size // y.data.size if y.data.size else 0
    return y / count  # the mean of no elements is 0 / 0: nan, as in NumPy


mean = average


# ---------------------------------------------------------------------------
# Products, extremes, clipping
# ---------------------------------------------------------------------------


class MatMul(Function):
    def forward(self, x, W):  # noqa: N803 - the book's name for a weight matrix
        return np.matmul(x, W)

    def backward(self, gy):
        x, W = self.inputs  # noqa: N806
        x2, W2 = _as_matrix(x, 0), _as_matrix(W, 1)  # noqa: N806
        gy2 = reshape(gy, np.matmul(x2.data, W2.data).shape)
        gx = matmul(gy2, _swap_last(W2))
        gW = matmul(_swap_last(x2), gy2)  # noqa: N806
        return sum_to(_unmatrix(gx, x2.shape, x.shape), x.shape), sum_to(
            _unmatrix(gW, W2.shape, W.shape), W.shape
        )


def _as_matrix(v: Variable, side: int) -> Variable:
    """A vector as a row (left operand) or a column (right operand) matrix, as matmul sees it."""
    if v.ndim != 1:
        return v
    return reshape(v, (1, v.shape[0]) if side == 0 else (v.shape[0], 1))


def _swap_last(v: Variable) -> Variable:
    axes = list(range(v.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return transpose(v, tuple(axes))


def _unmatrix(g: Variable, matrix_shape: tuple[int, ...], shape: tuple[int, ...]) -> Variable:
    """Undo ``_as_matrix``: a gradient of the (batched) matrix shape back to the input's."""
    if len(shape) == 1:
        return reshape(sum_to(g, matrix_shape), shape)
    return g


class Max(Function):
    def __init__(self, axis: Axis, keepdims: bool) -> None:
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        return x.max(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        (x,) = self.inputs
        return _extreme_grad(gy, x, x.data.max(axis=self.axis, keepdims=True), self)


class Min(Max):
    def forward(self, x):
        return x.min(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        (x,) = self.inputs
        return _extreme_grad(gy, x, x.data.min(axis=self.axis, keepdims=True), self)


def _extreme_grad(gy: Variable, x: Variable, extreme: np.ndarray, f: Max) -> Variable:
    """The gradient of max or min flows to the elements that attain it."""
    gy = utils.reshape_sum_backward(gy, x.shape, f.axis, f.keepdims)
    return broadcast_to(gy, x.shape) * _mask(x.data == extreme, gy.dtype)


class Clip(Function):
    def __init__(self, x_min: float, x_max: float) -> None:
        self.x_min = x_min
        self.x_max = x_max

    def forward(self, x):
        return np.clip(x, self.x_min, self.x_max)

    def backward(self, gy):
        (x,) = self.inputs
        inside = (x.data >= self.x_min) & (x.data <= self.x_max)
        return gy * _mask(inside, gy.dtype)


def matmul(x: Any, W: Any) -> Variable:  # noqa: N803
    return MatMul()(x, as_array(W) if not isinstance(W, Variable) else W)


dot = matmul


def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:  # noqa: A001
    return Max(axis, keepdims)(x)


def min(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:  # noqa: A001
    return Min(axis, keepdims)(x)


def clip(x: Any, x_min: float, x_max: float) -> Variable:
    return Clip(x_min, x_max)(x)
