"""Command line: ``voicerehearse COMMAND``. Domain errors become one clear line and a non-zero exit here."""

from __future__ import annotations

import click

from voicerehearse import __version__
from voicerehearse.cli.analyze import analyze
from voicerehearse.cli.demo import demo
from voicerehearse.cli.models import models
from voicerehearse.cli.settings_cmd import settings
from voicerehearse.cli.transcribe import transcribe


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="voicerehearse")
def main() -> None:
    """Rehearse difficult customer calls aloud, offline.

    Analyse a recorded reply for pace, pauses, interruptions and tone, and get an explained verdict:
    aggressive, passive or assertive. Start with `voicerehearse analyze --help`.
    """


main.add_command(analyze)
main.add_command(demo)
main.add_command(settings)
main.add_command(transcribe)
main.add_command(models)
