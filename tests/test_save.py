"""`:save`, `:graph > FILE` and `:plot > FILE` lose nothing: written atomically, never over a
file the session did not write (or changed since) unless told (`:save!`, `:graph!`, `:plot!`),
and replaying what `:save` wrote gives exactly the session's outputs."""

from __future__ import annotations

import errno
import json
import os
import random
import stat
from pathlib import Path

import pytest
from conftest import Calculator

from dezero_repl import files


def test_save_refuses_to_replace_a_file_it_did_not_write(calc, tmp_path):
    target = tmp_path / "notes.calc"
    target.write_text("precious\n", encoding="utf-8")
    _, err = calc.run(f"x = 2\n:save {target}")
    assert "exists and this session did not write it; ':save! " in err
    assert target.read_text(encoding="utf-8") == "precious\n"
    out, err = calc.run(f":save! {target}")
    assert (out, err) == (f"saved 1 statement(s) to {target}\n", "")
    assert target.read_text(encoding="utf-8") == "x = 2\n"


def test_save_replaces_a_file_this_session_wrote(calc, tmp_path):
    target = tmp_path / "s.calc"
    calc.run(f"x = 2\n:save {target}\ny = 3\n")
    out, err = calc.run(f":save {target}")
    assert (out, err) == (f"saved 2 statement(s) to {target}\n", "")
    assert target.read_text(encoding="utf-8") == "x = 2\ny = 3\n"


def test_a_failed_write_leaves_the_old_file_whole_and_no_temporary(calc, tmp_path, monkeypatch):
    target = tmp_path / "s.calc"
    calc.run(f"x = 2\n:save {target}\ny = 3\n")

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", disk_full)
    _, err = calc.run(f":save {target}")
    assert f"cannot write '{target}': No space left on device" in err
    assert target.read_text(encoding="utf-8") == "x = 2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.calc"]


def test_save_keeps_the_permissions_of_a_replaced_file(calc, tmp_path):
    target = tmp_path / "private.calc"
    target.write_text("", encoding="utf-8")
    target.chmod(0o600)
    calc.run(f"x = 1\n:save! {target}")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert target.read_text(encoding="utf-8") == "x = 1\n"


def test_a_file_swapped_or_edited_since_the_session_wrote_it_is_refused(calc, tmp_path):
    target = tmp_path / "o.calc"
    calc.run(f"x = 1\n:save {target}\ny = 2")
    target.unlink()
    target.write_text("USER DATA\n", encoding="utf-8")  # another file of the same name
    _, err = calc.run(f":save {target}")
    assert f"'{target}' has changed since this session wrote it; ':save! {target}'" in err
    assert target.read_text(encoding="utf-8") == "USER DATA\n"
    calc.run(f":save! {target}")
    with open(target, "a", encoding="utf-8") as f:  # edited in place
        f.write("# my note\n")
    _, err = calc.run(f":save {target}")
    assert "has changed since this session wrote it" in err
    assert target.read_text(encoding="utf-8").endswith("# my note\n")


def test_a_link_is_not_replaced_by_a_file(calc, tmp_path):
    real, link = tmp_path / "real.calc", tmp_path / "link.calc"
    link.symlink_to(real.name)
    calc.run(f"x = 1\n:save {real}")
    _, err = calc.run(f":save {link}")
    assert f"'{link}' exists and this session did not write it" in err
    out, err = calc.run(f"y = 2\n:save! {link}")  # written through the link, which stays
    assert err == "" and "saved 2 statement(s)" in out
    assert link.is_symlink() and real.read_text(encoding="utf-8") == "x = 1\ny = 2\n"


def test_what_is_not_a_regular_file_is_never_replaced(calc, tmp_path):
    folder, fifo = tmp_path / "folder", tmp_path / "fifo"
    folder.mkdir()
    os.mkfifo(fifo)
    for command in (":save", ":save!"):
        _, err = calc.run(f"x = 1\n{command} {folder}")
        assert f"error: cannot write '{folder}': it is a directory\n" in err
        _, err = calc.run(f"{command} {fifo}")
        assert f"error: cannot write '{fifo}': it is not a regular file\n" in err
    assert folder.is_dir() and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_long_file_name_can_be_saved(calc, tmp_path):
    target = tmp_path / ("a" * 250 + ".calc")  # 255 bytes: the longest name a file may have
    out, err = calc.run(f"x = 1\n:save {target}")
    assert err == "" and target.read_text(encoding="utf-8") == "x = 1\n"


def test_a_file_name_in_quotes_is_the_name_inside_them(calc, tmp_path):
    spaced, quoting = tmp_path / "my results.calc", tmp_path / 'say "hi".calc'
    graph, unquoted = tmp_path / "my graph.dot", tmp_path / "plain name.calc"
    out, err = calc.run(
        f'x = 2\n:save "{spaced}"\n:save \'{quoting}\'\n:graph x * 2 > "{graph}"\n'
        f":save {unquoted}\n:load '{spaced}'"
    )
    assert err == ""
    assert spaced.read_text(encoding="utf-8") == "x = 2\n" == quoting.read_text(encoding="utf-8")
    assert unquoted.read_text(encoding="utf-8") == "x = 2\n"  # spaces need no quotes
    assert graph.read_text(encoding="utf-8").startswith("digraph")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (spaced, quoting, graph, unquoted)
    )  # no file with quotes in its name
    assert out.endswith(f"loaded {spaced}\n")


@pytest.mark.parametrize(
    ("written", "name"),
    [('"a b.calc"', "a b.calc"), ("'a.calc'", "a.calc"), ('"a.calc', '"a.calc'), ('"', '"'),
     ("  a.calc ", "a.calc"), ("'it\"s'", 'it"s')],
)  # fmt: skip
def test_file_names_lose_only_quotes_that_enclose_them(written, name):
    assert files.file_name(written) == name


def test_a_file_that_appears_while_it_is_written_is_kept(calc, tmp_path, monkeypatch):
    target = tmp_path / "race.calc"
    mode_for = files._mode_for

    def meanwhile(path):  # runs after the check that no file is there
        target.write_text("theirs\n", encoding="utf-8")
        return mode_for(path)

    monkeypatch.setattr(files, "_mode_for", meanwhile)
    _, err = calc.run(f"x = 1\n:save {target}")
    assert f"'{target}' exists and this session did not write it" in err
    assert target.read_text(encoding="utf-8") == "theirs\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.calc"]


def test_without_hard_links_a_new_file_is_renamed_into_place(calc, tmp_path, monkeypatch):
    def no_links(source, target):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(files.os, "link", no_links)
    target = tmp_path / "new.calc"
    out, err = calc.run(f"x = 1\n:save {target}\n:save {target}")
    assert err == "" and out.count("saved 1 statement(s)") == 2
    assert target.read_text(encoding="utf-8") == "x = 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.calc"]


def test_graph_files_are_written_as_save_writes(calc, tmp_path):
    target = tmp_path / "thesis.dot"
    target.write_text("my thesis\n", encoding="utf-8")
    _, err = calc.run(f"x = 1\n:graph x * 2 > {target}")
    assert f"'{target}' exists and this session did not write it; ':graph!' replaces it" in err
    assert target.read_text(encoding="utf-8") == "my thesis\n"
    out, err = calc.run(f":graph! x * 2 > {target}\n:graph x * 3 > {target}")
    assert err == "" and out.count(f"wrote the graph to {target}") == 2
    assert target.read_text(encoding="utf-8").startswith("digraph")


def test_graph_images_come_from_dot_and_are_written_as_save_writes(calc, tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "dot"  # Graphviz's dot: the image on stdout, from DOT on stdin
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "image $1 $2"\ncat\n', encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    target = tmp_path / "g.svg"
    target.write_text("mine\n", encoding="utf-8")
    _, err = calc.run(f"x = 1\n:graph x * 2 > {target}")
    assert "':graph!' replaces it" in err and target.read_text(encoding="utf-8") == "mine\n"
    out, err = calc.run(f":graph! x * 2 > {target}")
    assert err == "" and target.read_text(encoding="utf-8").startswith("image -T svg\ndigraph")


def test_plot_images_are_written_as_save_writes(calc, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "paper.png"
    target.write_bytes(b"my paper")
    _, err = calc.run(f":plot x**2 for x in -2..2 > {target}")
    assert f"'{target}' exists and this session did not write it; ':plot!' replaces it" in err
    assert target.read_bytes() == b"my paper"
    out, err = calc.run(f":plot! x**2 for x in -2..2 > {target}\n:plot x for x in 0..1 > {target}")
    assert err == "" and out.count(f"saved the plot to {target}") == 2
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paper.png"]


def test_a_plot_reads_and_writes_nothing_of_the_users_matplotlib(run_cli, tmp_path):
    # matplotlib on its own reads ./matplotlibrc and ~/.config/matplotlib/matplotlibrc, and
    # writes its font cache into ~/.cache/matplotlib.
    image = pytest.importorskip("matplotlib.image")

    home, work = tmp_path / "home", tmp_path / "work"
    (home / ".config" / "matplotlib").mkdir(parents=True)
    (home / ".config" / "matplotlib" / "matplotlibrc").write_text("figure.facecolor: red\n")
    work.mkdir()
    (work / "matplotlibrc").write_text("figure.facecolor: blue\nsavefig.facecolor: blue\n")
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": f"{home}/.config",
        "XDG_CACHE_HOME": f"{home}/.cache",
    }
    before = sorted(str(p) for p in home.rglob("*"))
    result = run_cli("-e", ":plot sin(x) for x in 0..3 > p.png", cwd=work, env=env)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert sorted(str(p) for p in home.rglob("*")) == before
    assert sorted(p.name for p in work.iterdir()) == ["matplotlibrc", "p.png"]
    corner = image.imread(work / "p.png")[2, 2]
    assert corner[:3].tolist() == [1.0, 1.0, 1.0]  # matplotlib's own white


def test_save_records_the_commands_that_change_later_results(calc, jcalc, tmp_path):
    target = tmp_path / "s.calc"
    source = "x = 2\ny = x * 3\n:del x\nx(t) = t * 3\n:nograd\ny * 2\n:precision 3\n"
    calc.run(source + f":save {target}")
    assert target.read_text(encoding="utf-8") == (
        "x = 2\ny = x * 3\n:del x\nx(t) = t * 3\n:nograd on\ny * 2\n:precision 3\n"
    )
    assert jcalc.last(f":load {target}\nx(1)")["value"] == 3.0  # replays without an error


def test_after_reset_the_modes_in_force_are_still_saved(calc, tmp_path):
    # :reset forgets variables and functions, not modes: the commands that set them stay.
    target = tmp_path / "r.calc"
    source = ":precision 3\n:nograd on\n:precision 4\n:reset\nx = 2\npi*x\n"
    out, _ = calc.run(source + f":save {target}")
    assert target.read_text(encoding="utf-8") == ":precision 4\n:nograd on\nx = 2\npi*x\n"
    assert out.endswith("x = 2\n6.283\nsaved 4 statement(s) to " + str(target) + "\n")
    replayed, _ = Calculator().run(target.read_text(encoding="utf-8"))
    assert replayed.endswith("x = 2\n6.283\n")


def test_what_init_calc_runs_is_not_saved(run_cli, cli_env, tmp_path):
    # init.calc runs quietly, and again before a saved script is replayed: were its
    # statements saved, the replay would print them.
    init = Path(cli_env["XDG_CONFIG_HOME"]) / "dezero-repl" / "init.calc"
    init.parent.mkdir(parents=True, exist_ok=True)
    init.write_text("k = 7\n:precision 3\n", encoding="utf-8")
    try:
        first = run_cli("-e", "pi*k", "-e", ":save i.calc", cwd=tmp_path)
        assert (tmp_path / "i.calc").read_text(encoding="utf-8") == "pi*k\n"
        again = run_cli("i.calc", cwd=tmp_path)
    finally:
        init.unlink()
    assert first.stdout == "22\n  ∂/∂k = 3.14\nsaved 1 statement(s) to i.calc\n"
    assert again.stdout == "22\n  ∂/∂k = 3.14\n"


# ---- random sessions replay exactly ------------------------------------------------------

NAMES = ["a", "b", "c", "f", "g"]


def _statement(rng: random.Random) -> str:
    name, other = rng.choice(NAMES), rng.choice(NAMES)
    number = rng.choice(["2", "0.5", "-1.25", "3"])
    return rng.choice(
        [
            f"{name} = {number}",
            f"{name} = {other} * {number} + {rng.choice(NAMES)}",
            f"{name} = [{number}, {other}]",
            f"{name}(t) = t * {other} + {number}",
            f"{other} + {name}",
            f"{name}({number})",
            f"{name}'({number})",
            f"sum({name} * {other})",
            f"diff({name} * {other}, {name}, 2)",
            f":del {name}",
            f":del {name} {other}",
            rng.choice([":nograd", ":nograd on", ":nograd off"]),
            rng.choice([":precision 4", ":precision off"]),
            f"{name} = nosuch + 1",
            "1 +* 2",
        ]
    )


def _shown(results: list[dict]) -> list[dict]:
    """What a session showed for the statements it keeps (errors and :save left out), but
    the input echoed: :save writes a toggle such as :nograd as the state it set."""
    kept = [r for r in results if "error" not in r and r.get("command") != "save"]
    return [{k: v for k, v in r.items() if k != "input"} for r in kept]


@pytest.mark.parametrize("seed", range(40))
def test_replaying_a_saved_random_session_gives_its_outputs(tmp_path, seed):
    rng = random.Random(seed)
    target = tmp_path / "session.calc"
    original = Calculator(as_json=True)
    source = "\n".join(_statement(rng) for _ in range(30)) + f"\n:save {target}\n"
    results = original.json(source)
    assert results[-1]["command"] == "save"
    replay = Calculator(as_json=True)
    replayed = replay.json(target.read_text(encoding="utf-8"))
    assert [r for r in replayed if "error" in r] == []
    assert json.dumps(_shown(replayed)) == json.dumps(_shown(results))
