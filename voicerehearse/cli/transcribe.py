"""`voicerehearse transcribe FILE...`: timed words per file, as JSON Lines or a readable summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from voicerehearse.cli.common import domain_errors, lazy
from voicerehearse.errors import VoiceRehearseError
from voicerehearse.transcribe.names import engine_choices

if TYPE_CHECKING:
    from voicerehearse.types import Transcript

# imported when the command runs: listing the commands must not import rich or numpy (see cli.common.lazy)
Console, escape = lazy("rich.console", "Console"), lazy("rich.markup", "escape")
transcription = lazy("voicerehearse.transcribe.engine")
load_settings = lazy("voicerehearse.settings", "load_settings")
ENGINES = engine_choices()


@click.command("transcribe")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--model",
    type=click.Path(path_type=Path),
    help="Vosk model folder (overrides VOICEREHEARSE_VOSK_MODEL and the config).",
)
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="auto",
    show_default=True,
    help="auto = Vosk when a model is found, else the rough PocketSphinx fallback.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON Lines (schema voicerehearse.transcript/1), one object per file."
)
@domain_errors
def transcribe(files: tuple[Path, ...], model: Path | None, engine: str, as_json: bool) -> None:
    """Transcribe audio FILES offline into timed words.

    A file that cannot be transcribed is reported (an `error` object in --json) and the others still run;
    the exit code is then 1.
    """
    settings = load_settings()
    choice = transcription.choose_engine(engine, model, settings=settings)  # problems common to all files stop here
    console = Console(stderr=True)
    failed = 0
    for path in files:
        transcript, error = None, None
        try:
            if as_json:
                transcript = transcription.transcribe_file(path, engine=choice, settings=settings)
            else:
                with console.status(f"Transcribing {escape(str(path))}") as status:
                    transcript = transcription.transcribe_file(path, engine=choice, settings=settings,
                                                               on_partial=_live(status, path))
        except VoiceRehearseError as exc:
            error = exc
            failed += 1
        if as_json:
            click.echo(json.dumps(transcription.transcript_record(str(path), transcript, error)))  # ASCII: any name
        else:
            _summary(Console(), console, path, transcript, error)
    if failed:
        raise click.exceptions.Exit(1)


def _live(status, path: Path):
    def show(partial: Transcript) -> None:
        tail = partial.text[-70:]
        status.update(f"Transcribing {escape(str(path))}: [dim]{escape(tail)}[/dim]")

    return show


def _summary(console: Console, errors: Console, path: Path, transcript: Transcript | None, error) -> None:
    if error is not None:
        errors.print(f"[bold red]{escape(error.kind)}[/]: {escape(str(error))}")  # messages name the file
        return
    words = transcript.words
    span = f", {words[0].start:.1f}-{words[-1].end:.1f} s" if transcript.timed else ""
    model = escape(transcript.model or "-")
    console.print(f"[bold]{escape(str(path))}[/] — {transcript.engine} ({model}), {len(words)} words{span}")
    if transcript.note:
        console.print(f"[yellow]Note: {escape(transcript.note)}[/]")
    console.print(escape(transcript.text) if transcript.text else "[dim](no words recognised)[/]")
