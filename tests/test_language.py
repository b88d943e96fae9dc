"""The language of calculus: remainders, factorials, comparisons, logic, choices, numeric
coefficients, maxima of several values, sums and products over ranges, and integrals.

Values are checked against Python and mpmath, derivatives against closed forms, mpmath and
central differences; each construct is also run as a user runs it (files, --json, :plot).
"""

import math
import time

import mpmath
import pytest
from conftest import Calculator, run_python

from dezero_repl import calculus

# ---- % and //, with Python's sign convention ----------------------------------------------

PAIRS = [(7, 3), (-7, 3), (7, -3), (-7, -3), (7.5, 2), (-0.5, 0.25), (1e10 + 0.5, 3)]


@pytest.mark.parametrize(("a", "m"), PAIRS)
def test_remainder_and_floor_division_agree_with_python(jcalc, a, m):
    rem, quo = jcalc.json(f"{a!r} % {m!r}\n{a!r} // {m!r}")
    assert rem["value"] == a % m
    assert quo["value"] == a // m


def test_remainder_derivatives_are_one_and_minus_the_quotient(jcalc):
    result = jcalc.last("a = -7.5\nm = 2\na % m")
    assert result["value"] == 0.5
    assert result["grad"] == {"a": 1.0, "m": 4.0}  # -(a // m) = -(-4)


def test_floor_division_has_derivative_zero(jcalc):
    assert jcalc.last("a = 7.5\na // 2")["grad"] == {"a": 0.0}


def test_remainder_by_zero_is_nan_with_a_warning(calc):
    out, err = calc.run("5 % 0")
    assert out.splitlines()[0] == "nan"
    assert "invalid value in '%'" in out + err


# ---- n! ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("5!", 120.0), ("0!", 1.0), ("3!^2", 36.0), ("2^3!", 64.0), ("-3!", -6.0),
     ("2 * 3!", 12.0), ("(1 + 2)!", 6.0), ("0.5!", math.gamma(1.5)),
     ("20!", 2432902008176640000.0)],
)  # fmt: skip
def test_factorial_is_postfix_and_binds_tighter_than_power(jcalc, text, expected):
    assert jcalc.last(text)["value"] == pytest.approx(expected, rel=1e-14)


def test_factorial_derivative_is_gamma_times_digamma(jcalc):
    result = jcalc.last("x = 2.5\nx!")
    with mpmath.workdps(30):
        expected = mpmath.gamma(3.5) * mpmath.digamma(3.5)
    assert result["grad"]["x"] == pytest.approx(float(expected), rel=1e-14)


def test_factorial_of_a_negative_whole_number_is_not_finite_with_a_warning(calc):
    out, err = calc.run("(-1)!\nfactorial(-2)\n171!")
    assert [line for line in out.splitlines() if "warning" not in line] == ["inf", "nan", "inf"]
    text = out + err
    assert "division by zero in '!' (result contains inf)" in text
    assert "invalid value in factorial() (result contains nan)" in text
    assert "overflow in '!' (result contains inf)" in text
    assert "Traceback" not in err


def test_special_functions_warn_where_they_are_not_finite(calc):
    out, err = calc.run("gamma(-2)\nlgamma(0)\ndigamma(-3)")
    text = out + err
    assert "invalid value in gamma() (result contains nan)" in text
    assert "division by zero in lgamma() (result contains inf)" in text
    assert "invalid value in digamma() (result contains nan)" in text


@pytest.mark.parametrize("x", [2 - 1e-12, 2 - 1e-9, 1 - 1e-9, 1.15, 0.85, 2.1, 1e-310, -1e-320])
def test_lgamma_keeps_its_precision_near_its_zeros_and_at_tiny_arguments(jcalc, x):
    with mpmath.workdps(40):
        expected = float(mpmath.loggamma(mpmath.mpf(x)).real)
    assert jcalc.last(f"lgamma({x!r})")["value"] == pytest.approx(expected, rel=1e-14)


def test_not_equal_is_not_a_factorial(jcalc):
    assert [r["value"] for r in jcalc.json("5 != 3\n5!=5\n5! == 120")] == [1.0, 0.0, 1.0]


# ---- comparisons and logic ----------------------------------------------------------------

COMPARISONS = ["<", "<=", ">", ">=", "==", "!="]


@pytest.mark.parametrize("op", COMPARISONS)
@pytest.mark.parametrize(("a", "b"), [(1, 2), (2, 2), (3, 2), (-0.0, 0.0)])
def test_comparisons_give_one_or_zero_as_python_does(jcalc, op, a, b):
    expected = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}
    assert jcalc.last(f"{a!r} {op} {b!r}")["value"] == float(expected[op])


def test_comparisons_chain_as_in_python(jcalc):
    values = [r["value"] for r in jcalc.json("0 < 0.5 < 1\n0 < 2 < 1\n1 < 2 <= 2 != 3")]
    assert values == [1.0, 0.0, 1.0]


def test_comparisons_are_elementwise_and_have_no_gradient(jcalc):
    result = jcalc.last("v = [1, 2, 3]\nv >= 2")
    assert result["value"] == [0.0, 1.0, 1.0]
    assert "grad" not in result or result["grad"] in ({}, None)


def test_double_equals_never_reads_as_an_assignment(calc, jcalc):
    _, err = calc.run("y == 3")
    assert "unknown name 'y'" in err
    assert "assign" not in err
    assert [r.get("value") for r in jcalc.json("y = 3\ny == 3\ny")] == [3.0, 1.0, 3.0]


@pytest.mark.parametrize(("a", "b"), [(0, 0), (0, 2), (3, 0), (3, -1)])
def test_and_or_not_follow_truth_tables(jcalc, a, b):
    got = [r["value"] for r in jcalc.json(f"{a} and {b}\n{a} or {b}\nnot {a}")]
    assert got == [float(bool(a and b)), float(bool(a or b)), float(not a)]


def test_and_or_skip_the_right_side_when_the_left_decides(calc):
    out, err = calc.run("0 and 1/0\n1 or log(-1)")
    assert out.split() == ["0", "1"]
    assert "warning" not in out + err and "division" not in out + err


def test_logic_is_elementwise_on_arrays(jcalc):
    result = jcalc.last("v = [-1, 0, 1, 2]\nv > -1 and not v == 1")
    assert result["value"] == [0.0, 1.0, 0.0, 1.0]


def test_precedence_of_not_and_or(jcalc):
    # not binds tighter than and, and than or; comparisons tighter than all three
    values = [r["value"] for r in jcalc.json("not 0 and 0\n1 or 1 and 0\nnot 1 < 0")]
    assert values == [0.0, 1.0, 1.0]


# ---- if C then A else B ---------------------------------------------------------------------

PIECEWISE = "f(t) = if t < 0 then -t else t^2"


@pytest.mark.parametrize(
    ("x", "value", "slope", "second"), [(-2.0, 2.0, -1.0, 0.0), (3.0, 9.0, 6.0, 2.0)]
)
def test_choice_is_differentiable_through_the_branch_taken(jcalc, x, value, slope, second):
    results = jcalc.json(f"{PIECEWISE}\nf({x})\nf'({x})\nf''({x})\nz = {x}\nf(z)")
    assert [r["value"] for r in results[1:4]] == [value, slope, second]
    assert results[-1]["grad"] == {"z": slope}


def test_choice_works_with_diff_taylor_and_the_solvers(jcalc):
    results = jcalc.json(
        f"{PIECEWISE}\nx = 1.5\ndiff(f(x), x, 2)\ntaylor(f, 1, 3)\ng(t) = f(t) - 4\n"
        "solve(g, 1)\nsolve(g, -1)\nh(t) = if t < 0 then t^2 + 1 else (t - 1)^2\n"
        "minimize(h, 2)"
    )
    assert results[2]["value"] == 2.0
    assert results[3]["value"] == [1.0, 2.0, 1.0, 0.0]
    assert results[5]["value"] == pytest.approx(2.0, rel=1e-15)
    assert results[6]["value"] == pytest.approx(-4.0, rel=1e-15)
    assert results[8]["value"] == pytest.approx(1.0, abs=1e-12)


def test_choice_is_elementwise_on_arrays_with_gradients(jcalc):
    result = jcalc.last(f"{PIECEWISE}\nv = [-2, -1, 0, 1, 2]\nf(v)")
    assert result["value"] == [2.0, 1.0, 0.0, 1.0, 4.0]
    assert result["grad"]["v"] == [-1.0, -1.0, 0.0, 2.0, 4.0]


def test_a_number_condition_evaluates_only_the_branch_it_takes(calc):
    out, err = calc.run("if 1 then 2 else 1/0\nif 0 then log(-1) else 3")
    assert out.split() == ["2", "3"]
    assert "warning" not in out + err and "division" not in out + err


def test_warnings_of_elements_not_chosen_are_dropped(calc):
    out, err = calc.run("v = [-1, 4]\nif v > 0 then sqrt(v) else 0")
    assert "[0 2]" in out
    assert "invalid" not in out + err
    assert "∂/∂v = [   0 0.25]" in out  # not nan: sqrt never met -1
    out, err = calc.run("if v > 0 then log(v - 4) else 0")  # the chosen element is -inf
    assert "division by zero in log()" in out + err
    assert "invalid" not in out + err  # log(-5) was never computed


def test_choice_broadcasts_a_side_to_the_condition(jcalc):
    assert jcalc.last("v = [1, 2]\nif v > 0 then 5 else 6")["value"] == [5.0, 5.0]


def test_choice_plots(calc, tmp_path):
    out, err = calc.run(f"{PIECEWISE}\n:plot f for t in -2..2")
    assert err == ""
    assert "f" in out and len(out.splitlines()) > 10


# ---- numeric coefficients, as in Julia ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2x", 6.0), ("3(x + 1)", 12.0), ("2pi", 2 * math.pi), ("1/2x", 1 / 6), ("2x^2", 18.0),
     ("-2x", -6.0), ("2e", 2 * math.e), ("2e3", 2000.0), ("1.5x", 4.5), ("2x!", 12.0),
     ("2^2x", 2.0**6), ("2sin(x)", 2 * math.sin(3)), (".5x", 1.5), ("3x * 2x", 54.0)],
)  # fmt: skip
def test_a_number_before_a_name_or_parenthesis_multiplies(jcalc, text, expected):
    assert jcalc.last(f"x = 3\n{text}")["value"] == pytest.approx(expected, rel=1e-15)


def test_coefficients_carry_gradients(jcalc):
    assert jcalc.last("x = 3\n2x^2")["grad"] == {"x": 12.0}


def test_a_blank_between_number_and_name_is_a_syntax_error(calc):
    out, err = calc.run("x = 3\n2 x")
    assert "unexpected name 'x'" in out + err


# ---- max and min of several values -------------------------------------------------------


def test_max_and_min_of_several_values(jcalc):
    values = [r["value"] for r in jcalc.json("max(1, 2)\nmin(4, -1, 3)\nmax([1, 5], [4, 2], 3)")]
    assert values == [2.0, -1.0, [4.0, 5.0]]


def test_max_of_one_array_is_its_largest_element_and_along_an_axis_is_spelled_apart(jcalc):
    results = jcalc.json("m = [[1, 7], [3, 0]]\nmax(m)\nmaxalong(m, 0)\nminalong(m, 1)")
    assert [r["value"] for r in results[1:]] == [7.0, [3.0, 7.0], [1.0, 0.0]]


def test_max_gradient_goes_to_the_largest_and_ties_share_it(jcalc):
    results = jcalc.json("a = 2\nb = 3\nmax(a, b)\nc = 3\nmax(b, c)")
    assert results[2]["grad"] == {"a": 0.0, "b": 1.0}
    assert results[4]["grad"] == {"b": 0.5, "c": 0.5}


# ---- sums and products over ranges -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("sum(k^2 for k in 1..10)", 385.0), ("prod(k for k in 1..10)", 3628800.0),
     ("sum(k for k in 5..4)", 0.0), ("prod(k for k in 3..1)", 1.0),
     ("sum(1/k! for k in 0..20)", math.e), ("sum((-1)^k / (2k + 1) for k in 0..9999)",
      sum((-1) ** k / (2 * k + 1) for k in range(10000))),
     ("sum(if k % 2 == 0 then k else 0 for k in 1..10)", 30.0),
     ("sum(sum([k, 1]) for k in 1..3)", 9.0), ("prod(k for k in -3..-1)", -6.0)],
)  # fmt: skip
def test_sums_and_products_over_ranges(jcalc, text, expected):
    assert jcalc.last(text)["value"] == pytest.approx(expected, rel=1e-13)


def test_sums_and_products_are_differentiable_in_the_variables_they_use(jcalc):
    a = 1.5
    s, p = jcalc.json(f"a = {a}\nsum(a^k for k in 0..5)\nprod(a + k for k in 1..3)")[1:]
    assert s["grad"]["a"] == pytest.approx(sum(k * a ** (k - 1) for k in range(1, 6)), rel=1e-15)
    expected = (a + 2) * (a + 3) + (a + 1) * (a + 3) + (a + 1) * (a + 2)
    assert p["grad"]["a"] == pytest.approx(expected, rel=1e-15)


def test_a_product_with_a_zero_factor_still_has_its_gradient(jcalc):
    result = jcalc.last("a = 0\nprod(a + k for k in 0..3)")  # a (a+1)(a+2)(a+3) at a = 0
    assert result["value"] == 0.0
    assert result["grad"]["a"] == 6.0


def test_range_errors_are_one_line(calc):
    cases = {
        "sum(k for k in 1..2.5)": "whole number",
        "max(k for k in 1..3)": "only sum(...) and prod(...)",
        "integrate([t, t], t, 0, 1)": "one number for each point",
        "sum([k, 1, 2][0:k] for k in 1..3)": "shapes that do not match",
    }
    for text, words in cases.items():
        _, err = calc.run(text)
        assert words in err, (text, err)
        assert "Traceback" not in err


def test_terms_may_be_arrays_and_are_summed_element_by_element(jcalc):
    results = jcalc.json("v = [1, 2]\nsum([k, k^2] for k in 1..3)\nsum(v^k for k in 0..2)")
    assert results[1]["value"] == [6.0, 14.0]
    assert results[2]["value"] == [3.0, 7.0]
    assert results[2]["grad"]["v"] == [3.0, 5.0]


def test_terms_that_index_an_array_are_numbers_and_are_not_forecast_as_its_size(jcalc):
    # Each v[k] is a number: 20,000 of them, not 20,000 arrays of 20,001 (6 GiB for two, which
    # was refused before a term was made)
    result = jcalc.last("v = linspace(0, 1, 20001)\nsum(v[k] for k in 0..20000)")
    assert result["value"] == pytest.approx(10000.5, rel=1e-12)
    result = jcalc.last("u = [3, 1, 4, 1, 5]\nsum(k * u[k] for k in 0..4)")
    assert (result["value"], result["grad"]["u"]) == (32.0, [0.0, 1.0, 2.0, 3.0, 4.0])
    # A term that acts on the whole of an array is: all at once, before any is made
    error = jcalc.last("w = ones(20000)\nsum(w * k for k in 1..20000)")["error"]
    assert error["message"].startswith("the terms of this range would need 6.0 GiB for 2 arrays")


def test_terms_reading_arrays_that_do_not_fit_together_are_one_error_naming_them(calc):
    _, err = calc.run("u = [1, 2]\nv = [1, 2, 3]\nsum(u + v * k for k in 1..3)")
    assert err.splitlines() == [
        "<stdin>:3:5: error: the arrays of this term do not match: u (2,) and v (3,)",
        "  sum(u + v * k for k in 1..3)",
        "      ^~~~~~~~~",
    ]


def test_prod_of_an_array(jcalc):
    result = jcalc.last("v = [1, 2, 0, 4, 5]\nprod(v)")
    assert result["value"] == 0.0
    assert result["grad"]["v"] == [0.0, 0.0, 40.0, 0.0, 0.0]


# ---- integrals ------------------------------------------------------------------------------


def _quad(f, a, b):
    return lambda: mpmath.quad(f, [a, b])


INTEGRALS = [
    ("integrate(exp(-t^2), t, -inf, inf)", lambda: mpmath.sqrt(mpmath.pi)),
    ("integrate(1 / (1 + t^2), t, 0, inf)", lambda: mpmath.pi / 2),
    ("integrate(sin, 0, pi)", lambda: mpmath.mpf(2)),
    ("integrate(t^2 * log(t + 1), t, 0, 2)", _quad(lambda t: t**2 * mpmath.log(t + 1), 0, 2)),
    ("integrate(erf(t) * gamma(t + 1), t, 0, 3)",
     _quad(lambda t: mpmath.erf(t) * mpmath.gamma(t + 1), 0, 3)),
    ("integrate(sqrt(t), t, 0, 1)", lambda: mpmath.mpf(2) / 3),
    ("integrate(exp(t), t, 1, 0)", lambda: 1 - mpmath.e),
    ("integrate(abs(t), t, -1, 2)", lambda: mpmath.mpf(5) / 2),
    ("integrate(if t < 1 then t else 2 - t, t, 0, 2)", lambda: mpmath.mpf(1)),
    ("integrate(sum([t, 1]), t, 0, 1)", lambda: mpmath.mpf(3) / 2),
    ("integrate(sin, 0, 2pi)", lambda: mpmath.mpf(0)),
]  # fmt: skip


@pytest.mark.parametrize(("text", "exact"), INTEGRALS, ids=[i[0] for i in INTEGRALS])
def test_integrals_match_mpmath(jcalc, text, exact):
    with mpmath.workdps(30):
        expected = float(exact())
    assert jcalc.last(text)["value"] == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_integral_derivatives_in_a_parameter_and_a_bound_are_exact(jcalc):
    a, b = 0.7, 1.3
    result = jcalc.last(f"a = {a}\nb = {b}\nintegrate(exp(a*t), t, 0, b)")
    e = math.exp(a * b)
    assert result["value"] == pytest.approx((e - 1) / a, rel=1e-13)
    assert result["grad"]["a"] == pytest.approx(b * e / a - (e - 1) / a**2, rel=1e-12)
    assert result["grad"]["b"] == pytest.approx(e, rel=1e-12)


def test_second_derivative_of_an_integral_in_its_bound(jcalc):
    # F(b) = ∫_0^b sin(t^2) dt: F'(b) = sin(b^2), F''(b) = 2b cos(b^2)
    results = jcalc.json("F(b) = integrate(sin(t^2), t, 0, b)\nF'(1.2)\nF''(1.2)")
    assert results[1]["value"] == pytest.approx(math.sin(1.44), rel=1e-12)
    assert results[2]["value"] == pytest.approx(2.4 * math.cos(1.44), rel=1e-10)


def test_integral_of_a_user_function_and_its_gradient(jcalc):
    result = jcalc.last("c = 2\ng(t) = c * t^3\nintegrate(g, 0, 1)")
    assert result["value"] == pytest.approx(0.5, rel=1e-14)
    assert result["grad"] == {"c": pytest.approx(0.25, rel=1e-14)}


def test_integral_variable_does_not_touch_a_variable_of_that_name(jcalc):
    results = jcalc.json("t = 5\nintegrate(t, t, 0, 1)\nt")
    assert results[1]["value"] == pytest.approx(0.5, rel=1e-15)
    assert results[2]["value"] == 5.0


def test_a_body_without_its_variable_is_evaluated_once_not_at_every_point(jcalc, monkeypatch):
    # A solver in an integrand that does not read t was solved anew at each of the
    # quadrature's points: 15 per subinterval, seconds for a divergent integral.
    solved = []
    minimize = calculus._FORMS["minimize"]

    def counting(*args):
        solved.append(args)
        return minimize(*args)

    monkeypatch.setitem(calculus._FORMS, "minimize", counting)
    results = jcalc.json(
        "f(u) = u^2 + sin(u)\nc = 3\n"
        "integrate(minimize(f, 1) + c^2, t, 0, 2)\nsum(minimize(f, 1) * c for k in 1..4)"
    )
    low = -0.45018361129487355  # where u^2 + sin(u) is least: 2u + cos(u) = 0
    assert results[2]["value"] == pytest.approx(2 * (low + 9), rel=1e-12)
    assert results[2]["grad"] == {"c": pytest.approx(12, rel=1e-12)}
    assert results[3]["value"] == pytest.approx(4 * 3 * low, rel=1e-12)
    assert results[3]["grad"] == {"c": pytest.approx(4 * low, rel=1e-12)}
    assert len(solved) == 3  # the integral: once to refine, once more to record its graph
    _, err = Calculator().run("f(u) = u^2 + sin(u)\nintegrate(minimize(f, 111068), t, 0, inf)")
    assert "did not converge" in err


def test_an_integral_that_does_not_converge_is_refused_in_one_line(calc):
    _, err = calc.run("integrate(1/t, t, 0, 1)")
    lines = [line for line in err.splitlines() if line.strip()]
    assert "did not converge" in lines[0]
    assert "Traceback" not in err
    _, err = calc.run("integrate(sin, 0, inf)")
    assert "did not converge" in err or "not finite" in err


def test_integral_errors_are_one_line(calc):
    for text, words in {
        "integrate(sin, 0)": "integrate takes",
        "integrate(sin, [0, 1], [1, 2, 3])": "do not match for integrate",
        "integrate(atan2, 0, 1)": "function of one variable",
    }.items():
        _, err = calc.run(text)
        assert words in err, (text, err)


def test_a_failed_integral_changes_nothing(jcalc):
    results = jcalc.json("y = 1\ny = integrate(1/t, t, 0, 1)\ny")
    assert results[-1]["value"] == 1.0


# ---- as a user runs it -----------------------------------------------------------------------


def test_new_syntax_in_a_script_file_with_json(run_cli, tmp_path):
    script = tmp_path / "calc.txt"
    script.write_text(
        "a = 2\nf(t) = if t < a then t^2 else 2a*t - a^2\nf(3)\n"
        "sum(k! for k in 0..4) + 2a\nintegrate(f, 0, 3)\n7 % 3 + 7 // 2\n"
    )
    done = run_cli("--json", str(script))
    assert done.returncode == 0, done.stderr
    values = [r["value"] for r in done.json() if "value" in r]
    assert values[1:] == [8.0, pytest.approx(38.0), pytest.approx(8 / 3 + 6), 4.0]


def test_errors_in_new_syntax_name_file_line_and_column(run_cli, tmp_path):
    script = tmp_path / "bad.txt"
    script.write_text("x = 1\ny = if x then 2\n")
    done = run_cli(str(script))
    assert done.returncode != 0
    assert f"{script}:2:" in done.stderr
    assert "expected 'else'" in done.stderr
    assert "Traceback" not in done.stderr


def test_special_functions_in_the_prompt_language(jcalc):
    results = jcalc.json("x = 0.5\nerf(x)\nerfc(3)\ngamma(x)\nlgamma(10)\ndigamma(1)\nfactorial(4)")
    with mpmath.workdps(30):
        expected = [mpmath.erf(0.5), mpmath.erfc(3), mpmath.gamma(0.5), mpmath.loggamma(10),
                    mpmath.digamma(1), 24]  # fmt: skip
    for result, e in zip(results[1:], expected):
        assert result["value"] == pytest.approx(float(e), rel=1e-14)
    assert results[1]["grad"]["x"] == pytest.approx(
        2 / math.sqrt(math.pi) * math.exp(-0.25), rel=1e-14
    )


def test_rounding_functions_have_derivative_zero(jcalc):
    results = jcalc.json("x = 2.5\nfloor(x)\nceil(x)\nround(x)\nsign(-x)\nround(3.5)")
    assert [r["value"] for r in results[1:]] == [2.0, 3.0, 2.0, -1.0, 4.0]
    assert all(r["grad"] == {"x": 0.0} for r in results[1:5])


def test_infinity_is_a_constant(jcalc):
    assert jcalc.last("inf")["value"] in (math.inf, "inf", "Infinity")


def test_scipy_is_imported_only_when_a_special_function_runs():
    code = (
        "import sys\n"
        "from dezero_repl import cli\n"
        "for argv in (['-e', 'x = 2; 2x + sum(k for k in 1..3) + integrate(sin, 0, x)'],"
        " ['-e', 'erf(1)']):\n"
        "    try:\n"
        "        cli.main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "    print('scipy' in sys.modules, 'scipy.special' in sys.modules)\n"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert [line for line in lines if line.endswith(("True", "False"))] == [
        "False False",
        "True True",
    ]


def test_plot_of_a_sum_over_a_range_uses_the_last_for(calc):
    out, err = calc.run(":plot sum(x^k for k in 0..3) for x in 0..1")
    assert err == ""
    assert "sum(x^k for k in 0..3), ∂/∂x  on 0..1" in out


def test_a_comparison_in_plot_and_graph_is_not_a_file_to_write(calc, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out, err = calc.run(":plot x > 0.5 for x in -1..1")
    assert err == "" and "x > 0.5" in out.splitlines()[0]
    out, err = calc.run("x = 2\n:graph if x > 1 then x! else 0")
    assert err == "" and "digraph" in out and "Gamma" in out
    assert list(tmp_path.iterdir()) == []
    out, err = calc.run(":graph x > g.txt")
    assert "writes .dot, .png, .svg or .pdf files" in err


# ---- what trying the language as an attacker found ---------------------------------------


@pytest.mark.parametrize(
    ("statement", "exact"),
    [("G'(0)", -1.0), ("G''(0)", 2.0), ("G'''(0)", -6.0), ("G'(2)", -1 / 9),
     ("G''(2)", 2 / 27), ("L'(0)", 1.0), ("L'(0.5)", math.sqrt(1.5) - math.sqrt(0.5))],
)  # fmt: skip
def test_derivatives_of_integrals_in_a_parameter_meet_the_tolerance(jcalc, statement, exact):
    # ∂/∂a of ∫ t^a is ∫ t^a log t, singular at 0: the intervals must suit it too
    setup = "G(a) = integrate(t^a, t, 0, 1)\nL(a) = integrate(sqrt(t + a), t, 0, 1)\n"
    assert jcalc.last(setup + statement)["value"] == pytest.approx(exact, rel=1e-11)


def test_derivative_of_an_integral_in_a_parameter_where_the_integrand_has_a_kink(jcalc):
    result = jcalc.last("b = 0.3\nintegrate(abs(t - b), t, -1, 1)")
    assert result["value"] == pytest.approx(1.09, rel=1e-13)
    assert result["grad"]["b"] == pytest.approx(0.6, rel=1e-11)


def test_derivative_in_a_bound_where_the_integrand_is_infinite_is_infinite(calc):
    out, _ = calc.run("a = 0\nintegrate(1/sqrt(t), t, a, 1)")
    assert "∂/∂a = -inf" in out


def test_an_integral_whose_derivative_diverges_is_refused_in_grad_mode_only(calc):
    _, err = calc.run("a = 0\nintegrate(1/sqrt(t + a), t, 0, 1)")
    assert "converges, but not its derivative" in err and ":nograd" in err
    out, err = calc.run(":nograd on\nintegrate(1/sqrt(t + a), t, 0, 1)")
    assert err == "" and float(out.splitlines()[-1]) == pytest.approx(2.0, rel=1e-12)


@pytest.mark.parametrize(
    "text",
    ["integrate(t, t, -inf, inf)", "integrate(sin(t), t, -inf, inf)", "integrate(erf, -inf, inf)",
     "integrate(t^3, t, -inf, inf)"],
)  # fmt: skip
def test_divergent_integrals_over_the_whole_line_are_refused(calc, text):
    _, err = calc.run(text)
    assert "did not converge" in err


def test_a_huge_range_is_refused_before_anything_is_made(calc):
    import time

    start = time.perf_counter()
    _, err = calc.run("sum(k for k in 1..10**9)")
    assert "over the statement's memory budget" in err
    assert time.perf_counter() - start < 1.0


def test_errors_of_integrals_name_the_variable_and_an_equal_range_is_zero(calc, jcalc):
    _, err = calc.run("integrate(1/s, s, -1, 1)")
    assert "the integrand is not finite at s = 0" in err
    assert jcalc.last("integrate(1/t, t, 0, 0)")["value"] == 0.0
    _, err = calc.run("h(t) = [t, t]\nintegrate(h, 0, 1)")
    assert "one number for each point" in err and "15" not in err


def test_logic_of_arrays_that_do_not_match_is_a_clear_error(jcalc):
    error = jcalc.last("[1, 0] and [1, 2, 3]")["error"]
    assert (error["type"], error["message"]) == (
        "ValueError",
        "shapes (2,) and (3,) do not match for 'and'",
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("atan2([1, 2], [1, 2, 3])", "shapes (2,) and (3,) do not match for atan2()"),
        ("hypot([1, 2], [1, 2, 3])", "shapes (2,) and (3,) do not match for hypot()"),
        ("log([1, 2], [2, 3, 4])", "shapes (2,) and (3,) do not match for log()"),
        ("max([1, 2], [1, 2, 3])", "shapes (2,) and (3,) do not match for max()"),
        ("max([])", "max() of an empty array has no value"),
        ("min(zeros(0))", "min() of an empty array has no value"),
        (
            "maxalong(reshape(zeros(0), [0, 3]), 0)",
            "maxalong() along an empty axis has no value (axis 0 of shape (0, 3))",
        ),
        (
            "minalong(reshape(zeros(0), [2, 0]), -1)",
            "minalong() along an empty axis has no value (axis -1 of shape (2, 0))",
        ),
    ],
)
def test_functions_of_arrays_that_do_not_fit_say_so_in_their_own_words(jcalc, source, message):
    # NumPy's words were passed on: "operands could not be broadcast together with shapes
    # (2,) (3,) ", "zero-size array to reduction operation maximum which has no identity".
    error = jcalc.last(source)["error"]
    assert (error["type"], error["message"]) == ("ValueError", message)


def test_an_extreme_along_a_full_axis_of_an_empty_array_is_empty(jcalc):
    result = jcalc.last("maxalong(reshape(zeros(0), [0, 3]), 1)")
    assert result["value"] == []  # along the axis of 3: one maximum per row, of no rows


def test_the_product_of_no_elements_is_1_like_that_of_an_empty_range(jcalc):
    results = jcalc.json(
        "v = zeros(0)\nprod(v)\nprod([])\nprod(zeros([0, 2]))\nprod(k for k in 3..1)"
    )
    assert [r["value"] for r in results[1:]] == [1.0, 1.0, 1.0, 1.0]
    assert results[1]["grad"]["v"] == []


def test_help_covers_ans_and_the_range_forms(calc):
    out, _ = calc.run(":help ans\n:help _\n:help sum\n:help prod\n:help if")
    assert out.count("the last result") == 2
    assert "sum(k^2 for k in 1..10) → 385" in out and "prod(k for k in 1..5) → 120" in out
    assert "if C then A else B" in out


def test_integrals_over_arrays_are_computed_element_by_element(jcalc):
    results = jcalc.json(
        "v = [1, 2]\nintegrate(v*t, t, 0, 1)\nintegrate(t, t, 0, v)\n"
        "G(a) = integrate(exp(-a*t), t, 0, 1)\nG'([1, 2])"
    )
    assert results[1]["value"] == pytest.approx([0.5, 1.0], rel=1e-14)
    assert results[1]["grad"]["v"] == pytest.approx([0.5, 0.5], rel=1e-14)
    assert results[2]["value"] == pytest.approx([0.5, 2.0], rel=1e-14)
    assert results[2]["grad"]["v"] == pytest.approx([1.0, 2.0], rel=1e-12)
    exact = [-(1 - (1 + a) * math.exp(-a)) / a**2 for a in (1.0, 2.0)]
    assert results[4]["value"] == pytest.approx(exact, rel=1e-12)


def test_a_function_defined_by_an_integral_plots_with_its_derivatives(calc):
    out, err = calc.run("F(x) = integrate(exp(-t^2), t, 0, x)\n:plot F, F' for x in -2..2")
    assert err == "" and "F, F'" in out


def test_the_variable_of_a_range_is_a_plain_name(calc):
    _, err = calc.run("sum(k for k' in 1..3)")
    assert "the variable of a range must be a plain name" in err


@pytest.mark.parametrize(
    ("text", "column"), [(":vars extra", 7), (":quit now", 7), (":reset all", 8)]
)
def test_commands_that_take_no_argument_refuse_one(jcalc, text, column):
    jcalc.run("x = 1")
    error = jcalc.last(text)["error"]
    assert error["message"].startswith(f"'{text.split()[0]}' takes no argument")
    assert error["column"] == column
    assert jcalc.last("x")["value"] == 1.0  # :reset all reset nothing, :quit now did not quit


def test_iterated_integrals_with_a_variable_bound_and_their_gradients(jcalc):
    # The outer integral watched the inner one's nodes as parameters of its integrand: their
    # subdivisions differ at each outer node, so the outer refinement never converged, and
    # ∫_0^b ∫_0^t s ds dt was refused ("the derivative may be infinite") after 18 s.
    started = time.perf_counter()
    jcalc.json("b = 1\na = 2")
    double = jcalc.last("integrate(integrate(s, s, 0, t), t, 0, b)")
    assert double["value"] == pytest.approx(1 / 6, rel=1e-13)  # b³/6
    assert double["grad"]["b"] == pytest.approx(0.5, rel=1e-13)  # b²/2
    weighted = jcalc.last("integrate(integrate(a*s*t, s, 0, t), t, 0, b)")
    assert weighted["value"] == pytest.approx(0.25, rel=1e-13)  # a b⁴/8
    assert weighted["grad"] == pytest.approx({"a": 0.125, "b": 1.0}, rel=1e-13)
    triple = jcalc.last("integrate(integrate(integrate(sin(s*t*u), s, 0, u), t, 0, u), u, 0, b)")
    with mpmath.workdps(30):  # d/db is ∫_0^b ∫_0^b sin(s t b) ds dt at b = 1
        slope = mpmath.quad(lambda s, t: mpmath.sin(s * t), [0, 1], [0, 1])
    assert triple["grad"]["b"] == pytest.approx(float(slope), rel=1e-11)
    assert 0 < triple["value"] < float(slope)  # the integrand of u grows from 0 to the slope
    assert time.perf_counter() - started < 20


def test_a_comparison_indexes_as_a_mask(jcalc):
    # Comparisons give 0 and 1, and indexed as such: a[a > 1] was [1 2 2], the elements
    # at positions 0, 1 and 1, where NumPy (and a reader) means the elements above 1.
    jcalc.json("a = [1, 2, 3]\nb = [[1, 2], [3, 4]]")
    masked = jcalc.last("a[a > 1]")
    assert masked["value"] == [2.0, 3.0]
    assert masked["grad"]["a"] == [0.0, 1.0, 1.0]
    jcalc.json("m = a >= 2")
    assert jcalc.last("sum(a[m] * 10)")["value"] == 50.0
    assert jcalc.last("b[b > 2]")["value"] == [3.0, 4.0]
    assert jcalc.last("a[(a > 1) and (a < 3)]")["value"] == [2.0]
    assert jcalc.last("a[a > 5]")["value"] == []
    assert jcalc.last("a[[0, 1, 1]]")["value"] == [1.0, 2.0, 2.0]  # numbers stay positions
    assert jcalc.last("a[(a > 1) * 1]")["value"] == [1.0, 2.0, 2.0]  # arithmetic: numbers
    error = jcalc.last("a[[1, 0, 1, 0] > 0]")["error"]
    assert error["type"] == "IndexError" and "size of axis is 3" in error["message"]
