"""Odd configuration and hostile inputs: each gets one clear line, a bounded cost, or a
refusal, never a traceback, a hang or a wrong answer."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _run(
    env: dict, *args: str, stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dezero_repl", *args],
        input=stdin.encode(),
        capture_output=True,
        env=env,
        timeout=timeout,
    )


@pytest.fixture
def home_env(cli_env, tmp_path) -> tuple[dict, Path]:
    config = tmp_path / "config" / "dezero-repl"
    config.mkdir(parents=True)
    return {**cli_env, "XDG_CONFIG_HOME": str(tmp_path / "config")}, config


def test_a_config_nested_2000_deep_is_one_warning(home_env):
    env, config = home_env
    (config / "config.toml").write_text("a = " + "[" * 2000 + "]" * 2000 + "\n", encoding="utf-8")
    proc = _run(env, "-e", "1+1")
    assert proc.returncode == 0 and proc.stdout == b"2\n"
    assert proc.stderr.decode().splitlines() == [
        f"dezero-repl: ignoring {config / 'config.toml'}: nested too deeply"
    ]


def test_a_config_linked_to_dev_zero_is_refused_at_once(home_env):
    env, config = home_env
    (config / "config.toml").symlink_to("/dev/zero")
    started = time.monotonic()
    proc = _run(env, "-e", "1+1", timeout=20)
    assert time.monotonic() - started < 10
    assert proc.returncode == 0 and proc.stdout == b"2\n"
    assert b"not a regular file" in proc.stderr


def test_a_huge_config_is_ignored_with_a_warning(home_env):
    env, config = home_env
    (config / "config.toml").write_text("# " + "x" * (2 << 20) + "\n", encoding="utf-8")
    proc = _run(env, "-e", "1+1")
    assert proc.stdout == b"2\n" and b"larger than 1024 KiB" in proc.stderr


def test_quit_in_init_calc_does_not_swallow_the_expressions(home_env):
    env, config = home_env
    (config / "init.calc").write_text("k = 5\n:quit\nk = 6\n", encoding="utf-8")
    proc = _run(env, "-e", "k + 1")
    assert proc.returncode == 0 and proc.stdout.startswith(b"6\n")  # k = 5, and -e ran
    assert b"':quit' in " in proc.stderr and b"ends only that file" in proc.stderr


@pytest.mark.parametrize("limit", ["0.5", "7", "0.001k", "15MiB"])
def test_a_memory_limit_below_the_least_is_a_usage_error(cli_env, limit):
    proc = _run(cli_env, "--memory-limit", limit, "-e", "1+1")
    assert proc.returncode == 2
    assert b"too small: the least is 16MiB" in proc.stderr


def test_plot_range_after_thousands_of_blanks_is_quick(cli_env):
    started = time.monotonic()
    proc = _run(cli_env, "--json", "-e", ":plot sin(x) for x in " + " " * 4000 + "1..2")
    assert time.monotonic() - started < 10
    assert proc.returncode == 0, proc.stderr
    assert b'"plot": {"x": [1.0,' in proc.stdout


def test_solve_refuses_a_point_that_is_no_root(jcalc):
    error = jcalc.last("f(t) = tanh(1e15*t) + 2\nsolve(f, 0)")["error"]
    assert error["type"] == "ConvergenceError"
    assert error["message"].startswith("solve found no root")
    assert jcalc.last("g(t) = t^2 - 2\nsolve(g, 1)")["value"] == pytest.approx(2**0.5, rel=1e-15)


@pytest.mark.parametrize(
    ("definition", "call", "stopped"),
    [
        # no minimum at all: f' = 2 + tanh(1e15 t) >= 1, and f'' is 7e13 where it stopped
        ("f(t) = 2t + log(cosh(1e15*t))/1e15", "minimize(f, 0)", "x = -2e-15"),
        # the minimum is at (0, 0); the steps ran off towards a point 2e12 away
        ("f(a, b) = sqrt(a^2 + b^2 + 1e-30) - a/2", "minimize(f, [1, 2])", "[-2126844399678."),
    ],
)
def test_minimize_refuses_a_point_that_is_no_minimum(jcalc, definition, call, stopped):
    error = jcalc.last(f"{definition}\n{call}")["error"]
    assert error["type"] == "ConvergenceError"
    assert error["message"].startswith(
        f"minimize found no minimum: Newton's steps stopped at {stopped}"
    )
    assert ", where the gradient is " in error["message"]
    # A steep minimum started next to it, where the gradient is small, is still found.
    result = jcalc.last("h(t) = 1e8*(t - 3)^2\nminimize(h, 2.9999)")
    assert result["value"] == 3.0
    result = jcalc.last("g(a, b) = (1 - a)^2 + 100*(b - a^2)^2\nminimize(g, [0.999, 0.998])")
    assert result["value"] == pytest.approx([1.0, 1.0], rel=1e-12)


# ---- the history file ----------------------------------------------------------------------


def test_history_refuses_a_symbolic_link(tmp_path, monkeypatch):
    from dezero_repl import repl

    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("", encoding="utf-8")
    link = tmp_path / "history"
    link.symlink_to(elsewhere)
    monkeypatch.setenv("DEZERO_REPL_HISTORY", str(link))
    notices = []
    history = repl.open_history(notices.append)
    assert type(history).__name__ == "InMemoryHistory"
    assert notices == [
        f"warning: history is not saved: cannot write {link} (it is a symbolic link)"
    ]


def test_history_that_others_could_read_is_made_private(tmp_path, monkeypatch):
    from dezero_repl import repl

    path = tmp_path / "history"
    path.write_text("", encoding="utf-8")
    os.chmod(path, 0o644)
    monkeypatch.setenv("DEZERO_REPL_HISTORY", str(path))
    history = repl.open_history(lambda message: None)
    assert type(history).__name__ == "PrivateFileHistory"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_2_mb_statement_is_refused_at_once(cli_env):
    started = time.monotonic()
    proc = _run(cli_env, stdin="+".join(["1"] * 1_000_000) + "\n")
    assert time.monotonic() - started < 10
    assert proc.returncode == 1 and proc.stdout == b""
    first = proc.stderr.decode().splitlines()[0]
    message = "this statement is longer than 0.5 MiB (1,999,999 characters): split it into several"
    assert first == f"<stdin>:1:1: error: {message}"


@pytest.mark.parametrize("key", ["memory_limit", "array_limit"])
def test_the_memory_budget_is_set_in_config_toml_under_either_name(home_env, key):
    env, config = home_env
    (config / "config.toml").write_text(f'{key} = "16MiB"\n', encoding="utf-8")
    proc = _run(env, "-e", "zeros(10**7)")
    assert proc.returncode == 1
    assert b"over the statement's memory budget of 16.0 MiB" in proc.stderr
    (config / "config.toml").write_text(f'{key} = "1MiB"\n', encoding="utf-8")
    proc = _run(env, "-e", "1+1")
    assert proc.stdout == b"2\n"
    assert b"'memory_limit' must be a size such as" in proc.stderr


@pytest.mark.parametrize("command", [":precision 2²", ":elements 1²"])
def test_a_superscript_digit_is_not_a_number_of_digits(jcalc, command):
    error = jcalc.last(command)["error"]
    assert error["type"] == "CommandError"
    assert "takes a number" in error["message"]


def test_a_config_with_many_problems_is_one_warning_line_without_control_characters(home_env):
    env, config = home_env
    (config / "config.toml").write_text(
        '"a\\nb" = 1\n"\\u001b[31mRED" = 2\nprecision = 99\nmode = "fast"\n'
        'memory_limit = "1GiB\\n"\n',
        encoding="utf-8",
    )
    proc = _run(env, "-e", "1+1", "--print-config")
    err = proc.stderr.decode()
    assert proc.returncode == 0 and len(err.splitlines()) == 1 and "\x1b" not in err
    assert err == (
        f"dezero-repl: {config / 'config.toml'}: unknown setting 'a\\nb'; unknown setting "
        "'\\x1b[31mRED'; 'precision' must be a whole number from 1 to 17; 'mode' must be "
        "'grad' or 'nograd' (ignored)\n"
    )
    # What was valid is used, and --print-config still prints a valid config.toml.
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    assert tomllib.loads(proc.stdout.decode())["memory_limit"] == "1GiB"


def test_file_names_are_shown_escaped_in_error_locations_and_messages(cli_env, tmp_path):
    name = "nl\nname\x1b[31m.calc"
    (tmp_path / name).write_text("x = \n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "dezero_repl", "--keep-going", name, "-e", ":save s\x1b[2Jx.calc"],
        capture_output=True,
        env=cli_env,
        cwd=tmp_path,
        timeout=60,
    )
    err, out = proc.stderr.decode(), proc.stdout.decode()
    assert "\x1b" not in err and err.startswith("nl\\nname\\x1b[31m.calc:1:4: error: expected")
    assert out == "saved 0 statement(s) to s\\x1b[2Jx.calc\n"
