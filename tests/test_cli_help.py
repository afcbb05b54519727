"""The top-level help is printed from the command registry without click or any command module, and is byte for
byte the help click renders for the group; the registry's short helps are the commands' own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from voicerehearse.cli import COMMANDS, MAX_WIDTH, help_text, help_width, main

NOT_LOADED = ("click", "numpy", "rich")  # and no command module
COMMAND_MODULES = sorted({target.split(":")[0] for target, _ in COMMANDS.values()})


def test_the_help_is_what_click_prints_for_the_group():
    result = CliRunner().invoke(main, ["--help"], prog_name="voicerehearse")  # CliRunner lays it out 80 wide
    assert result.exit_code == 0
    assert result.output == help_text("voicerehearse", 80) + "\n"


@pytest.mark.parametrize("width", [30, 50, 61, 79, 98, 140])
@pytest.mark.parametrize("prog", ["voicerehearse", "python -m voicerehearse"])
def test_the_help_is_what_click_renders_at_any_width(prog, width):
    ctx = main.make_context(prog, [], terminal_width=width, resilient_parsing=True)
    assert ctx.get_help() == help_text(prog, width)


@pytest.mark.parametrize("columns, width", [("200", 98), ("72", 70), ("30", 50)])
def test_the_help_width_is_clicks(monkeypatch, columns, width):
    monkeypatch.setenv("COLUMNS", columns)
    assert help_width() == width == click.HelpFormatter(max_width=MAX_WIDTH).width


def test_each_short_help_is_the_commands_own():
    ctx = click.Context(main)
    assert main.list_commands(ctx) == list(COMMANDS)
    for name, (_, short) in COMMANDS.items():
        command = main.get_command(ctx, name)
        assert command.name == name
        assert short == command.get_short_help_str(limit=1000) == command.help.splitlines()[0], name


def _fresh(*args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """``python -m voicerehearse ARGS`` (through voicerehearse/__main__.py) in a fresh interpreter 100 columns
    wide: the finished process and the modules it had loaded."""
    code = ("import runpy, sys\nsys.argv = ['voicerehearse', *sys.argv[1:]]\ntry:\n"
            "    runpy.run_module('voicerehearse', run_name='__main__', alter_sys=True)\nexcept SystemExit as stop:\n"
            "    print('MODULES', *sorted(sys.modules), file=sys.stderr)\n    raise")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "100"})
    done.stderr, marker, modules = done.stderr.rpartition("MODULES ")
    assert marker, done.stderr[-2000:]
    return done, set(modules.split())


@pytest.mark.parametrize("args, status", [(["--help"], 0), (["-h"], 0), ([], 2)])
def test_the_help_loads_neither_click_nor_a_command(args, status):
    done, modules = _fresh(*args)
    assert done.returncode == status
    shown = done.stdout if args else done.stderr  # as click: without arguments, to stderr with status 2
    assert shown == help_text("python -m voicerehearse", 98) + "\n"
    assert "voicerehearse.cli" in modules
    loaded = {name for name in modules if name.split(".")[0] in NOT_LOADED or name in COMMAND_MODULES}
    assert loaded == set()


def test_other_arguments_go_through_click():
    done, modules = _fresh("--version")
    assert done.returncode == 0 and done.stdout == "voicerehearse, version 0.1.0\n"
    assert "click" in modules


def test_the_console_script_lists_every_command():
    script = Path(sys.executable).with_name("voicerehearse")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: voicerehearse [OPTIONS] COMMAND [ARGS]...\n")
    listed = [line.split()[0] for line in done.stdout.split("Commands:\n")[1].splitlines()]
    assert listed == list(COMMANDS)
