"""Fuzzing: whatever text arrives, the calculator answers with a value or one error line.

Three kinds of input, all driven through the one evaluation path (``Runner``) in process:

* programs that follow the grammar, with random nesting, names, arrays, calls, user
  functions, primes and commands (``:plot`` among them);
* token soup: the grammar's terminals in random order;
* random text: any code point (NUL, control characters, unpaired surrogates, right-to-left
  marks, ...), and a few lines of a megabyte.

For every statement of every example: nothing escapes the runner, each error is one line
(three when rendered with its source line and caret), a failing statement leaves every
variable, function and mode as it was, and no example takes more than a few seconds.
A last handful of examples goes through a real process, as bytes that need not be UTF-8.

The number of examples run is shown at the end of ``pytest`` (see conftest.py).
"""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import warnings
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dezero_repl.errors import CalcError
from dezero_repl.evaluator import Session
from dezero_repl.output import HumanOutput, JsonOutput
from dezero_repl.runner import Runner
from dezero_repl.sources import QuitRequested
from dezero_repl.vocabulary import BUILTINS, CONSTANTS, SPECIAL_FORMS

pytestmark = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")

#: Examples per test; together at least 10,000 per run (checked by the last test).
EXAMPLES = {
    "programs": 3000,
    "soup": 3400,
    "text": 3400,
    "plots": 300,
    "megabyte": 3,
    "process": 12,
}
#: No example may take longer than this (generous: the machine may be busy).
EXAMPLE_SECONDS = 10.0
#: Arrays are kept small while fuzzing, so that each example stays fast.
FUZZ_MEMORY_LIMIT = 64 << 20


def fuzz(kind: str, share: int = 1) -> settings:
    """Settings for ``EXAMPLES[kind] // share`` examples, timed by our own bound."""
    return settings(
        max_examples=EXAMPLES[kind] // share,
        deadline=None,  # each example is bounded below, by a timer signal
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# ---------------------------------------------------------------------------
# Checking one example
# ---------------------------------------------------------------------------


class Hung(BaseException):
    """An example ran past its time bound (a BaseException, so no handler swallows it)."""


@contextmanager
def time_bound(seconds: float):
    def expire(signum, frame):
        raise Hung(f"an example took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class RecordingOutput:
    """Passes everything to a real output, and keeps the errors for inspection."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.errors: list[CalcError] = []
        self.draws = inner.draws

    def result(self, text, outcome) -> None:
        for message in outcome.warnings:
            assert len(message.splitlines()) == 1, message
        self.inner.result(text, outcome)

    def error(self, source_name, source, offset, error, statement="") -> None:
        self.errors.append(error)
        self.inner.error(source_name, source, offset, error, statement)

    def warning(self, message: str) -> None:
        self.inner.warning(message)

    def notice(self, message: str) -> None:
        self.inner.notice(message)


def snapshot(session: Session) -> dict[str, Any]:
    """Everything a failing statement must leave alone."""
    return {
        "variables": {n: (v, np.array(v.data, copy=True)) for n, v in session.variables.items()},
        "functions": dict(session.functions),
        "last": session.last,
        "modes": (session.grad_enabled, session.precision),
        "log": (len(session.log), session.log[-1] if session.log else None),
    }


def assert_unchanged(before: dict[str, Any], session: Session, statement: str) -> None:
    after = snapshot(session)
    where = f"after the failing statement {statement!r}"
    assert after["variables"].keys() == before["variables"].keys(), where
    for name, (variable, data) in before["variables"].items():
        now, now_data = after["variables"][name]
        assert now is variable, f"{name} was rebound {where}"
        assert np.array_equal(now_data, data, equal_nan=True), f"{name} changed {where}"
    assert after["functions"] == before["functions"], where
    assert after["last"] is before["last"], where
    assert after["modes"] == before["modes"], where
    assert after["log"] == before["log"], where


class CheckingRunner(Runner):
    """A Runner that checks the invariants around every statement it runs."""

    def run_statement(self, text: str, source: str, name: str, offset: int) -> bool:
        before = snapshot(self.session)
        errors_before = len(self.output.errors)
        ok = super().run_statement(text, source, name, offset)
        new_errors = self.output.errors[errors_before:]
        if ok:
            assert not new_errors, (text, new_errors)
        else:
            assert_unchanged(before, self.session, text)
            assert len(new_errors) == 1, (text, new_errors)
        for error in new_errors:
            check_error(error, source, offset, name)
        return ok


def check_error(error: CalcError, source: str, offset: int, name: str) -> None:
    """One line of message; rendered, one line or exactly three; never an internal fault."""
    assert error.kind != "InternalError", error.message
    assert "\n" not in error.message
    assert len(error.message.splitlines()) == 1, repr(error.message)
    stream = io.StringIO()
    HumanOutput(io.StringIO(), stream).error(name, source, offset, error)
    rendered = stream.getvalue()
    assert rendered.endswith("\n")
    lines = rendered[:-1].split("\n")
    assert len(lines) in (1, 3), rendered
    for line in lines:
        assert len(line.splitlines()) <= 1, repr(line)


def run_example(
    source: str, as_json: bool = False, seconds: float = EXAMPLE_SECONDS
) -> list[CalcError]:
    """Run ``source`` in a fresh session, checking every statement and what was written;
    return the errors reported."""
    session = Session()
    out, err = io.StringIO(), io.StringIO()
    inner = JsonOutput(out) if as_json else HumanOutput(out, err, precision=lambda: 6)
    output = RecordingOutput(inner)
    runner = CheckingRunner(session, output, keep_going=True)
    session.memory_limit = FUZZ_MEMORY_LIMIT
    try:
        with time_bound(seconds), warnings.catch_warnings(record=True) as escaped:
            warnings.simplefilter("always")
            runner.run_source(source, "<fuzz>")
    except QuitRequested:
        pass
    except Hung as e:  # an AssertionError, so that Hypothesis reports the example
        raise AssertionError(f"{e}: {source[:120]!r}...") from None
    assert not [str(w.message) for w in escaped], "a Python warning would reach stderr"
    if as_json:
        for line in out.getvalue().split("\n")[:-1]:  # JSON Lines end each object with \n
            assert isinstance(json.loads(line), dict), line
    else:
        assert "Traceback" not in err.getvalue()
    return output.errors


# ---------------------------------------------------------------------------
# What fuzzing found: each of these was a traceback, an internal error or a broken line
# ---------------------------------------------------------------------------

FOUND = {
    "taylor-of-an-array-valued-function": (
        "f(x) = taylor(sin, 0, 0)\ntaylor(f, 0, 2)",
        "taylor needs a function that returns a number",
    ),
    "taylor-around-a-function": (
        "f(t) = t\ntaylor(sin, f', 0)",
        "'f'' is a function: call it, e.g. f'(x), before using it with taylor()",
    ),
    "derivative-of-a-function-value": (
        "f(t) = t\nf'(sin)",
        "'sin' is a function: call it, e.g. sin(x), before using it with f'()",
    ),
    "gradient-at-a-function-value": (
        "g(a, b) = a * b\ngrad(g)(sin, 1)",
        "'sin' is a function: call it, e.g. sin(x), before using it with grad(g)()",
    ),
    "function-returning-a-function": (
        "h(u) = zeros\nminimize(h, [1])",
        "h returns the function zeros, not a number",
    ),
    "matrix-in-a-message": (
        "m = [[1, 2], [3, 4]]\n0[:m]",
        "a slice bound must be a whole number, got [[1 2] [3 4]]",
    ),
    "slice-step-zero": ("[1, 2][::0]", "a slice step cannot be zero"),
    "array-of-65-dimensions": (
        "[" * 65 + "1" + "]" * 65,
        "array nested too deeply (limit 32 dimensions)",
    ),
    "control-characters-in-a-message": (
        ":nograd a\rb\x0bc\x1b[2J",
        "':nograd a\\rb\\x0bc\\x1b[2J': expected 'on' or 'off'",
    ),
    "plot-range-too-wide": (
        ":plot sin(x) for x in -1e308..1e308",
        "':plot' range -1e+308..1e+308 is too wide",
    ),
    "linspace-broadcast-over-the-limit": (
        "linspace(reshape(zeros(10000), [10000, 1]), 1, 10000)",
        "linspace would need 2.2 GiB for 3 arrays of shape (10000, 10000), over the "
        "statement's memory budget of 64.0 MiB",
    ),
    "index-arrays-broadcast-over-the-limit": (
        "[1, 2][zeros([10000, 1]), zeros([1, 10000])]",
        "this index would need 762.9 MiB for an array of shape (10000, 10000), over the "
        "statement's memory budget of 64.0 MiB",
    ),
}


@pytest.mark.parametrize(("source", "message"), FOUND.values(), ids=FOUND.keys())
@pytest.mark.parametrize("as_json", [False, True], ids=["human", "json"])
def test_what_fuzzing_found_is_one_clear_error(source, message, as_json):
    errors = run_example(source, as_json)
    assert [e.message for e in errors] == [message]


def test_non_finite_numbers_in_json_extras_are_strings():
    out = io.StringIO()
    Runner(Session(), JsonOutput(out)).run_source("taylor(sin, 1e308 * 10, 2)", "<fuzz>")
    (line,) = out.getvalue().splitlines()
    assert json.loads(line)["taylor"] == {"around": "inf", "order": 2}


# ---------------------------------------------------------------------------
# Programs that follow the grammar
# ---------------------------------------------------------------------------

VARIABLES = ["x", "y", "z", "a", "b", "v", "m", "t", "x_1", "Z9"]
USER_FUNCTIONS = ["f", "g", "h"]
CALLABLES = [*BUILTINS, *SPECIAL_FORMS, *USER_FUNCTIONS]
NUMBERS = ["0", "1", "2", "3", "0.5", ".5", "2.", "1e3", "1e-3", "1e308", "1e-320", "6.02E23"]

numbers = st.one_of(
    st.sampled_from(NUMBERS),
    st.integers(0, 10**6).map(str),
    st.floats(0, 1e300, allow_nan=False, allow_infinity=False).map(repr),
)
names = st.sampled_from([*VARIABLES, *CONSTANTS, "ans", "_", *USER_FUNCTIONS, *BUILTINS])
primed = st.builds(
    lambda n, k: n + "'" * k, st.sampled_from(["f", "g", "sin", "exp"]), st.integers(1, 3)
)


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    args = st.lists(inner, min_size=0, max_size=3).map(", ".join)
    bound = st.one_of(st.just(""), inner)
    return st.one_of(
        st.builds(
            "{} {} {}".format,
            inner,
            st.sampled_from(
                [
                    "+",
                    "-",
                    "*",
                    "/",
                    "@",
                    "**",
                    "^",
                    "%",
                    "//",
                    "<",
                    "<=",
                    ">",
                    ">=",
                    "==",
                    "!=",
                    "and",
                    "or",
                ]
            ),
            inner,
        ),
        st.builds("{}{}".format, st.sampled_from(["-", "+", "--", "not "]), inner),
        inner.map("{}!".format),
        st.builds("{}{}".format, st.sampled_from(["2", "0.5", "3e2"]), inner.map("({})".format)),
        st.builds("{}{}".format, st.sampled_from(["2", ".5"]), st.sampled_from(VARIABLES)),
        st.builds("(if {} then {} else {})".format, inner, inner, inner),
        st.builds(
            "{}({} for k in {}..{})".format,
            st.sampled_from(["sum", "prod", "max"]),
            inner,
            st.sampled_from(["1", "-2", "0.5", "x"]),
            st.sampled_from(["3", "10", "0", "1e3"]),
        ),
        st.builds(
            "integrate({}, t, {}, {})".format,
            inner,
            st.sampled_from(["0", "-1", "-inf", "x"]),
            st.sampled_from(["1", "inf", "2", "y"]),
        ),
        inner.map("({})".format),
        st.lists(inner, min_size=0, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.builds("{}({})".format, st.one_of(st.sampled_from(CALLABLES), primed), args),
        st.builds(
            "{}({})({})".format,
            st.sampled_from(["grad", "hessian"]),
            st.sampled_from(["f", "g", "sin"]),
            args,
        ),
        st.builds("{}[{}]".format, inner, st.lists(inner, min_size=1, max_size=2).map(", ".join)),
        st.builds("{}[{}:{}]".format, inner, bound, bound),
        st.builds("{}[::{}]".format, inner, inner),
        inner.map("{}.T".format),
        st.builds(
            "diff({}, {}, {})".format,
            inner,
            st.sampled_from(VARIABLES[:3]),
            st.sampled_from(["0", "1", "2", "3"]),
        ),
        st.builds(
            "taylor({}, {}, {})".format,
            st.sampled_from(["sin", "exp", "f"]),
            inner,
            st.sampled_from(["0", "2", "5"]),
        ),
        st.builds(
            "{}({}, {})".format,
            st.sampled_from(["solve", "minimize"]),
            st.sampled_from(["f", "g", "cos", "h"]),
            inner,
        ),
    )


expressions = st.recursive(st.one_of(numbers, names, primed), _extend, max_leaves=8)

commands = st.one_of(
    st.sampled_from(
        [
            ":vars",
            ":funcs",
            ":nograd",
            ":nograd on",
            ":nograd off",
            ":precision 3",
            ":precision off",
            ":precision 99",
            ":reset",
            ":help",
            ":help sin",
            ":help nothing",
            ":del",
            ":bogus",
            ":",
            ":quit",
        ]
    ),  # fmt: skip
    st.builds(
        ":del {}".format,
        st.lists(st.sampled_from([*VARIABLES, *USER_FUNCTIONS]), min_size=1, max_size=3).map(
            " ".join
        ),
    ),
    st.builds(":graph {}".format, expressions),
)

statements = st.one_of(
    expressions,
    st.builds(
        "{} = {}".format, st.sampled_from([*VARIABLES, "pi", "ans", "sin", "f"]), expressions
    ),
    st.builds(
        "{}({}) = {}".format,
        st.sampled_from(USER_FUNCTIONS),
        st.lists(st.sampled_from(VARIABLES[:6]), min_size=1, max_size=3, unique=True).map(
            ", ".join
        ),
        expressions,
    ),
    commands,
)

SETUP = "x = 2\ny = [1, 2, 3]\nm = [[1, 2], [3, 4]]\nf(t) = t ** 2 + sin(t)\n"
SETUP_MORE = SETUP + "g(a, b) = a * b + sin(b)\nh(u) = [u, u ** 2]\nz = x * y\n:nograd\n"

programs = st.builds(
    lambda setup, body, separators: setup + "".join(s + sep for s, sep in zip(body, separators)),
    st.sampled_from(["", SETUP, SETUP_MORE]),
    st.lists(statements, min_size=1, max_size=6),
    st.lists(st.sampled_from(["\n", "; ", "\n\n", " # note\n"]), min_size=6, max_size=6),
)


@pytest.mark.parametrize("as_json", [False, True], ids=["human", "json"])
@fuzz("programs", share=2)
@given(source=programs)
def test_grammar_programs_give_values_or_one_line_errors(as_json, source, fuzz_examples):
    fuzz_examples["programs"] += 1
    run_example(source, as_json)


plots = st.builds(
    ":plot {}{}".format,
    st.lists(expressions, min_size=1, max_size=3).map(", ".join),
    st.sampled_from(
        [
            "",
            " for x in 0..1",
            " for t in -1e308..1e308",
            " for x in 1..1",
            " for x in 5..-5",
            " for y in 0..1e300",
            " for x in 0..",
            " for x in a..b",
            " for x in -inf..0",
        ]
    ),  # fmt: skip
)


@fuzz("plots")
@given(setup=st.sampled_from(["", SETUP]), plot=plots, as_json=st.integers(0, 9))
def test_plot_commands_give_plots_or_one_line_errors(setup, plot, as_json, fuzz_examples):
    fuzz_examples["plots"] += 1
    run_example(setup + plot, as_json=as_json > 0)  # drawing as text is slow: one in ten


# ---------------------------------------------------------------------------
# Token soup: the grammar's terminals in any order
# ---------------------------------------------------------------------------

TERMINALS = [
    *NUMBERS, "1e", "1e+", "..5", "0x1F", *VARIABLES[:4], *USER_FUNCTIONS, *list(BUILTINS)[:8],
    *SPECIAL_FORMS, "pi", "e", "ans", "_", "__x", "__import__", "f'", "f''", "'", "+", "-", "*",
    "/", "@", "**", "^", "=", "(", ")", "[", "]", ",", ":", ".", ".T", ".x", ";", "\n", " ",
    "\t", "# note", ":vars", ":nograd", ":del x", ":help", ":precision 2", ":reset", ":zz",
    "%", "//", "!", "<", "<=", "==", "!=", ">", " if ", " then ", " else ", " and ", " or ",
    "not ", " for ", " in ", "..", "2x", "3(", "integrate(", "sum(", "inf",
]  # fmt: skip

soup = st.lists(st.sampled_from(TERMINALS), min_size=1, max_size=30).map("".join)


@fuzz("soup")
@given(source=soup, as_json=st.booleans())
def test_token_soup_gives_values_or_one_line_errors(source, as_json, fuzz_examples):
    fuzz_examples["soup"] += 1
    run_example(source, as_json)


# ---------------------------------------------------------------------------
# Random text: any code point at all
# ---------------------------------------------------------------------------

AWKWARD = [
    "\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\r", "\x1b", "\x1b[2J", "\x7f", "\x85",
    "\u00a0", "\u2028", "\u2029", "\u200b", "\u200e", "\u200f", "\u202e", "\u2066", "\ufeff",
    "\ufffd", "\ud800", "\udbff", "\udc00", "\udfff", "\U0001f600", "é", "∂", "１", "٣",
]  # fmt: skip

characters = st.one_of(
    st.sampled_from(AWKWARD),
    st.sampled_from(TERMINALS),
    st.characters(codec=None, exclude_categories=()),  # surrogates included
)
text = st.lists(characters, max_size=40).map("".join)


@fuzz("text")
@given(source=text, as_json=st.booleans())
def test_random_text_gives_values_or_one_line_errors(source, as_json, fuzz_examples):
    fuzz_examples["text"] += 1
    run_example(source, as_json)


# ---------------------------------------------------------------------------
# Lines of a megabyte
# ---------------------------------------------------------------------------

MEGABYTE = 1 << 20


def one_long_line(unit: str) -> str:
    """``unit`` repeated into a single line of a megabyte (one million characters or more)."""
    unit = unit.replace("\n", " ") or " "
    return unit * (MEGABYTE // len(unit) + 1)


@settings(fuzz("megabyte"), phases=[Phase.explicit, Phase.reuse, Phase.generate])  # no shrinking
@given(source=st.one_of(text, soup).map(one_long_line))
def test_megabyte_lines_give_values_or_one_line_errors(source, fuzz_examples):
    fuzz_examples["megabyte"] += 1
    run_example(source, seconds=60.0)


# ---------------------------------------------------------------------------
# A real process, fed bytes that need not be UTF-8
# ---------------------------------------------------------------------------

raw_input = st.one_of(
    st.binary(max_size=300),
    programs.map(lambda s: s.encode("utf-8")),
    text.map(lambda s: s.encode("utf-8", "surrogatepass")),  # unpaired surrogates: not UTF-8
)


@fuzz("process")
@given(data=raw_input, as_json=st.booleans())
def test_process_answers_any_bytes_without_a_traceback(data, as_json, cli_env, fuzz_examples):
    fuzz_examples["process"] += 1
    args = ["--keep-going", "--memory-limit", "64MiB", *(["--json"] if as_json else [])]
    proc = subprocess.run(
        [sys.executable, "-m", "dezero_repl", *args],
        input=data,
        capture_output=True,
        env=cli_env,
        timeout=120,
    )
    assert proc.returncode in (0, 1), proc.stderr
    stdout = proc.stdout.decode("utf-8")
    stderr = proc.stderr.decode("utf-8")
    assert "Traceback" not in stdout + stderr
    if as_json:
        assert stderr == ""
        for line in stdout.split("\n")[:-1]:
            assert isinstance(json.loads(line), dict), line
    else:
        for line in stderr.splitlines():
            assert line.startswith(("<stdin>:", "dezero-repl: ", "warning: ", "  ")), line
    assert (proc.returncode == 1) == (b'"error"' in proc.stdout if as_json else "error:" in stderr)


# ---------------------------------------------------------------------------
# The budget
# ---------------------------------------------------------------------------

FUZZ_TESTS = (
    "test_grammar_programs_give_values_or_one_line_errors",
    "test_plot_commands_give_plots_or_one_line_errors",
    "test_token_soup_gives_values_or_one_line_errors",
    "test_random_text_gives_values_or_one_line_errors",
    "test_megabyte_lines_give_values_or_one_line_errors",
    "test_process_answers_any_bytes_without_a_traceback",
)


def test_at_least_ten_thousand_examples_ran(request, fuzz_examples):
    ran = {item.originalname for item in request.session.items}
    if not ran.issuperset(FUZZ_TESTS):
        pytest.skip("only some of the fuzz tests were selected")
    assert sum(fuzz_examples.values()) >= 10_000, dict(fuzz_examples)
