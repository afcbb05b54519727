"""``voicerehearse analyze``: measure recordings and judge the delivery."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from voicerehearse.cli.common import config_option, domain_errors, message, set_option
from voicerehearse.errors import VoiceRehearseError
from voicerehearse.transcribe.names import engine_choices

ENGINES = engine_choices(none=True)

_path = click.Path(dir_okay=False, path_type=Path)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--baseline", "baselines", multiple=True, type=_path,
              help="The trainee's neutral calibration read (repeatable; medians are used). "
                   "Without one, tone is judged against absolute defaults.")
@click.option("--prompt", type=_path, help="The customer's line that was played during the recording.")
@click.option("--prompt-start", type=float, default=0.0, show_default=True, metavar="SECONDS",
              help="Where in the recording the prompt started playing.")
@click.option("--transcript", type=_path,
              help="Words of the reply: plain text, or JSON words with start/end (one FILE only).")
@click.option("--stereo", metavar="agent=N,customer=M",
              help="Two-channel call recording: which channel is whom. The agent's side is judged.")
@click.option("--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
              help="Speech recogniser for words, pace and language cues: 'auto' = Vosk when a model is found, "
                   "else the rough PocketSphinx fallback (labelled); 'none' = acoustic only.")
@click.option("--model", type=click.Path(file_okay=False, path_type=Path), help="Vosk model folder.")
@config_option
@set_option
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one object per FILE, in order.")
@domain_errors
def analyze(files, baselines, prompt, prompt_start, transcript, stereo, engine, model, config, overrides, as_json):
    """Measure pace, pauses, interruptions and tone of FILE(s) and judge the delivery.

    Every flag says why: the cue, its value, your baseline, the threshold and the time span.
    A file that cannot be analysed gets an error line (with --json, a record with "error" set);
    the others are still processed and the exit code is 1.
    """
    from voicerehearse.pipeline import StereoLayout, analyze_file, measure_baseline, merge_baselines
    from voicerehearse.schema import analysis_record, error_record
    from voicerehearse.settings import load_settings
    from voicerehearse.transcribe.files import read_transcript

    settings = load_settings(config, overrides)
    if transcript is not None and len(files) > 1:
        raise click.UsageError("--transcript goes with a single FILE")
    layout = StereoLayout.parse(stereo) if stereo else None
    baseline = None
    if baselines:
        measured = [measure_baseline(b, settings) for b in baselines]
        baseline = measured[0] if len(measured) == 1 else merge_baselines(measured, f"{len(measured)} baseline reads")
    given = read_transcript(transcript) if transcript is not None else None
    recogniser = None
    if given is None and engine != "none":
        from voicerehearse.transcribe.engine import choose_engine

        recogniser = choose_engine(engine, model, settings=settings)  # resolved once, the model loads once

    console = None
    if not as_json:
        from rich.console import Console

        from voicerehearse.cli.render import print_analysis

        console = Console()
    failed = 0
    for path in files:
        try:
            words = given if recogniser is None else _transcribe(path, recogniser, settings, layout)
            result = analyze_file(path, settings=settings, baseline=baseline, transcript=words,
                                  prompt_path=prompt, prompt_start_s=prompt_start, stereo=layout)
        except VoiceRehearseError as exc:
            failed += 1
            if as_json:
                click.echo(json.dumps(error_record(str(path), exc)))
            else:
                click.secho(f"Error: {message(exc)}", fg="red", err=True)
            continue
        if as_json:
            click.echo(json.dumps(analysis_record(result)))
        else:
            print_analysis(console, result)
    if failed:
        sys.exit(1)


def _transcribe(path, recogniser, settings, layout):
    """The agent's words: from the agent's channel of a two-channel call (as ``import`` takes them), else the file.
    The length limit is checked before any decoding."""
    from voicerehearse.transcribe.engine import transcribe_file

    return transcribe_file(path, engine=recogniser, settings=settings,
                           channel=layout.agent if layout is not None else None)
