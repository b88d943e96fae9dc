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
    x = np.array(x.data if isinstance(x, Variable) else x, dtype=np.float64)  # a copy to move
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        tmp = x[idx]
        x[idx] = tmp + eps
        y1 = _total(f(Variable(x.copy()), *args, **kwargs))
        x[idx] = tmp - eps
        y2 = _total(f(Variable(x.copy()), *args, **kwargs))
        x[idx] = tmp
        grad[idx] = (y1 - y2) / (2 * eps)
    return grad


def _total(y: Any) -> Any:
    """The sum of the elements of f's value ``y``: a NumPy scalar."""
    data = as_variable(y).data
    assert data is not None  # a value just computed
    return data.sum()


def gradient_check(
    f: Callable[..., Any], x: Any, *args: Any, rtol: float = 1e-4, atol: float = 1e-5, **kwargs: Any
) -> bool:
    """True when backpropagation through ``f`` agrees with central differences at ``x``."""
    x = x if isinstance(x, Variable) else Variable(np.asarray(x, dtype=np.float64))
    x.cleargrad()
    num_grad = numerical_grad(f, x, *args, **kwargs)
    y = f(x, *args, **kwargs)
    y.backward()
    assert x.grad is not None and x.grad.data is not None, "f's value does not depend on x"
    bp_grad = x.grad.data
    assert bp_grad.shape == num_grad.shape, (bp_grad.shape, num_grad.shape)
    return array_allclose(num_grad, bp_grad, rtol=rtol, atol=atol)


def _data(a: Any) -> np.ndarray:
    if isinstance(a, Variable):
        return np.asanyarray(a.data)  # the array itself (NumPy's comparisons take None too)
    return np.asarray(a)


def array_equal(a: Any, b: Any) -> bool:
    """``np.array_equal`` that also takes Variables."""
    return bool(np.array_equal(_data(a), _data(b)))


def array_allclose(a: Any, b: Any, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    """``np.allclose`` that also takes Variables."""
    return bool(np.allclose(_data(a), _data(b), rtol=rtol, atol=atol))


# ---------------------------------------------------------------------------
# Drawing the graph with Graphviz
# ---------------------------------------------------------------------------


def _var_label(v: Any, verbose: bool) -> str:
    """The book's label: the name, and with ``verbose`` the shape and dtype."""
    label = "" if v.name is None else v.name
    if verbose and v.data is not None:
        if v.name is not None:
            label += ": "
        label += f"{v.shape} {v.dtype}"
    return label


def _quoted(label: str) -> str:
    return label.replace("\\", "\\\\").replace('"', r"\"").replace("\n", r"\n")


class _Dot:
    """DOT text being written: each node declared once, before the edges that use it."""

    def __init__(self, label: Callable[[Any], str], numbered: bool) -> None:
        self.label = label
        self.numbered = numbered
        self.names: dict[int, str] = {}
        self.held: list[Any] = []  # what is named stays alive, so no id() is reused
        self.lines: list[str] = []

    def name(self, node: Any) -> str:
        """The node's name: n0, n1, ... in order of appearance, or its id() as the book has."""
        key = id(node)
        if key not in self.names:
            self.names[key] = f"n{len(self.names)}" if self.numbered else str(key)
            self.held.append(node)
        return self.names[key]

    def var(self, v: Any) -> str:
        if id(v) not in self.names:
            label = _quoted(self.label(v))
            self.lines.append(f'{self.name(v)} [label="{label}", color=orange, style=filled]')
        return self.names[id(v)]

    def func(self, f: Any) -> None:
        name = self.name(f)
        kind = type(f).__name__
        self.lines.append(f'{name} [label="{kind}", color=lightblue, style=filled, shape=box]')
        for x in f.inputs:
            source = self.var(x)  # declared before its first edge
            self.lines.append(f"{source} -> {name}")
        for ref in f.outputs:
            y = ref()
            if y is not None:
                target = self.var(y)
                self.lines.append(f"{name} -> {target}")

    def text(self) -> str:
        return "digraph g {\n" + "".join(line + "\n" for line in self.lines) + "}"


def get_dot_graph(
    output: Any,
    verbose: bool = True,
    label: Callable[[Any], str] | None = None,
    numbered: bool = False,
) -> str:
    """The computational graph that ends in ``output``, as Graphviz DOT text.

    A variable's label is its name, with ``verbose`` its shape and dtype too, or what
    ``label(variable)`` gives; ``numbered`` names the nodes n0, n1, ... in order of
    appearance instead of by their id().
    """
    dot = _Dot(label or (lambda v: _var_label(v, verbose)), numbered)
    dot.var(output)
    funcs = [] if output.creator is None else [output.creator]
    seen = {id(f) for f in funcs}
    while funcs:
        f = funcs.pop()
        dot.func(f)
        for x in f.inputs:
            if x.creator is not None and id(x.creator) not in seen:
                seen.add(id(x.creator))
                funcs.append(x.creator)
    return dot.text()


class GraphvizNotFound(RuntimeError):
    """Raised when the Graphviz ``dot`` program is needed but not installed."""


def dot_image(dot_text: str, image_format: str) -> bytes:
    """Draw DOT text as an image (png, svg, pdf) with Graphviz's ``dot`` program."""
    import shutil
    import subprocess

    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizNotFound(
            "the Graphviz 'dot' program is not installed; install Graphviz "
            "(e.g. 'apt-get install graphviz' or 'brew install graphviz') to render graphs"
        )
    command = [dot, "-T", image_format]  # an argument list: no shell
    done = subprocess.run(command, input=dot_text.encode(), capture_output=True)
    if done.returncode != 0:
        problem = done.stderr.decode(errors="replace").strip() or f"status {done.returncode}"
        raise RuntimeError(problem.splitlines()[0])
    return done.stdout


def render_dot(dot_text: str, to_file: str) -> None:
    """Render DOT text into ``to_file``; the format comes from its extension (png, svg, pdf)."""
    extension = os.path.splitext(to_file)[1][1:] or "png"
    image = dot_image(dot_text, extension)
    with open(to_file, "wb") as f:
        f.write(image)


def plot_dot_graph(output: Any, verbose: bool = True, to_file: str = "graph.png") -> None:
    """Draw the graph that ends in ``output`` into an image file with Graphviz."""
    render_dot(get_dot_graph(output, verbose), to_file)
