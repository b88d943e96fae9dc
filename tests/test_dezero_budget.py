"""dezero.budget: a computation refused once it would hold more memory than its budget."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import dezero.functions as F
from dezero import Variable
from dezero.budget import MemoryBudget, MemoryBudgetExceeded, active, resident

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/statm")

MIB = 1 << 20


def test_resident_memory_follows_what_is_held():
    before = resident()
    block = np.ones(64 * MIB // 8)
    assert 60 * MIB < resident() - before < 80 * MIB
    del block
    assert resident() - before < 8 * MIB


def test_a_graph_is_refused_when_it_would_pass_the_budget():
    x = Variable(np.ones(MIB))  # 8 MiB
    kept = []
    with pytest.raises(MemoryBudgetExceeded) as caught:
        with MemoryBudget(64 * MIB) as budget:
            y = x
            for _ in range(40):
                y = F.sin(y)  # every output stays in the graph
                kept.append(budget.used())
    assert isinstance(caught.value, MemoryError)
    assert max(kept) <= 64 * MIB  # refused before it held more than the budget
    assert len(kept) >= 4  # but not before it had to be
    assert "over the budget of 64.0 MiB" in str(caught.value)
    assert active() is None


def test_work_that_frees_as_it_goes_fits_in_a_small_budget():
    x = Variable(np.ones(MIB))
    with MemoryBudget(64 * MIB):
        total = 0.0
        for _ in range(100):  # 800 MiB in all, never more than a few arrays at once
            total += float(F.sum(F.sin(x) * 2.0).data)
    assert total == pytest.approx(100 * 2 * MIB * np.sin(1.0))


def test_small_work_never_reads_the_resident_memory(monkeypatch):
    reads = []
    monkeypatch.setattr("dezero.budget.resident", lambda: reads.append(1) or 0)
    x = Variable(np.array(2.0))
    with MemoryBudget(MIB):
        y = (x + 3) ** 2 / F.sin(x)
        y.backward()
    assert reads == []  # a scalar statement pays no read on entry


def test_what_functions_made_before_the_first_check_counts_as_held():
    # Outputs under 64 KiB trigger no check: the first comes with a large one, and the
    # resident memory on entry is then estimated as now minus what Functions made.
    x = Variable(np.ones(4096))  # 32 KiB
    kept = []
    with pytest.raises(MemoryBudgetExceeded):
        with MemoryBudget(8 * MIB):
            for _ in range(300):  # 9.4 MiB, each below the size that checks
                kept.append(F.sin(x))
            F.broadcast_to(x, (2, 4096))  # 64 KiB: the first check
    assert len(kept) == 300


def test_reserve_refuses_before_allocating():
    with MemoryBudget(32 * MIB) as budget:
        budget.reserve(16 * MIB)
        with pytest.raises(MemoryBudgetExceeded, match="needs about 1.0 GiB"):
            budget.reserve(1 << 30)


def test_a_budget_belongs_to_its_thread():
    seen = []
    with MemoryBudget(16 * MIB):
        thread = threading.Thread(target=lambda: seen.append(active()))
        thread.start()
        thread.join()
        assert active() is not None
    assert seen == [None]
