"""`:save` loses nothing: written atomically, never over a file it did not write unless told
(`:save!`), and replaying what it wrote gives exactly the session's outputs."""

from __future__ import annotations

import errno
import json
import os
import random
import stat

import pytest
from conftest import Calculator

from dezero_repl import commands


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

    monkeypatch.setattr(commands.os, "fsync", disk_full)
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


def test_save_records_the_commands_that_change_later_results(calc, jcalc, tmp_path):
    target = tmp_path / "s.calc"
    source = "x = 2\ny = x * 3\n:del x\nx(t) = t * 3\n:nograd\ny * 2\n:precision 3\n"
    calc.run(source + f":save {target}")
    assert target.read_text(encoding="utf-8") == (
        "x = 2\ny = x * 3\n:del x\nx(t) = t * 3\n:nograd on\ny * 2\n:precision 3\n"
    )
    assert jcalc.last(f":load {target}\nx(1)")["value"] == 3.0  # replays without an error


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
