"""Command line: ``voicerehearse COMMAND``. Domain errors become one clear line and a non-zero exit here.

This module is the one registry of commands and imports neither click nor any command: ``run`` (the console
script and ``python -m voicerehearse``) prints the top-level help from the registry itself, and imports click and
the command group (``voicerehearse.cli.group``, also reachable as ``voicerehearse.cli.main``) only for anything
else. Each command module is imported only when that command runs, so starting one never pays for the others'
imports (Flask, SQLAlchemy, PortAudio, Vosk ...).
"""

from __future__ import annotations

import os
import sys

COMMANDS = {  # name -> ("module:attribute", short help: the first line of the command's docstring)
    "practice": ("voicerehearse.cli.practice:practice",
                 "Rehearse SCENARIO (an id from `voicerehearse scenarios`, or a pack file) aloud."),
    "calibrate": ("voicerehearse.cli.practice:calibrate",
                  "Record a calm read of a short neutral passage: the baseline your tone is measured against."),
    "scenarios": ("voicerehearse.cli.practice:scenarios", "List the scenario packs (built-in and your own)."),
    "devices": ("voicerehearse.cli.practice:devices", "List audio input and output devices PortAudio sees."),
    "analyze": ("voicerehearse.cli.analyze:analyze",
                "Measure pace, pauses, interruptions and tone of FILE(s) and judge the delivery."),
    "batch": ("voicerehearse.cli.batch:batch",
              "Analyse many recordings given as PATHS (files, folders, globs) and/or a CSV --manifest."),
    "serve": ("voicerehearse.cli.serve:serve",
              "Serve the coach's web report: trainees, session replay, comments, progress, imports, exports."),
    "users": ("voicerehearse.cli.serve:users",
              "Logins for the web report: coaches see every trainee, a trainee login only their own sessions."),
    "report": ("voicerehearse.cli.serve:report", "Write the report of stored session SESSION: JSON (analysis "
               "schema), WebVTT, self-contained HTML or PDF."),
    "import": ("voicerehearse.cli.serve:import_cmd",
               "Analyse and transcribe RECORDING and store it as a session for review in the web report."),
    "demo": ("voicerehearse.cli.demo:demo",
             "Analyse the bundled demo takes: three delivery styles on two scenarios."),
    "transcribe": ("voicerehearse.cli.transcribe:transcribe", "Transcribe audio FILES offline into timed words."),
    "models": ("voicerehearse.cli.models:models", "List, fetch and check Vosk speech-recognition models."),
    "settings": ("voicerehearse.cli.settings_cmd:settings",
                 "List every setting: name, current value, unit and what it does."),
    "db": ("voicerehearse.cli.db:db",
           "The store's database schema: upgrade it to the newest migration, or show where it stands."),
    "sessions": ("voicerehearse.cli.sessions:sessions", "Stored practice sessions and imported calls."),
    "verdict": ("voicerehearse.cli.verdict:verdict",
                "The verdict against your coaches' own calls, and a refit of its weights on them."),
    "worker": ("voicerehearse.cli.worker:worker",
               "Run queued jobs: each queued call upload is analysed and stored here."),
}

HELP = """Rehearse difficult customer calls aloud, offline.

Analyse a recorded reply for pace, pauses, interruptions and tone, and get an explained verdict:
aggressive, passive or assertive. Start with `voicerehearse demo`, then `voicerehearse analyze --help`."""
HELP_OPTIONS = ["-h", "--help"]
MAX_WIDTH = 100  # columns the help uses at most
OPTIONS = [("--version", "Show the version and exit."), ("-h, --help", "Show this message and exit.")]  # as click
USAGE_ARGS = "[OPTIONS] COMMAND [ARGS]..."


def command_rows(width: int) -> list[tuple[str, str]]:
    """(name, short help) of each command, the help cut to fit one line of a ``width``-column help (with room
    for the name and click's three spacings); the group's own help lists exactly these rows.

    >>> dict(command_rows(50))["calibrate"]
    'Record a calm read of a short...'
    """
    import textwrap

    limit = width - 6 - max(map(len, COMMANDS))
    return [(name, textwrap.shorten(short, limit, placeholder="...")) for name, (_, short) in COMMANDS.items()]


def help_width() -> int:
    """The width click gives the help on this terminal: its columns (or $COLUMNS) less 2, within 50..98."""
    import shutil

    return max(min(shutil.get_terminal_size().columns, MAX_WIDTH) - 2, 50)


def _definitions(rows: list[tuple[str, str]], width: int) -> str:
    """Rows as click's ``HelpFormatter.write_dl`` lays them out, indented 2."""
    import textwrap

    first_col = min(max(len(term) for term, _ in rows), 30) + 2
    lines = []
    for term, text in rows:
        if not text:
            lines.append(f"  {term}")
            continue
        pad = " " * (first_col - len(term)) if len(term) <= first_col - 2 else "\n" + " " * (first_col + 2)
        wrapped = textwrap.wrap(text, max(width - first_col - 2, 10), replace_whitespace=False)
        lines.append(f"  {term}{pad}" + ("\n" + " " * (first_col + 2)).join(wrapped))
    return "\n".join(lines)


def help_text(prog: str, width: int) -> str:
    """The top-level help as click prints it for the group (Usage / description / Options / Commands), built
    from ``HELP``, ``OPTIONS`` and the registry without importing click; tests/test_cli_help.py holds it equal to
    click's own rendering at several widths.

    >>> help_text("voicerehearse", 80).splitlines()[0]
    'Usage: voicerehearse [OPTIONS] COMMAND [ARGS]...'
    """
    import textwrap

    prefix = f"Usage: {prog} "
    if width >= len(prefix) + 20:  # the arguments fit to the right of the prefix
        usage = textwrap.fill(USAGE_ARGS, width, initial_indent=prefix, subsequent_indent=" " * len(prefix))
    else:
        usage = prefix + "\n" + textwrap.fill(USAGE_ARGS, width, initial_indent=" " * 11, subsequent_indent=" " * 11)
    description = "\n\n".join(textwrap.fill(" ".join(paragraph.splitlines()), width, initial_indent="  ",
                                            subsequent_indent="  ", replace_whitespace=False)
                              for paragraph in HELP.split("\n\n"))
    return (f"{usage}\n\n{description}\n\nOptions:\n{_definitions(OPTIONS, width)}\n\n"
            f"Commands:\n{_definitions(command_rows(width), width)}")


def run(argv: list[str] | None = None, prog_name: str | None = None) -> int:
    """The console script: ``--help``, ``-h`` or no arguments print the help from the registry (no click, no
    command imported); anything else runs the click group, which exits itself."""
    args = sys.argv[1:] if argv is None else list(argv)
    prog = prog_name or os.path.basename(sys.argv[0])
    if not args or (len(args) == 1 and args[0] in HELP_OPTIONS):
        # as click: asked for, the help goes to stdout with status 0; with no arguments, to stderr with status 2
        print(help_text(prog, help_width()), file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    from voicerehearse.cli.group import main

    return main.main(args, prog_name=prog)


def __getattr__(name: str):
    """``voicerehearse.cli.main`` and ``LazyGroup`` are the click group's, imported (with click) on first use."""
    if name in ("main", "LazyGroup"):
        from voicerehearse.cli import group

        return getattr(group, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
