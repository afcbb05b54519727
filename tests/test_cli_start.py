"""Starting the CLI to list commands or settings imports none of the heavy stacks (numpy, rich, SQLAlchemy,
Flask, HTTP/SSL): each command imports them when it runs. Checked with ``python -X importtime`` in a fresh
interpreter; the speed itself is printed by scripts/bench_cli_start.py."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = ("numpy", "rich", "sqlalchemy", "flask", "werkzeug", "http", "ssl", "email", "urllib.request", "librosa",
         "soundfile", "scipy", "vosk", "sounddevice")


def imported_modules(*args: str) -> set[str]:
    """Every module a fresh ``python -X importtime -m voicerehearse ARGS`` imports; the command must succeed."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "voicerehearse", *args], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Usage:" in done.stdout
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name)
    assert "voicerehearse.cli" in names  # the parse found the import lines
    return names


def _heavy(names: set[str]) -> list[str]:
    return sorted(n for n in names if any(n == h or n.startswith(h + ".") for h in HEAVY))


def loaded_modules(*args: str) -> set[str]:
    """``sys.modules`` after running the CLI with ARGS in a fresh interpreter: also the modules importtime does
    not list (those loaded by ``importlib.import_module``, as the command group loads its commands)."""
    code = ("import sys\nfrom voicerehearse.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n"
            "    pass\nprint('MODULES', *sorted(sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("MODULES "))
    return set(line.split()[1:])


ARGS = [("--help",), ("settings", "--help"), ("transcribe", "--help"), ("models", "--help")]


@pytest.mark.parametrize("args", ARGS)
def test_listing_commands_imports_no_heavy_stack(args):
    assert _heavy(imported_modules(*args)) == []


@pytest.mark.parametrize("args", ARGS)
def test_listing_commands_loads_no_heavy_stack(args):
    names = loaded_modules(*args)
    assert _heavy(names) == []
    if args == ("--help",):  # the group lists the registry's short helps: no command module is loaded
        assert not {"voicerehearse.cli.practice", "voicerehearse.cli.serve", "voicerehearse.cli.transcribe"} & names


def test_the_cli_engine_choices_are_the_engines():
    from voicerehearse.cli.transcribe import ENGINES
    from voicerehearse.transcribe.engine import ENGINES as ENGINE_MODULE_ENGINES

    assert ENGINES == ENGINE_MODULE_ENGINES


def test_a_lazy_name_behaves_as_what_it_stands_for():
    from voicerehearse.cli.common import lazy

    Fraction = lazy("fractions", "Fraction")
    half = Fraction(1, 2)
    assert half + Fraction(1, 2) == 1
    assert isinstance(half, Fraction) and not isinstance(0.5, Fraction)
    assert Fraction.from_float(0.25) == Fraction(1, 4)
    assert lazy("fractions").Fraction is type(half)
