"""Reading scripts: a file or stdin as text, or one line saying why it cannot be read.

A file is read whole. A stream (a pipe, a coprocess) is read line by line as its lines
arrive (``lines``), so that each statement runs, and its result is delivered, before the
next is waited for. Also ``QuitRequested``, which ``:quit`` raises for the front door to
decide how to leave.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from dezero_repl.errors import CalcError, ErrorKind


class QuitRequested(Exception):
    """Raised by :quit; the front door decides how to leave."""


def read_source(path: str) -> str:
    """The text of a script, or a CalcError saying in one line why it cannot be read."""
    try:
        if os.path.isdir(path):
            raise CalcError(f"cannot read '{path}': it is a directory", kind=ErrorKind.FileError)
        with open(path, "rb") as f:
            data = read_all(f)
    except FileNotFoundError:
        raise CalcError(f"cannot read '{path}': no such file", kind=ErrorKind.FileError) from None
    except PermissionError:
        raise CalcError(
            f"cannot read '{path}': permission denied", kind=ErrorKind.FileError
        ) from None
    except OSError as e:
        raise CalcError(
            f"cannot read '{path}': {e.strerror or e}", kind=ErrorKind.FileError
        ) from None
    return decode(data, path)


def read_all(stream: Any) -> bytes:
    """Everything in a binary stream, but no further than a NUL byte: that makes it binary
    (see ``decode``), and it keeps an endless device like /dev/zero from filling memory."""
    chunks = []
    while chunk := stream.read(1 << 16):
        chunks.append(chunk)
        if b"\x00" in chunk:
            break
    return b"".join(chunks)


def lines(
    stream: Any, name: str, waiting: Callable[[], None], longest: int = 1 << 21
) -> Iterator[str]:
    """The lines of a binary stream as text, each as soon as it is complete (with its
    newline). ``waiting`` is called before every read that may block. Binary (a NUL byte)
    or non-UTF-8 input raises CalcError, as ``decode`` words it, once it arrives; so does
    a line that goes on for over ``longest`` bytes, as soon as it does, rather than be
    held whole."""
    read = getattr(stream, "read1", stream.read)  # read1: what is there, waiting only if nothing
    tail: list[bytes] = []  # the pieces of a line not yet complete
    held, consumed, number = 0, 0, 1  # bytes in tail; bytes and lines before it
    while True:
        waiting()
        chunk = read(1 << 16)
        if not chunk:
            break
        binary = chunk.find(b"\x00")
        if binary >= 0:  # the lines before it run; then the input is refused as binary
            yield from _complete_lines(b"".join(tail) + chunk[:binary], name, consumed)[0]
            decode(b"\x00", name)
        end = chunk.rfind(b"\n") + 1
        if not end:
            tail.append(chunk)
            held += len(chunk)
            if held > longest:
                raise _too_long(name, number, longest)
            continue
        whole = b"".join((*tail, chunk[:end]))
        tail, held = [chunk[end:]], len(chunk) - end
        found, error = _complete_lines(whole, name, consumed)
        yield from found
        if error is not None:
            raise error
        consumed, number = consumed + len(whole), number + len(found)
    if held:
        found, error = _complete_lines(b"".join(tail) + b"\n", name, consumed)
        if error is not None:
            raise error
        yield found[0][:-1]


def _too_long(name: str, number: int, longest: int) -> CalcError:
    return CalcError(
        f"cannot read '{name}': line {number} goes on for over {longest / 2**20:g} MiB "
        f"without a newline",
        kind=ErrorKind.ResourceError,
    )


def _complete_lines(data: bytes, name: str, offset: int) -> tuple[list[str], CalcError | None]:
    """The complete lines of ``data`` as text (a UTF-8 sequence never holds a newline byte),
    up to the first one that is not UTF-8, and the error that one makes, if any."""
    try:
        text = data.decode("utf-8")
        error = None
    except UnicodeDecodeError as e:
        good = data.rfind(b"\n", 0, e.start) + 1
        text = data[:good].decode("utf-8")
        error = CalcError(
            f"cannot read '{name}': not valid UTF-8 (byte 0x{data[e.start]:02x} "
            f"at offset {offset + e.start})",
            kind=ErrorKind.FileError,
        )
    if offset == 0:
        text = text.removeprefix("\ufeff")
    pieces = text.split("\n")
    pieces.pop()  # what follows the last newline: not a complete line
    return [piece + "\n" for piece in pieces], error


def decode(data: bytes, name: str) -> str:
    """Bytes of a script as text: binary or non-UTF-8 input is refused in one line.

    A byte-order mark, as some editors write at the start of UTF-8 files, is dropped.
    """
    if b"\x00" in data:
        raise CalcError(f"cannot read '{name}': it is a binary file", kind=ErrorKind.FileError)
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        raise CalcError(
            f"cannot read '{name}': not valid UTF-8 (byte 0x{data[e.start]:02x} "
            f"at offset {e.start})",
            kind=ErrorKind.FileError,
        ) from None
