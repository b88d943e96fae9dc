"""A notice for a statement that takes a while: after ``DELAY`` seconds, a line on the terminal
with the time spent and how to stop, updated until the statement ends, then erased.

It is written only to a terminal (stderr), never into piped output or JSON. One watcher
thread per run looks in on the statement in progress a few times a second, so a statement
costs two timestamps, not a thread; the result is printed after the notice is gone.
"""

from __future__ import annotations

import threading
import time
from typing import Any, TextIO

#: Seconds before the notice appears (qalc waits 750 ms), and between its updates.
DELAY = 0.75
INTERVAL = 0.25


class Progress:
    """``with progress:`` around each statement; does nothing unless ``stream`` is a
    terminal."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream if _is_terminal(stream) else None
        self._lock = threading.Lock()
        self._started: float | None = None
        self._shown = False
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Progress:
        if self.stream is not None:
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, daemon=True)
                self._thread.start()
            self._started = time.monotonic()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.stream is None:
            return
        with self._lock:
            self._started = None
            if self._shown:
                self._shown = False
                self._write("\r\x1b[K")  # erase the notice: the result takes its place

    def _watch(self) -> None:
        while True:
            time.sleep(INTERVAL)
            with self._lock:
                started = self._started
                if started is not None and time.monotonic() - started >= DELAY:
                    elapsed = time.monotonic() - started
                    self._write(f"\rcalculating… {elapsed:.1f} s (Ctrl-C to stop)")
                    self._shown = True

    def _write(self, text: str) -> None:
        assert self.stream is not None  # only a Progress on a terminal writes
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass


def _is_terminal(stream: Any) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (OSError, ValueError, AttributeError):
        return False
