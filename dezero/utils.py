"""Helpers around the graph: shape bookkeeping, numerical gradients, and graph drawing."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from dezero.core import Variable, as_variable
from dezero.core import sum_to_array as sum_to  # noqa: F401 - the book's utils.sum_to

# ---------------------------------------------------------------------------
# Shapes: the array-level halves of broadcasting and summing
# ---------------------------------------------------------------------------


def reshape_sum_backward(gy: Any, x_shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """Give the gradient of ``sum(x, axis)`` back the axes the sum removed, as size 1."""
    ndim = len(x_shape)
    if axis is None:
        axis = tuple(range(ndim))
    elif not isinstance(axis, tuple):
        axis = (axis,)
    if ndim == 0 or keepdims:
        return gy
    actual_axis = sorted(a if a >= 0 else a + ndim for a in axis)
    shape = list(gy.shape)
    for a in actual_axis:
        shape.insert(a, 1)
    return gy.reshape(tuple(shape))


# ---------------------------------------------------------------------------
# Numerical gradients
# ---------------------------------------------------------------------------


def numerical_grad(f: Callable[..., Any], x: Any, *args: Any, **kwargs: Any) -> np.ndarray:
    """Central differences of ``sum(f(x))`` with respect to every element of ``x``."""
    eps = 1e-4
    x = x.data if isinstance(x, Variable) else np.asarray(x)
    x = x.astype(np.float64, copy=True)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        tmp = x[idx]
        x[idx] = tmp + eps
        y1 = as_variable(f(Variable(x.copy()), *args, **kwargs)).data.sum()
        x[idx] = tmp - eps
        y2 = as_variable(f(Variable(x.copy()), *args, **kwargs)).data.sum()
        x[idx] = tmp
        grad[idx] = (y1 - y2) / (2 * eps)
    return grad


def gradient_check(
    f: Callable[..., Any], x: Any, *args: Any, rtol: float = 1e-4, atol: float = 1e-5, **kwargs: Any
) -> bool:
    """True when backpropagation through ``f`` agrees with central differences at ``x``."""
    x = x if isinstance(x, Variable) else Variable(np.asarray(x, dtype=np.float64))
    x.cleargrad()
    num_grad = numerical_grad(f, x, *args, **kwargs)
    y = f(x, *args, **kwargs)
    y.backward()
    bp_grad = x.grad.data
    assert bp_grad.shape == num_grad.shape, (bp_grad.shape, num_grad.shape)
    return array_allclose(num_grad, bp_grad, rtol=rtol, atol=atol)


def _data(a: Any) -> np.ndarray:
    return a.data if isinstance(a, Variable) else np.asarray(a)


def array_equal(a: Any, b: Any) -> bool:
    """``np.array_equal`` that also takes Variables."""
    return bool(np.array_equal(_data(a), _data(b)))


def array_allclose(a: Any, b: Any, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    """``np.allclose`` that also takes Variables."""
    return bool(np.allclose(_data(a), _data(b), rtol=rtol, atol=atol))


# ---------------------------------------------------------------------------
# Drawing the graph with Graphviz
# ---------------------------------------------------------------------------


def _dot_var(v: Any, verbose: bool) -> str:
    label = "" if v.name is None else v.name
    if verbose and v.data is not None:
        if v.name is not None:
            label += ": "
        label += f"{v.shape} {v.dtype}"
    label = label.replace('"', r"\"")
    return f'{id(v)} [label="{label}", color=orange, style=filled]\n'


def _dot_func(f: Any) -> str:
    text = f'{id(f)} [label="{type(f).__name__}", color=lightblue, style=filled, shape=box]\n'
    for x in f.inputs:
        text += f"{id(x)} -> {id(f)}\n"
    for y in f.outputs:
        if y() is not None:
            text += f"{id(f)} -> {id(y())}\n"
    return text


def get_dot_graph(output: Any, verbose: bool = True) -> str:
    """The computational graph that ends in ``output``, as Graphviz DOT text."""
    text = _dot_var(output, verbose)
    funcs = [] if output.creator is None else [output.creator]
    seen = {id(f) for f in funcs}
    while funcs:
        f = funcs.pop()
        text += _dot_func(f)
        for x in f.inputs:
            text += _dot_var(x, verbose)
            if x.creator is not None and id(x.creator) not in seen:
                seen.add(id(x.creator))
                funcs.append(x.creator)
    return "digraph g {\n" + text + "}"


class GraphvizNotFound(RuntimeError):
    """Raised when the Graphviz ``dot`` program is needed but not installed."""


def render_dot(dot_text: str, to_file: str) -> None:
    """Render DOT text into ``to_file``; the format comes from its extension (png, svg, pdf)."""
    import shutil
    import subprocess
    import tempfile

    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizNotFound(
            "the Graphviz 'dot' program is not installed; install Graphviz "
            "(e.g. 'apt-get install graphviz' or 'brew install graphviz') to render graphs"
        )
    extension = os.path.splitext(to_file)[1][1:] or "png"
    with tempfile.NamedTemporaryFile("w", suffix=".dot", delete=False) as f:
        f.write(dot_text)
        path = f.name
    try:
        subprocess.run([dot, path, "-T", extension, "-o", to_file], check=True)
    finally:
        os.unlink(path)


def plot_dot_graph(output: Any, verbose: bool = True, to_file: str = "graph.png") -> None:
    """Draw the graph that ends in ``output`` into an image file with Graphviz."""
    render_dot(get_dot_graph(output, verbose), to_file)
