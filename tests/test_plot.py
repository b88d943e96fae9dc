""":plot: sampled points and derivatives, the text drawing, and images through matplotlib."""

from __future__ import annotations

import re
import shutil
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


@pytest.mark.parametrize("target", ["", " > big.png"])
def test_values_that_span_beyond_float64_are_a_clear_error(calc, tmp_path, target):
    # No axis can be drawn from -1.75e308 to 1.75e308: plotext failed with "cannot convert
    # float NaN to integer", matplotlib with "Singular matrix", each an internal error.
    if target:
        pytest.importorskip("matplotlib")
        target = f" > {tmp_path / 'big.png'}"
    _, err = calc.run(f"x = 2\n:plot 1e308*x{target}")
    assert err.splitlines()[0].endswith(
        "error: ':plot' cannot draw values from -1.75e308 to 1.75e308: the span is beyond "
        "float64; plot them scaled down, or over a smaller range"
    )
    assert "internal error" not in err and not (tmp_path / "big.png").exists()


def test_an_image_format_that_cannot_be_written_is_a_clear_error(calc, tmp_path):
    pytest.importorskip("matplotlib")
    if shutil.which("xelatex"):
        pytest.skip("LaTeX is installed: pgf can be written")
    target = tmp_path / "curve.pgf"  # pgf needs LaTeX; without it, matplotlib raised
    _, err = calc.run(f":plot x**2 for x in -2..2 > {target}")
    assert f"error: cannot save the plot to '{target}': " in err
    assert "internal error" not in err and "rcParams" not in err
    assert err.count("error:") == 1 and not target.exists()


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
        (":plot y + 1 for x in 0..1", "unknown name 'y'"),
        (":plot sin(x) for x in 2..1", "is empty"),
        (":plot sum(x) for x in 0..1", "must give one value per point"),
    ],
)
def test_plot_errors_are_one_line(calc, command, message):
    _, err = calc.run(command)
    assert message in err
    assert err.count("error:") == 1


# ---- the range, when none is given ----------------------------------------------------


@pytest.fixture
def screen(monkeypatch):
    """A terminal of 100 columns and 24 rows, so that drawings have a known size."""
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("LINES", "24")


def _title(out: str) -> str:
    return out.splitlines()[0].strip()


def test_one_unknown_name_is_varied_over_a_default_range_that_the_title_names(calc, screen):
    out, err = calc.run(":plot sin(x)")
    assert err == ""
    assert _title(out) == "sin(x), ∂/∂x  on -5..5 (default range; say 'for x in A..B')"


def test_one_unknown_name_gives_its_points_and_derivative(jcalc):
    plot = jcalc.last(":plot t^2 + sum(k * t for k in 1..2)")["plot"]  # k is bound: no choice
    x = np.array(plot["x"])
    assert (x[0], x[-1]) == (-5.0, 5.0)
    np.testing.assert_allclose(plot["series"]["∂/∂t"], 2 * x + 3, atol=1e-12)


def test_the_range_around_a_variable_is_named_in_the_title(calc, screen):
    out, err = calc.run("x = 2\n:plot x^2")
    assert err == ""
    assert _title(out.split("\n", 1)[1]) == "x^2, ∂/∂x  on -3..7 (x ± 5)"


@pytest.mark.parametrize(
    "source, names",
    [(":plot a + b", "(a, b)"), ("x = 1\n:plot x + t", "(x, t)"), (":plot s, s * u", "(s, u)")],
)
def test_two_names_that_could_vary_are_an_error(calc, source, names):
    _, err = calc.run(source)
    assert f"':plot' cannot tell which variable to vary {names}" in err
    assert err.count("error:") == 1


def test_a_misspelt_function_is_not_a_variable_to_vary(calc):
    _, err = calc.run(":plot sine(t)")  # t is the one name to vary; sine is reported
    assert err.startswith("<stdin>:1:7: error: unknown function 'sine' (did you mean 'sin'?)")


# ---- a number that does not depend on the variable ------------------------------------


@pytest.mark.parametrize("setup, expr", [("", "1"), ("c = 3\n", "c"), ("f(t) = 2\n", "f")])
def test_a_number_is_a_flat_line_with_derivative_zero(jcalc, setup, expr):
    value = {"1": 1.0, "c": 3.0, "f": 2.0}[expr]
    plot = jcalc.last(f"{setup}:plot {expr} for x in 0..1")["plot"]
    flat, derivative = plot["series"].values()
    assert flat == [value] * 201 and derivative == [0.0] * 201


def test_a_flat_line_is_drawn(calc, screen):
    out, err = calc.run(":plot 1 for x in 0..1")
    assert err == ""
    assert _title(out) == "1, ∂/∂x  on 0..1"
    assert _ticks(out)[0] == ["1", "0.75", "0.5", "0.25", "0"]  # from the derivative to 1


# ---- where errors are: columns counted from the start of the line ---------------------


def _place(err: str) -> tuple[int, int, str, str]:
    """The line and column of a rendered error, its message, and the text the caret
    underlines."""
    first, source, caret = err.splitlines()
    _, line, column, message = first.split(":", 3)
    start = caret.index("^")
    return int(line), int(column), message.strip(), source[start : len(caret)]


@pytest.mark.parametrize(
    "statement, message, underlined",
    [
        (":graph 1 + foo", "unknown name 'foo'", "foo"),
        (":plot 1 + foo for x in 0..1", "unknown name 'foo'", "foo"),
        (":plot a + foo for x in 0..1", "unknown name 'a'", "a"),
        (":plot sin(x), 2 * foo for x in 0..1", "unknown name 'foo'", "foo"),
        (":plot 1 for x in 0..foo", "unknown name 'foo'", "foo"),
        ("  :graph   2 *  foo  ", "unknown name 'foo'", "foo"),
        (":graph 1 +* 2", "in ':graph': expected an expression after '+', found '*'", "*"),
        (":plot 1 +* 2 for x in 0..1", "expected an expression after '+', found '*'", "*"),
        (":plot sum(x) for x in 0..1", "must give one value per point", "sum(x)"),
    ],
)
def test_errors_in_plot_and_graph_point_into_the_line(calc, statement, message, underlined):
    _, err = calc.run(f"x0 = 1\n{statement}")
    line, column, shown, marked = _place(err)
    assert line == 2 and message in shown
    assert column == statement.index(underlined) + 1
    assert marked == underlined


def test_the_column_of_an_error_in_graph_is_counted_from_the_start_of_the_line(calc):
    _, err = calc.run(":graph 1 + foo")
    assert err.startswith("<stdin>:1:12: error: unknown name 'foo'\n")


def test_json_errors_in_plot_and_graph_give_the_column_in_the_line(jcalc):
    errors = [
        jcalc.last(statement)["error"]
        for statement in (":graph 1 + foo", ":plot 1 + foo for x in 0..1")
    ]
    assert [(e["line"], e["column"]) for e in errors] == [(1, 12), (1, 11)]


# ---- ticks ----------------------------------------------------------------------------


def _ticks(out: str) -> tuple[list[str], list[str]]:
    """The labels of the y axis, top to bottom, and of the x axis, left to right."""
    lines = out.splitlines()
    y = [line.split("┤")[0].strip() for line in lines if "┤" in line]
    bottom = next(i for i, line in enumerate(lines) if line.lstrip().startswith("└"))
    return y, lines[bottom + 1].split()


@pytest.mark.parametrize(
    "statement, y, x",
    [
        (
            ":plot sin(x) * 100 for x in 0..1.7",
            ["100", "75", "50", "25", "0"],
            ["0", "0.25", "0.5", "0.75", "1", "1.25", "1.5"],
        ),
        (
            ":plot 1e6 * x^2 for x in 0..1",
            ["2e6", "1.5e6", "1e6", "5e5", "0"],
            ["0", "0.2", "0.4", "0.6", "0.8", "1"],
        ),
        (
            ":plot x / 1000 for x in -300..300",
            ["0.2", "0", "-0.2"],
            ["-300", "-200", "-100", "0", "100", "200", "300"],
        ),
    ],
)  # fmt: skip
def test_ticks_are_round_and_labelled_as_short_as_they_are_exact(calc, screen, statement, y, x):
    out, err = calc.run(statement)
    assert err == ""
    assert _ticks(out) == (y, x)


def test_no_tick_reads_0e0(calc, screen):
    out, _ = calc.run(":plot 3e7 * sin(x) for x in 0..3")
    y, x = _ticks(out)
    assert "0" in y and not [label for label in y + x if label.startswith("0e")]


# ---- markers and colours --------------------------------------------------------------


def _legend(out: str) -> dict[str, str]:
    """Each legend entry: its label and the marker shown beside it."""
    entries = re.findall(r"│ (\S) (\S+)\s*│", out)
    return {label: marker for marker, label in entries}


def test_without_colour_each_curve_has_a_marker_of_its_own(calc, screen):
    out, err = calc.run("f(t) = t^2\n:plot f, f', f'' for t in 0..1")
    assert err == "" and "\x1b[" not in out
    markers = _legend(out)
    assert list(markers) == ["f", "f'", "f''"]
    assert len(set(markers.values())) == 3
    assert all(out.count(marker) > 10 for marker in list(markers.values())[1:])  # drawn with it


def test_with_colour_the_terminal_keeps_its_own_colours(calc, screen):
    calc.runner.output.color = True
    out, err = calc.run(":plot x^2 for x in 0..1")
    assert err == ""
    codes = set(re.findall(r"\x1b\[([0-9;]*)m", out))
    assert not [code for code in codes if "48;" in code]  # no background anywhere
    curves = {code for code in codes if code.startswith("38;5;")}
    assert len(curves) == 2 and codes <= curves | {"0"}  # only the two curves are coloured


# ---- the computational graph ----------------------------------------------------------


def _nodes(dot: str) -> list[tuple[str, str]]:
    """Each node declared in DOT text: its name and its label, in order."""
    return re.findall(r'^(\S+) \[label="((?:[^"\\]|\\.)*)"', dot, re.MULTILINE)


def test_graph_nodes_are_numbered_in_order_and_labelled_with_shape_and_value(jcalc):
    result = jcalc.last("x = 2\nv = [1, 2, 3]\n:graph sum(v * x) + sin(x)")
    nodes = _nodes(result["dot"])
    assert [name for name, _ in nodes] == [f"n{i}" for i in range(len(nodes))]
    labels = [label for _, label in nodes]
    assert labels[0].startswith(r"result\n() ")
    assert r"x\n() 2" in labels and r"v\n(3,) [1 2 3]" in labels
    assert r"(3,) [2 4 6]" in labels  # an unnamed value: its shape and value
    assert {"Add", "Sum", "Mul", "Sin"} <= set(labels)
    edges = re.findall(r"^(n\d+) -> (n\d+)$", result["dot"], re.MULTILINE)
    assert len(edges) == 10 and all(a in dict(nodes) and b in dict(nodes) for a, b in edges)


def test_graph_output_is_the_same_every_time(calc):
    first, _ = calc.run("x = 2\n:graph x * sin(x)")
    second, _ = calc.run(":graph x * sin(x)")
    assert first.split("\n", 1)[1] == second


def test_graph_shortens_long_values(jcalc):
    dot = jcalc.last(":graph linspace(0, 1, 1000) * 3")["dot"]
    values = [label.split(" ", 1)[1] for _, label in _nodes(dot) if label.startswith("(1000,)")]
    assert values and all(len(value) <= 30 and value.endswith("...") for value in values)


def test_get_dot_graph_keeps_the_books_form_and_takes_a_labeller():
    from dezero import Variable
    from dezero.utils import get_dot_graph

    x = Variable(np.array(2.0), name="x")
    y = x * 3
    book = get_dot_graph(y, verbose=True)
    assert f'{id(x)} [label="x: () float64"' in book and f"{id(x)} -> " in book
    numbered = get_dot_graph(y, label=lambda v: f"{v.name}\n{v.data}", numbered=True)
    assert _nodes(numbered) == [("n0", r"None\n6.0"), ("n1", "MulConstant"), ("n2", r"x\n2.0")]


def test_a_derivative_curve_that_underflowed_is_vouched_for_point_by_point(jcalc):
    """exp(-x²)'s slope underflows at the ends of -30..30. Points where float64 cannot give
    it (a subnormal that lost its digits, or 0 for one) are left out, null in JSON, with a
    warning; every point drawn is the true slope to 1e-9 (0 where it is below the smallest
    float64, as extended precision confirms)."""
    import mpmath

    result = jcalc.last(":plot exp(-x^2) for x in -30..30")
    x = result["plot"]["x"]
    slope = result["plot"]["series"]["∂/∂x"]
    missing = [xi for xi, s in zip(x, slope) if s is None]
    assert missing and all(26 < abs(xi) < 28 for xi in missing)
    for xi, s in zip(x, slope):
        if s is None:
            continue
        with mpmath.workdps(50):
            true = float(-2 * mpmath.mpf(xi) * mpmath.exp(-(mpmath.mpf(xi) ** 2)))
        assert s == pytest.approx(true, rel=1e-9, abs=0), xi
    (warning,) = result["warnings"]
    assert warning.startswith(f"∂/∂x is left out at {len(missing)} of 201 points")
    assert "fell below the smallest float64 (underflow)" in warning
    at = float(re.search(r"; at x = (\S+), it ", warning).group(1))
    assert at in missing and "(at element" not in warning  # the point the reason is about


def test_a_derivative_curve_whose_contributions_cancel_is_computed_again(jcalc):
    # 1e16 - 1e16 + cos(x): the pass notes the cancellation; Taylor mode vouches for each
    plot = jcalc.last(":plot x*1e16 - x*1e16 + sin(x) for x in -3..3")
    x = np.array(plot["plot"]["x"])
    np.testing.assert_allclose(plot["plot"]["series"]["∂/∂x"], np.cos(x), rtol=1e-12, atol=0)
    assert "warnings" not in plot


def test_a_derivative_curve_that_combines_its_points_is_computed_again_point_by_point(jcalc):
    # reversed, its points are combined: each is computed again along its own direction
    plot = jcalc.last(":plot x[::-1]*1e16 - x[::-1]*1e16 + x for x in -3..3")
    assert plot["plot"]["series"]["∂/∂x"] == [1.0] * 201
    assert "warnings" not in plot
    # ... a sum over k too (its values have other shapes than x's): 2t + 3, 0 at -1.5
    plot = jcalc.last(":plot t^2 + sum(k * t for k in 1..2)")["plot"]
    np.testing.assert_allclose(plot["series"]["∂/∂t"], 2 * np.array(plot["x"]) + 3, atol=1e-12)


def test_a_derivative_curve_too_long_to_compute_again_point_by_point_is_not_drawn(jcalc):
    text = ":plot x[::-1]*1e16 - x[::-1]*1e16 + sin(sin(sin(sin(sin(x))))) for x in -3..3"
    result = jcalc.last(text)
    assert result["plot"]["series"]["∂/∂x"] == [None] * 201
    (warning,) = result["warnings"]
    assert warning.startswith("∂/∂x is not drawn: it cannot be vouched for (large contrib")
    assert warning.endswith("would take too long")
