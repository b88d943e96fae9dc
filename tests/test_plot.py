""":plot: sampled points and derivatives, the text drawing, and images through matplotlib."""

from __future__ import annotations

import sys

import numpy as np
import pytest


def test_json_gives_the_sampled_points_and_the_exact_derivative(jcalc):
    result = jcalc.last("f(t) = t**3\n:plot f for t in -1..2")
    plot = result["plot"]
    x = np.array(plot["x"])
    assert (x[0], x[-1], len(x)) == (-1.0, 2.0, 201)
    assert list(plot["series"]) == ["f", "f'"]
    np.testing.assert_allclose(plot["series"]["f"], x**3, rtol=1e-12)
    np.testing.assert_allclose(plot["series"]["f'"], 3 * x**2, rtol=1e-12)
    assert "output" not in result  # JSON gives the points instead of a drawing


def test_an_expression_is_plotted_with_its_derivative_around_the_variable(jcalc):
    plot = jcalc.last("x = 1\n:plot sin(x) * x")["plot"]
    x = np.array(plot["x"])
    assert (x[0], x[-1]) == (-4.0, 6.0)  # the default range is around x's value
    np.testing.assert_allclose(plot["series"]["∂/∂x"], np.cos(x) * x + np.sin(x), atol=1e-12)


def test_several_curves_are_plotted_without_an_extra_derivative(jcalc):
    plot = jcalc.last("f(t) = t**2\n:plot f, f', f'' for t in 0..1")["plot"]
    assert list(plot["series"]) == ["f", "f'", "f''"]
    np.testing.assert_allclose(plot["series"]["f''"], 2.0)


def test_the_drawing_has_a_frame_and_a_legend(calc):
    out, err = calc.run(":plot exp(x) for x in 0..1")
    assert err == ""
    assert "exp(x)" in out and "∂/∂x" in out
    assert "┌" in out and "┘" in out


def test_saving_an_image_writes_a_png(calc, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "curve.png"
    out, err = calc.run(f":plot x**2 for x in -2..2 > {target}")
    assert err == ""
    assert out == f"saved the plot to {target}\n"
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000


def test_saving_without_matplotlib_is_a_clear_error(calc, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    target = tmp_path / "curve.png"
    _, err = calc.run(f":plot x**2 for x in -2..2 > {target}")
    assert "pip install 'dezero-repl[plot]'" in err
    assert err.count("error:") == 1 and "Traceback" not in err
    assert not target.exists()


@pytest.mark.parametrize(
    "command, message",
    [
        (":plot", "':plot' needs something to plot"),
        (":plot y + 1", "unknown name 'y'"),
        (":plot sin(x) for x in 2..1", "is empty"),
        (":plot sum(x) for x in 0..1", "must give one value per point"),
    ],
)
def test_plot_errors_are_one_line(calc, command, message):
    _, err = calc.run(command)
    assert message in err
    assert err.count("error:") == 1
