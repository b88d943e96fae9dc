"""Reading scripts: a file or stdin as text, or one line saying why it cannot be read.

Also ``QuitRequested``, which ``:quit`` raises for the front door to decide how to leave.
"""

from __future__ import annotations

import os
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
