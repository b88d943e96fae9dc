"""Whether each first-order array rule of dezero.fast pays: backward with it, and without it.

    python benchmarks/bench_rules.py

For each Function with an entry in ``fast.RULES``, a chain of 20,000 steps that use it is
built, and its backward pass timed (best of 3, collector off) with the rule and then with
the entry removed, so that the Function's own Variable-level ``backward`` runs instead:
the baseline is measured in the same run. A rule passes when it makes the pass at least
1.1 times faster. (``sum`` has an entry without a rule: one was measured at 0.76x on
scalars and 0.99x on 10^6 elements, and removed; the entry says that its rules read only
its input's shape, for buffer reuse.)
"""

from __future__ import annotations

import gc
import time

import numpy as np

import dezero.functions as F
import dezero.piecewise as P
from dezero import Variable, fast
from dezero import core as C
from dezero import operators as O

STEPS = 20_000
GAIN = 1.1

w = Variable(np.array(1.0001))
CASES = {
    # the Function, one step of a chain that uses it, the chain's starting value
    "Add, Mul": ((C.Add, C.Mul), lambda y: y * w + w, 0.3),
    "Sub": ((C.Sub,), lambda y: y - w, 0.3),
    "Div": ((C.Div,), lambda y: y / w, 0.3),
    "Neg": ((C.Neg,), lambda y: -y, 0.3),
    "Pow": ((C.Pow,), lambda y: y**1.0, 0.3),
    "AddConstant": ((O.AddConstant,), lambda y: y + 1.0, 0.3),
    "MulConstant": ((O.MulConstant,), lambda y: y * 1.0, 0.3),
    "DivConstant": ((O.DivConstant,), lambda y: y / 1.0, 0.3),
    "SubFromConstant": ((O.SubFromConstant,), lambda y: 1.0 - y, 0.3),
    "DivFromConstant": ((O.DivFromConstant,), lambda y: 1.0 / (y + 1.0), 0.3),
    "Sin": ((F.Sin,), F.sin, 0.3),
    "Cos": ((F.Cos,), F.cos, 0.3),
    "Tan": ((F.Tan,), lambda y: F.tan(y) * 0.5, 0.3),
    "Tanh": ((F.Tanh,), F.tanh, 0.3),
    "Exp": ((F.Exp,), lambda y: F.exp(y) * 0.1, 0.3),
    "Log": ((F.Log,), lambda y: F.log(y) + 2.0, 2.0),
    "Sqrt": ((F.Sqrt,), lambda y: F.sqrt(y) + 1.0, 2.0),
    "Reshape": (
        (F.Reshape,),
        lambda y: F.reshape(y, (2, 2) if y.shape == (4,) else (4,)),
        [1.0] * 4,
    ),
    "GetItem": ((F.GetItem,), lambda y: F.get_item(y, slice(None)), [0.3, 0.4]),
    "Stack (of 16)": ((F.Stack,), lambda y: F.sum(F.stack([y] * 16)) * 0.1, 0.3),
    "SumTo": ((F.SumTo,), lambda y: F.sum_to(F.broadcast_to(y, (3,)), ()), 0.3),
    "BroadcastTo": ((F.BroadcastTo,), lambda y: F.sum(F.broadcast_to(y, (3,))), 0.3),
    "Floor": ((P.Floor,), lambda y: P.floor(y) + y, 0.3),
    "Mod": ((P.Mod,), lambda y: P.mod(y, w) + 0.5, 0.3),
    "Where": ((P.Where,), lambda y: P.where(y.data > 0, y, -y), 0.3),
    "Maximum": ((P.Maximum,), lambda y: P.maximum(y, w), 0.3),
}


def backward_time(step, start) -> float:
    best = float("inf")
    for _ in range(3):
        y = Variable(np.array(start, dtype=np.float64))
        for _ in range(STEPS):
            y = step(y)
        gc.collect()
        gc.disable()
        try:
            began = time.perf_counter()
            with np.errstate(all="ignore"):
                y.backward()
            best = min(best, time.perf_counter() - began)
        finally:
            gc.enable()
        del y
    return best


def main() -> None:
    print(f"backward of a {STEPS:,}-step chain, µs per step: with the array rule / without")
    passed = 0
    for name, (classes, step, start) in CASES.items():
        with_rules = backward_time(step, start)
        saved = {cls: fast.RULES.pop(cls) for cls in classes}
        without = backward_time(step, start)
        fast.RULES.update(saved)
        gain = without / with_rules
        verdict = "PASS" if gain >= GAIN else "FAIL"
        passed += verdict == "PASS"
        print(
            f"    {name:16s} {with_rules * 1e6 / STEPS:6.2f} / {without * 1e6 / STEPS:6.2f}"
            f"   {gain:4.2f}x faster   target >= {GAIN}  {verdict}"
        )
    print(f"SUMMARY: {passed}/{len(CASES)} rules pay")


if __name__ == "__main__":
    main()
