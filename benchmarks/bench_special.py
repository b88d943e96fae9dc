"""SciPy's special functions against Python's math module, and what importing SciPy costs.

    python benchmarks/bench_special.py

dezero.special takes its values from ``scipy.special``. The alternative is the math module
(erf, erfc, gamma, lgamma), applied elementwise with ``np.frompyfunc``. Both are timed here
in the same run, the way a Function's ``forward`` would call them: on a 0-d array (a scalar)
and on an array of 10^5 elements (best of 5, collector off). SciPy's import is timed in fresh
interpreters, against one that imports NumPy alone (dezero imports it anyway): that is what
importing SciPy lazily, on first use, saves every program that never calls these functions.
"""

from __future__ import annotations

import gc
import math
import subprocess
import sys
import time

import numpy as np
import scipy.special as sc

ELEMENTS = 100_000
REPEATS = 5

FUNCTIONS = {
    # name: SciPy's ufunc, the math module's function
    "erf": (sc.erf, math.erf),
    "erfc": (sc.erfc, math.erfc),
    "gamma": (sc.gamma, math.gamma),
    "lgamma": (sc.gammaln, math.lgamma),
}


def elementwise(f):
    """A math function on arrays, as a forward would apply it."""
    ufunc = np.frompyfunc(f, 1, 1)
    return lambda x: np.asarray(ufunc(x), dtype=np.float64)


def best(f, x, calls: int) -> float:
    """Seconds per call of f(x), best of REPEATS runs of ``calls`` calls."""
    times = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(REPEATS):
            began = time.perf_counter()
            for _ in range(calls):
                f(x)
            times.append((time.perf_counter() - began) / calls)
    finally:
        gc.enable()
    return min(times)


def startup(code: str) -> float:
    """Seconds for a fresh interpreter to run ``code``, best of REPEATS."""
    times = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - began)
    return min(times)


def main() -> None:
    scalar = np.array(1.7)
    array = np.random.default_rng(0).uniform(0.5, 5.0, ELEMENTS)
    print(f"time per call: SciPy / math via np.frompyfunc, SciPy's speed-up (best of {REPEATS})")
    print(f"    {'':8s} {'0-d array':>27s} {f'{ELEMENTS:,} elements':>29s}")
    for name, (scipy_f, math_f) in FUNCTIONS.items():
        slow = elementwise(math_f)
        np.testing.assert_allclose(scipy_f(array), slow(array), rtol=1e-12, atol=1e-15)
        row = []
        for x, calls in ((scalar, 20_000), (array, 5)):
            ours, theirs = best(scipy_f, x, calls), best(slow, x, calls)
            row.append(f"{ours * 1e6:8.2f} / {theirs * 1e6:8.2f} µs {theirs / ours:5.1f}x")
        print(f"    {name:8s} {row[0]}   {row[1]}")
    numpy_only = startup("import numpy")
    with_scipy = startup("import numpy, scipy.special")
    nothing = startup("pass")
    print("import time in a fresh interpreter (best of 5)")
    print(f"    python -c pass                       {nothing * 1e3:7.1f} ms")
    print(f"    import numpy                         {numpy_only * 1e3:7.1f} ms")
    print(f"    import numpy, scipy.special          {with_scipy * 1e3:7.1f} ms")
    print(f"    scipy.special on top of numpy        {(with_scipy - numpy_only) * 1e3:7.1f} ms")


if __name__ == "__main__":
    main()
