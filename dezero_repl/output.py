"""Where results go: human-readable text (optionally coloured) or JSON Lines.

The evaluator returns ``Outcome`` objects; an output turns each into text. Human output
puts values and gradients on stdout, errors and warnings on stderr. JSON output writes
exactly one object per statement on stdout, and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import textwrap
import threading
import time
from typing import Any, TextIO

import numpy as np

from dezero.budget import size_text
from dezero_repl.errors import CalcError, line_column, render
from dezero_repl.format import ELEMENTS, format_value, summary_json, to_json
from dezero_repl.outcomes import CommandDone, Computed, Defined, Empty, FunctionShown, Outcome

#: Results go out at least this often (seconds) when stdout is a pipe or a file.
FLUSH_EVERY = 0.1
#: What printing one element in full may hold at its peak, in bytes: up to 25 characters,
#: held several times over (NumPy's string of each element, the lines they make, the whole
#: text, its copies as it is indented and joined, and its encoding as it is written).
#: Measured: 117 for the widest numbers, up to the encoding.
TEXT_BYTES_PER_ELEMENT = 160


class _Deliveries:
    """When results are flushed: at once to a terminal; to a pipe or a file with the first
    result that comes FLUSH_EVERY seconds or more after the last flush, so that a long
    script's output is not one write (and, through a pipe, one wake-up of the reader) per
    statement, which cost 13% of a script's time. Stdout is also flushed before anything
    goes to stderr, before more input is waited for, and at the end. Results written in the
    tenth of a second before a slow statement wait for it to end, as a Python script's
    prints wait in its buffer; a run killed during it loses them."""

    def __init__(self, stdout: TextIO) -> None:
        try:
            self.at_once = stdout.isatty()
        except (AttributeError, ValueError):
            self.at_once = False
        self.last = time.monotonic()

    def due(self) -> bool:
        """Whether results written so far should be flushed now."""
        if self.at_once:
            return True
        now = time.monotonic()
        if now - self.last < FLUSH_EVERY:
            return False
        self.last = now
        return True


_STYLES = {"error": "1;31", "warning": "33", "grad": "36", "name": "1", "dim": "2"}


class HumanOutput:
    """Plain text for people: the value, then one line per gradient."""

    draws = True  # plots are drawn as text

    def __init__(
        self,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        color: bool = False,
        precision: Any = None,
        error_color: bool | None = None,
        elements: Any = None,
        memory_limit: Any = None,
    ) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.deliveries = _Deliveries(self.stdout)
        self.color = color
        self.error_color = color if error_color is None else error_color  # for stderr
        self.precision = precision  # a callable returning the session's precision
        self.elements = elements or (lambda: ELEMENTS)  # ... and one returning :elements
        self.memory_limit = memory_limit  # ... and one returning the session's budget

    def _paint(self, text: str, style: str, color: bool | None = None) -> str:
        if not (self.color if color is None else color):
            return text
        return f"\x1b[{_STYLES[style]}m{text}\x1b[0m"

    def _digits(self) -> int | None:
        return self.precision() if self.precision else None

    def result(self, text: str, outcome: Outcome) -> None:
        for warning in outcome.warnings:
            self.warning(warning)
        lines = self.render(outcome)
        if lines:
            self.stdout.write("\n".join(lines) + "\n")
            if self.deliveries.due():
                self.stdout.flush()

    def render(self, outcome: Outcome) -> list[str]:
        """The lines that show an outcome (without colour codes when colour is off)."""
        digits = self._digits()
        if isinstance(outcome, (Defined, FunctionShown, CommandDone)):
            return outcome.message.splitlines() if outcome.message else []
        if not isinstance(outcome, Computed):  # Empty: nothing to show
            return []
        elements = self._shown(outcome)
        value = format_value(outcome.value, digits, elements)
        if outcome.name is not None:
            value = _hang(f"{self._paint(outcome.name, 'name')} = ", value, len(outcome.name) + 3)
        lines = [value]
        if "iterations" in outcome.extra:
            n = outcome.extra["iterations"]
            lines[-1] += self._paint(
                f"  ({outcome.extra['method']}, {n} iteration{'s' if n != 1 else ''})", "dim"
            )
        shown = {name: g for name, g in (outcome.grads or {}).items() if g is not None}
        if shown:  # those left out are named in the warnings
            if getattr(outcome.value, "ndim", 0) > 0:
                lines.append(self._paint("  gradients of the sum of the elements:", "dim"))
            for name, grad in shown.items():
                head = f"  ∂/∂{name} = "
                lines.append(
                    self._paint(
                        _hang(head, format_value(grad, digits, elements), len(head)), "grad"
                    )
                )
        return lines

    def _shown(self, outcome: Computed) -> int | None:
        """How many elements an array prints before it is summarized: as :elements says,
        unless printing all of them (the value's and its gradients') would hold more than
        the statement's memory budget; then the text is summarized, with a warning."""
        elements = self.elements()
        if elements is not None or self.memory_limit is None:
            return elements
        grads = [g for g in (outcome.grads or {}).values() if g is not None]
        sizes = [np.size(outcome.value), *(np.size(g) for g in grads)]
        held, limit = sum(sizes) * TEXT_BYTES_PER_ELEMENT, self.memory_limit()
        if max(sizes) <= ELEMENTS or held <= limit:
            return None
        self.warning(
            f"printing every element would hold about {size_text(held)}, over the memory "
            f"budget of {size_text(limit)}: summarized (the value is kept; :elements N "
            f"prints arrays of up to N elements in full)"
        )
        return ELEMENTS

    def error(
        self, source_name: str, source: str, offset: int, error: CalcError, statement: str = ""
    ) -> None:
        text = render(source_name, source, error, offset)
        first, _, rest = text.partition("\n")
        where, mark, message = first.partition(": error: ")
        first = self._wrap(where + mark + message, keep=len(where + mark)) if mark else first
        painted = self._paint("error:", "error", self.error_color)
        first = first.replace(": error: ", ": " + painted + " ", 1)
        self._to_stderr(first + ("\n" + rest if rest else "") + "\n")

    def reported(self, source_name: str, statement: str, error: CalcError) -> None:
        """A statement failed whose error was shown already (inside a :load): nothing more."""

    def warning(self, message: str) -> None:
        text = self._wrap(f"warning: {message}", keep=len("warning: "))
        self._to_stderr(self._paint("warning:", "warning", self.error_color) + text[8:] + "\n")

    def _wrap(self, line: str, keep: int) -> str:
        """On a terminal, a long message broken between words at its width (the terminal
        would break it anywhere), never within its first ``keep`` characters (where and what);
        elsewhere one line, for programs that read it."""
        try:
            width = os.get_terminal_size(self.stderr.fileno()).columns
        except (AttributeError, OSError, ValueError):
            return line
        if len(line) < width or width < 20:  # a terminal of unknown width says 0
            return line
        head = line[:keep].replace(" ", "\0")  # a word of its own: never broken
        wrapped = textwrap.fill(
            head + line[keep:],
            width - 1,
            subsequent_indent="  ",
            break_long_words=False,
            break_on_hyphens=False,
        )
        return wrapped.replace("\0", " ")

    def notice(self, message: str) -> None:
        """A line for the person at the terminal that is not a result (e.g. 'interrupted')."""
        self._to_stderr(message + "\n")

    def flush(self) -> None:
        """Deliver what was written, before waiting for more input."""
        self.stdout.flush()

    def _to_stderr(self, text: str) -> None:
        """Write to stderr after all that went to stdout, so the two keep their order."""
        self.stdout.flush()
        self.stderr.write(text)
        self.stderr.flush()


def _hang(head: str, body: str, indent: int) -> str:
    """``head`` followed by a possibly multi-line ``body`` whose lines align after it."""
    return head + body.replace("\n", "\n" + " " * indent)


class JsonOutput:
    """JSON Lines: one object per statement on stdout; warnings inside the object."""

    draws = False  # plots are given as their sampled points
    color = False

    def __init__(self, stdout: TextIO | None = None, elements: Any = None) -> None:
        self.stdout = stdout or sys.stdout
        self.deliveries = _Deliveries(self.stdout)
        self.elements = elements or (lambda: ELEMENTS)

    def _write(self, obj: dict[str, Any]) -> None:
        """One line: arrays too large to hold as lists are written piece by piece."""
        import json  # here, not at start-up: only --json needs it

        streamed: dict[str, np.ndarray] = {}

        def placeholder(value: Any) -> str:
            if not isinstance(value, _Streamed):
                raise TypeError(type(value).__name__)
            key = f"\x00{len(streamed)}\x00"  # NUL: never in a statement's text
            streamed[json.dumps(key)] = value.array  # as it stands in the dumped line
            return key

        text = json.dumps(obj, ensure_ascii=False, allow_nan=False, default=placeholder)
        if not streamed:
            self.stdout.write(text + "\n")
        else:
            self._stream(text, streamed)
        if self.deliveries.due():
            self.stdout.flush()

    def _stream(self, text: str, streamed: dict[str, np.ndarray]) -> None:
        """Write a line with its large arrays written piece by piece. Ctrl-C meanwhile
        ends the line early but valid: the open lists are closed, the arrays not yet begun
        are empty, and the object says "interrupted": true; then the interrupt goes on."""
        line = _Line(self.stdout.write)
        pieces = re.split(r'("\\u0000[0-9]+\\u0000")', text)
        done = 0  # pieces written whole
        with line.deferring_ctrl_c():
            try:
                for piece in pieces:
                    if piece in streamed:
                        _write_array(line, streamed[piece])
                    else:
                        line.write(piece)
                    done += 1
            except _Interrupted:
                line.write("]" * line.depth if line.depth else "[]")  # the array it was in
                rest = ["[]" if p in streamed else p for p in pieces[done + 1 :]]
                line.write("".join(rest)[:-1] + ', "interrupted": true}\n')
                self.stdout.flush()
                raise KeyboardInterrupt from None
        self.stdout.write("\n")
        if line.hit:  # Ctrl-C after the last piece that checks: the line is whole
            self.stdout.flush()
            raise KeyboardInterrupt

    def _array(self, value: Any) -> Any:
        """An array in JSON: a list; summarized beyond :elements; streamed if large."""
        size = np.size(value)
        elements = self.elements()
        if elements is not None and size > elements:
            return summary_json(value)
        if size > STREAMED:
            return _Streamed(np.asarray(value, dtype=np.float64))
        return to_json(value)

    def result(self, text: str, outcome: Outcome) -> None:
        obj: dict[str, Any] = {"input": text.strip()}
        if isinstance(outcome, Computed):
            if outcome.name is not None:
                obj["name"] = outcome.name
            obj["value"] = self._array(outcome.value)
            if outcome.grads is not None:
                obj["grad"] = {  # null: left out, as a warning says
                    name: None if g is None else self._array(g) for name, g in outcome.grads.items()
                }
        elif isinstance(outcome, FunctionShown):
            obj["function"] = outcome.message
        elif isinstance(outcome, Empty):
            return
        elif isinstance(outcome, CommandDone) and outcome.message and "output" not in outcome.extra:
            obj["output"] = outcome.message
        obj.update(_jsonable(outcome.extra))
        if outcome.warnings:
            obj["warnings"] = list(outcome.warnings)
        self._write(obj)

    def error(
        self, source_name: str, source: str, offset: int, error: CalcError, statement: str = ""
    ) -> None:
        detail: dict[str, Any] = {"type": error.kind.value, "message": error.message}
        if error.start is not None:
            line, column = line_column(source, min(offset + error.start, len(source)))
            detail.update(line=line, column=column)
        detail["source"] = source_name
        self._write({"input": statement.strip(), "error": detail})

    def reported(self, source_name: str, statement: str, error: CalcError) -> None:
        """A statement failed whose error was shown already (inside a :load): it still
        gets its object, as every statement does."""
        detail = {"type": error.kind.value, "message": error.message, "source": source_name}
        self._write({"input": statement.strip(), "error": detail})

    def warning(self, message: str) -> None:  # warnings travel inside result objects
        pass

    def notice(self, message: str) -> None:
        pass

    def flush(self) -> None:
        """Deliver what was written, before waiting for more input."""
        self.stdout.flush()


#: Arrays of more elements than this are written to JSON in pieces of this many.
STREAMED = 1 << 16


class _Streamed:
    """An array to be written into a JSON line piece by piece, never whole as a list."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array


class _Interrupted(Exception):
    """Ctrl-C came while a line was being streamed."""


class _Line:
    """Writes one streamed JSON line, counting the lists it has opened, and turns Ctrl-C
    into a flag that is checked between pieces, where the text written is whole."""

    def __init__(self, write: Any) -> None:
        self.write = write
        self.depth = 0
        self.hit = False

    @contextlib.contextmanager
    def deferring_ctrl_c(self):
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        import signal  # here, not at start-up: only --json's long arrays need it

        previous = signal.signal(signal.SIGINT, lambda *_: setattr(self, "hit", True))
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def open(self) -> None:
        self.check()
        self.write("[")
        self.depth += 1

    def close(self) -> None:
        self.write("]")
        self.depth -= 1

    def check(self) -> None:
        if self.hit:
            raise _Interrupted


def _write_array(line: _Line, array: np.ndarray) -> None:
    import json

    """Write ``array`` as nested JSON lists, STREAMED elements at a time."""
    line.open()
    if array.ndim > 1:
        for i in range(array.shape[0]):
            line.check()  # before the comma: an interrupted line ends after a whole element
            if i:
                line.write(", ")
            _write_array(line, array[i])
    else:
        for start in range(0, array.shape[0], STREAMED):
            line.check()
            if start:
                line.write(", ")
            line.write(json.dumps(to_json(array[start : start + STREAMED]))[1:-1])
    line.close()


def _jsonable(extra: dict[str, Any]) -> dict[str, Any]:
    return {key: _json_value(value) for key, value in extra.items()}


def _json_value(value: Any) -> Any:
    """Numbers anywhere inside as JSON allows them: inf and nan become strings."""
    if isinstance(value, (np.ndarray, np.floating, float)):
        return to_json(value)
    if isinstance(value, dict):
        return {key: _json_value(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


class QuietOutput(HumanOutput):
    """Shows errors (on stderr) and nothing else: for the start-up script."""

    def result(self, text: str, outcome: Outcome) -> None:
        pass

    def warning(self, message: str) -> None:
        pass
