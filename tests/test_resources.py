"""Hostile statements at the default memory budget, each in a process of its own, measured.

Every case runs the calculator under a hard address-space limit (RLIMIT_AS, as
``prlimit --as`` sets it), so that a budget that failed would end in the kernel's refusal
rather than in swapping, and reads the process's peak resident memory from ``wait4``. No
statement may take more than 1.5 times the budget above what the process held before it
(its start-up and the arrays earlier statements stored), and each refusal is one line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

import mpmath
import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads peak RSS from wait4")

GIB = 1 << 30
BUDGET = GIB  # the default
#: The hard limit on address space: the budget's 1.5, the stored arrays, and room to spare.
ADDRESS_SPACE = 4 * GIB


def run(env: dict[str, str], *args: str) -> tuple[int, str, str, int]:
    """Run the calculator; return its exit code, stdout, stderr and peak RSS in bytes."""

    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dezero_repl", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            preexec_fn=limit,
        )
        _, status, usage = os.wait4(proc.pid, 0)  # not proc.wait(): it would not say usage
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read().decode(), err.read().decode(), usage.ru_maxrss * 1024


@pytest.fixture(scope="module")
def start_up(cli_env) -> int:
    """The peak RSS of a run that computes 1 + 1."""
    code, out, _, peak = run(cli_env, "-e", "1 + 1")
    assert (code, out) == (0, "2\n")
    return peak


def assert_within(peak: int, start_up: int, stored: int = 0) -> None:
    allowed = start_up + stored + 1.5 * BUDGET
    assert peak <= allowed, f"peak {peak / 2**20:.0f} MiB, allowed {allowed / 2**20:.0f} MiB"


def assert_refused(code: int, err: str, message: str) -> None:
    assert code == 1
    assert "Traceback" not in err
    first, *rest = err.splitlines()
    assert message in first, first
    assert len(rest) == 2  # the statement and the caret under it


NESTED = "sin(" * 20 + "x" + ")" * 20


def test_twenty_nested_sines_on_ten_million_are_refused_within_the_budget(cli_env, start_up):
    code, out, err, peak = run(cli_env, "-e", "x = ones(10**7)", "-e", f"y = {NESTED}")
    assert out == "x = [1 1 1 ... 1 1 1]\n"
    assert_refused(code, err, "this statement needs more than its memory budget of 1.0 GiB")
    assert_within(peak, start_up, stored=80_000_000)


@pytest.mark.parametrize("call", ["erfc(10*x)", "digamma(-10*x)", "lgamma(10*x)"])
def test_special_functions_ask_for_their_working_arrays_before_they_start(cli_env, start_up, call):
    # erfc's repair and digamma's reflection take up to 11 arrays of their argument's size
    # before their value exists, where the budget would see it: erfc of 6·10^6 elements
    # grew 492 MiB under a budget of 200 MiB.
    budget = 200 << 20
    code, out, err, peak = run(
        cli_env, "--memory-limit", "200MiB", "-e", "x = linspace(0.1, 1, 6*10**6)", "-e", call
    )
    assert_refused(code, err, "this statement needs more than its memory budget of 200.0 MiB")
    assert peak <= start_up + 2 * 48_000_000 + 1.5 * budget  # x and 10*x, then the budget


def test_a_high_derivative_over_a_large_array_is_refused_before_it_is_paid(cli_env, start_up):
    code, _, err, peak = run(cli_env, "-e", "x = ones(10**6)", "-e", "diff(sin(x), x, 32)")
    assert_refused(
        code,
        err,
        "the derivative of order 32 would hold about 4.1 GiB of Taylor coefficients, over "
        "the statement's memory budget of 1.0 GiB",
    )
    assert peak <= start_up + 64 * 2**20  # the forecast came first


def test_a_fifth_derivative_over_a_million_elements_fits_and_is_exact(cli_env, start_up):
    code, out, err, peak = run(
        cli_env, "-e", "g(a) = sum(exp(sin(ones(10**6) * a)))", "-e", "g'''''(1)"
    )
    assert (code, err) == (0, "")
    mpmath.mp.dps = 30
    expected = 10**6 * mpmath.diff(lambda a: mpmath.exp(mpmath.sin(a)), 1, 5)
    assert float(out.splitlines()[1]) == pytest.approx(float(expected), rel=1e-9)
    assert_within(peak, start_up)


def test_a_hundred_million_elements_print_summarized_in_json(cli_env, start_up):
    code, out, err, peak = run(cli_env, "--json", "-e", "ones(10**8)")
    assert (code, err) == (0, "")
    assert '"value": {"shape": [100000000], "size": 100000000, "first": [1.0, 1.0, 1.0]' in out
    assert_within(peak, start_up)


def test_adding_to_an_array_of_a_gigabyte_is_one_line(cli_env, start_up):
    code, out, err, peak = run(cli_env, "-e", "x = ones(1.3*10**8)", "-e", "y = x + 1")
    assert out == "x = [1 1 1 ... 1 1 1]\n"
    assert_refused(code, err, "this statement needs more than its memory budget of 1.0 GiB")
    assert_within(peak, start_up, stored=1_040_000_000)


def test_a_sum_over_a_linspace_too_large_is_refused_before_allocating(cli_env, start_up):
    code, _, err, peak = run(cli_env, "-e", "sum(linspace(0, 1, 2 * 10**8) ** 2)")
    assert_refused(code, err, "linspace would need 1.5 GiB for an array of shape (200000000,)")
    assert peak <= start_up + 64 * 2**20
    code, _, err, peak = run(cli_env, "-e", "lo = 0", "-e", "sum(linspace(lo, 1, 10**8) ** 2)")
    assert_refused(code, err, "linspace would need 2.2 GiB for 3 arrays of shape (100000000,)")
    assert peak <= start_up + 64 * 2**20  # with a gradient to report, three arrays


def test_a_linspace_without_gradients_is_made_in_one_array(cli_env, start_up):
    # 400 MB: three arrays of it, as a graph would hold, are more than the 1 GiB budget
    code, out, err, peak = run(cli_env, "-e", "x = linspace(0, 1, 5 * 10**7)")
    assert (code, err) == (0, "") and out.startswith("x = [                    0 2.00000004")
    assert peak <= start_up + 1.25 * 400_000_000


def test_a_hessian_over_large_arrays_stays_within_the_budget(cli_env, start_up):
    code, _, err, peak = run(
        cli_env, "-e", "f(a, b) = sum(exp(sin(ones(10**7) * a * b)))", "-e", "hessian(f)(1, 2)"
    )
    assert_refused(code, err, "this statement needs more than its memory budget of 1.0 GiB")
    assert_within(peak, start_up)


def test_a_loop_over_an_array_holds_a_few_arrays_not_its_history(cli_env, start_up):
    steps = ["-e", "v = v - lr * v"] * 60
    code, out, err, peak = run(cli_env, "-e", "lr = 0.01", "-e", "v = ones(10**6)", *steps)
    assert (code, err) == (0, "")
    # v = (1 - lr)^60 elementwise: the gradient of its sum is -60·10^6·(1 - lr)^59
    last = out.splitlines()[-4:]  # v = ..., the heading, ∂/∂lr, ∂/∂v (the v before)
    assert last[1] == "  gradients of the sum of the elements:"
    reported = float(last[2].removeprefix("  ∂/∂lr = "))
    assert reported == pytest.approx(-60e6 * 0.99**59, rel=1e-12)
    assert peak <= start_up + 200 * 2**20  # it held 1 GB when every iteration was kept


def test_a_long_statement_stops_at_ctrl_c(cli_env):
    long = "y = " + " + ".join(["sum(sin(ones(10**6)))"] * 5000)  # about a minute
    proc = subprocess.Popen(
        [sys.executable, "-m", "dezero_repl", "-e", "x = 1", "-e", long, "-e", "x"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env,
    )
    time.sleep(1.5)
    pressed = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - pressed < 5
    assert (proc.returncode, out, err) == (130, b"x = 1\n", b"interrupted\n")
