"""How results look: numbers, arrays, gradient lines, JSON objects and error messages."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dezero_repl import errors
from dezero_repl.errors import CalcError, did_you_mean, render
from dezero_repl.format import describe_shape, format_number, format_value, to_json

# ---- numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2.0, "2"),
        (-2.0, "-2"),
        (100.0, "100"),
        (2.5, "2.5"),
        (0.5, "0.5"),
        (0.1, "0.1"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1 / 3, "0.3333333333333333"),
        (math.pi, "3.141592653589793"),
        (123456789.0, "123456789"),
        (1e15, "1000000000000000"),
        (1e16, "1e16"),
        (6.02e23, "6.02e23"),
        (1.5e300, "1.5e300"),
        (1.7976931348623157e308, "1.7976931348623157e308"),
        (2.5e-10, "2.5e-10"),
        (-1e-7, "-1e-7"),
        (5e-324, "5e-324"),
        (0.0, "0"),
        (-0.0, "0"),
        (math.inf, "inf"),
        (-math.inf, "-inf"),
        (math.nan, "nan"),
    ],
)
def test_number_prints_in_shortest_round_trip_form(value, text):
    assert format_number(value) == text
    if math.isfinite(value):
        assert float(text) == value


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (math.pi, 3, "3.14"),
        (math.pi, 1, "3"),
        (123456789.0, 3, "1.23e8"),
        (2.0, 6, "2"),
        (0.1 + 0.2, 17, "0.30000000000000004"),
        (1e-7, 2, "1e-7"),
        (-0.0, 3, "0"),
    ],
)
def test_number_with_a_chosen_number_of_significant_digits(value, digits, text):
    assert format_number(value, digits) == text


# ---- arrays -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (np.array(2.0), "2"),
        (np.array([1.0, 2.0, 3.0]), "[1 2 3]"),
        (np.array([-0.0, 1.0]), "[0 1]"),
        (np.array([1.5, -2.0, 3.0]), "[1.5  -2   3]"),
        (np.array([[1.0, 2.0], [3.0, 4.0]]), "[[1 2]\n [3 4]]"),
        (np.array([[1.5, -2.0], [3.0, 4.25]]), "[[ 1.5   -2]\n [   3 4.25]]"),
        (np.array([0.1, 100.0, 1e-5]), "[ 0.1  100 1e-5]"),
        (np.array([1.0, np.inf, -np.inf, np.nan]), "[   1  inf -inf  nan]"),
        (np.arange(8.0).reshape(2, 2, 2), "[[[0 1]\n  [2 3]]\n\n [[4 5]\n  [6 7]]]"),
        (np.zeros(0), "[]"),
        (np.zeros((2, 0)), "empty array of shape (2, 0)"),
        (np.arange(2000.0), "[   0    1    2 ... 1997 1998 1999]"),
    ],
)
def test_array_prints_aligned_like_numpy(value, text):
    assert format_value(value) == text


def test_long_row_wraps_with_aligned_continuation():
    assert format_value(np.arange(30.0)) == (
        "[ 0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28\n"
        " 29]"
    )


@pytest.mark.parametrize("size", [10_001, 25_001, 30_000])
def test_a_long_row_printed_in_full_is_numpys_text_in_linear_time(size, monkeypatch):
    # NumPy builds a row's text by adding to a string: 10^6 elements took 6 s, 2·10^6 24 s,
    # 10^7 over ten minutes. A long row is made from pieces of whole lines instead.
    import time

    from dezero_repl import format as fmt

    row = np.random.default_rng(size).standard_normal(size) * np.exp(np.arange(size) % 7)
    ours = format_value(row, None, None)
    monkeypatch.setattr(fmt, "LONG_ROW", 10**9)  # NumPy's text, whole
    assert ours == format_value(row, None, None)
    monkeypatch.undo()
    started = time.perf_counter()
    text = format_value(np.zeros(2 * 10**6), None, None)
    assert time.perf_counter() - started < 10
    assert text.count("0") == 2 * 10**6 and text.startswith("[0 0") and text.endswith("0 0]")


def test_array_with_a_chosen_number_of_significant_digits():
    assert format_value(np.array([math.pi, math.e]), 3) == "[3.14 2.72]"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (np.array(1.0), "scalar"),
        (np.zeros(3), "3"),
        (np.zeros((2, 3)), "2×3"),
        (np.zeros((0,)), "0"),
    ],
)
def test_shape_description(value, text):
    assert describe_shape(value) == text


# ---- JSON values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "data"),
    [
        (np.array(25.0), 25.0),
        (np.array(-0.0), 0.0),
        (np.array([1.0, 2.0]), [1.0, 2.0]),
        (np.array([[1.0, -0.0], [3.0, 4.0]]), [[1.0, 0.0], [3.0, 4.0]]),
        (np.array(np.inf), "inf"),
        (np.array(-np.inf), "-inf"),
        (np.array(np.nan), "nan"),
        (np.array([1.0, np.inf, -np.inf, np.nan]), [1.0, "inf", "-inf", "nan"]),
        (np.array([[np.nan], [2.0]]), [["nan"], [2.0]]),
        (np.zeros(0), []),
    ],
)
def test_json_value_is_a_number_nested_lists_or_a_string_for_non_finite(value, data):
    converted = to_json(value)
    assert converted == data or (converted != converted and data != data)
    json.dumps(converted, allow_nan=False)  # always valid JSON


def test_zero_dimensional_value_is_a_json_number_not_a_list(jcalc):
    result = jcalc.last("x = 2\n(x + 3) ** 2")
    assert result == {"input": "(x + 3) ** 2", "value": 25.0, "grad": {"x": 10.0}}
    assert type(result["value"]) is float


def test_assignment_json_adds_the_name(jcalc):
    assert jcalc.json("x = 2") == [{"input": "x = 2", "name": "x", "value": 2.0, "grad": {}}]


def test_non_finite_values_and_gradients_in_json(jcalc):
    result = jcalc.last("x = 0\n[1 / x, -1 / x, x / x]")
    assert result["value"] == ["inf", "-inf", "nan"]
    assert result["grad"] == {"x": "nan"}


def test_json_input_is_the_statement_without_surrounding_blanks(jcalc):
    results = jcalc.json("   1 + 1   ;  2 * 3  # comment\n")
    assert [r["input"] for r in results] == ["1 + 1", "2 * 3"]


def test_json_error_object(jcalc):
    assert jcalc.json("1 +") == [
        {
            "input": "1 +",
            "error": {
                "type": "SyntaxError",
                "message": "expected an expression after '+', found end of input",
                "line": 1,
                "column": 4,
                "source": "<stdin>",
            },
        }
    ]


def test_json_error_on_a_later_line_counts_lines_of_the_source(jcalc):
    error = jcalc.json("x = 1\n\ny = x +\n  nosuch")[1]["error"]
    assert (error["line"], error["column"], error["message"]) == (4, 3, "unknown name 'nosuch'")


def test_json_command_object(jcalc):
    assert jcalc.json(":reset") == [
        {"input": ":reset", "output": "session reset", "command": "reset"}
    ]


def test_json_function_value_object(jcalc):
    assert jcalc.json("sin") == [{"input": "sin", "function": "sin(x): built-in, sine (radians)"}]


# ---- human output of results -------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("2 + 3", "5\n"),
        ("x = 2", "x = 2\n"),
        ("x = -0", "x = 0\n"),
        ("0 * -1", "0\n"),
        ("x = 0.1 + 0.2", "x = 0.30000000000000004\n"),
        ("x = 2\nx * 5", "x = 2\n10\n  ∂/∂x = 5\n"),
        ("m = [[1, 2], [3, 4]]", "m = [[1 2]\n     [3 4]]\n"),
        (
            "m = [[1, 2], [3, 4]]\nm * 2",
            "m = [[1 2]\n     [3 4]]\n[[2 4]\n [6 8]]\n"
            "  gradients of the sum of the elements:\n"
            "  ∂/∂m = [[2 2]\n          [2 2]]\n",
        ),
        (
            "w = [1, 2]\nm = [[1, 2], [3, 4]]\nlong_name = w @ m",
            "w = [1 2]\nm = [[1 2]\n     [3 4]]\nlong_name = [ 7 10]\n"
            "  gradients of the sum of the elements:\n"
            "  ∂/∂w = [3 7]\n"
            "  ∂/∂m = [[1 1]\n          [2 2]]\n",
        ),
        ("x = 2\nsum([x, x * 3])", "x = 2\n8\n  ∂/∂x = 4\n"),
    ],
)
def test_human_output_value_then_gradient_lines(calc, source, expected):
    assert calc.run(source) == (expected, "")


def test_precision_command_changes_digits_shown(calc):
    out, err = calc.run(":precision 3\npi\nx = 2\nx / 3\n:precision off\npi")
    assert out == (
        "precision: 3 significant digits\n3.14\nx = 2\n0.667\n  ∂/∂x = 0.333\n"
        "precision: shortest exact form\n3.141592653589793\n"
    )
    assert err == ""


def test_precision_out_of_range_is_an_error(jcalc):
    error = jcalc.last(":precision 40")["error"]
    assert error["message"] == "':precision' takes a number of digits from 1 to 17, or 'off'"


# ---- error messages ---------------------------------------------------------------------


def test_render_points_a_caret_under_the_span():
    error = CalcError("unknown name 'rte' (did you mean 'rate'?)", 4, 7)
    assert render("script.calc", "y = rte * 2", error) == (
        "script.calc:1:5: error: unknown name 'rte' (did you mean 'rate'?)\n"
        "  y = rte * 2\n"
        "      ^~~\n"
    ).rstrip("\n")


def test_render_uses_the_statement_offset_within_the_source():
    source = "x = 1\ny = 2\nz = x + qq\n"
    error = CalcError("unknown name 'qq'", 8, 10)
    assert render("<stdin>", source, error, offset=source.index("z")) == (
        "<stdin>:3:9: error: unknown name 'qq'\n  z = x + qq\n          ^~"
    )


def test_render_of_a_span_running_past_the_line_stops_at_its_end():
    error = CalcError("unclosed", 4, 12)
    assert render("<stdin>", "x = (1 +\n 2", error) == (
        "<stdin>:1:5: error: unclosed\n  x = (1 +\n      ^~~~"
    )


def test_render_without_a_span_is_one_line():
    assert render("dezero-repl", "", CalcError("cannot read 'a.calc': no such file")) == (
        "dezero-repl: error: cannot read 'a.calc': no such file"
    )


def test_render_replaces_control_characters_in_the_source_line():
    error = CalcError("unexpected character", 2, 3)
    assert render("<stdin>", "1 \x1b[31m", error) == (
        "<stdin>:1:3: error: unexpected character\n  1 \ufffd[31m\n    ^"
    )


@pytest.mark.parametrize(
    ("word", "candidates", "hint"),
    [
        ("sine", ["sin", "sinh", "cos"], " (did you mean 'sin'?)"),
        ("rte", ["rate", "x"], " (did you mean 'rate'?)"),
        ("qqq", ["x", "y"], ""),
        ("hlep", ["help", "vars"], " (did you mean 'help'?)"),
        ("nosuch", ["cosh", "sin"], ""),  # only close matches
        ("int", ["sin", "tan", "asin"], ""),
        ("ans", ["tan"], ""),
        ("x", ["_", "e"], ""),
    ],
)
def test_did_you_mean(word, candidates, hint):
    assert did_you_mean(word, candidates) == hint


_WORDS = st.text(alphabet="abcdsin", max_size=7)


@settings(max_examples=400, deadline=None)
@given(_WORDS, _WORDS, st.integers(0, 3))
def test_slips_stop_counting_past_the_most_wanted_and_the_cheap_count_is_a_bound(a, b, most):
    full = errors._slips(a, b, 100)  # the whole table: nothing stops it early
    assert min(errors._slips(a, b, most), most + 1) == min(full, most + 1)
    assert errors._letters_apart(a, b) <= full
    assert abs(len(a) - len(b)) <= errors._letters_apart(a, b)


def test_a_hint_reads_its_candidates_once():
    assert did_you_mean("sinn", iter(["sin", "cos"])) == " (did you mean 'sin'?)"


def test_a_hint_among_many_names_is_the_closest_and_the_first_of_equals():
    names = [f"var{i}" for i in range(20_000)] + ["sin", "sinh", "sign"]
    # var1 and var10 are both one slip away; var1 is the more similar
    assert did_you_mean("var1O", names) == " (did you mean 'var1'?)"
    assert did_you_mean("sinn", names) == " (did you mean 'sin'?)"
    assert did_you_mean("nope", names) == ""


def test_errors_go_to_stderr_and_results_to_stdout(calc):
    out, err = calc.run("1 + 1\nnosuch\n2 + 2")
    assert out == "2\n4\n"
    assert err == "<stdin>:2:1: error: unknown name 'nosuch'\n  nosuch\n  ^~~~~~\n"


def test_no_error_message_is_a_python_traceback(calc):
    _, err = calc.run("sum(1, 2, 3)\n[1, 2][sin]\nminimize(sin, sin)\ntaylor(sin, 0, sin)")
    assert "Traceback" not in err
    assert err.count("error:") == 4


@pytest.mark.parametrize(
    ("value", "shown"),
    [(100000.0, "100000"), (123456.0, "1.235e5"), (-1200.0, "-1200"), (1e20, "1e20"),
     (1e-5, "1e-5"), (2 / 3, "0.6667"), (0.5, "0.5"), (120000.0, "120000")],
)  # fmt: skip
def test_an_exponent_only_where_the_digits_cannot_show_the_number(value, shown):
    assert format_number(value, 4) == shown
