"""Reported gradients that use remembered partial derivatives equal a full backward pass,
and their cost does not grow with the history behind a value."""

from __future__ import annotations

import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dezero_repl.errors import CalcError
from dezero_repl.evaluator import Session
from dezero_repl.ledger import Ledger
from dezero_repl.parser import parse_statement


class ForgetfulLedger(Ledger):
    """Remembers nothing, so every report backpropagates through the whole history."""

    def remembered(self, v):
        return None


NAMES = ["a", "b", "c", "v"]
TERMS = ["a", "b", "c", "v", "2", "0.5", "sin(a)", "exp(b / 4)", "sum(v)", "v[0]", "a * b"]


@st.composite
def statements(draw) -> list[str]:
    lines = ["a = 1.5", "b = -0.5", "c = 2", "v = [1, 2, 3]"]
    for _ in range(draw(st.integers(1, 12))):
        target = draw(st.sampled_from(NAMES + [None]))
        left, right = draw(st.sampled_from(TERMS)), draw(st.sampled_from(TERMS))
        op = draw(st.sampled_from(["+", "-", "*"]))
        expr = f"({left}) {op} ({right})"
        if target == "v":
            expr = f"v * ({expr})" if draw(st.booleans()) else f"[{expr}, a, b]"
        lines.append(expr if target is None else f"{target} = {expr}")
    return lines


def reports(session: Session, lines: list[str]) -> list[dict]:
    out = []
    for line in lines:
        try:
            with np.errstate(all="ignore"):
                outcome = session.execute(parse_statement(line), line)
        except CalcError as e:  # e.g. a ragged array: both sessions refuse it alike
            out.append({"error": e.message})
            continue
        out.append(outcome.grads)
    return out


@settings(max_examples=150, deadline=None)
@given(statements())
def test_remembered_partials_give_the_full_backward_result(lines):
    fast, full = Session(), Session()
    full.ledger = ForgetfulLedger()
    for got, want in zip(reports(fast, lines), reports(full, lines)):
        assert got.keys() == want.keys()
        for name in got:
            if name == "error":
                assert got == want
                continue
            np.testing.assert_allclose(got[name], want[name], rtol=1e-9, atol=1e-12)


def test_chain_rule_through_a_remembering_variable():
    session = Session()
    lines = ["x = 3", "y = x ** 2", "z = y * 3 + x", "w = z * y"]
    *_, grads = reports(session, lines)
    # w = (3x² + x) x² → dw/dx = 12x³ + 3x² = 351 at 3; ∂w/∂y = 3y + x + 3y... as adjoints:
    # w = z*y, z = 3y + x: ∂w/∂z = y = 9, ∂w/∂y = z + 3y = 30 + 27 = 57, ∂w/∂x = 351.
    assert {k: float(v) for k, v in grads.items()} == {"x": 351.0, "y": 57.0, "z": 9.0}


def rule_calls(run) -> int:
    """How many gradient rules (``backward`` or ``backward_array``) ``run()`` calls: the
    work of backpropagation, counted whatever order the functions are visited in."""
    calls = 0

    def profiler(frame, event, arg):
        nonlocal calls
        if event == "call" and frame.f_code.co_name in ("backward", "backward_array"):
            calls += 1

    previous = sys.getprofile()
    sys.setprofile(profiler)
    try:
        run()
    finally:
        sys.setprofile(previous)
    return calls


def test_report_work_does_not_grow_with_the_length_of_a_loop():
    session = Session()
    for line in ["lr = 0.1", "x = 3", "f(t) = t**2"]:
        session.execute(parse_statement(line), line)
    step = "x = x - lr * f'(x)"
    statement = parse_statement(step)
    visits = [rule_calls(lambda: session.execute(statement, step)) for _ in range(400)]
    assert 0 < visits[-1] == visits[10]  # rules run per statement: constant, not growing
    n = 400
    outcome = session.execute(parse_statement("x + 0"), "x + 0")
    np.testing.assert_allclose(float(outcome.value), 3 * 0.8**n, rtol=1e-9)
    expected = -2 * n * 0.8 ** (n - 1) * 3  # x_n = (1 - 2 lr)^n x_0
    np.testing.assert_allclose(outcome.grads["lr"], expected, rtol=1e-6)


def test_alternating_array_assignments_keep_the_report_work_constant():
    """Arrays remember nothing, so the graphs behind them must not keep the history."""
    session = Session()
    for line in ["a = [1.0, 2, 3]", "b = a * 2"]:
        session.execute(parse_statement(line), line)
    steps = [("a = b * 0.5 + 1", parse_statement("a = b * 0.5 + 1"))]
    steps.append(("b = a * 0.9", parse_statement("b = a * 0.9")))
    visits = []
    for i in range(300):
        text, statement = steps[i % 2]
        visits.append(rule_calls(lambda s=statement, t=text: session.execute(s, t)))
    assert 0 < visits[-1] == visits[11] and visits[-2] == visits[10]
    outcome = session.execute(parse_statement("b * 1"), "b * 1")
    np.testing.assert_allclose(outcome.grads["b"], [1.0, 1.0, 1.0])
    after = session.execute(parse_statement("a = b * 0.5 + 1"), "a = b * 0.5 + 1")
    np.testing.assert_allclose(after.grads["b"], [0.5, 0.5, 0.5])
    np.testing.assert_allclose(after.grads["a"], [0.45, 0.45, 0.45])  # the a before, via b
