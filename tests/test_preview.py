"""The live preview: a value and gradients for the line being typed, never a change."""

from __future__ import annotations

import pytest

from dezero_repl.evaluator import Session
from dezero_repl.parser import parse_statement
from dezero_repl.repl import Preview


def session_with(*lines: str) -> Session:
    session = Session()
    for line in lines:
        session.execute(parse_statement(line), line)
    return session


def test_preview_shows_value_and_gradient_without_assigning():
    session = session_with("x = 2")
    assert Preview(session).text("y = (x + 3) ** 2") == "= 25   ∂/∂x = 10"
    assert list(session.variables) == ["x"] and session.last is not None
    assert float(session.last.data) == 2.0


def test_preview_skips_what_one_step_could_make_slow():
    preview = Preview(session_with("f(x) = x**3"))
    assert preview.text("f''(2)") == "= 12"
    for text in ["tanh''''''''''''(1)", "taylor(tanh, 0, 12)", "solve(f, 1)", "diff(f(2), 2)"]:
        assert preview.text(text).startswith("(no preview")


def test_preview_is_empty_for_commands_definitions_and_errors():
    preview = Preview(session_with())
    for text in [":vars", "g(x) = x", "1 +", "nosuch + 1"]:
        assert preview.text(text) == ""


def test_preview_has_a_small_memory_budget_of_its_own():
    from dezero.budget import resident

    session = session_with("x = 2")
    preview = Preview(session)
    before = resident()
    assert preview.text("sum(sin(ones(10**8) * x))") == ""  # 800 MB: over its 32 MiB
    many = "sum(" + " + ".join(["ones(10**5) * x"] * 100) + ")"  # 200 arrays of 0.8 MB
    assert preview.text(many) == ""
    assert resident() - before < 64 << 20
    assert preview.text("sum(ones(10**5) * x)") == "= 200000   ∂/∂x = 100000"
    outcome = session.execute(parse_statement("sum(ones(10**7) * x)"), "sum(ones(10**7) * x)")
    assert float(outcome.value) == 2e7  # Enter has the statement's budget, not the preview's


def test_preview_leaves_to_enter_the_gradients_that_would_be_computed_again():
    # Where one backward pass may lose digits (contributions cancel, a value underflows, a
    # gradient overflows) or the value is a derivative, Enter computes the gradient again
    # and vouches for it: a preview shows the value, and leaves that gradient to Enter.
    session = session_with("x = 0.2677", "y = 0.75", "z = 0", "f(t) = t^3")
    preview = Preview(session)
    cancels = "hypot((exp(atan2(x, x)) ^ (exp(atan2(x, x)) * 2.346))^2, cbrt(x + x))"
    assert preview.text(cancels) == "= 3237.091199796423   ∂/∂x: on Enter"
    assert preview.text("exp(-1000*y)") == "= 0   ∂/∂y: on Enter"  # it underflows
    assert preview.text("1/z") == "= inf   ∂/∂z: on Enter"
    assert preview.text("f'(x) + y").endswith("   ∂/∂x: on Enter   ∂/∂y: on Enter")
    assert preview.text("x * y") == "= 0.20077499999999998   ∂/∂x = 0.75   ∂/∂y = 0.2677"
    outcome = session.execute(parse_statement(cancels), cancels)
    assert float(outcome.grads["x"]) == pytest.approx(0.00025362633744598, rel=1e-11)
