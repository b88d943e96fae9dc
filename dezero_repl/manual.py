"""The command line's documentation, written once: ``--help``, the man page and
``--print-config`` all come from here, so none of them can drift from the others.

``python -m dezero_repl.manual`` writes the man page (``man/dezero-repl.1``, shipped in the
sdist; a test checks that it is the page this module makes).
"""

from __future__ import annotations

import argparse
import re
import textwrap
from pathlib import Path

SUMMARY = "a calculator that differentiates: exact gradients and derivatives of any order"

DESCRIPTION = (
    "dezero-repl evaluates statements such as x = 2 and (x + 3) ** 2, and prints each value "
    "followed by the exact gradient of every named variable it depends on, by automatic "
    "differentiation. Derivatives of any order come from Taylor mode; integrals, sums, "
    "choices and the special functions are differentiable too. Type :help at the prompt."
)

#: (command line, what it does)
EXAMPLES = [
    ("dezero-repl", "the interactive prompt, with completion, history and a live preview"),
    ("dezero-repl -e 'x = 2' -e '(x + 3) ** 2'", "prints 25 and ∂/∂x = 10"),
    ("dezero-repl script.calc", "runs a script; an error names file:line:column, exit 1"),
    ("echo 'x = 1; diff(sin(x)^2, x, 3)' | dezero-repl", "a filter: statements from stdin"),
    ("dezero-repl --json script.calc", "one JSON object per statement, for programs"),
    ("dezero-repl -i setup.calc", "runs a script, then the prompt with its variables"),
]

#: (variable, meaning)
ENVIRONMENT = [
    ("NO_COLOR", "when set and not empty, no colour anywhere"),
    ("CLICOLOR_FORCE", "when set and not 0, colour even when output is not a terminal"),
    ("XDG_CONFIG_HOME", "where dezero-repl/config.toml and init.calc are (~/.config)"),
    ("XDG_STATE_HOME", "where dezero-repl/history is kept (~/.local/state)"),
    ("DEZERO_REPL_HISTORY", "the history file, instead of the one under XDG_STATE_HOME"),
]

#: (path, meaning)
FILES = [
    ("$XDG_CONFIG_HOME/dezero-repl/config.toml", "settings (--print-config shows them)"),
    ("$XDG_CONFIG_HOME/dezero-repl/init.calc", "statements run before anything else"),
    ("$XDG_STATE_HOME/dezero-repl/history", "the prompt's history, mode 0600, trimmed to "
     "history_size entries; the only file the calculator writes unless told to "
     "(:save, :graph > FILE, :plot > FILE)"),
]  # fmt: skip

#: (status, meaning)
EXIT_STATUS = [
    ("0", "every statement succeeded (at the prompt: leaving it normally)"),
    ("1", "a statement failed, or a file could not be read"),
    ("2", "the command line is wrong"),
    ("130", "interrupted by Ctrl-C outside the prompt"),
]


#: The sections both --help and the man page have: title, entries, and the roff font of
#: an entry's first part (bold, or italic for a path).
SECTIONS = [
    ("examples", EXAMPLES, "B"),
    ("environment", ENVIRONMENT, "B"),
    ("files", FILES, "I"),
    ("exit status", EXIT_STATUS, "B"),
]


def epilog() -> str:
    """The part of --help after the options: examples, environment, files, exit status."""
    parts: list[str] = []
    for title, entries, _ in SECTIONS:
        parts.append(f"{title}:")
        for term, meaning in entries:
            parts += [f"  {term}", *_wrapped(meaning, 6)]
        parts.append("")
    parts += _wrapped(
        "With no FILE and no -e, statements are read from stdin: at the prompt on a "
        "terminal, as a stream otherwise. See man dezero-repl, and :help at the prompt.", 0
    )  # fmt: skip
    return "\n".join(parts)


def _wrapped(text: str, indent: int) -> list[str]:
    return textwrap.wrap(text, 79, initial_indent=" " * indent, subsequent_indent=" " * indent)


# ---------------------------------------------------------------------------
# The man page
# ---------------------------------------------------------------------------


def man_page(parser: argparse.ArgumentParser, version: str) -> str:
    """The man page (roff, man macros) of the command line that ``parser`` reads."""
    lines = [
        f'.TH DEZERO-REPL 1 "" "dezero-repl {version}" "User Commands"',
        ".SH NAME",
        f"dezero-repl \\- {_roff(SUMMARY)}",
        ".SH SYNOPSIS",
        ".B dezero-repl",
        "[\\fIOPTION\\fR]... [\\fIFILE\\fR]...",
        ".SH DESCRIPTION",
        _roff(DESCRIPTION),
        ".SH OPTIONS",
    ]
    for action in parser._actions:  # argparse keeps no public list of its options
        if not action.option_strings:
            continue
        flags = ", ".join(f"\\fB{_roff(flag)}\\fR" for flag in action.option_strings)
        if action.metavar:
            flags += f" \\fI{action.metavar}\\fR"
        elif action.choices:
            flags += " {" + "|".join(action.choices) + "}"
        lines += [".TP", flags, _roff(action.help or "")]
    for title, entries, font in SECTIONS:
        lines.append(f".SH {title.upper()}")
        for term, meaning in entries:
            lines += [".TP", f"\\f{font}{_roff(term)}\\fR", _roff(meaning)]
    lines += [".SH SEE ALSO", "The README, and \\fB:help\\fR at the prompt."]
    return "\n".join(lines) + "\n"


def _roff(text: str) -> str:
    """Text safe in a roff line: backslashes and hyphens escaped, no line starting with a dot."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return re.sub(r"^([.'])", r"\\&\1", text)


#: Where the generated man page is kept (and shipped in the sdist).
MAN_PAGE = Path(__file__).resolve().parent.parent / "man" / "dezero-repl.1"


if __name__ == "__main__":
    from dezero_repl import __version__
    from dezero_repl.cli import _parser

    MAN_PAGE.parent.mkdir(exist_ok=True)
    MAN_PAGE.write_text(man_page(_parser(), __version__), encoding="utf-8")
