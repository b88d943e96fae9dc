"""Writing the user's files (`:save`, `:graph > FILE`, `:plot > FILE`): atomically, and
never over a file that this session did not write, unless the command says so with `!`.

A file is written whole beside its target, flushed to disk, then renamed onto it, so a
full disk or a crash leaves the old file whole, never half a new one. A new file is put in
place with a hard link, which fails if a file of that name has appeared meanwhile.

The session remembers each file it wrote as it left it: its device, inode, modification
time and size. A file swapped for another of the same name, or edited since, is no longer
the session's, and is refused like any other.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from dezero_repl.errors import CalcError, ErrorKind


def file_name(text: str) -> str:
    """The file a command names: its text without the blanks around it, or without the
    quotes around it, as a shell reads ``"my results.calc"`` (a name with quotes of its own
    is written inside the other kind: ``'say "hi".calc'``)."""
    name = text.strip()
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        return name[1:-1]
    return name


#: A file as this session left it: device, inode, modification time (ns) and size.
Identity = tuple[int, int, int, int]


class Written:
    """The files this session wrote, by absolute path, each with its identity."""

    def __init__(self) -> None:
        self._left: dict[str, Identity] = {}

    def remember(self, target: Path, identity: Identity) -> None:
        self._left[_key(target)] = identity

    def is_ours(self, target: Path, now: os.stat_result) -> bool:
        """Whether the file at ``target``, whose status is ``now``, is as this session left it."""
        return self._left.get(_key(target)) == _identity(now)

    def wrote(self, target: Path) -> bool:
        """Whether this session wrote a file at ``target`` once, whatever it holds now."""
        return _key(target) in self._left


def write_file(written: Written, path: str, data: bytes, replace: bool, forced: str) -> None:
    """Write ``data`` to the file named ``path`` (``~`` expanded). Without ``replace``, an
    existing file is refused unless this session wrote it and it is unchanged since;
    ``forced`` is the command that would replace it, for the message. With ``replace``, a
    symbolic link is written through, so the link stays."""
    target = Path(os.path.expanduser(path))
    if replace and target.is_symlink():
        target = Path(os.path.realpath(target))
    try:
        now: os.stat_result | None = os.lstat(target)
    except FileNotFoundError:
        now = None
    except OSError as e:
        raise _cannot_write(path, e) from None
    if now is not None:
        _check_replaceable(written, target, now, path, replace, forced)
    try:
        identity = replace_atomically(target, data, exclusive=now is None)
    except FileExistsError:  # a file of that name appeared while this one was written
        raise _exists(path, forced) from None
    except OSError as e:
        raise _cannot_write(path, e) from None
    written.remember(target, identity)


def _check_replaceable(
    written: Written, target: Path, now: os.stat_result, path: str, replace: bool, forced: str
) -> None:
    if stat.S_ISDIR(now.st_mode):
        raise CalcError(f"cannot write '{path}': it is a directory", kind=ErrorKind.FileError)
    if not stat.S_ISREG(now.st_mode) and not stat.S_ISLNK(now.st_mode):
        raise CalcError(
            f"cannot write '{path}': it is not a regular file", kind=ErrorKind.FileError
        )
    if replace or written.is_ours(target, now):
        return
    if written.wrote(target):
        raise CalcError(
            f"'{path}' has changed since this session wrote it; {forced} replaces it",
            kind=ErrorKind.FileError,
        )
    raise _exists(path, forced)


def replace_atomically(target: Path, data: bytes, exclusive: bool = False) -> Identity:
    """Write ``data`` to a new file beside ``target``, flushed to disk, then put it in place
    of ``target``; with ``exclusive``, only if no file of that name exists by then
    (FileExistsError otherwise). A replaced file keeps its permissions; a new one gets the
    usual ones (umask). Returns the new file's identity."""
    directory = target.parent if str(target.parent) else Path(".")
    mode = _mode_for(target)
    fd, temporary = tempfile.mkstemp(prefix=".dezero-repl-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), mode)
            identity = _identity(os.fstat(f.fileno()))
        if exclusive:
            _link_new(temporary, target)
        else:
            os.replace(temporary, target)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)  # gone already, once renamed
    _sync_directory(directory)
    return identity


def _link_new(temporary: str, target: Path) -> None:
    """Give the written file its name only if that name is still free. A file system
    without hard links gets a rename after one more look instead."""
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise
    except OSError:
        if os.path.lexists(target):
            raise FileExistsError(str(target)) from None
        os.replace(temporary, target)


def _mode_for(target: Path) -> int:
    try:
        return os.stat(target).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _sync_directory(directory: Path) -> None:
    """Flush the new name to disk too (where a directory can be opened and synced)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _identity(status: os.stat_result) -> Identity:
    return (status.st_dev, status.st_ino, status.st_mtime_ns, status.st_size)


def _key(target: Path) -> str:
    """An absolute path whose folders are resolved, but not the file's own name (a link
    is a file of its own)."""
    absolute = Path(os.path.abspath(target))
    return str(absolute.parent.resolve() / absolute.name)


def _exists(path: str, forced: str) -> CalcError:
    return CalcError(
        f"'{path}' exists and this session did not write it; {forced} replaces it",
        kind=ErrorKind.FileError,
    )


def _cannot_write(path: str, e: OSError) -> CalcError:
    return CalcError(f"cannot write '{path}': {e.strerror or e}", kind=ErrorKind.FileError)
