"""Derivatives of random expressions against mpmath, by Taylor mode and by nested reverse mode.

Each case is a random expression over every function and operator (``expressions.py``) at a
random point. mpmath differentiates it at 30 significant digits, and dezero must match it to
1e-9 relative at every order that float64 arithmetic can reach. An order is left out when:

- an intermediate value overflows float64, or jittering every operation by a few rounding
  units moves mpmath's own answer by more than 1e-11 relative (the problem is ill-conditioned);
- the calculator refuses to print it (``unreliable_orders``: Taylor mode along x0 + 0.7·t,
  which rounds differently, disagrees), and nested reverse mode, whose rules are PyTorch's,
  does not reach it either: some compositions, such as (e^x)^c / e^(x/d), cancel at high
  order in any float64 method.

So every derivative the calculator would print must be right, and so must every one that
PyTorch-style reverse mode gets right. Nested reverse mode must itself match mpmath at nine
in ten of the orders it reaches, and the two modes agree wherever both are right. The counts
show how few orders are left out.

The value and the first derivative that a calculator statement prints come from neither
mode: from the forward pass and the first-order pass (``gradient_arrays``, with the array
rules of ``dezero.fast``). They are checked the same way, over 1,000 more expressions, and
through the calculator itself over 300 more, written as a user would (``x = x0``, ``u =`` a
part of the expression, ``w =`` the rest of it on u), so that ∂w/∂x goes through the
ledger's chain rule too.

Integrals of random expressions (``dezero.quadrature``) are checked the same way against
mpmath.quad, with their derivatives in both bounds.

The seed is fixed. The counts are sized for the whole suite to take under ten minutes on
two slow cores (1,600 expressions at orders 1-10, 10 up to order 60: the 11th and 12th of
these alone take a minute); DEZERO_DIFFERENTIAL_CASES, DEZERO_HIGH_ORDER_CASES,
DEZERO_FIRST_ORDER_CASES, DEZERO_STATEMENT_CASES and DEZERO_INTEGRAL_CASES raise them for
a longer run (the counts before, 2,000 and 16, pass; 20,000 first-order cases take half a
minute and pass, and of 100,000 three fail: gradients that one float64 backward pass gets
wrong beyond 1e-9, where contributions cancel or a value on the way is subnormal, as the
README says; 3,000 statements take ten seconds and pass, and of 20,000 three fail: a
gradient whose backward pass overflows or underflows on the way, as c / e^v does where its
derivative -c/e^v/e^v underflows before the e^v of ∂e^v/∂x would bring it back).
"""

from __future__ import annotations

import functools
import math
import os
import random
from typing import Any

import mpmath
import numpy as np
import pytest
from conftest import Calculator
from expressions import (
    JUMPS,
    KINKED,
    describe,
    intermediate_values,
    kink_arguments,
    random_tree,
    subtrees,
    to_dezero,
    to_mpmath,
    to_text,
)

import dezero
from dezero import Variable, gradients
from dezero.backprop import gradient_arrays
from dezero_repl.calculus import NEGLIGIBLE, checked_report, finite_again, unreliable_orders

CASES = int(os.environ.get("DEZERO_DIFFERENTIAL_CASES", "1600"))
HIGH_ORDER_CASES = int(os.environ.get("DEZERO_HIGH_ORDER_CASES", "10"))
FIRST_ORDER_CASES = int(os.environ.get("DEZERO_FIRST_ORDER_CASES", "1000"))
STATEMENT_CASES = int(os.environ.get("DEZERO_STATEMENT_CASES", "300"))
RTOL = 1e-9
JITTER_RTOL = 1e-11
NESTED_GRAPH_LIMIT = 2_000  # nested reverse mode grows ~3x per order; larger cases use Taylor only


def _references(tree: tuple, x0: float, order: int, rng: random.Random) -> tuple[list, list]:
    """mpmath's derivatives 0..order, exact and with every operation jittered."""
    with mpmath.workdps(30):
        x = mpmath.mpf(x0)
        exact = mpmath.diffs(lambda t: to_mpmath(tree, t), x, order)
        jitter = {"rng": rng}
        jittered = mpmath.diffs(lambda t: to_mpmath(tree, t, jitter), x, order)
        return list(exact), list(jittered)


def _above_noise(tree: tuple, x0: float, slope: mpmath.mpf) -> bool:
    """Whether mpmath's tiny first derivative holds at 60 digits, not the 30 digits' rounding
    around a derivative that is 0, which shrinks with the precision (erf(sinh(2.431 x²/(x²
    + 1))) at 0: -5e-34 at 30 digits)."""
    with mpmath.workdps(60):
        again = mpmath.diff(lambda t: to_mpmath(tree, t), mpmath.mpf(x0))
    return abs(again) > 1e-10 * abs(slope)


def _exact(tree: tuple, x0: float, order: int) -> list:
    with mpmath.workdps(30):
        return list(mpmath.diffs(lambda t: to_mpmath(tree, t), mpmath.mpf(x0), order))


def _taylor_derivatives(tree: tuple, x0: float, order: int) -> tuple[list[float], set[int]]:
    """Derivatives by Taylor mode, and the orders the calculator would refuse to print."""
    x = Variable(np.array(x0))
    with np.errstate(all="ignore"):
        y = to_dezero(tree, x)
        coefficients = dezero.series.coefficients(y, x, order)
        refused = unreliable_orders(y, x, coefficients, list(range(2, order + 1)))
    values = [float(c.data) * math.factorial(k) for k, c in enumerate(coefficients)]
    return values, set(refused)


def _nested_derivatives(tree: tuple, x0: float, order: int) -> list[float]:
    """Derivatives by differentiating the gradient's graph again, as far as it stays small."""
    x = Variable(np.array(x0))
    with np.errstate(all="ignore"):
        y = to_dezero(tree, x)
        values = [float(y.data)]
        for _ in range(order):
            if len(dezero.series.functions_between(x, y)) > NESTED_GRAPH_LIMIT:
                break
            (g,) = gradients(y, [x], create_graph=True, stop={id(x)})
            y = g if g is not None else Variable(np.array(0.0))
            values.append(float(y.data))
    return values


def _representable(tree: tuple, x0: float) -> bool:
    """Whether every intermediate value is a finite float64 at x0."""
    return all(math.isfinite(v) for v in intermediate_values(tree, x0))


def _usable(exact: mpmath.mpf, jittered: mpmath.mpf) -> bool:
    """Whether float64 arithmetic can reach this derivative: finite, in range, stable."""
    if not mpmath.isfinite(exact) or abs(exact) > 1e300 or 0 < abs(exact) < 1e-290:
        return False
    return abs(jittered - exact) <= JITTER_RTOL * abs(exact) or exact == jittered


def _close(value: float, exact: mpmath.mpf, scale: float, rtol: float = RTOL) -> bool:
    """Within rtol, relative; or, for a derivative that is (nearly) zero, both below
    NEGLIGIBLE of ``scale``, the largest derivative of lower order (the calculator's rule)."""
    if abs(exact) <= NEGLIGIBLE * scale and abs(value) <= NEGLIGIBLE * scale:
        return True
    return abs(value - exact) <= rtol * abs(exact)


def _run(cases: int, orders: list[int], seed: int, nested: bool) -> dict:
    rng = random.Random(seed)
    stats = {"cases": 0, "checked": 0, "left out": 0, "refused": 0}
    stats.update({"nested checked": 0, "nested missed": 0})
    stats["failures"] = []
    for case in range(cases):
        order = orders[case % len(orders)]
        tree = random_tree(rng, rng.randint(1, 7))
        x0 = round(rng.uniform(-2.0, 2.0), 4)
        if any(abs(a) < 1e-3 or not math.isfinite(a) for a in kink_arguments(tree, x0)):
            continue  # too close to a kink of abs or relu for mpmath's differences
        if not _representable(tree, x0):  # mpmath would take ages over e^(10^100)
            stats["cases"] += 1
            stats["left out"] += order
            continue
        try:
            exact, jittered = _references(tree, x0, order, rng)
        except (ValueError, ZeroDivisionError, OverflowError):
            continue  # outside the domain
        stats["cases"] += 1
        taylor, refused = _taylor_derivatives(tree, x0, order)
        reverse = _nested_derivatives(tree, x0, order) if nested else []
        representable = True  # checked above
        for k in range(1, order + 1):
            scale = float(max(abs(e) for e in exact[:k]))
            if not (representable and _usable(exact[k], jittered[k])):
                stats["left out"] += 1
                continue
            problems = []
            reached = k < len(reverse) and _close(reverse[k], exact[k], scale)
            if k < len(reverse):
                stats["nested checked"] += 1
                stats["nested missed"] += not reached  # beyond what float64 reverse mode reaches
                if reached and not _close(reverse[k], mpmath.mpf(taylor[k]), scale, 2 * RTOL):
                    problems.append(f"the modes disagree (reverse {reverse[k]!r})")
            if k in refused:
                stats["refused"] += 1
                if reached:  # reverse mode, like PyTorch, gets it right here: so must we
                    problems.append("refused by the calculator")
            if not (reached or k not in refused):
                stats["left out"] += 1
                continue
            stats["checked"] += 1
            if not _close(taylor[k], exact[k], scale):
                problems.append(f"taylor {taylor[k]!r}")
            if problems:
                where = f"d^{k}/dx^{k} {describe(tree)} at x = {x0}"
                stats["failures"].append(
                    f"{where}: mpmath {mpmath.nstr(exact[k], 17)}, " + ", ".join(problems)
                )
    return stats


def test_orders_1_to_10_of_random_expressions_match_mpmath_in_both_modes():
    stats = _run(CASES, list(range(1, 11)), seed=20261204, nested=True)
    assert stats["failures"] == [], "\n".join(stats["failures"][:10])
    assert stats["cases"] >= 0.9 * CASES
    assert stats["checked"] >= 0.85 * 5.5 * stats["cases"]  # orders 1..10: 5.5 per case
    assert stats["nested checked"] >= 0.6 * stats["checked"]
    assert stats["nested missed"] <= 0.1 * stats["nested checked"]
    assert stats["refused"] <= 0.02 * stats["checked"]


def _reported(tree: tuple, x0: float) -> tuple[float, float | None]:
    """The value and the first derivative as a calculator statement reports them: from the
    forward pass and the first-order pass (``gradient_arrays``, with the array rules of
    ``dezero.fast``), neither of which Taylor mode or nested reverse mode goes through; and
    where a value underflowed or contributions cancelled on the way, computed again by
    Taylor mode and vouched for (``checked_report``), or None: not shown; where the pass
    overflowed, an infinite one computed again (``finite_again``)."""
    x = Variable(np.array(x0))
    kinds: list[str] = []  # NumPy's complaints
    sums: list[str] = []
    with np.errstate(all="call", call=lambda kind, flag: kinds.append(kind)):
        y = to_dezero(tree, x)
        underflowed = "underflow" in kinds
        kinds.clear()
        (g,) = gradient_arrays(y, [x], watch=sums)
        g = np.float64(0.0) if g is None else g
        report = [("x", x, g)]
        underflowed = underflowed or "underflow" in kinds
        if underflowed or sums:
            ((_, _, g),) = checked_report(y, report, lambda note: None, "?", underflowed)
        elif kinds:  # the pass overflowed, or met nan
            ((_, _, g),) = finite_again(y, report, lambda note: None)
    return float(y.data), None if g is None else float(g)


def test_values_and_first_derivatives_of_random_expressions_match_mpmath():
    rng = random.Random(20261206)
    cases, checked, refused, failures = 0, [0, 0], 0, []
    for _ in range(FIRST_ORDER_CASES):
        tree = random_tree(rng, rng.randint(1, 7))
        x0 = round(rng.uniform(-2.0, 2.0), 4)
        if any(abs(a) < 1e-3 or not math.isfinite(a) for a in kink_arguments(tree, x0)):
            continue  # too close to a kink of abs or relu for mpmath's differences
        if not _representable(tree, x0):
            continue
        try:
            exact, jittered = _references(tree, x0, 1, rng)
        except (ValueError, ZeroDivisionError, OverflowError):
            continue  # outside the domain
        cases += 1
        reported = _reported(tree, x0)
        for k in (0, 1):
            if not _usable(exact[k], jittered[k]):
                continue
            if reported[k] is None:
                refused += 1  # not shown, with the reason: it could not be vouched for
                continue
            if exact[k] == 0 and 0 < abs(reported[k]) < 1e-200:
                continue  # 1 - 10^-205 is 1 to mpmath's 30 digits: its 0 is no reference
            if k == 1 and 0 < abs(exact[1]) < 1e-25 and not _above_noise(tree, x0, exact[1]):
                exact[k] = mpmath.mpf(0)  # mpmath's differences at 30 digits, around a 0
            checked[k] += 1
            scale = float(abs(exact[0])) if k == 1 else 0.0
            if not _close(reported[k], exact[k], scale):
                what = "value" if k == 0 else "d/dx"
                failures.append(
                    f"{what} of {describe(tree)} at x = {x0}: mpmath "
                    f"{mpmath.nstr(exact[k], 17)}, dezero {reported[k]!r}"
                )
    assert failures == [], "\n".join(failures[:10])
    assert cases >= 0.8 * FIRST_ORDER_CASES  # the others: outside the domain, or overflowing
    assert checked[0] >= 0.9 * cases and checked[1] >= 0.85 * cases
    assert refused <= 0.01 * cases


def test_statements_report_what_mpmath_finds_through_a_named_part():
    # As a user writes it: x = x0, u = a part of the expression, w = the expression with u in
    # that part's place. The report of w reaches x directly and through u, whose own
    # gradient the ledger remembers (ledger.py): ∂w/∂x must be the whole derivative.
    rng = random.Random(61206)
    checked, refused, failures = 0, 0, []
    for _ in range(STATEMENT_CASES):
        tree = random_tree(rng, rng.randint(2, 7))
        parts = subtrees(tree)[1:]
        x0 = round(rng.uniform(-2.0, 2.0), 4)
        if not parts or any(
            abs(a) < 1e-3 or not math.isfinite(a) for a in kink_arguments(tree, x0)
        ):
            continue
        if not _representable(tree, x0):
            continue
        try:
            exact, jittered = _references(tree, x0, 1, rng)
        except (ValueError, ZeroDivisionError, OverflowError):
            continue
        if not (_usable(exact[0], jittered[0]) and _usable(exact[1], jittered[1])):
            continue
        part = rng.choice(parts)
        source = f"x = {x0!r}\nu = {to_text(part)}\nw = {to_text(tree, {id(part): 'u'})}"
        calc = Calculator(as_json=True)
        w = calc.json(source)[-1]
        value, slope = w.get("value"), w.get("grad", {}).get("x")
        if slope is None and any("∂/∂x is not shown" in m for m in w.get("warnings", [])):
            refused += 1  # with the reason: it could not be vouched for
            continue
        checked += 1
        scale = float(abs(exact[0]))
        numbers = isinstance(value, float) and isinstance(slope, float)  # not "inf" nor absent
        if not (numbers and _close(value, exact[0], 0.0) and _close(slope, exact[1], scale)):
            failures.append(
                f"{source!r}: mpmath {mpmath.nstr(exact[0], 17)}, {mpmath.nstr(exact[1], 17)}; "
                f"the calculator {value!r}, ∂/∂x = {slope!r} ({w})"
            )
    assert failures == [], "\n".join(failures[:10])
    assert checked >= 0.5 * STATEMENT_CASES
    assert refused <= 0.01 * checked


def test_taylor_mode_to_order_60_matches_mpmath():
    stats = _run(HIGH_ORDER_CASES, [60, 40, 25], seed=60, nested=False)
    assert stats["failures"] == [], "\n".join(stats["failures"][:10])
    # sinh, cosh and exp2 make more of these orders overflow float64 than the functions
    # before them did: 75% of the orders are checked at this seed, 85% before them
    assert stats["checked"] >= 0.7 * (60 + 40 + 25) / 3 * stats["cases"]
    assert stats["refused"] <= 0.1 * stats["checked"]


def _torch_derivatives(torch, tree: tuple, x0: float, order: int) -> list[float]:
    """Derivatives by PyTorch's nested reverse mode (torch.autograd.grad, create_graph)."""
    ops = {
        "neg": lambda a: -a, "sin": torch.sin, "cos": torch.cos, "tan": torch.tan,
        "tanh": torch.tanh, "exp": torch.exp, "sigmoid": torch.sigmoid, "abs": torch.abs,
        "relu": torch.relu, "square": lambda a: a**2, "log": lambda a, c: torch.log(a),
        "log2": lambda a, c: torch.log2(a), "log10": lambda a, c: torch.log10(a),
        "sqrt": lambda a, c: torch.sqrt(a), "pow_real": lambda a, c: a**c,
        "pow_var": lambda a, c: a ** (a * c), "const_pow": lambda a, c: abs(c) ** a,
        "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b, "add_const": lambda a, c: a + c,
        "mul_const": lambda a, c: a * c, "div_const": lambda a, c: a / c,
        "const_div": lambda a, c: c / a,
        "sinh": torch.sinh, "cosh": torch.cosh, "atan": torch.atan, "asinh": torch.asinh,
        "asin": torch.asin, "acos": torch.acos, "atanh": torch.atanh, "atan2": torch.atan2,
        "hypot": torch.hypot, "exp2": torch.exp2,
        "cbrt": lambda a: torch.sign(a) * torch.abs(a) ** (1 / 3),
        "acosh": lambda a, c: torch.acosh(a + 1.5),
        "log_base": lambda a, c: torch.log(a) / torch.log(torch.tensor(abs(c) + 1.5)),
        "erf": torch.erf, "erfc": torch.erfc, "plus_floor": lambda a: a + torch.floor(a),
        "lgamma": lambda a, c: torch.lgamma(a + 0.1),
        "digamma": lambda a, c: torch.digamma(a + 0.5),
        "gamma": lambda a, c: torch.exp(torch.lgamma(1.5 - 1 / (1 + a))),
        "maximum": torch.maximum, "minimum": torch.minimum,
        "mod_const": lambda a, c: torch.remainder(a, c),
        "choose": lambda a, b: torch.where(a > 0, a, b),
    }  # fmt: skip

    def evaluate(t: tuple, x: Any) -> Any:
        if t[0] == "x":
            return x
        return ops[t[0]](*[evaluate(a, x) if isinstance(a, tuple) else a for a in t[1:]])

    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    y = evaluate(tree, x)
    values = [y.item()]
    for _ in range(order):
        g = None
        if y.requires_grad:
            (g,) = torch.autograd.grad(y, x, create_graph=True, allow_unused=True)
        y = g if g is not None else torch.zeros((), dtype=torch.float64)
        values.append(y.item())
    return values


def test_wherever_pytorch_matches_mpmath_taylor_mode_does_too():
    """Wherever PyTorch's nested reverse mode matches mpmath, Taylor mode must too: PyTorch
    itself as the judge (run where torch is installed; DEZERO_TORCH_CASES sets the count)."""
    torch = pytest.importorskip("torch")
    rng = random.Random(1204)
    cases = int(os.environ.get("DEZERO_TORCH_CASES", "1000"))
    checked = failures = 0
    messages = []
    for case in range(cases):
        order = 1 + case % 10
        tree = random_tree(rng, rng.randint(1, 7))
        x0 = round(rng.uniform(-2.0, 2.0), 4)
        if any(abs(a) < 1e-3 or not math.isfinite(a) for a in kink_arguments(tree, x0)):
            continue
        try:
            exact = _exact(tree, x0, order)
        except (ValueError, ZeroDivisionError, OverflowError):
            continue
        theirs = _torch_derivatives(torch, tree, x0, order)
        ours, _ = _taylor_derivatives(tree, x0, order)
        for k in range(1, order + 1):
            scale = float(max(abs(e) for e in exact[:k]))
            if not (mpmath.isfinite(exact[k]) and _close(theirs[k], exact[k], scale)):
                continue  # PyTorch does not reach it
            checked += 1
            if not _close(ours[k], exact[k], scale):
                failures += 1
                messages.append(f"d^{k} {describe(tree)} at {x0}: {ours[k]!r} vs {exact[k]}")
    assert failures == 0, "\n".join(messages[:10])
    assert checked >= 4 * cases


# ---------------------------------------------------------------------------
# Integrals of random expressions (dezero.quadrature) against mpmath.quad
# ---------------------------------------------------------------------------

INTEGRAL_CASES = int(os.environ.get("DEZERO_INTEGRAL_CASES", "60"))


def _has_kinks(tree: tuple) -> bool:
    if tree[0] in KINKED or tree[0] in JUMPS or tree[0] in ("atan2", "hypot"):
        return True
    return any(isinstance(a, tuple) and _has_kinks(a) for a in tree[1:])


def test_integrals_of_random_expressions_and_their_bound_derivatives_match_mpmath():
    """∫_a^b f(t) dt of a random smooth f against mpmath.quad at 30 digits, to 1e-10 of ∫|f|;
    its derivative in b against f(b) and in a against -f(a), to 1e-9."""
    from dezero.quadrature import NotConverged, integrate

    rng = random.Random(2026_12_04)
    checked, left_out, failures = 0, 0, []
    for _ in range(INTEGRAL_CASES):
        tree = random_tree(rng, rng.randint(1, 5))
        if _has_kinks(tree):
            continue  # mpmath's tanh-sinh rule is not exact across a kink either
        a, b = round(rng.uniform(-1.5, 0.0), 3), round(rng.uniform(0.2, 1.5), 3)
        try:
            with mpmath.workdps(30):
                pieces = mpmath.linspace(a, b, 9)
                f = functools.partial(to_mpmath, tree)
                exact, error = mpmath.quad(f, pieces, error=True)
                scale = mpmath.quad(lambda t, f=f: abs(f(t)), pieces)
                ends = [to_mpmath(tree, mpmath.mpf(a)), to_mpmath(tree, mpmath.mpf(b))]
        except (ValueError, ZeroDivisionError, OverflowError):
            continue
        if not all(mpmath.isfinite(v) and abs(v) < 1e100 for v in (exact, scale, *ends)):
            continue
        if error > 1e-15 * scale:
            continue  # mpmath cannot vouch for its own answer (a fast oscillation, say)
        lo, hi = Variable(np.array(a)), Variable(np.array(b))
        try:
            with np.errstate(all="ignore"):
                value = integrate(lambda t, tree=tree: to_dezero(tree, t), lo, hi)
                ga, gb = gradients(value, [lo, hi])
        except (NotConverged, ValueError):
            left_out += 1
            continue
        checked += 1
        wrong = []
        if abs(float(value.data) - exact) > 1e-10 * max(scale, 1e-300):
            wrong.append(f"value {float(value.data)!r} vs {mpmath.nstr(exact, 17)}")
        for name, got, want in (("d/da", ga, -ends[0]), ("d/db", gb, ends[1])):
            if abs(float(got.data) - want) > 1e-9 * max(abs(want), scale):
                wrong.append(f"{name} {float(got.data)!r} vs {mpmath.nstr(want, 17)}")
        if wrong:
            failures.append(f"∫ {describe(tree)} over [{a}, {b}]: " + "; ".join(wrong))
    assert checked >= INTEGRAL_CASES // 3, (checked, left_out)
    assert left_out <= checked // 10, (checked, left_out)
    assert failures == []
