"""``voicerehearse practice | calibrate | scenarios | devices``: rehearse a call at the workstation.

The session itself is wired in :mod:`voicerehearse.rehearsal`, its terminal display is
:mod:`voicerehearse.cli.practice_view`; this module only parses options, loads the settings once and passes
them down, and turns domain errors into one line (``domain_errors``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from voicerehearse.cli.common import config_option, domain_errors, lazy, set_option
from voicerehearse.errors import DeviceError
from voicerehearse.transcribe.names import engine_choices

# the terminal display (rich) is imported when a command runs, not when `voicerehearse --help` lists them
KeyListener = lazy("voicerehearse.cli.practice_view", "KeyListener")
RichView = lazy("voicerehearse.cli.practice_view", "RichView")
print_summary = lazy("voicerehearse.cli.practice_view", "print_summary")

if TYPE_CHECKING:
    from voicerehearse.rehearsal.options import RehearsalOptions
    from voicerehearse.settings import Settings
    from voicerehearse.store import Store

# imported when first used: listing the commands must not import rich (see cli.common.lazy)
Console, Panel = lazy("rich.console", "Console"), lazy("rich.panel", "Panel")
Table, Text = lazy("rich.table", "Table"), lazy("rich.text", "Text")

ENGINES = engine_choices(none=True, fallback=False)

_dir = click.Path(file_okay=False, path_type=Path)
scenarios_dir_option = click.option(
    "--scenarios-dir", "scenario_dirs", multiple=True, type=_dir,
    help="A folder of your own scenario packs (*.toml; repeatable). Default: $VOICEREHEARSE_SCENARIOS.")
data_dir_option = click.option(
    "--data-dir", type=_dir, default=None,
    help="Where sessions and audio are stored. Default: the data_dir setting, $VOICEREHEARSE_DATA_DIR or the user data dir.")
trainee_option = click.option("--trainee", default=lambda: os.environ.get("USER") or "trainee", show_default="$USER",
                              help="Whose session and baseline this is.")
input_option = click.option("--input-device", metavar="ID|NAME", help="Microphone (see `voicerehearse devices`).")
output_option = click.option("--output-device", metavar="ID|NAME", help="Speakers or headset for the customer's voice.")


def _user_dirs(scenario_dirs):
    return list(scenario_dirs) if scenario_dirs else None


# --------------------------------------------------------------------------- commands


def _options(settings: Settings, **kw) -> RehearsalOptions:
    from voicerehearse.audio.reply_end import ReplyEnd
    from voicerehearse.rehearsal.options import RehearsalOptions, ReplyAt

    end = ReplyEnd.from_settings(settings, end_silence_s=kw.pop("end_silence"), max_reply_s=kw.pop("max_reply"))
    reply_at = kw.pop("reply_at", None)
    try:
        at = ReplyAt.parse(reply_at) if reply_at else ReplyAt()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--reply-at") from None
    return RehearsalOptions(reply_end=end, lead_in_s=settings.prompt_lead_in_s, reply_at=at, **kw)


def _open(data_dir, config, overrides) -> tuple[Settings, Store]:
    from voicerehearse.settings import load_settings
    from voicerehearse.store import Store

    settings = load_settings(config, overrides)
    return settings, Store.open(data_dir, settings=settings)


def _recover(console: Console, store: Store, settings: Settings) -> None:
    from voicerehearse.rehearsal.recovery import recover

    for r in recover(store, settings=settings):
        line = f"[yellow]Recovered[/] {r.take.duration_s:.1f} s of an interrupted take: {r.take.wav}"
        if r.stored == "not stored yet":
            line += f" [yellow]— kept on disk, will be stored at the next start ({r.problem})[/]"
        elif r.problem:
            line += f" ({r.stored}) [yellow]— not analysed: {r.problem}[/]"
        else:
            line += f" ({r.stored})"
        console.print(line)


reply_options = [
    click.option("--end-silence", type=click.FloatRange(min=0.2), default=None, metavar="SECONDS",
                 help="A reply ends after this much silence (or press Enter); a hesitant start, a lone 'um' or an "
                      "unfinished sentence waits reply_hesitation_silence_s instead. Default: setting "
                      "reply_end_silence_s."),
    click.option("--max-reply", type=click.FloatRange(min=1.0), default=None, metavar="SECONDS",
                 help="Longest reply recorded. Default: setting reply_max_s (120)."),
]


def _apply(options):
    def deco(f):
        for o in reversed(options):
            f = o(f)
        return f
    return deco


@click.command()
@click.argument("scenario")
@trainee_option
@input_option
@output_option
@click.option("--headset/--speakers", default=True, show_default=True,
              help="With speakers the mic also hears the customer; that bleed is recognised and ignored.")
@click.option("--replies", type=_dir, default=None,
              help="Scripted run without a keyboard: DIR/turn-1.wav, turn-2.wav … (numbered in the order the lines "
                   "are played) are mixed into the microphone signal as the replies, each from the start of its take "
                   "— the customer's line begins prompt_lead_in_s into the take, so a file that speaks at once talks "
                   "over the customer (see --reply-at). DIR/turn-2-take-2.wav retries turn 2; DIR/calibration.wav "
                   "is the baseline read.")
@click.option("--reply-at", default=None, metavar="start[+S]|prompt-end[±S]",
              help="Where each --replies file starts: 'start' (default) or relative to the end of the customer's "
                   "line, e.g. prompt-end+0.3 (a 0.3 s gap) or prompt-end-0.5 (a barge-in on purpose).")
@click.option("--step", is_flag=True,
              help="Wait for space before every customer line (default: lines follow by themselves after the "
                   "feedback; r retries a turn, p plays your reply back).")
@click.option("--calibrate", "force_calibrate", is_flag=True, help="Record a new baseline before the session.")
@click.option("--skip-calibration", is_flag=True, help="Practise without a baseline (tone judged on absolute levels).")
@_apply(reply_options)
@click.option("--speak/--no-speak", default=True, show_default=True,
              help="Speak lines without a recording with espeak-ng (else a cue tone and the text).")
@click.option("--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
              help="Live speech recognition: 'auto' = Vosk when a model resolves, else the rough PocketSphinx fallback "
                   "(labelled); 'vosk' = Vosk required; 'none' = acoustic only.")
@click.option("--model", type=_dir, help="Vosk model folder.")
@click.option("--sample-rate", type=click.IntRange(min=8000), default=16000, show_default=True,
              help="Capture/playback rate in Hz.")
@scenarios_dir_option
@data_dir_option
@config_option
@set_option
@domain_errors
def practice(scenario, trainee, input_device, output_device, headset, replies, reply_at, step, force_calibrate,
             skip_calibration, end_silence, max_reply, speak, engine, model, sample_rate, scenario_dirs, data_dir,
             config, overrides):
    """Rehearse SCENARIO (an id from `voicerehearse scenarios`, or a pack file) aloud.

    Each customer line is played while the microphone records; your reply ends after a pause or when you press
    Enter, then the coaching shows what went well and what to try instead, and the customer reacts to your reply.
    Every take is written to disk as it is recorded; a session killed halfway is recovered at the next start.
    """
    from voicerehearse.audio.devices import input_device as check_input
    from voicerehearse.rehearsal.calibration import calibrate, latest_baseline
    from voicerehearse.rehearsal.inputs import reply_file
    from voicerehearse.rehearsal.session import run_session
    from voicerehearse.scenarios import find_scenario

    console = Console()
    settings, store = _open(data_dir, config, overrides)
    _recover(console, store, settings)
    chosen = find_scenario(scenario, _user_dirs(scenario_dirs))
    if replies is not None and not replies.is_dir():
        raise click.BadParameter(f"{replies} is not a folder", param_hint="--replies")
    check_input(input_device)
    opts = _options(settings, sample_rate_hz=sample_rate, input_device=input_device, output_device=output_device,
                    headset=headset, speak=speak, engine=engine, model=str(model) if model else None,
                    replies=replies, reply_at=reply_at, end_silence=end_silence, max_reply=max_reply)
    if reply_at is not None and replies is None:
        raise click.BadParameter("needs --replies", param_hint="--reply-at")
    interactive = replies is None and sys.stdin.isatty()
    console.print(Panel(Text(chosen.briefing or chosen.summary), title=f"{chosen.title} ({chosen.difficulty})",
                        border_style="magenta"))
    try:
        with KeyListener() as keys:
            view = RichView(console, live=console.is_terminal, keys=keys if interactive else None, step=step,
                            next_delay_s=settings.next_line_delay_s)
            baseline = None if force_calibrate else latest_baseline(store, trainee)
            if baseline is None and not skip_calibration:
                if replies is not None and reply_file(replies, "calibration") is None:
                    view.notice(f"no {replies}/calibration.wav: practising without a baseline")
                else:
                    if interactive:
                        console.print("[dim]First, a calibration read. Press space to start.[/]")
                        keys.wait_for_key()
                    baseline = calibrate(store, trainee, opts, settings=settings, view=view, stop=keys.pressed)
                    console.print(f"Baseline stored for {trainee}.")
            outcome = run_session(store, chosen, trainee, opts, settings=settings, view=view, stop=keys.pressed,
                                  baseline=baseline)
    except KeyboardInterrupt:
        console.print("\nStopped.")
        sys.exit(130)
    print_summary(console, outcome, store.data_dir)
    if outcome.stopped and "Ctrl-C" in outcome.stopped:
        sys.exit(130)
    if outcome.stopped:
        sys.exit(1)


@click.command()
@trainee_option
@input_option
@click.option("--replies", type=_dir, default=None, help="Non-interactive: use DIR/calibration.wav as the read.")
@_apply(reply_options)
@click.option("--sample-rate", type=click.IntRange(min=8000), default=16000, show_default=True,
              help="Capture rate in Hz.")
@data_dir_option
@config_option
@set_option
@domain_errors
def calibrate(trainee, input_device, replies, end_silence, max_reply, sample_rate, data_dir, config, overrides):
    """Record a calm read of a short neutral passage: the baseline your tone is measured against."""
    from voicerehearse.audio.devices import input_device as check_input
    from voicerehearse.rehearsal.calibration import calibrate as run_calibration

    console = Console()
    settings, store = _open(data_dir, config, overrides)
    _recover(console, store, settings)
    check_input(input_device)
    opts = _options(settings, sample_rate_hz=sample_rate, input_device=input_device, replies=replies,
                    end_silence=end_silence, max_reply=max_reply)
    view = RichView(console, live=console.is_terminal)
    try:
        with KeyListener() as keys:
            if replies is None and sys.stdin.isatty():
                console.print("[dim]Press space to start the calibration read.[/]")
                keys.wait_for_key()
            record = run_calibration(store, trainee, opts, settings=settings, view=view, stop=keys.pressed)
    except KeyboardInterrupt:
        console.print("\nStopped; no baseline stored.")
        sys.exit(130)
    m = record.measures
    console.print(f"Baseline stored for {trainee}: level {m['loudness_db']:.1f} dBFS"
                  + (f", pitch {m['pitch_median_hz']:.0f} Hz" if m.get("pitch_median_hz") else ""))


@click.command()
@scenarios_dir_option
@domain_errors
def scenarios(scenario_dirs):
    """List the scenario packs (built-in and your own)."""
    from voicerehearse.scenarios import load_scenarios

    found = load_scenarios(_user_dirs(scenario_dirs))
    table = Table(title="Scenarios", title_justify="left")
    user = any(not s.builtin for s in found)
    table.add_column("id", no_wrap=True)
    table.add_column("title")
    table.add_column("difficulty", no_wrap=True)
    table.add_column("turns", no_wrap=True, justify="right")
    if user:
        table.add_column("pack", overflow="fold")
    for s in found:
        title = s.title + (" (outbound)" if s.call == "outbound" and "outbound" not in s.title.lower() else "")
        row = [s.id, title, s.difficulty, str(len(s.turns))]
        table.add_row(*row, *([("built-in" if s.builtin else str(s.source))] if user else []))
    console = Console()
    console.print(table)
    console.print("Practise one with [bold]voicerehearse practice ID[/]")


@click.command()
@domain_errors
def devices():
    """List audio input and output devices PortAudio sees."""
    from voicerehearse.audio.devices import list_devices

    found = list_devices()
    table = Table(title="Audio devices", title_justify="left")
    for col in ("id", "name", "host API", "in", "out", "rate", "default"):
        table.add_column(col)
    for d in found:
        default = " ".join(x for x, on in (("input", d.is_default_input), ("output", d.is_default_output)) if on)
        table.add_row(str(d.index), d.name, d.hostapi, str(d.max_input_channels), str(d.max_output_channels),
                      f"{d.default_samplerate:.0f}", default)
    Console().print(table)
    if not any(d.max_input_channels > 0 for d in found):
        raise DeviceError("no input device found: connect a microphone (or headset) and try again")
