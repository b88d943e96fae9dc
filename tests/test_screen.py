"""What a person sees: the calculator in an emulated 80×24 terminal (pyte).

The terminal answers cursor-position requests, as real terminals do, so prompt_toolkit
draws its bottom toolbar: the mode, the number of variables and a live preview of the
line being typed. Assertions are on the screen's text, row by row.
"""

from __future__ import annotations

import os

import pytest
from pty_helpers import ROWS, Repl, Spawner, make_env

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")


@pytest.fixture
def spawn(tmp_path):
    """Start the calculator in the emulated terminal; stopped after the test."""
    home = tmp_path / "home"
    home.mkdir()
    spawner = Spawner(make_env(home), cpr=True)
    yield spawner
    spawner.close_all()


def toolbar(repl: Repl) -> str:
    return repl.lines()[-1]


def wait_for_toolbar(repl: Repl, *parts: str) -> str:
    repl.wait_for(lambda: all(p in toolbar(repl) for p in parts), f"{parts} in the toolbar")
    return toolbar(repl)


def run(repl: Repl, line: str) -> None:
    """Enter ``line`` and wait until the next prompt is drawn with its toolbar."""
    repl.run(line)
    wait_for_toolbar(repl, "variable")


def test_prompt_and_toolbar_show_the_mode_and_variable_count(spawn):
    repl = spawn()
    assert repl.cursor_line() == ">>>"
    assert wait_for_toolbar(repl, "variables").split() == ["grad", "0", "variables"]
    run(repl, "x = 2")
    assert toolbar(repl).split() == ["grad", "1", "variable"]
    run(repl, "y = 3")
    assert toolbar(repl).split() == ["grad", "2", "variables"]
    run(repl, ":nograd")
    assert toolbar(repl).split() == ["nograd", "2", "variables"]
    assert repl.cursor_line() == "nograd>>>"


def test_live_preview_shows_value_and_gradient_before_enter(spawn):
    repl = spawn()
    repl.run("x = 2")
    repl.send("(x + 3)")
    wait_for_toolbar(repl, "= 5", "∂/∂x = 1")
    repl.send(" ** 2")
    line = wait_for_toolbar(repl, "= 25", "∂/∂x = 10")
    assert line.split()[:3] == ["grad", "1", "variable"]
    assert repl.cursor_line() == ">>> (x + 3) ** 2"
    above = repl.lines()[:-1]
    assert not any("25" in row or "∂/∂x" in row for row in above)  # nothing printed yet
    repl.send("\r")
    repl.expect_prompt()
    rows = repl.lines()
    at = rows.index(">>> (x + 3) ** 2")
    assert rows[at + 1 : at + 3] == ["25", "  ∂/∂x = 10"]
    assert rows[at + 3] == ">>>"
    wait_for_toolbar(repl, "1 variable")
    assert "= 25" not in toolbar(repl)


def test_reverse_search_does_not_preview_the_search_text(spawn):
    repl = spawn()
    repl.run("x = 2")
    repl.run("x * 10")
    repl.send("\x12x")  # Ctrl-R, then search for "x"
    repl.wait_for(lambda: "reverse-i-search)`x': x * 10" in repl.text(), "the search")
    repl.pump(0.3)
    # "x" alone would preview as "= 2"; the line that Enter would take is "x * 10".
    assert toolbar(repl).split() == ["grad", "1", "variable"]
    repl.send("\r")  # take the found line
    wait_for_toolbar(repl, "= 20", "∂/∂x = 10")


def test_completion_menu_shows_function_signatures(spawn):
    repl = spawn()
    repl.send("si\t")
    repl.wait_for_text("sigmoid(x)")
    rows = repl.lines()
    assert any(row.split() == ["sin", "sin(x)"] for row in rows)
    assert any(row.split() == ["sigmoid", "sigmoid(x)"] for row in rows)


def test_plot_fits_the_terminal_with_frame_and_legend(spawn):
    repl = spawn()
    run(repl, ":plot sin(x) for x in -3..3")
    rows = repl.lines()
    frame = [i for i, row in enumerate(rows) if "┌" in row or "└" in row]
    top, bottom = frame[0], frame[-1]  # the legend's own box lies between
    assert rows[top].strip().startswith("┌") and rows[top].endswith("┐")
    assert rows[bottom].strip().startswith("└") and rows[bottom].endswith("┘")
    assert bottom - top > 10
    assert "sin(x), ∂/∂x" in rows[top - 1]  # the title, just above the frame
    inside = rows[top + 1 : bottom]
    assert all(row.endswith("│") for row in inside)  # the right side is not cut off
    legend = [row for row in inside if "sin(x)" in row or "∂/∂x" in row]
    assert len(legend) == 2 and "sin(x)" in legend[0] and "∂/∂x" in legend[1]
    assert repl.cursor_line() == ">>>"
    assert repl.screen.cursor.y == ROWS - 2  # the prompt, then the toolbar


def test_ctrl_l_clears_the_screen_leaving_the_prompt_at_the_top(spawn):
    repl = spawn()
    repl.run("x = 2")
    repl.run("(x + 3) ** 2")
    repl.send("x * 5")
    wait_for_toolbar(repl, "= 10")
    repl.send("\x0c")  # Ctrl-L
    repl.wait_for(lambda: repl.lines()[0] == ">>> x * 5", "the prompt at the top")
    assert all(row == "" for row in repl.lines()[1:-1])
    wait_for_toolbar(repl, "= 10", "∂/∂x = 5")
    repl.send("\r")
    repl.expect_prompt()
    assert repl.lines()[:4] == [">>> x * 5", "10", "  ∂/∂x = 5", ">>>"]


def test_a_wrapped_long_line_is_not_shown_as_a_continuation(spawn):
    repl = spawn()
    line = "1 + " * 25 + "1"  # wider than the terminal
    repl.send(line)
    wait_for_toolbar(repl, "= 26")
    row = repl.screen.cursor.y
    assert repl.lines()[row - 1] == (">>> " + line[: 80 - 4]).rstrip()
    assert repl.lines()[row] == line[80 - 4 :]  # no "..." in front
    repl.send("\r")
    repl.expect_prompt()
    assert "26" in repl.output_lines()


def underlined(repl: Repl) -> list[str]:
    """The underlined words of the line being typed (unknown names are underlined)."""
    row = repl.screen.buffer[repl.screen.cursor.y]
    text = "".join(row[x].data if row[x].underscore else " " for x in range(repl.screen.columns))
    return text.split()


@pytest.mark.parametrize(
    ("line", "unknown"),
    [
        ("w = 5", []),
        ("k(t) = t * q", ["q"]),
        ("sum(j^2 for j in 1..nn)", ["nn"]),
        ("integrate(exp(s*t), t, 0, bb)", ["s", "bb"]),
        ("w == 5", ["w"]),
    ],
)
def test_only_real_unknowns_are_underlined_while_typing(spawn, line, unknown):
    repl = spawn()
    repl.send(line)
    repl.wait_for(lambda: repl.cursor_line().endswith(line), "the typed line")
    repl.wait_for(lambda: underlined(repl) == unknown, f"{unknown} underlined")


def test_preview_shows_what_enter_will_print(spawn):
    repl = spawn()
    repl.send("0.1 + 0.2")
    wait_for_toolbar(repl, "= 0.30000000000000004")
    repl.send("\r")
    repl.wait_for_text("\n0.30000000000000004")
    run(repl, ":precision 4")
    repl.send("2 * 50000")
    wait_for_toolbar(repl, "= 100000")
    repl.send("\r")
    repl.wait_for_text("\n100000")


def test_long_messages_wrap_between_words_at_the_terminal_width(spawn):
    repl = spawn()
    run(repl, "integrate(1/t, t, 0, 1)")
    shown = [line for line in repl.lines() if line.strip()]
    start = next(i for i, line in enumerate(shown) if "error:" in line)
    message = []
    for line in shown[start:]:
        if line.lstrip().startswith("integrate("):  # the source line under the message
            break
        message.append(line)
    assert len(message) > 1, "the message was long enough to need two lines"
    words = " ".join(line.strip() for line in message).split()
    for word in ("converge:", "subintervals", "divergent,", "singular"):
        assert word in words, (word, message)
    assert all(len(line) < 80 for line in message)
