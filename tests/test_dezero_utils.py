"""Tests for dezero.utils: numerical gradients, comparisons and graph export."""

import re
import shutil

import numpy as np
import pytest

import dezero.functions as F
from dezero import Function, Variable
from dezero.utils import (
    array_allclose,
    array_equal,
    get_dot_graph,
    gradient_check,
    numerical_grad,
    plot_dot_graph,
)

# --------------------------------------------------------------------------- numerical_grad


def test_numerical_grad_of_square_at_variable():
    g = numerical_grad(lambda x: F.pow(x, 2), Variable(np.array(3.0)))
    assert isinstance(g, np.ndarray)
    assert g.shape == ()
    assert g == pytest.approx(6.0, abs=1e-6)


def test_numerical_grad_of_vector_input():
    x = np.array([0.0, 1.0, 2.0])
    g = numerical_grad(F.sin, x)
    assert g.shape == (3,)
    np.testing.assert_allclose(g, np.cos(x), atol=1e-7)


def test_numerical_grad_sums_over_outputs():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    g = numerical_grad(lambda v: F.sum(F.mul(v, v), axis=1), x)
    np.testing.assert_allclose(g, 2 * x, atol=1e-6)


def test_numerical_grad_passes_extra_arguments():
    g = numerical_grad(F.mul, np.array([1.0, 2.0]), np.array([3.0, 5.0]))
    np.testing.assert_allclose(g, [3.0, 5.0], atol=1e-7)


def test_numerical_grad_leaves_input_unchanged():
    x = np.array([0.3, -1.2, 2.5])
    original = x.copy()
    numerical_grad(F.exp, x)
    np.testing.assert_array_equal(x, original)
    v = Variable(np.array([0.3, -1.2, 2.5]))
    numerical_grad(F.exp, v)
    np.testing.assert_array_equal(v.data, original)


def test_numerical_grad_uses_central_differences():
    # for a cubic, central differences have error eps**2 while forward differences have 3*eps
    g = numerical_grad(lambda x: F.pow(x, 3), np.array(1.0))
    assert g == pytest.approx(3.0, abs=1e-6)


# --------------------------------------------------------------------------- gradient_check


class BadSquare(Function):
    def forward(self, x):
        return x**2

    def backward(self, gy):
        (x,) = self.inputs
        return 3 * x * gy


class SlightlyOffSquare(Function):
    def forward(self, x):
        return x**2

    def backward(self, gy):
        (x,) = self.inputs
        return 2.002 * x * gy


def test_gradient_check_accepts_correct_gradient():
    assert gradient_check(F.tanh, np.array([-1.0, 0.3, 2.0])) is True


def test_gradient_check_accepts_variable_input():
    assert gradient_check(F.sin, Variable(np.array([[0.1, 0.2], [0.3, 0.4]]))) is True


def test_gradient_check_rejects_wrong_gradient():
    assert gradient_check(lambda x: BadSquare()(x), np.array([1.0, 2.0])) is False


def test_gradient_check_passes_extra_arguments():
    assert gradient_check(F.mul, np.array([1.0, 2.0]), np.array([3.0, -4.0])) is True


def test_gradient_check_tolerance_is_configurable():
    x = np.array([1.0, 2.0])
    assert gradient_check(lambda v: SlightlyOffSquare()(v), x) is False
    assert gradient_check(lambda v: SlightlyOffSquare()(v), x, rtol=1e-2) is True
    assert gradient_check(lambda v: SlightlyOffSquare()(v), x, atol=1e-2) is True


# --------------------------------------------------------------------------- array comparisons


def test_array_equal_on_arrays():
    assert array_equal(np.array([1.0, 2.0]), np.array([1.0, 2.0])) is True
    assert array_equal(np.array([1.0, 2.0]), np.array([1.0, 2.5])) is False


def test_array_equal_accepts_variables():
    a = Variable(np.array([1.0, 2.0]))
    assert array_equal(a, np.array([1.0, 2.0])) is True
    assert array_equal(np.array([1.0, 2.0]), a) is True
    assert array_equal(a, Variable(np.array([1.0, 3.0]))) is False


def test_array_allclose_default_tolerance():
    a = np.array([1.0, 100.0])
    assert array_allclose(a, a + 1e-6) is True
    assert array_allclose(a, a + np.array([0.0, 5e-3])) is True
    assert array_allclose(a, a + 1e-2) is False


def test_array_allclose_accepts_variables_and_custom_tolerance():
    a = Variable(np.array([1.0, 2.0]))
    b = Variable(np.array([1.05, 2.0]))
    assert array_allclose(a, b) is False
    assert array_allclose(a, b, atol=0.1) is True
    assert array_allclose(a, b.data, rtol=0.1) is True


# --------------------------------------------------------------------------- dot graph


def _sample_graph():
    x = Variable(np.array(1.0), name="x")
    t = x * 2
    y = t + 1
    y.name = "y"
    return x, t, y


def test_dot_graph_structure():
    x, t, y = _sample_graph()
    text = get_dot_graph(y, verbose=False)
    assert text.startswith("digraph g {")
    assert text.rstrip().endswith("}")
    mul, add = t.creator, y.creator
    for obj in (x, t, y, mul, add):
        assert str(id(obj)) in text
    assert type(mul).__name__ in text
    assert type(add).__name__ in text
    assert '"x"' in text
    assert '"y"' in text


def test_dot_graph_edges():
    x, t, y = _sample_graph()
    text = get_dot_graph(y, verbose=False)
    mul, add = t.creator, y.creator

    def edge(a, b):
        return re.search(rf"\b{id(a)}\s*->\s*{id(b)}\b", text) is not None

    assert edge(x, mul)
    assert edge(mul, t)
    assert edge(t, add)
    assert edge(add, y)
    assert not edge(y, add)


def test_dot_graph_verbose_shows_shape_and_dtype():
    x = Variable(np.ones((2, 3)), name="x")
    y = F.sum(x)
    verbose = get_dot_graph(y, verbose=True)
    terse = get_dot_graph(y, verbose=False)
    assert "float64" in verbose
    assert "(2, 3)" in verbose
    assert "float64" not in terse


def test_dot_graph_lists_each_shared_function_once():
    x = Variable(np.array(2.0), name="x")
    a = x * x
    y = a + a
    text = get_dot_graph(y, verbose=False)
    mul = a.creator
    node_lines = [line for line in text.splitlines() if re.match(rf"\s*{id(mul)}\s*\[", line)]
    assert len(node_lines) == 1


def test_plot_dot_graph_without_graphviz_raises_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", "")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    _, _, y = _sample_graph()
    with pytest.raises(Exception, match=r"(?i)install") as excinfo:
        plot_dot_graph(y, verbose=True, to_file=str(tmp_path / "graph.png"))
    assert "graphviz" in str(excinfo.value).lower()
    assert not (tmp_path / "graph.png").exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is not installed")
def test_plot_dot_graph_writes_image(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    _, _, y = _sample_graph()
    out = tmp_path / "graph.png"
    plot_dot_graph(y, verbose=False, to_file=str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_numerical_grad_and_gradient_check_take_a_float64_scalar():
    x = Variable((Variable(np.array(1.0)) * 1.0).data)  # a result's value, as a leaf
    assert type(x.data) is np.float64
    assert numerical_grad(F.sin, x) == pytest.approx(np.cos(1.0), rel=1e-7)
    assert gradient_check(F.sin, x)
    assert x.data == 1.0  # not moved
