"""Command line: ``voicerehearse COMMAND``. Domain errors become one clear line and a non-zero exit here.

Commands are imported only when run (or listed by --help), so starting one never pays for the others'
imports (Flask, SQLAlchemy, PortAudio, Vosk ...).
"""

from __future__ import annotations

import importlib

import click

from voicerehearse import __version__

COMMANDS = {  # name -> "module:attribute"
    "practice": "voicerehearse.cli.practice:practice",
    "calibrate": "voicerehearse.cli.practice:calibrate",
    "scenarios": "voicerehearse.cli.practice:scenarios",
    "devices": "voicerehearse.cli.practice:devices",
    "analyze": "voicerehearse.cli.analyze:analyze",
    "batch": "voicerehearse.cli.batch:batch",
    "serve": "voicerehearse.cli.serve:serve",
    "users": "voicerehearse.cli.serve:users",
    "report": "voicerehearse.cli.serve:report",
    "import": "voicerehearse.cli.serve:import_cmd",
    "demo": "voicerehearse.cli.demo:demo",
    "transcribe": "voicerehearse.cli.transcribe:transcribe",
    "models": "voicerehearse.cli.models:models",
    "settings": "voicerehearse.cli.settings_cmd:settings",
    "db": "voicerehearse.cli.db:db",
    "sessions": "voicerehearse.cli.sessions:sessions",
    "worker": "voicerehearse.cli.worker:worker",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="voicerehearse")
def main() -> None:
    """Rehearse difficult customer calls aloud, offline.

    Analyse a recorded reply for pace, pauses, interruptions and tone, and get an explained verdict:
    aggressive, passive or assertive. Start with `voicerehearse demo`, then `voicerehearse analyze --help`.
    """
