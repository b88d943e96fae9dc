"""Performance benchmarks for dezero: graph building, backward passes and memory.

Run from the repository root:

    python benchmarks/bench_core.py          # full sizes, a minute or two
    python benchmarks/bench_core.py --quick  # smaller sizes and fewer repeats, a few seconds

Every time is the best (minimum) of several repeats, with the garbage collector left
enabled, as in ordinary use; ``gc.collect()`` runs between repeats, outside the timed part.
Each figure is printed next to a baseline measured in the same run (the same computation in
plain NumPy, or the smaller size for a growth ratio) and, where there is one, its target
with PASS or FAIL. The machine may be noisy, so the exit status is always 0: the targets are
judged by reading the output, which ends with a one-line summary.

The measurements:

1. a chain of scalar operations on 0-d float64, per operation: forward, backward, and
   backward with ``create_graph=True``; a pure mul/add chain and a mixed one;
2. a wide graph ``x*1 + x*2 + ... + x*N``: backward time and its growth from N to 2N;
3. a chain of 1,000,000 operations: forward + backward time, and no RecursionError;
4. ``F.sum((x + 3) ** 2)`` on 10**7 float64: time and peak memory against NumPy by hand,
   and time against NumPy by hand with the two fresh arrays dezero must allocate;
5. resident memory across many small graphs built, differentiated and dropped;
6. against micrograd (a test extra): a 1,000-operation scalar chain, forward and backward,
   and the backward pass of the wide graph with 20,000 terms.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from time import perf_counter
from typing import Any

import numpy as np

import dezero
import dezero.functions as F
from dezero import Variable
from dezero.core import sum_array

FULL = {
    "repeats": 9,
    "chain_ops": 10_000,
    "wide_terms": (10_000, 20_000),
    "long_ops": 1_000_000,
    "long_repeats": 3,
    "array_size": 10**7,
    "rss_iters": 100_000,
    "peer_chain_ops": 1_000,
    "peer_repeats": 200,
}
QUICK = {
    "repeats": 2,
    "chain_ops": 10_000,
    "wide_terms": (10_000, 20_000),
    "long_ops": 100_000,
    "long_repeats": 2,
    "array_size": 10**6,
    "rss_iters": 10_000,
    "peer_chain_ops": 1_000,
    "peer_repeats": 50,
}
LONG_TARGET_S = 5.0  # forward + backward of 1,000,000 operations
LONG_TARGET_OPS = 1_000_000
MIXED_CYCLE = 10  # operations per turn of the loop in mixed_chain


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------


class Report:
    """Prints one aligned line per figure and keeps count of targets met and missed."""

    def __init__(self) -> None:
        self.section = ""
        self.passed: list[str] = []
        self.failed: list[str] = []

    def title(self, text: str) -> None:
        self.section = text.split()[0]
        print(f"\n{text}")

    def line(
        self,
        label: str,
        value: float,
        unit: str,
        ratio: str = "",
        target: float | None = None,
        slack: float = 0.0,
    ) -> None:
        """Print a figure; with a target, judge ``value <= target + slack``."""
        verdict = ""
        if target is not None:
            ok = value <= target + slack
            (self.passed if ok else self.failed).append(f"{self.section} {label}")
            verdict = f"target <= {target:g}  {'PASS' if ok else 'FAIL'}"
        print(f"    {label:<38} {value:>10.3f} {unit:<7} {ratio:<20} {verdict}".rstrip())

    def flag(self, label: str, ok: bool, detail: str) -> None:
        """Print a yes/no check, such as 'no RecursionError'."""
        (self.passed if ok else self.failed).append(f"{self.section} {label}")
        print(f"    {label:<38} {detail:<39} {'PASS' if ok else 'FAIL'}")

    def error(self, where: str, exc: BaseException) -> None:
        """A measurement that could not finish counts as a failed target."""
        self.failed.append(f"{where} ({type(exc).__name__})")
        print(f"    ERROR in {where}: {type(exc).__name__}: {exc}")

    def summary(self) -> None:
        total = len(self.passed) + len(self.failed)
        failed = "; FAIL: " + ", ".join(self.failed) if self.failed else ""
        print(f"\nSUMMARY: {len(self.passed)}/{total} targets PASS{failed}")


def ratio(value: float, base: float, what: str) -> str:
    return f"{value / base:6.2f}x {what}" if base > 0 else f"  n/a  {what}"


def best_of(repeats: int, run: Callable[[], tuple[float, ...]]) -> tuple[float, ...]:
    """Element-wise minimum over ``repeats`` calls of ``run``; collect garbage between them."""
    best = None
    for _ in range(repeats):
        gc.collect()
        result = run()
        best = result if best is None else tuple(map(min, best, result))
    gc.collect()
    return best


# ---------------------------------------------------------------------------
# 1. Scalar chains
# ---------------------------------------------------------------------------


def mul_add_chain(y, w, n):
    """Alternately multiply and add constants; ``w`` is unused (all builders take it)."""
    for _ in range(n // 2):
        y = y * 1.0001
        y = y + 0.001
    return y


def mul_add_chain_numpy(y, w, n):
    for _ in range(n // 2):
        y = np.asarray(y * 1.0001)
        y = np.asarray(y + 0.001)
    return y


def mixed_chain(y, w, n):
    """Calculator-like operations; ``w`` is a second Variable, so ``y * w`` has two inputs."""
    for _ in range(n // MIXED_CYCLE):
        y = y * 1.0001
        y = y + 0.001
        y = F.sin(y)
        y = y * w
        y = y - 0.2
        y = F.exp(y)
        y = y * 0.5
        y = y + w
        y = y / 1.5
        y = y * y
    return y


def mixed_chain_numpy(y, w, n):
    for _ in range(n // MIXED_CYCLE):
        y = np.asarray(y * 1.0001)
        y = np.asarray(y + 0.001)
        y = np.asarray(np.sin(y))
        y = np.asarray(y * w)
        y = np.asarray(y - 0.2)
        y = np.asarray(np.exp(y))
        y = np.asarray(y * 0.5)
        y = np.asarray(y + w)
        y = np.asarray(y / 1.5)
        y = np.asarray(y * y)
    return y


def time_chain(build: Callable, n: int, create_graph: bool) -> tuple[float, float]:
    """Microseconds per operation to build a chain of ``n`` operations and to backpropagate."""
    x = Variable(np.array(0.5))
    w = Variable(np.array(0.9))
    t0 = perf_counter()
    y = build(x, w, n)
    t1 = perf_counter()
    y.backward(create_graph=create_graph)
    t2 = perf_counter()
    return (t1 - t0) * 1e6 / n, (t2 - t1) * 1e6 / n


def time_chain_numpy(build: Callable, n: int) -> tuple[float]:
    x, w = np.asarray(0.5), np.asarray(0.9)
    t0 = perf_counter()
    build(x, w, n)
    return ((perf_counter() - t0) * 1e6 / n,)


def chain_figures(build: Callable, build_np: Callable, n: int, repeats: int) -> tuple[float, ...]:
    """Best NumPy baseline, forward, backward and create_graph backward, in us per operation.

    Each repeat runs all four, so that a busy spell of the machine hits them alike.
    """

    def run() -> tuple[float, float, float, float]:
        (base,) = time_chain_numpy(build_np, n)
        forward_1, backward = time_chain(build, n, create_graph=False)
        forward_2, backward_graph = time_chain(build, n, create_graph=True)
        return base, min(forward_1, forward_2), backward, backward_graph

    return best_of(repeats, run)


def report_chain(report: Report, name: str, build: Callable, build_np: Callable, cfg) -> None:
    n, repeats = cfg["chain_ops"], cfg["repeats"]
    base, forward, backward, backward_graph = chain_figures(build, build_np, n, repeats)
    report.line(f"{name}: NumPy 0-d baseline", base, "us/op")
    report.line(f"{name}: forward", forward, "us/op", ratio(forward, base, "NumPy"), 2.5)
    report.line(f"{name}: backward", backward, "us/op", ratio(backward, base, "NumPy"), 2.5)
    backward_graph_ratio = ratio(backward_graph, base, "NumPy")
    report.line(f"{name}: backward, create_graph", backward_graph, "us/op", backward_graph_ratio)


def bench_scalar_chain(report: Report, cfg: dict) -> None:
    n = cfg["chain_ops"]
    report.title(f"[1] scalar chain of {n:,} operations on 0-d float64 (best of {cfg['repeats']})")
    report_chain(report, "mul/add", mul_add_chain, mul_add_chain_numpy, cfg)
    report_chain(report, "mixed", mixed_chain, mixed_chain_numpy, cfg)


# ---------------------------------------------------------------------------
# 2. Wide graph
# ---------------------------------------------------------------------------


def wide_sum(x: Variable, n: int) -> Variable:
    """``x*1 + x*2 + ... + x*n``: n separate products, summed left to right."""
    terms = [x * k for k in range(1, n + 1)]
    y = terms[0]
    for term in terms[1:]:
        y = y + term
    return y


def time_wide(n: int) -> tuple[float, float]:
    x = Variable(np.array(1.0))
    t0 = perf_counter()
    y = wide_sum(x, n)
    t1 = perf_counter()
    y.backward()
    t2 = perf_counter()
    assert x.grad.data == n * (n + 1) // 2, "wrong gradient"
    return t1 - t0, t2 - t1


def bench_wide(report: Report, cfg: dict) -> None:
    small, large = cfg["wide_terms"]
    report.title(f"[2] wide graph x*1 + x*2 + ... + x*N (best of {cfg['repeats']})")
    # Both sizes in each repeat, so that a busy spell of the machine hits both alike.
    timings = best_of(cfg["repeats"], lambda: time_wide(small) + time_wide(large))
    build_s, back_s, build_l, back_l = timings
    report.line(f"N = {small:,}: forward", build_s, "s")
    report.line(f"N = {large:,}: forward", build_l, "s", ratio(build_l, build_s, f"N = {small:,}"))
    report.line(f"N = {small:,}: backward", back_s, "s")
    report.line(
        f"N = {large:,}: backward", back_l, "s", ratio(back_l, back_s, f"N = {small:,}"), 0.1
    )
    growth = back_l / back_s
    report.line(f"backward growth t({large:,})/t({small:,})", growth, "x", target=2.5)


# ---------------------------------------------------------------------------
# 3. A very long chain
# ---------------------------------------------------------------------------


def time_long_chain(n: int) -> tuple[float, float, float, float]:
    """Forward, backward, their sum and the teardown of a chain ``y = y + 1``, in seconds."""
    x = Variable(np.array(0.0))
    y = x
    t0 = perf_counter()
    for _ in range(n):
        y = y + 1
    t1 = perf_counter()
    y.backward()
    t2 = perf_counter()
    assert x.grad.data == 1.0 and y.data == n, "wrong value or gradient"
    del y
    t3 = perf_counter()
    return t1 - t0, t2 - t1, t2 - t0, t3 - t2


def time_long_chain_numpy(n: int) -> tuple[float]:
    y = np.asarray(0.0)
    t0 = perf_counter()
    for _ in range(n):
        y = np.asarray(y + 1)
    return (perf_counter() - t0,)


def bench_long_chain(report: Report, cfg: dict) -> None:
    n, repeats = cfg["long_ops"], cfg["long_repeats"]
    target = LONG_TARGET_S * n / LONG_TARGET_OPS
    scaled = "" if n == LONG_TARGET_OPS else f", target scaled from {LONG_TARGET_S:g} s at 1M"
    report.title(f"[3] chain of {n:,} operations y = y + 1 (best of {repeats}{scaled})")
    try:
        timings = best_of(repeats, lambda: time_long_chain_numpy(n) + time_long_chain(n))
        base, forward, backward, total, teardown = timings
    except RecursionError as exc:
        report.flag("no RecursionError", False, f"RecursionError: {exc}")
        return
    report.line("NumPy 0-d baseline", base, "s")
    report.line("forward", forward, "s", ratio(forward, base, "NumPy"))
    report.line("backward", backward, "s", ratio(backward, base, "NumPy"))
    report.line("forward + backward", total, "s", ratio(total, base, "NumPy"), target)
    report.line("dropping the graph", teardown, "s")
    report.flag("no RecursionError", True, "all repeats completed")


# ---------------------------------------------------------------------------
# 4. Large arrays
# ---------------------------------------------------------------------------


def square_sum_dezero(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = Variable(x)
    y = F.sum((v + 3) ** 2)
    y.backward()
    return y.data, v.grad.data


def square_sum_numpy(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = x + 3
    value = t @ t
    t *= 2
    return value, t


def square_sum_numpy_as_dezero(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """By hand again, with the two fresh arrays that the graph cannot do without: x + 3
    (the power's rule reads it) and its square (the forward pass makes it; the backward pass
    then writes the gradient into it). A fresh 80 MB array costs a pass of the kernel's
    zeroing on top of the pass that fills it, so this is the floor for dezero's time. The
    sum is dezero's own (``dezero.core.sum_array``: by BLAS, a third of ``square.sum()``'s
    time on this size)."""
    t = x + 3
    square = t**2
    value = sum_array(square)
    return value, np.multiply(t, 2, out=square)


def timed(fn: Callable, x: np.ndarray) -> tuple[float]:
    t0 = perf_counter()
    fn(x)
    return (perf_counter() - t0,)


def peak_arrays(fn: Callable, x: np.ndarray) -> float:
    """Peak memory allocated while ``fn(x)`` runs and its result lives, in units of x.nbytes."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = fn(x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return (peak - before) / x.nbytes


def check_same(x: np.ndarray) -> None:
    value_d, grad_d = square_sum_dezero(x)
    for by_hand in (square_sum_numpy, square_sum_numpy_as_dezero):
        value_n, grad_n = by_hand(x)
        assert np.isclose(value_d, value_n) and np.allclose(grad_d, grad_n), "results differ"


def bench_arrays(report: Report, cfg: dict) -> None:
    size, repeats = cfg["array_size"], cfg["repeats"]
    report.title(f"[4] F.sum((x + 3) ** 2), forward + backward, x of {size:,} float64")
    x = np.random.default_rng(0).standard_normal(size)
    check_same(x)
    # All in each repeat: the cost of fresh pages drifts with the state of the machine.
    base, floor, took = best_of(
        repeats,
        lambda: (
            timed(square_sum_numpy, x)
            + timed(square_sum_numpy_as_dezero, x)
            + timed(square_sum_dezero, x)
        ),
    )
    report.line("NumPy by hand: time", base, "s")
    report.line("NumPy by hand, dezero's 2 arrays: time", floor, "s", ratio(floor, base, "NumPy"))
    report.line("dezero: time", took, "s", ratio(took, floor, "2 arrays by hand"))
    report.line("dezero / NumPy time", took / base, "x", target=2.0)
    mem_base, mem = peak_arrays(square_sum_numpy, x), peak_arrays(square_sum_dezero, x)
    report.line("NumPy by hand: peak above x", mem_base, "arrays")
    # The slack admits the graph's small Python objects, well under 1% of one array.
    mem_ratio = ratio(mem, mem_base, "NumPy")
    report.line("dezero: peak above x", mem, "arrays", mem_ratio, 3.0, slack=0.01)


# ---------------------------------------------------------------------------
# 5. Resident memory
# ---------------------------------------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def small_graphs(n: int) -> None:
    for i in range(n):
        x = Variable(np.array(float(i)))
        y = (x + 3) ** 2
        y.backward()


def bench_rss(report: Report, cfg: dict) -> None:
    n = cfg["rss_iters"]
    report.title(f"[5] resident memory over {n:,} x 'make x, y = (x + 3) ** 2, backward, drop'")
    small_graphs(1_000)  # warm-up: allocator pools and caches settle first
    gc.collect()
    start = rss_mb()
    t0 = perf_counter()
    small_graphs(n // 2)
    middle = rss_mb()
    small_graphs(n - n // 2)
    took = perf_counter() - t0
    end = rss_mb()
    report.line("RSS after warm-up (baseline)", start, "MB")
    report.line("RSS growth, first half", middle - start, "MB")
    report.line("RSS growth, whole run", end - start, "MB")
    report.line("time per iteration", took * 1e6 / n, "us")


# ---------------------------------------------------------------------------
# 6. Against micrograd
# ---------------------------------------------------------------------------


def micrograd_value() -> type | None:
    """micrograd's Value class, or None if micrograd is not installed."""
    try:
        from micrograd.engine import Value
    except ImportError:
        return None
    return Value


def time_forward_backward(x: Any, n: int) -> float:
    """Seconds to build the mul/add chain of ``n`` operations from ``x`` and backpropagate."""
    gc.collect()
    t0 = perf_counter()
    y = mul_add_chain(x, None, n)
    y.backward()
    return perf_counter() - t0


def time_wide_backward(x: Any, n: int) -> float:
    """Seconds of the backward pass of the wide graph with ``n`` terms built from ``x``."""
    y = wide_sum(x, n)
    gc.collect()
    t0 = perf_counter()
    y.backward()
    took = perf_counter() - t0
    grad = x.grad.data if isinstance(x, Variable) else x.grad
    assert grad == n * (n + 1) // 2, "wrong gradient"
    return took


def bench_micrograd(report: Report, cfg: dict) -> None:
    n, terms = cfg["peer_chain_ops"], cfg["wide_terms"][1]
    report.title(
        f"[6] against micrograd (mg): the mul/add chain, forward + backward (best of "
        f"{cfg['peer_repeats']}), and the wide graph's backward (best of {cfg['repeats']})"
    )
    value = micrograd_value()
    if value is None:
        raise ImportError("micrograd is not installed: pip install -e '.[test]'")
    # micrograd sorts its graph by recursion, one level per node of the longest path.
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, 4 * terms + 1000))
    try:
        chain = best_of(
            cfg["peer_repeats"],
            lambda: (
                time_forward_backward(Variable(np.array(0.5)), n),
                time_forward_backward(value(0.5), n),
            ),
        )
        wide = best_of(
            cfg["repeats"],
            lambda: (
                time_wide_backward(Variable(np.array(1.0)), terms),
                time_wide_backward(value(1.0), terms),
            ),
        )
    finally:
        sys.setrecursionlimit(old_limit)
    report.line(f"{n:,}-op chain: micrograd", chain[1] * 1e3, "ms")
    report.line(f"{n:,}-op chain: dezero", chain[0] * 1e3, "ms", ratio(chain[0], chain[1], "mg"))
    report.line(f"{n:,}-op chain: dezero / micrograd", chain[0] / chain[1], "x", target=1.0)
    report.line(f"N = {terms:,} backward: micrograd", wide[1], "s")
    report.line(f"N = {terms:,} backward: dezero", wide[0], "s", ratio(wide[0], wide[1], "mg"))
    report.line(f"N = {terms:,}: dezero / micrograd", wide[0] / wide[1], "x", target=1.0)


# ---------------------------------------------------------------------------


def revision() -> str:
    """The git commit of the dezero being measured, marked when its files have local changes."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(dezero.__file__)))
    try:
        head = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--", "dezero"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        head, changed = "", ""
    if not head:
        return f"{root} (not a git checkout)"
    return head + (" with local changes" if changed else "")


def multiply_ns(a: Any, b: Any) -> float:
    """Nanoseconds of one ``a * b`` (best of 5 rounds of 100,000)."""
    import timeit

    return min(timeit.repeat(lambda: a * b, number=100_000, repeat=5)) / 100_000 * 1e9


def header(quick: bool) -> None:
    mode = "quick" if quick else "full"
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"dezero benchmarks, {mode} mode, dezero at {revision()}")
    print(f"Python {platform.python_version()}, NumPy {np.__version__}, gc enabled, ", end="")
    print(f"{os.cpu_count()} CPUs, load average {load}")
    # The host's proportions: micrograd pays the first, dezero's scalar path the others, so
    # the ratios of [6] move with them from one host to another (see README.md)
    costs = [multiply_ns(x, x) for x in (1.5, np.float64(1.5), np.array(1.5))]
    print(
        "one multiply: float {:.0f} ns, NumPy scalar {:.0f} ns, 0-d array {:.0f} ns".format(*costs)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    header(args.quick)
    report = Report()
    t0 = perf_counter()
    benches = (bench_scalar_chain, bench_wide, bench_long_chain, bench_arrays, bench_rss)
    for bench in benches + (bench_micrograd,):
        try:
            bench(report, cfg)
        except Exception as exc:  # a wrong result or a crash: report it and go on
            report.error(bench.__name__, exc)
        sys.stdout.flush()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"\ntotal run time {perf_counter() - t0:.1f} s, load average at the end {load}")
    report.summary()
    return 0


if __name__ == "__main__":
    sys.exit(main())
