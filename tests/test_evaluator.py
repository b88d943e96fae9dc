"""The calculator language as a user meets it: values, gradients, statements, commands, errors.

Each test runs source text through the same Runner that scripts, -e and the REPL use, and
checks the exact text or JSON it produces.
"""

import numpy as np
import pytest

from dezero_repl.sources import QuitRequested

# ---- numbers and precedence ---------------------------------------------------------

# Every expression here is also a Python expression (with ^ read as **): the calculator
# must agree with Python, operator for operator.
PYTHON_PRECEDENCE = [
    "2",
    "2.5",
    ".5",
    "1e-3",
    "6.02E23",
    "7 / 2",
    "2 ** -1",
    "-2**2",
    "(-2)**2",
    "-2 ** -2",
    "2**3**2",
    "2^3^2",
    "-2^2",
    "2 ** 0.5 ** 2",
    "2 ** 3 * 2",
    "2 * 3 ** 2",
    "1 - 2 - 3",
    "8 / 4 / 2",
    "2 + 3 * 4",
    "2 * 3 + 4",
    "(2 + 3) * 4",
    "2 * -3",
    "- -2",
    "+3",
    "10 - -2",
    "-3 * -3",
    "1 / 3 * 3",
    "2 - 3 ** 2 * 4 / 8 + 1",
]


@pytest.mark.parametrize("text", PYTHON_PRECEDENCE)
def test_arithmetic_agrees_with_python(jcalc, text):
    assert jcalc.last(text)["value"] == float(eval(text.replace("^", "**")))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1, 2] @ [3, 4] * 2", 22.0),  # @ and * share a level, left to right
        ("2 * [1, 2] @ [3, 4]", 22.0),
        ("[1, 2] @ [3, 4] + 1", 12.0),
        ("-[1, 2] @ [3, 4]", -11.0),
        ("[[1, 2], [3, 4]].T[0, 1] ** 2", 9.0),
        ("[1, 2, 3][1] ** 2", 4.0),
    ],
)
def test_matmul_index_and_transpose_precedence(jcalc, text, expected):
    assert jcalc.last(text)["value"] == expected


@pytest.mark.parametrize("text", ["x = 2", "x = 7 / 2", "x = [1, 2]", "x = 2 ** 70"])
def test_every_number_is_float64(calc, text):
    calc.run(text)
    assert calc.session.variables["x"].data.dtype == np.float64


def test_integer_division_is_true_division(calc):
    assert calc.run("7 / 2\n1 / 3") == ("3.5\n0.3333333333333333\n", "")


def test_constants_have_values_but_no_gradients(jcalc):
    pi, e, both = jcalc.json("pi\ne\npi * e")
    assert (pi["value"], pi["grad"]) == (np.pi, {})
    assert (e["value"], e["grad"]) == (np.e, {})
    assert both["grad"] == {}


def test_constant_next_to_a_variable_gives_only_the_variable_a_gradient(jcalc):
    assert jcalc.last("x = 2\npi * x")["grad"] == {"x": np.pi}


# ---- arrays and broadcasting -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1, 2, 3]", [1.0, 2.0, 3.0]),
        ("[[1, 2], [3, 4]]", [[1.0, 2.0], [3.0, 4.0]]),
        ("[[[1], [2]], [[3], [4]]]", [[[1.0], [2.0]], [[3.0], [4.0]]]),
        ("[1 + 1, 2 * 3, -1]", [2.0, 6.0, -1.0]),
        ("[]", []),
        ("[1, 2, 3] * 2", [2.0, 4.0, 6.0]),
        ("1 / [1, 2, 4]", [1.0, 0.5, 0.25]),
        ("[1, 2] ** 2", [1.0, 4.0]),
        ("2 ** [1, 2]", [2.0, 4.0]),
        ("[[1], [2]] + [10, 20]", [[11.0, 21.0], [12.0, 22.0]]),
        ("[[1, 2], [3, 4]] * [10, 100]", [[10.0, 200.0], [30.0, 400.0]]),
        ("[[1, 2], [3, 4]] @ [[0, 1], [1, 0]]", [[2.0, 1.0], [4.0, 3.0]]),
    ],
)
def test_array_literals_and_broadcasting(jcalc, text, expected):
    assert jcalc.last(text)["value"] == expected


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        (
            "[[1, 2], [3]]",
            "ragged array: element 2 has shape (1,) but element 1 has shape (2,)",
            10,
        ),
        ("[[1, 2], 3]", "ragged array: element 2 has shape () but element 1 has shape (2,)", 10),
        ("[1, [2, 3]]", "ragged array: element 2 has shape (2,) but element 1 has shape ()", 5),
    ],
)
def test_ragged_array_literal_is_an_error_at_the_odd_element(jcalc, text, message, column):
    assert jcalc.last(text)["error"] == {
        "type": "ValueError",
        "message": message,
        "line": 1,
        "column": column,
        "source": "<stdin>",
    }


def test_shapes_that_do_not_broadcast_are_an_error_at_the_operator(calc):
    assert calc.run("[1, 2] + [1, 2, 3]") == (
        "",
        "<stdin>:1:8: error: shapes (2,) and (3,) do not match for '+'\n"
        "  [1, 2] + [1, 2, 3]\n"
        "         ^\n",
    )


def test_broadcast_gradients_are_summed_back_to_each_shape(jcalc):
    result = jcalc.last("a = [1, 2, 3]\nb = [[1], [2]]\na * b")
    assert result["value"] == [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]]
    assert result["grad"] == {"a": [3.0, 3.0, 3.0], "b": [[6.0], [6.0]]}


# ---- statements, separators, comments, continuation ------------------------------------


def test_statements_separated_by_newlines_and_semicolons(calc):
    assert calc.run("x = 1; y = 2\nx + y") == (
        "x = 1\ny = 2\n3\n  ∂/∂x = 1\n  ∂/∂y = 1\n",
        "",
    )


def test_comments_and_blank_lines_produce_nothing(calc):
    assert calc.run("# a comment\n\n   \n2 + 2  # four\n# done\n") == ("4\n", "")


def test_hash_inside_a_statement_ends_it(calc):
    assert calc.run("1 + 2 # + 100") == ("3\n", "")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x = (1 +\n  2)", "x = 3\n"),
        ("x = 1 +\n  2", "x = 3\n"),
        ("x = [1,\n 2,\n 3]", "x = [1 2 3]\n"),
        ("x = 2 *\n  # a comment between\n  3", "x = 6\n"),
        ("x = sum([1, 2],\n  0)", "x = 3\n"),
        ("x = [[1, 2],\n     [3, 4]]", "x = [[1 2]\n     [3 4]]\n"),
    ],
)
def test_open_statement_continues_on_the_next_line(calc, source, expected):
    assert calc.run(source) == (expected, "")


def test_script_ending_inside_a_bracket_is_a_syntax_error_at_the_end(calc):
    assert calc.run("x = (1 +\n") == (
        "",
        "<stdin>:1:9: error: expected an expression after '+', found end of input\n"
        "  x = (1 +\n"
        "          ^\n",
    )


# ---- the semantics of values and gradients ---------------------------------------------


def test_value_then_gradient_of_each_variable(calc):
    assert calc.run("x = 2\n(x + 3) ** 2") == ("x = 2\n25\n  ∂/∂x = 10\n", "")


def test_gradients_of_every_named_variable_on_the_way(calc):
    out, err = calc.run("x = 3\ny = x ** 2\nz = y * 3 + x")
    assert out == "x = 3\ny = 9\n  ∂/∂x = 6\nz = 30\n  ∂/∂x = 19\n  ∂/∂y = 3\n"
    assert err == ""


def test_gradients_as_json(jcalc):
    *_, z = jcalc.json("x = 3\ny = x ** 2\nz = y * 3 + x")
    assert z == {
        "input": "z = y * 3 + x",
        "name": "z",
        "value": 30.0,
        "grad": {"x": 19.0, "y": 3.0},
    }


def test_variables_not_used_get_no_gradient_line(jcalc):
    assert jcalc.last("a = 1\nb = 2\na * 5")["grad"] == {"a": 5.0}


def test_evaluation_is_eager_reassigning_never_changes_earlier_values(jcalc):
    results = jcalc.json("x = 3\ny = x * 2\nx = 10\ny\nx")
    assert [r["value"] for r in results] == [3.0, 6.0, 10.0, 6.0, 10.0]


def test_earlier_value_no_longer_reports_a_gradient_for_a_reassigned_name(jcalc):
    # y was computed from the old x; the new x is a different variable.
    assert jcalc.last("x = 3\ny = x * 2\nx = 10\ny")["grad"] == {"y": 1.0}


def test_reassigning_from_itself_uses_the_old_value(jcalc):
    assert jcalc.last("x = 10\nx = x + 1\nx * 2")["value"] == 22.0


def test_array_value_reports_gradient_of_its_sum_and_says_so(calc):
    assert calc.run("a = [1, 2, 3]\na * a") == (
        "a = [1 2 3]\n[1 4 9]\n  gradients of the sum of the elements:\n  ∂/∂a = [2 4 6]\n",
        "",
    )


def test_gradients_never_accumulate_across_statements(jcalc):
    results = jcalc.json("x = 3\nx * x\nx * x\nx * x")
    assert [r["grad"] for r in results[1:]] == [{"x": 6.0}] * 3


def test_last_result_is_ans_and_underscore(jcalc):
    results = jcalc.json("3 * 4\nans + 1\n_ * 2")
    assert [r["value"] for r in results] == [12.0, 13.0, 26.0]


def test_ans_before_any_result_is_an_error(jcalc):
    error = jcalc.last("ans")["error"]
    assert error["message"] == "'ans' is the last result, and there is none yet"


# ---- :nograd -----------------------------------------------------------------------


def test_nograd_toggles_and_reports_its_state(jcalc):
    toggles = jcalc.json(":nograd\n:nograd\n:nograd on\n:nograd off\n:nograd toggle")
    assert toggles == [
        {
            "input": ":nograd",
            "output": "gradients off (nograd mode)",
            "command": "nograd",
            "nograd": True,
        },
        {"input": ":nograd", "output": "gradients on", "command": "nograd", "nograd": False},
        {
            "input": ":nograd on",
            "output": "gradients off (nograd mode)",
            "command": "nograd",
            "nograd": True,
        },
        {"input": ":nograd off", "output": "gradients on", "command": "nograd", "nograd": False},
        {
            "input": ":nograd toggle",
            "output": "gradients off (nograd mode)",
            "command": "nograd",
            "nograd": True,
        },
    ]


def test_nograd_prints_values_without_gradients_and_records_no_graph(calc):
    out, err = calc.run("x = 2\n:nograd on\ny = x * 3\n(x + 3) ** 2")
    assert out == "x = 2\ngradients off (nograd mode)\ny = 6\n25\n"
    assert err == ""
    assert calc.session.variables["y"].creator is None


def test_nograd_json_has_no_grad_key(jcalc):
    result = jcalc.last("x = 2\n:nograd on\n(x + 3) ** 2")
    assert result == {"input": "(x + 3) ** 2", "value": 25.0}


def test_gradients_return_after_nograd_off(jcalc):
    assert jcalc.last("x = 2\n:nograd on\n:nograd off\nx * 5")["grad"] == {"x": 5.0}


def test_nograd_with_an_unknown_word_is_an_error(jcalc):
    error = jcalc.last(":nograd maybe")["error"]
    assert (error["type"], error["message"]) == (
        "CommandError",
        "':nograd maybe': expected 'on' or 'off'",
    )


def test_derivatives_still_work_in_nograd_mode(jcalc):
    result = jcalc.last(":nograd on\nf(t) = t ** 3\nf'(2)")
    assert result == {"input": "f'(2)", "value": 12.0}


# ---- atomic statements -------------------------------------------------------------


def test_failed_assignment_leaves_the_variable_unchanged(calc):
    out, err = calc.run("x = 5\nx = q + 1\nx")
    assert out == "x = 5\n5\n  ∂/∂x = 1\n"
    assert err == "<stdin>:2:5: error: unknown name 'q'\n  x = q + 1\n      ^\n"


def test_failed_assignment_of_an_array_leaves_the_variable_unchanged(jcalc):
    assert jcalc.last("a = [1, 2]\na = [1, 2] + [1, 2, 3]\na")["value"] == [1.0, 2.0]


def test_failed_redefinition_leaves_the_function_unchanged(calc):
    out, err = calc.run("f(t) = t + 1\nf(t) = t + q\nf(1)")
    assert out == "defined f(t)\n2\n"
    assert err == (
        "<stdin>:2:12: error: unknown name 'q' in the body of f\n  f(t) = t + q\n             ^\n"
    )


def test_del_with_an_unknown_name_removes_nothing(calc):
    out, err = calc.run("x = 1\ny = 2\n:del x nosuch\nx + y")
    assert out == "x = 1\ny = 2\n3\n  ∂/∂x = 1\n  ∂/∂y = 1\n"
    assert err == (
        "<stdin>:3:1: error: ':del': no variable or function 'nosuch'\n"
        "  :del x nosuch\n"
        "  ^~~~~~~~~~~~~\n"
    )


def test_failed_statement_does_not_change_ans(jcalc):
    assert jcalc.last("6 * 7\n1 + nosuch\nans")["value"] == 42.0


# ---- floating-point trouble: a value and one warning line ------------------------------


@pytest.mark.parametrize(
    ("text", "value", "warning"),
    [
        ("1 / 0", "inf", "division by zero in '/' (result contains inf)"),
        ("0 / 0", "nan", "invalid value in '/' (result contains nan)"),
        ("log(-1)", "nan", "invalid value in log() (result contains nan)"),
        ("sqrt(-1)", "nan", "invalid value in sqrt() (result contains nan)"),
        ("exp(1000)", "inf", "overflow in exp() (result contains inf)"),
        ("10 ** 400", "inf", "overflow in '**' (result contains inf)"),
        ("1e300 * 1e300", "inf", "overflow in '*' (result contains inf)"),
        ("-1 / 0", "-inf", "division by zero in '/' (result contains -inf)"),
        ("[1, -1] / 0", "[ inf -inf]", "division by zero in '/' (result contains inf and -inf)"),
        ("1 / [0, -0.0]", "[ inf -inf]", "division by zero in '/' (result contains inf and -inf)"),
        ("-1e300 * 1e300", "-inf", "overflow in '*' (result contains -inf)"),
        ("1e400", "inf", "overflow in a number literal (read as inf)"),
        ("-1e400", "-inf", "overflow in a number literal (read as inf)"),
        ("mean(zeros(0))", "nan", "invalid value in mean() (result contains nan)"),
    ],
)
def test_floating_point_trouble_gives_value_and_one_warning(calc, text, value, warning):
    assert calc.run(text) == (value + "\n", f"warning: {warning}\n")


def test_a_complaint_that_leaves_nothing_in_the_result_says_so(calc):
    # x * x overflows on the way to erf's slope, 2/√π e^(-x²), which is 0 all the same
    assert calc.run("y = 1e200\nerf(y)") == (
        "y = 1e200\n1\n  ∂/∂y = 0\n",
        "warning: overflow in the gradient (on the way; the result holds no infinity)\n",
    )


@pytest.mark.parametrize(
    ("kind", "result", "said"),
    [
        ("overflow", np.float64(1.0), "overflow in f() (on the way; the result holds no infinity)"),
        ("invalid value", np.array([np.inf]), "invalid value in f() (on the way; the result "
         "holds no nan)"),
        ("invalid value", [np.float64(1.0), np.array([1.0, np.nan])], "invalid value in f() "
         "(result contains nan)"),
        ("divide by zero", [np.float64(-np.inf), np.array(np.inf)], "division by zero in f() "
         "(result contains inf and -inf)"),
        ("overflow", None, "overflow in f() (result contains inf)"),
    ],
)  # fmt: skip
def test_a_complaint_says_what_it_left_in_the_result(kind, result, said):
    from dezero_repl.floating import FloatingPointLog

    log = FloatingPointLog()
    log(kind, 0)
    log.name("f()", result)
    assert log.warnings == [said]


def test_floating_point_warning_travels_inside_the_json_object(jcalc):
    assert jcalc.last("log(-1)") == {
        "input": "log(-1)",
        "value": "nan",
        "grad": {},
        "warnings": ["invalid value in log() (result contains nan)"],
    }


def test_infinite_gradient_is_warned_about(calc):
    out, err = calc.run("x = 0\nsqrt(x)")
    assert out == "x = 0\n0\n  ∂/∂x = inf\n"
    assert err == "warning: division by zero in the gradient (result contains inf)\n"


def test_warning_inside_a_user_function_names_the_builtin(calc):
    assert calc.run("f(t) = log(t)\nf(-1)") == (
        "defined f(t)\nnan\n",
        "warning: invalid value in log() (result contains nan)\n",
    )


# ---- user functions ----------------------------------------------------------------


def test_definition_prints_a_short_confirmation(calc):
    assert calc.run("f(x) = x**4 - 2*x**2\ng(x, y) = x*y + sin(y)") == (
        "defined f(x)\ndefined g(x, y)\n",
        "",
    )


def test_definition_as_json(jcalc):
    assert jcalc.json("g(x, y) = x*y + sin(y)") == [
        {"input": "g(x, y) = x*y + sin(y)", "defined": "g", "params": ["x", "y"]}
    ]


def test_calling_a_function(jcalc):
    assert jcalc.last("f(x) = x**4 - 2*x**2\nf(2)")["value"] == 8.0


def test_call_reports_gradients_of_the_variables_passed_in(calc):
    out, _ = calc.run("g(x, y) = x*y + sin(y)\na = 1\nb = 2\ng(a, b)")
    assert out.splitlines()[-3:] == [
        "2.909297426825682",
        "  ∂/∂a = 2",
        "  ∂/∂b = 0.5838531634528576",
    ]


def test_functions_call_earlier_functions(jcalc):
    assert jcalc.last("f(t) = t + 1\ng(t) = f(t) * 2\nh(t) = g(f(t))\nh(1)")["value"] == 6.0


def test_redefinition_is_allowed_and_callers_see_the_new_body(jcalc):
    results = jcalc.json("f(t) = t + 1\ng(t) = f(t) * 10\ng(1)\nf(t) = t + 2\ng(1)")
    assert [r.get("value") for r in results] == [None, None, 20.0, None, 30.0]


def test_parameters_shadow_variables_only_inside_the_body(jcalc):
    results = jcalc.json("x = 10\nsq(x) = x * 2\nsq(3)\nx")
    assert [r.get("value") for r in results] == [10.0, None, 6.0, 10.0]
    assert results[2]["grad"] == {}


def test_function_body_reads_variables_when_called(jcalc):
    results = jcalc.json("c = 2\nk(t) = c * t\nk(3)\nc = 5\nk(3)")
    assert (results[2]["value"], results[2]["grad"]) == (6.0, {"c": 3.0})
    assert results[4]["value"] == 15.0


def test_calling_a_function_with_the_wrong_number_of_arguments(jcalc):
    error = jcalc.last("g(x, y) = x + y\ng(1)")["error"]
    assert (error["type"], error["message"]) == (
        "TypeError",
        "g takes 2 arguments (g(x, y)), got 1",
    )


def test_error_inside_a_function_names_it(jcalc):
    error = jcalc.last("c = 1\nk(t) = c * t\n:del c\nk(3)")["error"]
    assert error["message"] == "in k: unknown name 'c'"
    assert (error["line"], error["column"]) == (4, 1)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("f(x) = f(x) + 1", "recursive definition: f → f (recursion is not supported)"),
        ("f(x) = x\ng(x) = f(x)\nf(x) = g(x)",
         "recursive definition: f → g → f (recursion is not supported)"),
        (
            "a(x) = x\nb(x) = a(x)\nc(x) = b(x)\na(x) = c(x)",
            "recursive definition: a → c → b → a (recursion is not supported)",
        ),
        ("f(x) = x\ng(x) = f'(x)\nf(x) = g(x)",
         "recursive definition: f → g → f (recursion is not supported)"),
    ],
)  # fmt: skip
def test_recursion_is_refused_naming_the_cycle(jcalc, source, message):
    error = jcalc.last(source)["error"]
    assert (error["type"], error["message"]) == ("RecursionError", message)


def test_calls_nested_too_deeply_are_an_error_not_a_stack_overflow(jcalc):
    lines = ["f0(x) = x + 1"] + [f"f{i}(x) = f{i - 1}(x) * 1" for i in range(1, 150)]
    results = jcalc.json("\n".join(lines) + "\nf90(1)\nf149(1)")
    assert results[-2]["value"] == 2.0
    assert results[-1]["error"]["message"] == "function calls nested too deeply (limit 100)"


def test_cannot_store_a_function_in_a_variable(jcalc):
    error = jcalc.last("h = sin")["error"]
    assert (
        error["message"]
        == "cannot store a function in the variable 'h'; define one with h(x) = ..."
    )


def test_function_name_alone_describes_it(calc):
    assert calc.run("f(t) = t + 1\nf\nsin") == (
        "defined f(t)\nf(t) = t + 1\nsin(x): built-in, sine (radians)\n",
        "",
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("pi = 3", "cannot assign to 'pi': 'pi' is a constant"),
        ("sin = 3", "cannot assign to 'sin': 'sin' is a built-in function"),
        ("ans = 3", "cannot assign to 'ans': 'ans' always holds the last result"),
        (
            "f(t) = t\nf = 3",
            "cannot assign to 'f': 'f' is a function (remove it first with :del f)",
        ),
        ("x = 1\nx(t) = t", "cannot define 'x': it is a variable (remove it first with :del x)"),
    ],
)
def test_names_that_cannot_be_assigned(jcalc, source, message):
    assert jcalc.last(source)["error"]["message"] == message


# ---- commands ----------------------------------------------------------------------


def test_vars_lists_shape_graph_and_value(calc):
    calc.run("x = 2\nm = [[1, 2], [3, 4]]\ny = x * 3")
    assert calc.run(":vars") == (
        "x    scalar  leaf   2\nm       2×2  leaf   [[1 2] [3 4]]\ny    scalar  graph  6\n",
        "",
    )


def test_vars_with_no_variables(calc):
    assert calc.run(":vars") == ("no variables\n", "")


def test_vars_as_json(jcalc):
    assert jcalc.last("x = 2\nv = [1, 2, 3]\n:vars") == {
        "input": ":vars",
        "output": "x    scalar  leaf   2\nv         3  leaf   [1 2 3]",
        "command": "vars",
        "variables": [
            {"name": "x", "shape": [], "graph": False},
            {"name": "v", "shape": [3], "graph": False},
        ],
    }


def test_del_removes_variables_and_functions(calc):
    out, err = calc.run("x = 1\ny = 2\nf(t) = t\n:del x f\ny\nx\nf(1)")
    assert out == "x = 1\ny = 2\ndefined f(t)\nremoved x, f\n2\n  ∂/∂y = 1\n"
    assert err == (
        "<stdin>:6:1: error: unknown name 'x'\n  x\n  ^\n"
        "<stdin>:7:1: error: unknown function 'f'\n  f(1)\n  ^\n"
    )


def test_del_without_names_is_an_error(jcalc):
    assert (
        jcalc.last(":del")["error"]["message"] == "':del' needs the names to remove, e.g. :del x y"
    )


def test_del_suggests_a_close_name(jcalc):
    error = jcalc.last("rate = 1\n:del rat")["error"]
    assert error["message"] == "':del': no variable or function 'rat' (did you mean 'rate'?)"


def test_reset_forgets_everything(calc):
    out, err = calc.run("x = 1\nf(t) = t\n:reset\n:vars\n:funcs\nans")
    assert out == "x = 1\ndefined f(t)\nsession reset\nno variables\nno functions\n"
    assert "'ans' is the last result, and there is none yet" in err


def test_help_overview_and_entries(calc):
    out, err = calc.run(":help\n:help sin\n:help diff\n:help pi")
    assert out.startswith("dezero-repl: a calculator that differentiates, exactly.\n")
    assert out.endswith(
        "sin(x): sine (radians)\n  example: sin(pi / 2) → 1\n"
        "diff(expr, x, n): n-th derivative of expr with respect to the variable x\n"
        "  example: x = 2;  diff(x**3, x) → 12;  diff(x**3, x, 2) → 12\n"
        "pi = 3.141592653589793: a constant (no gradient)\n"
    )
    assert err == ""


def test_help_on_a_command_and_on_a_user_function(calc):
    out, _ = calc.run("f(t) = t ** 2\n:help del\n:help f")
    assert out == (
        "defined f(t)\n"
        ":del NAME...: remove variables or functions\n"
        "  :del NAME... removes variables or functions (all of them, or none on error).\n"
        "f(t) = t ** 2\n"
    )


def test_help_on_an_unknown_topic_suggests_one(jcalc):
    assert jcalc.last(":help sinn")["error"]["message"] == "no help on 'sinn' (did you mean 'sin'?)"


def test_unknown_command_suggests_the_closest(calc):
    assert calc.run(":hlep") == (
        "",
        "<stdin>:1:1: error: unknown command ':hlep' (did you mean ':help'?); "
        "type :help for the list\n  :hlep\n  ^~~~~\n",
    )


def test_unknown_command_without_a_close_match(jcalc):
    error = jcalc.last(":xyzzy")["error"]
    assert error == {
        "type": "CommandError",
        "message": "unknown command ':xyzzy'; type :help for the list",
        "line": 1,
        "column": 1,
        "source": "<stdin>",
    }


def test_load_runs_a_file_in_the_same_session(calc, tmp_path):
    script = tmp_path / "lib.calc"
    script.write_text("f(t) = t ** 2\nk = 3\n", encoding="utf-8")
    out, err = calc.run(f":load {script}\nf(k)")
    assert out == f"defined f(t)\nk = 3\nloaded {script}\n9\n  ∂/∂k = 6\n"
    assert err == ""


def test_load_stops_at_an_error_and_names_the_file(calc, tmp_path):
    script = tmp_path / "bad.calc"
    script.write_text("a = 1\nb = a +* 2\nc = 3\n", encoding="utf-8")
    out, err = calc.run(f":load {script}\na")
    assert out == "a = 1\n1\n  ∂/∂a = 1\n"
    assert err == (
        f"{script}:2:8: error: expected an expression after '+', found '*'\n"
        "  b = a +* 2\n"
        "         ^\n"
    )


def test_load_of_a_missing_file(calc):
    assert calc.run(":load /nonexistent/x.calc") == (
        "",
        "<stdin>:1:1: error: cannot read '/nonexistent/x.calc': no such file\n"
        "  :load /nonexistent/x.calc\n"
        "  ^~~~~~~~~~~~~~~~~~~~~~~~~\n",
    )


def test_load_of_a_file_that_loads_itself(jcalc, tmp_path):
    script = tmp_path / "self.calc"
    script.write_text(f":load {script}\n", encoding="utf-8")
    results = jcalc.json(f":load {script}")
    assert results[0]["error"]["message"] == "':load' cycle: self.calc → self.calc"


def test_save_writes_a_script_that_replays_the_session(calc, jcalc, tmp_path):
    target = tmp_path / "session.calc"
    calc.run(f"x = 2\nnosuch\ny = x * 3\nf(t) = t + y\n:save {target}")
    assert target.read_text(encoding="utf-8") == "x = 2\ny = x * 3\nf(t) = t + y\n"
    assert jcalc.last(f":load {target}\nf(1)")["value"] == 7.0  # a fresh session


def test_quit_stops_the_source(calc):
    with pytest.raises(QuitRequested):
        calc.run("1\n:quit\n2")
    assert calc.stdout.getvalue() == "1\n"


# ---- errors: where, what, and a caret -----------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "x = 2\ny = sine(x) + 1",
            "<stdin>:2:5: error: unknown function 'sine' (did you mean 'sin'?)\n"
            "  y = sine(x) + 1\n"
            "      ^~~~\n",
        ),
        (
            "rate = 1\nrte * 2",
            "<stdin>:2:1: error: unknown name 'rte' (did you mean 'rate'?)\n  rte * 2\n  ^~~\n",
        ),
        (
            "sin(1, 2)",
            "<stdin>:1:1: error: sin takes 1 argument (sin(x)), got 2\n  sin(1, 2)\n  ^~~~~~~~~\n",
        ),
        (
            "[1, 2] @ [1, 2, 3]",
            "<stdin>:1:8: error: shapes (2,) and (3,) do not fit a matrix product "
            "(inner sizes 2 and 3 differ)\n  [1, 2] @ [1, 2, 3]\n         ^\n",
        ),
        (
            "a = [1, 2, 3]\na[5]",
            "<stdin>:2:2: error: index 5 is out of range for axis 0 with size 3\n  a[5]\n   ^~~\n",
        ),
        (
            "a = [1, 2, 3]\na[1.5]",
            "<stdin>:2:2: error: an index must be a whole number, got 1.5\n  a[1.5]\n   ^~~~~\n",
        ),
        (
            "x = 1\nx(2)",
            "<stdin>:2:1: error: 'x' is a number, not a function\n  x(2)\n  ^\n",
        ),
        (
            "sin + 1",
            "<stdin>:1:5: error: 'sin' is a function: call it, e.g. sin(x), before using it "
            "with +\n  sin + 1\n      ^\n",
        ),
        (
            "1 +* 2",
            "<stdin>:1:4: error: expected an expression after '+', found '*'\n  1 +* 2\n     ^\n",
        ),
    ],
)
def test_error_names_the_place_and_underlines_it(calc, source, expected):
    _, err = calc.run(source)
    assert err == expected


def test_errors_in_a_named_source_use_its_name(calc):
    _, err = calc.run("1\n\n  foo", name="script.calc")
    assert err == "script.calc:3:3: error: unknown name 'foo'\n    foo\n    ^~~\n"


def test_error_on_the_second_statement_of_a_line_points_into_that_line(calc):
    _, err = calc.run("x = 1; y = x + zz")
    assert (
        err == "<stdin>:1:16: error: unknown name 'zz'\n  x = 1; y = x + zz\n                 ^~\n"
    )


# ---- deep input never exhausts the stack ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("(" * 5000 + "2" + ")" * 5000, 2.0),
        ("-" * 5000 + "2", 2.0),
        ("sin(" * 2000 + "0" + ")" * 2000, 0.0),
        ("+".join(["1"] * 20000), 20000.0),
    ],
    ids=["parentheses", "unary-minus", "calls", "long-sum"],
)
def test_deeply_nested_expressions_evaluate(jcalc, text, value):
    assert jcalc.last(text)["value"] == value


def test_long_chain_of_reassignments_keeps_exact_gradients(jcalc):
    source = "x = 1\n" + "x = x * 1.5\n" * 1000 + "x = x / 1.5 ** 1000\nx * 3"
    result = jcalc.last(source)
    assert result["value"] == pytest.approx(3.0, rel=1e-12)
    assert result["grad"] == {"x": 3.0}


def test_each_statement_of_a_script_reports_the_warnings_it_raised(monkeypatch):
    """A script is watched once (one NumPy error state, one catcher of warnings), yet each
    statement reports its own warnings, every time, and nothing stays changed after."""
    import io
    import warnings

    from dezero_repl.evaluator import Session
    from dezero_repl.output import HumanOutput
    from dezero_repl.runner import Runner

    evaluate = Session.evaluate

    def complaining(self, expr, scope, depth=0):
        if depth == 0 and self.variables.get("loud") is not None:
            warnings.warn("a complaint", RuntimeWarning, stacklevel=1)
        return evaluate(self, expr, scope, depth)

    monkeypatch.setattr(Session, "evaluate", complaining)
    filters, errors = list(warnings.filters), np.geterr()
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(Session(), HumanOutput(stdout=out, stderr=err))
    assert runner.run_source("1 + 1\nloud = 1\nloud + 1\nloud / 0\n3", "script.calc")
    assert err.getvalue().splitlines() == [
        "warning: a complaint",  # loud + 1
        "warning: division by zero in '/' (result contains inf)",  # loud / 0: NumPy's first,
        "warning: a complaint",  # then the statement's own,
        "warning: division by zero in the gradient (result contains inf)",  # then its report's
        "warning: a complaint",  # 3
    ]
    assert out.getvalue().split("\n")[:3] == ["2", "loud = 1", "2"]
    assert (list(warnings.filters), np.geterr()) == (filters, errors)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("Sin(1)", "unknown function 'Sin' (did you mean 'sin'?)"),  # not 'min'
        ("PI", "unknown name 'PI' (did you mean 'pi'?)"),
        ("E", "unknown name 'E' (did you mean 'e'?)"),
        ("x = 1\nX + 1", "unknown name 'X' (did you mean 'x'?)"),
        ("2 × 3", "unexpected character '×' (write '*')"),
        ("6 ÷ 3", "unexpected character '÷' (write '/')"),
        ("2 − 1", "unexpected character '−' (write '-')"),
        ("√2", "unexpected character '√' (write 'sqrt')"),
        ("2π", "unexpected character 'π' (write 'pi')"),
        ("1 ≤ 2", "unexpected character '≤' (write '<=')"),
    ],
)
def test_names_in_another_case_and_typeset_symbols_get_a_hint(jcalc, source, message):
    assert jcalc.last(source)["error"]["message"] == message


def test_a_failed_load_gets_its_own_json_object_after_its_statements(jcalc, tmp_path):
    script = tmp_path / "half.calc"
    script.write_text("b = 2\nc = sine(1)\n", encoding="utf-8")
    results = jcalc.json(f":load {script}")
    assert [r.get("input") for r in results] == ["b = 2", "c = sine(1)", f":load {script}"]
    assert results[-1]["error"] == {
        "type": "LoadError",
        "message": f"':load {script}' stopped at an error",
        "source": "<stdin>",
    }


def test_del_names_a_name_given_twice_once_and_precision_takes_ascii_digits(jcalc):
    results = jcalc.json("x = 1\n:del x x\n:precision ١٢")
    assert results[1]["removed"] == ["x"] and results[1]["output"] == "removed x"
    assert results[2]["error"]["type"] == "CommandError"
