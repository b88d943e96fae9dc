"""The interactive calculator, driven through a pseudo-terminal as a person would use it.

Each test starts the real ``python -m dezero_repl`` with its own home, configuration,
state and history, types keys, and checks what comes back. What is drawn on screen
(toolbar, preview, completion menu, plots) is checked in test_screen.py.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from pty_helpers import PASTE_OFF, Repl, Spawner, colour_sequences, make_env, strip_escapes

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")


@pytest.fixture
def home(tmp_path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def env(home) -> dict[str, str]:
    return make_env(home)


@pytest.fixture
def spawn(env):
    """Start the calculator (waiting for its first prompt); stopped after the test."""
    spawner = Spawner(env)
    yield spawner
    spawner.close_all()


def history_entries(path: Path) -> list[str]:
    """The entries of a prompt_toolkit history file, oldest first."""
    entries: list[str] = []
    current: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("+"):
            current = [] if current is None else current
            current.append(line[1:])
        else:
            if current is not None:
                entries.append("\n".join(current))
            current = None
    if current is not None:
        entries.append("\n".join(current))
    return entries


def wait_until_evaluating(repl: Repl) -> None:
    """Wait until the prompt has handed the line over and evaluation has begun."""
    repl.wait_for(lambda: PASTE_OFF in repl.transcript[repl.mark :], "the prompt to finish")
    repl.wait_for_signals()
    time.sleep(0.2)


HEAVY = "sum(ones(10**6) ** 2)"  # about 10 ms each; 150 of them outlast the test
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"  # what a terminal sends around a paste


# ---------------------------------------------------------------------------
# Evaluating
# ---------------------------------------------------------------------------


def test_expression_prints_value_then_gradient(spawn):
    repl = spawn()
    assert repl.run("x = 2") == ["x = 2"]
    assert repl.run("(x + 3) ** 2") == ["25", "  ∂/∂x = 10"]


def test_the_language_of_calculus_at_the_prompt(spawn):
    repl = spawn()
    assert repl.run("f(t) = if t < 0 then -t else t^2") == ["defined f(t)"]
    assert repl.run("f'(3); f'(-2)") == ["6", "-1"]
    assert repl.run("7 % 3; -7 // 2; 5!; max(1, 2); 0 < 0.5 < 1") == ["1", "-4", "120", "2", "1"]
    assert repl.run("x = 3") == ["x = 3"]
    assert repl.run("2x") == ["6", "  ∂/∂x = 2"]
    assert repl.run("sum(x^k for k in 0..2)") == ["13", "  ∂/∂x = 7"]
    (value,) = repl.run("integrate(2t, t, 0, 3)")
    assert float(value) == pytest.approx(9.0, rel=1e-15)


def test_a_line_ending_in_then_continues(spawn):
    repl = spawn()
    repl.send("if 1 > 0 then\r")
    repl.wait_for(lambda: repl.cursor_line().strip() == "...", "the continuation line")
    repl.send("5 else 6\r")
    repl.expect_prompt()
    assert repl.output_lines() == ["5"]


def test_nograd_changes_prompt_and_drops_gradients_until_turned_off(spawn):
    repl = spawn()
    repl.run("x = 2")
    repl.send(":nograd\r")
    assert repl.expect_prompt() == "nograd>>>"
    assert repl.output_lines() == ["gradients off (nograd mode)"]
    assert repl.run("(x + 3) ** 2") == ["25"]
    repl.send(":nograd off\r")
    assert repl.expect_prompt() == ">>>"
    assert repl.run("(x + 3) ** 2") == ["25", "  ∂/∂x = 10"]


def test_ans_and_underscore_hold_the_last_result(spawn):
    repl = spawn()
    assert repl.run("3 * 4") == ["12"]
    assert repl.run("ans + 1") == ["13"]
    assert repl.run("_ * 2") == ["26"]


def test_dash_i_after_eval_enters_the_repl_with_its_variables(spawn):
    repl = spawn("-e", "x = 5", "-i")
    assert "x = 5" in strip_escapes(repl.last_output)
    assert repl.run("x * 2") == ["10", "  ∂/∂x = 2"]


def test_dash_i_with_a_failing_file_opens_the_prompt_with_what_it_set(spawn, tmp_path):
    script = tmp_path / "setup.calc"
    script.write_text("x = 5\nf(t) = t^2\ny = x +* 1\nz = 7\n", encoding="utf-8")
    repl = spawn("-i", str(script))
    shown = strip_escapes(repl.last_output)
    assert "x = 5" in shown and f"{script}:3:8: error:" in shown
    assert repl.run("f(x)") == ["25", "  ∂/∂x = 10"]
    assert "unknown name 'z'" in " ".join(repl.run("z"))
    assert repl.quit() == 0


# ---------------------------------------------------------------------------
# Ctrl-C and Ctrl-D
# ---------------------------------------------------------------------------


def test_ctrl_c_at_the_prompt_clears_the_line_and_keeps_variables(spawn):
    repl = spawn()
    repl.run("x = 2")
    repl.send("x + 100")
    repl.wait_for(lambda: "x + 100" in repl.cursor_line(), "the typed line")
    repl.send("\x03")
    assert repl.expect_prompt() == ">>>"
    assert "102" not in repl.output()
    assert repl.run("x") == ["2", "  ∂/∂x = 1"]


def test_ctrl_c_stops_a_long_evaluation_without_committing_it(spawn):
    repl = spawn()
    repl.run("x = 2")
    repl.send(PASTE_START + "x = " + " + ".join([HEAVY] * 150) + PASTE_END + "\r")
    wait_until_evaluating(repl)
    interrupted = time.monotonic()
    repl.child.send("\x03")
    repl.expect_prompt()
    assert time.monotonic() - interrupted < 1.0
    printed = repl.output()
    assert "interrupted" in printed
    assert "^Cinterrupted" not in printed  # the terminal's echo of Ctrl-C ends its own line
    assert repl.run("x") == ["2", "  ∂/∂x = 1"]


def test_ctrl_c_stops_a_load_of_a_heavy_script_and_load_works_again(spawn, home):
    script = home / "heavy.calc"
    script.write_text(f"{HEAVY}\n" * 3000, encoding="utf-8")  # far more than the test waits for
    repl = spawn()
    repl.run("x = 2")
    for _ in range(2):  # the second :load proves the first left no "loading" state behind
        repl.send(f":load {script}\r")
        wait_until_evaluating(repl)
        repl.wait_for(lambda: "1000000" in repl.transcript[repl.mark :], "the script to run")
        interrupted = time.monotonic()
        repl.child.send("\x03")
        repl.expect_prompt()
        assert time.monotonic() - interrupted < 1.0
        printed = repl.output()
        assert "interrupted" in printed
        assert "cycle" not in printed and "error" not in printed
    assert repl.run("x") == ["2", "  ∂/∂x = 1"]


def test_ctrl_d_on_a_non_empty_line_deletes_a_character(spawn):
    repl = spawn()
    repl.send("12\x1b[D\x04")  # Left, then Ctrl-D deletes the "2" under the cursor
    repl.wait_for(lambda: repl.cursor_line().endswith(">>> 1"), "the shortened line")
    repl.send("\r")
    repl.expect_prompt()
    assert repl.output_lines() == ["1"]


def test_ctrl_d_on_an_empty_line_exits_zero_even_after_an_error(spawn):
    repl = spawn()
    assert "error" in repl.run("undefined_name + 1")[0]
    assert repl.quit() == 0


# ---------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------


def test_history_survives_a_restart(spawn, env, home):
    env = dict(env, DEZERO_REPL_HISTORY=str(home / "hist"))
    first = spawn(env=env)
    first.run("1234 * 2")
    assert first.quit() == 0
    second = spawn(env=env)
    second.send("\x1b[A")  # Up
    second.wait_for(lambda: "1234 * 2" in second.cursor_line(), "the recalled line")
    second.send("\r")
    second.expect_prompt()
    assert second.output_lines() == ["2468"]


def test_history_file_is_private_and_under_xdg_state_home(spawn, env):
    repl = spawn()
    repl.run("1 + 1")
    repl.quit()
    path = Path(env["XDG_STATE_HOME"]) / "dezero-repl" / "history"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert history_entries(path) == ["1 + 1"]


def test_history_stores_consecutive_duplicates_once(spawn, env, home):
    path = home / "hist"
    env = dict(env, DEZERO_REPL_HISTORY=str(path))
    repl = spawn(env=env)
    for line in ["x = 1", "x = 1", "x = 1", "x + 1", "x = 1"]:
        repl.run(line)
    repl.quit()
    assert history_entries(path) == ["x = 1", "x + 1", "x = 1"]


def test_unwritable_history_warns_once_and_the_repl_still_works(spawn, env, home):
    blocker = home / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    env = dict(env, DEZERO_REPL_HISTORY=str(blocker / "history"))
    repl = spawn(env=env)
    assert repl.run("x = 2") == ["x = 2"]
    assert repl.run("x + 1") == ["3", "  ∂/∂x = 1"]
    repl.send("\x1b[A\x1b[A")  # history in memory still works
    repl.wait_for(lambda: "x = 2" in repl.cursor_line(), "the recalled line")
    repl.send("\x03")
    repl.expect_prompt()
    assert repl.quit() == 0
    warnings = [
        line
        for line in strip_escapes(repl.transcript).splitlines()
        if "history is not saved" in line
    ]
    assert len(warnings) == 1
    assert str(blocker) in warnings[0]
    assert "Traceback" not in repl.transcript


def test_two_sessions_at_once_both_keep_their_lines(spawn, env, home):
    path = home / "hist"
    env = dict(env, DEZERO_REPL_HISTORY=str(path))
    a = spawn(env=env)
    b = spawn(env=env)
    a.run("11 * 11")
    b.run("22 * 22")
    a.run("33 * 33")
    assert a.quit() == 0
    assert b.quit() == 0
    assert history_entries(path) == ["11 * 11", "22 * 22", "33 * 33"]


def test_ctrl_r_recalls_an_earlier_line(spawn):
    repl = spawn()
    repl.run("1234 * 2")
    repl.run("x = 2")
    repl.run("x + 1")
    repl.send("\x12")  # Ctrl-R
    repl.wait_for(lambda: "reverse-i-search" in repl.cursor_line(), "the search prompt")
    repl.send("1234")
    repl.wait_for(lambda: "1234 * 2" in repl.cursor_line(), "the found line")
    repl.send("\r")  # accept the found line
    repl.wait_for(lambda: repl.cursor_line().startswith(">>> 1234 * 2"), "the line to edit")
    repl.send("\r")
    repl.expect_prompt()
    assert repl.output_lines() == ["2468"]


# ---------------------------------------------------------------------------
# Multi-line input
# ---------------------------------------------------------------------------


def test_unclosed_bracket_continues_on_a_dots_line(spawn):
    repl = spawn()
    repl.send("(1 +\r")
    repl.wait_for(lambda: repl.cursor_line().strip() == "...", "the continuation line")
    repl.send("2) * 10\r")
    repl.expect_prompt()
    assert repl.output_lines() == ["30"]


def test_alt_enter_inserts_a_newline_and_both_lines_run(spawn):
    repl = spawn()
    repl.send("x = 1\x1b\r")  # Alt-Enter: ESC then Enter
    repl.wait_for(lambda: repl.cursor_line().strip() == "...", "the second line")
    repl.send("y = x + 1\r")
    repl.expect_prompt()
    assert repl.output_lines() == ["x = 1", "y = 2", "  ∂/∂x = 1"]


def test_pasted_block_of_statements_runs_in_order(spawn):
    repl = spawn()
    repl.send(PASTE_START + "x = 1\ny = x + 1\nx * 10 + y\n" + PASTE_END)
    repl.wait_for(lambda: "x * 10 + y" in repl.text(), "the pasted text")
    repl.send("\r")
    repl.expect_prompt()
    assert repl.output_lines() == [
        "x = 1",
        "y = 2",
        "  ∂/∂x = 1",
        "12",
        "  ∂/∂x = 11",
        "  ∂/∂y = 1",
    ]


def test_semicolons_run_statements_in_order(spawn):
    repl = spawn()
    assert repl.run("a = 4; b = a * 2; b - a") == [
        "a = 4",
        "b = 8",
        "  ∂/∂a = 2",
        "4",
        "  ∂/∂a = 1",
        "  ∂/∂b = 1",
    ]


# ---------------------------------------------------------------------------
# Completion
# ---------------------------------------------------------------------------


def test_tab_completes_a_variable_name(spawn):
    repl = spawn()
    repl.run("alpha_value = 3")
    repl.send("alp\t")
    repl.wait_for(lambda: "alpha_value" in repl.cursor_line(), "the completed name")
    repl.send("\r")
    repl.expect_prompt()
    assert repl.output_lines() == ["3", "  ∂/∂alpha_value = 1"]


def test_tab_completes_a_function_name(spawn):
    repl = spawn()
    repl.send("sigm\t")
    repl.wait_for(lambda: "sigmoid" in repl.cursor_line(), "the completed name")
    assert repl.run("(0)") == ["0.5"]


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------


def test_save_reset_load_restores_variables_and_functions(spawn, home):
    script = home / "session.calc"
    repl = spawn()
    repl.run("a = 3")
    repl.run("f(t) = t ** 2 + a")
    assert repl.run("b = f(a)") == ["b = 12", "  ∂/∂a = 7"]
    assert repl.run(f":save {script}") == [f"saved 3 statement(s) to {script}"]
    assert repl.run(":reset") == ["session reset"]
    assert repl.run(":vars") == ["no variables"]
    assert repl.run(f":load {script}")[-1] == f"loaded {script}"
    listing = repl.run(":vars")
    assert [line.split()[0] for line in listing] == ["a", "b"]
    assert repl.run("f(2) + b") == ["19", "  ∂/∂a = 8", "  ∂/∂b = 1"]


# ---------------------------------------------------------------------------
# Colour
# ---------------------------------------------------------------------------


def colourful_session(repl: Repl) -> str:
    """Exercise everything that may colour: input, results, errors, menu, toolbar, plot."""
    repl.start()
    repl.run("x = 2")
    repl.send("(x + 3) ** 2")
    repl.wait_for(lambda: "∂/∂x = 10" in repl.lines()[-1], "the preview")
    repl.send("\r")
    repl.expect_prompt()
    repl.run("undefined_name + 1")
    repl.run("log(-1)")
    repl.send("si\t")
    repl.wait_for_text("sigmoid(x)")
    repl.send("\x03")
    repl.expect_prompt()
    repl.run(":plot sin(x) for x in -3..3")
    assert repl.quit() == 0
    return repl.transcript


def test_no_color_output_has_no_colour_escapes(spawn, env):
    repl = spawn(env=dict(env, NO_COLOR="1"), cpr=True, wait=False)
    transcript = colourful_session(repl)
    assert "error" in strip_escapes(transcript)
    assert colour_sequences(transcript) == []


def test_color_never_output_has_no_colour_escapes(spawn):
    repl = spawn("--color", "never", cpr=True, wait=False)
    assert colour_sequences(colourful_session(repl)) == []


def test_colour_is_on_by_default_on_a_terminal(spawn):
    repl = spawn(cpr=True, wait=False)
    transcript = colourful_session(repl)
    assert "\x1b[36m  ∂/∂x = 10" in transcript  # the gradient line
    assert "\x1b[1;31merror:" in transcript  # the error label
    assert len(set(colour_sequences(transcript))) >= 5  # highlighting, toolbar, menu, plot


# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------


def write_config(env: dict[str, str], name: str, text: str) -> Path:
    directory = Path(env["XDG_CONFIG_HOME"]) / "dezero-repl"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_config_precision_and_mode_take_effect(spawn, env):
    write_config(env, "config.toml", 'precision = 3\nmode = "nograd"\n')
    repl = spawn(wait=False)
    assert repl.start() == "nograd>>>"
    assert repl.run("pi") == ["3.14"]
    repl.run("x = 2")
    assert repl.run("x / 3") == ["0.667"]


def test_broken_config_is_one_warning_line_not_a_crash(spawn, env):
    path = write_config(env, "config.toml", "precision = = 3\n")
    repl = spawn(wait=False)
    assert repl.start() == ">>>"
    before_prompt = strip_escapes(repl.last_output)
    warnings = [line for line in before_prompt.splitlines() if "config.toml" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"dezero-repl: ignoring {path}")
    assert "Traceback" not in before_prompt
    assert repl.run("pi") == ["3.141592653589793"]


def test_init_calc_runs_quietly_at_start_up(spawn, env):
    write_config(env, "init.calc", "k = 42\nf(t) = t * k\n")
    repl = spawn()
    assert "k = 42" not in strip_escapes(repl.last_output)
    assert repl.run("f(2)") == ["84", "  ∂/∂k = 2"]


def test_no_config_skips_config_toml_and_init_calc(spawn, env):
    write_config(env, "config.toml", 'mode = "nograd"\nprecision = 3\n')
    write_config(env, "init.calc", "k = 42\n")
    repl = spawn("--no-config", wait=False)
    assert repl.start() == ">>>"
    assert repl.run("pi") == ["3.141592653589793"]
    assert repl.run(":vars") == ["no variables"]


# ---------------------------------------------------------------------------
# Habits of other prompts: bare words, vi keys, progress, history size
# ---------------------------------------------------------------------------


def test_bare_help_quit_and_exit_work_at_the_prompt(spawn):
    repl = spawn()
    assert "Topics:" in " ".join(repl.run("help"))
    repl.send("quit\r")
    assert repl.expect_eof() == 0
    repl = spawn()
    repl.send("exit\r")
    assert repl.expect_eof() == 0


def test_a_variable_named_help_is_still_a_variable(spawn):
    repl = spawn()
    repl.run("help = 3")
    assert repl.run("help") == ["3", "  ∂/∂help = 1"]


def test_vi_mode_from_the_flag_edits_with_vi_keys(spawn):
    repl = spawn("--vi")
    repl.send("12+1")
    repl.send("\x1b")  # normal mode
    repl.send("x")  # delete the character under the cursor: the last 1
    repl.send("a5\r")  # append 5
    repl.expect_prompt()
    assert repl.output_lines() == ["17"]


def test_vi_mode_from_the_configuration(spawn, home):
    config = home / "config" / "dezero-repl"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text('edit_mode = "vi"\n', encoding="utf-8")
    repl = spawn()
    repl.send("2*3")
    repl.send("\x1b")
    repl.send("0")  # to the start of the line
    repl.send("i1\r")  # insert 1: 12*3
    repl.expect_prompt()
    assert repl.output_lines() == ["36"]


def test_a_slow_statement_shows_a_notice_with_the_time_and_how_to_stop(spawn):
    repl = spawn()
    repl.send("sum(sum([k]) for k in 1..200000)\r")
    repl.expect_prompt(timeout=60)
    raw = repl.last_output
    assert "calculating… " in raw and " s (Ctrl-C to stop)" in raw
    notice = raw.rindex("(Ctrl-C to stop)")
    assert "\r\x1b[K" in raw[notice:]  # erased before the result is printed
    assert raw[notice:].rstrip().endswith("20000100000")


def test_history_is_trimmed_to_history_size_entries(spawn, env, home):
    path = home / "hist"
    path.write_text("".join(f"\n# 2026-12-01 00:00:{i:02d}\n+{i} + {i}\n" for i in range(30)))
    path.chmod(0o600)
    config = home / "config" / "dezero-repl"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text("history_size = 5\n", encoding="utf-8")
    repl = spawn(env=dict(env, DEZERO_REPL_HISTORY=str(path)))
    repl.run("7 * 6")
    assert repl.quit() == 0
    entries = history_entries(path)
    assert entries == ["25 + 25", "26 + 26", "27 + 27", "28 + 28", "29 + 29", "7 * 6"]
    assert path.stat().st_mode & 0o777 == 0o600
