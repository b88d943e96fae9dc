"""A memory budget: how much a computation may add to the process's resident memory.

    with MemoryBudget(256 << 20):
        y = F.sin(x) ** 2          # raises MemoryBudgetExceeded rather than pass 256 MiB

The measure is the resident set size (RSS) of the process, over what it was when the budget
was entered: every array, every graph node and every temporary counts, whoever made it.
It is read at the moments memory can grow fast:

- after any Function produces an output of ``LARGE`` bytes or more, the budget must still
  hold another output as large (the next operation of an elementwise chain makes one), so
  an allocation is refused before it is made, not after;
- before a caller allocates something it can size in advance (``reserve``);
- every ``EVERY`` Functions, for graphs of many small values.

The RSS on entry is read at the first of these checks, not on entry: most computations
(a scalar statement of the calculator, say) never check, and a read costs one to three
microseconds on Linux (``/proc/self/statm``), several percent of such a statement. What
Functions made before that first check counts as held, whether or not it still is, so the
estimate errs towards refusing; anything large made outside a Function is sized in advance
with ``reserve`` or ``fits``, which read it before it exists. Elsewhere than Linux the
process's peak RSS stands in for the current one, which refuses sooner but never later.

A budget is per thread, as ``no_grad`` is.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import ModuleType

resource: ModuleType | None
try:
    import resource
except ImportError:  # Windows
    resource = None

#: An output at least this large (in bytes) triggers a check.
LARGE = 1 << 16
#: Otherwise, one check every this many Functions.
EVERY = 1024


class MemoryBudgetExceeded(MemoryError):
    """A computation would have taken more memory than its budget allows."""

    def __init__(self, needed: int, limit: int) -> None:
        super().__init__(f"needs about {size_text(needed)}, over the budget of {size_text(limit)}")
        self.needed, self.limit = needed, limit


class _ThisThread(threading.local):
    budget: MemoryBudget | None = None


#: The budget in force in each thread (Function reads ``this_thread.budget``).
this_thread = _ThisThread()


def active() -> MemoryBudget | None:
    """This thread's budget, or None."""
    return this_thread.budget


class MemoryBudget:
    """At most ``limit`` bytes of resident memory above what the process held on entry.

    Entering a budget replaces the thread's current one until it is left: each statement of
    a script that another statement loads gets a budget of its own.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.start: int | None = None  # the RSS on entry, once a check has read it
        self.made = 0  # bytes of the outputs of Functions since entry
        self.calls = 0
        self._outer: list[MemoryBudget | None] = []

    def __enter__(self) -> MemoryBudget:
        self._outer.append(this_thread.budget)
        self.start, self.made = None, 0
        this_thread.budget = self
        return self

    def __exit__(self, *exc: object) -> None:
        this_thread.budget = self._outer.pop()

    def used(self) -> int:
        """Bytes of resident memory gained since the budget was entered."""
        now = resident()
        if self.start is None:  # the first check: see the module's docstring
            self.start = now - self.made
        return max(0, now - self.start)

    def fits(self, nbytes: float) -> bool:
        """Whether ``nbytes`` more would stay within the budget."""
        return self.used() + nbytes <= self.limit

    def reserve(self, nbytes: float) -> None:
        """Refuse now if ``nbytes`` more would not fit."""
        if not self.fits(nbytes):
            raise MemoryBudgetExceeded(int(self.used() + nbytes), self.limit)

    def produced(self, data: Any) -> None:
        """Called by Function for each output it makes (see the module's docstring)."""
        self.calls += 1
        if type(data) is tuple:
            nbytes = 0
            for d in data:
                nbytes += getattr(d, "nbytes", 0)
        else:
            nbytes = getattr(data, "nbytes", 0)
        self.made += nbytes
        if nbytes >= LARGE or self.calls % EVERY == 0:
            self.reserve(nbytes)


def size_text(n: float) -> str:
    """A size in bytes as people read it: 7.3 TiB."""
    unit = "bytes"
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            break
        n /= 1024
    return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_statm: dict[int, int | None] = {}  # pid -> open /proc/<pid>/statm, kept across reads


def resident() -> int:
    """The process's resident memory in bytes: its peak where the current is not known,
    and 0 where neither is."""
    pid = os.getpid()
    if pid not in _statm:
        try:
            _statm[pid] = os.open(f"/proc/{pid}/statm", os.O_RDONLY)
        except OSError:
            _statm[pid] = None
    fd = _statm[pid]
    if fd is not None:
        return int(os.pread(fd, 64, 0).split()[1]) * _PAGE
    if resource is None:
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024
