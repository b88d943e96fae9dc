"""User configuration: ``config.toml`` settings and the ``init.calc`` start-up script.

Both live in ``$XDG_CONFIG_HOME/dezero-repl/`` (``~/.config/dezero-repl/`` by default).
A broken configuration never stops the calculator: it costs one warning line.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dezero_repl.errors import one_line

COLOR_SCHEMES = ("default", "mono", "light")


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "dezero-repl"


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base) / "dezero-repl"


def history_path() -> Path:
    """Where the REPL keeps its history; DEZERO_REPL_HISTORY overrides it."""
    override = os.environ.get("DEZERO_REPL_HISTORY")
    return Path(override) if override else state_dir() / "history"


class Settings:
    """What config.toml may set, each as its default until the file sets it."""

    def __init__(self) -> None:
        self.color_scheme = "default"
        self.precision: int | None = None
        self.mode = "grad"
        self.history_size = 10000
        self.memory_limit = "1GiB"
        self.edit_mode = "emacs"

    def apply(self, session: Any) -> None:
        session.memory_limit = parse_size(self.memory_limit)
        session.precision = self.precision
        session.grad_enabled = self.mode != "nograd"


_CHECKS: dict[str, Callable[[Any], bool]] = {
    "color_scheme": lambda v: v in COLOR_SCHEMES,
    "precision": lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 17,
    "mode": lambda v: v in ("grad", "nograd"),
    "history_size": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
    "memory_limit": lambda v: isinstance(v, str) and parse_size(v, None) is not None,
    "edit_mode": lambda v: v in ("emacs", "vi"),
}
#: Earlier names of settings, still read.
_RENAMED = {"array_limit": "memory_limit"}

_HINTS = {
    "color_scheme": f"one of {', '.join(COLOR_SCHEMES)}",
    "precision": "a whole number from 1 to 17",
    "mode": "'grad' or 'nograd'",
    "history_size": "a whole number ≥ 0",
    "memory_limit": 'a size such as "1GiB" or "512MiB", at least 16MiB',
    "edit_mode": "'emacs' or 'vi'",
}


_UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
#: The smallest memory budget: what the interpreter's own bookkeeping may take in a statement.
MIN_SIZE = 16 << 20


def parse_size(text: str, default: Any = ...) -> int:
    """Bytes in a size such as "1GiB", "512M", "2e9" (binary units); ValueError if not one."""
    import re

    match = re.fullmatch(r"\s*([0-9.eE+]+)\s*([kmgtKMGT]?)(?:i?[bB])?\s*", text)
    try:
        value = float(match.group(1)) * _UNITS[match.group(2).lower()] if match else -1.0
    except ValueError:
        value = -1.0
    if not value > 0 or value != value or value == float("inf"):
        if default is ...:
            raise ValueError(f"not a size: {text!r} (try 1GiB or 512MiB)")
        return default
    if value < MIN_SIZE:
        if default is ...:
            raise ValueError(f"{text!r} is too small: the least is 16MiB")
        return default
    return int(value)


#: The largest config.toml read; a larger one (or /dev/zero behind a link) is ignored.
MAX_CONFIG_BYTES = 1 << 20


def load(warn: Callable[[str], None], path: Path | None = None) -> Settings:
    """Read config.toml; any problem is one warning and the defaults for what is wrong."""
    path = path or config_dir() / "config.toml"
    settings = Settings()
    if not os.path.exists(path):
        return settings
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            warn(one_line(f"ignoring {path}: not a regular file"))
            return settings
        with open(path, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            warn(one_line(f"ignoring {path}: larger than {MAX_CONFIG_BYTES // 1024} KiB"))
            return settings
        data = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        return settings
    except RecursionError:
        warn(one_line(f"ignoring {path}: nested too deeply"))
        return settings
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        warn(one_line(f"ignoring {path}: {_first_line(e)}"))
        return settings
    problems = []
    for key, value in data.items():
        key = key.replace("-", "_")
        key = _RENAMED.get(key, key)
        if key not in _CHECKS:
            problems.append(f"unknown setting '{key}'")
        elif not _CHECKS[key](value):
            problems.append(f"'{key}' must be {_HINTS[key]}")
        else:
            value = value.strip() if isinstance(value, str) else value  # "1GiB\n" is 1GiB
            setattr(settings, key, value)
    if problems:  # one line, however many: the rest of the file is used
        warn(one_line(f"{path}: {'; '.join(problems)} (ignored)"))
    return settings


def _toml(text: str) -> str:
    """A string as TOML writes it: JSON's escapes are TOML's."""
    import json

    return json.dumps(text, ensure_ascii=False)


def describe(settings: Settings, version: str) -> str:
    """The settings in use as config.toml would hold them, with the paths in use: what
    ``--print-config`` prints (a valid config.toml)."""
    config, init, history = config_dir() / "config.toml", config_dir() / "init.calc", history_path()

    def state(path: Path) -> str:
        return "present" if path.exists() else "not present"

    lines = [
        f"# dezero-repl {version}: the settings in use (the defaults, unless config.toml says",
        "# otherwise), as config.toml would hold them.",
        one_line(f"# config file:  {config} ({state(config)})"),
        one_line(f"# init script:  {init} ({state(init)})"),
        one_line(f"# history file: {history} ({state(history)})"),
        f"color_scheme = {_toml(settings.color_scheme)}  # {', '.join(COLOR_SCHEMES)}",
        f'mode = {_toml(settings.mode)}  # or "nograd"',
        f"history_size = {settings.history_size}  # entries kept in the history file",
        f"memory_limit = {_toml(settings.memory_limit)}  # what one statement may hold",
        f'edit_mode = {_toml(settings.edit_mode)}  # or "vi"',
    ]
    if settings.precision is None:
        lines.append("# precision = 6  # significant digits (unset: the shortest exact form)")
    else:
        lines.append(f"precision = {settings.precision}  # significant digits")
    return "\n".join(lines)


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def run_init(runner: Any) -> None:
    """Run init.calc quietly if it exists: only its errors are shown, and they are not fatal."""
    from dezero_repl.output import QuietOutput

    path = config_dir() / "init.calc"
    if not path.is_file():
        return
    from dezero_repl.sources import QuitRequested

    saved_output, saved_keep_going = runner.output, runner.keep_going
    runner.output, runner.keep_going = QuietOutput(), True
    try:
        runner.run_file(str(path))
    except QuitRequested:  # ends init.calc, not the calculator: what follows still runs
        saved_output.notice(f"warning: ':quit' in {path} ends only that file")
    finally:
        runner.output, runner.keep_going = saved_output, saved_keep_going
        runner.failed = False
        # Its statements print nothing, and run again before a saved script is replayed:
        # :save leaves them out, as it leaves out the settings of config.toml.
        runner.session.log.clear()
