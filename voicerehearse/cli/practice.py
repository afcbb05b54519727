"""``voicerehearse practice | calibrate | scenarios | devices``: rehearse a call at the workstation.

The session itself is wired in :mod:`voicerehearse.rehearsal`; this module only parses options, renders the
live display and the results with rich, and turns domain errors into one line (``domain_errors``).
"""

from __future__ import annotations

import os
import select
import sys
import threading
from pathlib import Path

import click
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from voicerehearse.cli.common import config_option, domain_errors, set_option
from voicerehearse.cli.render import STYLE_COLOURS
from voicerehearse.errors import DeviceError

ENGINES = ("auto", "vosk", "none")

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


# --------------------------------------------------------------------------- keys


class KeyListener:
    """Sets ``pressed`` on Enter or space while active (terminal in cbreak mode; Ctrl-C still interrupts)."""

    def __init__(self):
        self.pressed = threading.Event()
        self._done = threading.Event()
        self._thread = None
        self._saved = None

    def __enter__(self):
        if not sys.stdin.isatty():
            return self
        import termios
        import tty

        fd = sys.stdin.fileno()
        self._saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)

        def run():
            while not self._done.is_set():
                ready, _, _ = select.select([fd], [], [], 0.1)
                if ready:
                    ch = os.read(fd, 1)
                    if ch in (b"\n", b"\r", b" "):
                        self.pressed.set()

        self._thread = threading.Thread(target=run, daemon=True, name="keys")
        self._thread.start()
        return self

    def wait_for_key(self) -> None:
        """Block until Enter or space (Ctrl-C still interrupts); without a terminal, return at once."""
        if self._thread is None:
            return
        self.pressed.clear()
        while not self.pressed.wait(0.1):
            pass
        self.pressed.clear()

    def __exit__(self, *exc):
        self._done.set()
        if self._thread is not None:
            self._thread.join(0.5)
        if self._saved is not None:
            import termios

            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._saved)


# --------------------------------------------------------------------------- live display


def _bar(level_dbfs: float, width: int = 30) -> Text:
    fill = int(round(width * min(1.0, max(0.0, (level_dbfs + 60) / 60))))
    colour = "green" if level_dbfs < -12 else ("yellow" if level_dbfs < -3 else "red")
    return Text("█" * fill, style=colour) + Text("·" * (width - fill), style="dim")


class RichView:
    """Renders a session: the customer's line, a live meter while the trainee speaks, then the verdict."""

    def __init__(self, console: Console, *, live: bool, wait=None):
        self.console = console
        self.live_enabled = live
        self.wait = wait  # blocks until the trainee presses Enter (interactive runs only)
        self._live: Live | None = None
        self._header: Text = Text("")
        self._last_refresh = -1.0

    def notice(self, message):
        self._stop_live()
        self.console.print(f"[yellow]![/] {message}")

    def ready(self, scenario, turn):
        if self.wait is not None:
            self.console.print(f"[dim]Press Enter for the customer's {'first' if turn.index == 1 else 'next'} line "
                               "(Ctrl-C stops the session)[/]")
            self.wait()

    def calibration_start(self, passage):
        self.console.print(Panel(Text(passage), title="Calibration: read this aloud in your normal, calm voice",
                                 subtitle="stops after a pause, or press Enter", border_style="cyan"))
        self._header = Text("Calibration", style="bold cyan")
        self._start_live()

    def turn_start(self, scenario, turn, prompt):
        how = {"recorded": "recording", "espeak": "espeak-ng", "tone": "cue tone — read the line"}[prompt.kind]
        body = Group(Text(f"“{turn.customer}”", style="bold"),
                     Text(f"Goal: {turn.goal}", style="italic cyan") if turn.goal else Text(""))
        self.console.print(Panel(body, title=f"{scenario.title} · turn {turn.index}/{len(scenario.turns)} · customer ({how})",
                                 border_style="blue"))
        self._header = Text(f"Turn {turn.index}", style="bold")
        self._start_live()

    def _start_live(self):
        if self.live_enabled:
            self._live = Live(Text("listening…"), console=self.console, refresh_per_second=12, transient=True)
            self._live.start()

    def _stop_live(self):
        if self._live is not None:
            self._live.stop()
            self._live = None

    def progress(self, p, partial, syllable_rate):
        if self._live is None or p.elapsed_s - self._last_refresh < 0.05:
            return
        self._last_refresh = p.elapsed_s
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        phase = "customer speaking…" if p.phase == "customer" else ("you're speaking" if p.reply_heard else "listening…")
        grid.add_row(self._header, Text(phase, style="cyan" if p.phase == "customer" else "green"))
        grid.add_row("Level", _bar(p.level_dbfs) + Text(f" {p.level_dbfs:5.0f} dBFS"))
        speaking_s = p.reply_frames / p.sample_rate
        grid.add_row("Elapsed", f"{p.elapsed_s:5.1f} s · speaking {speaking_s:4.1f} s")
        pace = [f"{syllable_rate:.1f} syllables/s" if syllable_rate else "…"]
        if partial is not None and partial.words and speaking_s > 1:
            pace.append(f"{60 * len(partial.words) / speaking_s:.0f} wpm")
        grid.add_row("Pace", " · ".join(pace))
        if partial is not None and partial.text:
            grid.add_row("Heard", Text(partial.text[-80:], style="dim"))
        grid.add_row("", Text("Enter ends the reply · Ctrl-C stops the session", style="dim"))
        self._live.update(grid, refresh=False)

    def take_end(self, result):
        self._stop_live()
        self._last_refresh = -1.0
        self.console.print(Text(f"  recorded {result.duration_s:.1f} s ({result.reason})", style="dim"))

    def turn_done(self, turn, analysis, record, verdict_after_s):
        v = analysis.delivery
        colour = STYLE_COLOURS.get(v.label, "white")
        lines = [Text.assemble((v.label.upper(), f"bold {colour}"), f"  (verdict {verdict_after_s:.2f} s after the reply)")]
        for r in sorted(v.reasons, key=lambda r: -r.weight)[:3]:
            lines.append(Text.assemble(("• ", STYLE_COLOURS.get(r.style, "white")), r.message))
        if analysis.turn is not None and analysis.turn.interrupted:
            lines.append(Text("• you started while the customer was still speaking", style="red"))
        found = {c.category for c in analysis.cues}
        if analysis.transcript is not None:
            missing = [c for c in turn.expect if c not in found]
            used = [c for c in turn.avoid if c in found]
            if missing:
                lines.append(Text(f"  goal: try some {', '.join(missing)}", style="cyan"))
            if used:
                lines.append(Text(f"  avoid: {', '.join(used)}", style="red"))
        self.console.print(Panel(Group(*lines), border_style=colour, title=f"Turn {turn.index}: your reply"))


def _summary(console: Console, outcome, data_dir: Path) -> None:
    table = Table(title=f"{outcome.scenario.title} — {outcome.trainee}", title_justify="left")
    for col in ("turn", "verdict", "top reason", "latency", "interrupted", "level Δ"):
        table.add_column(col)
    for t in outcome.turns:
        a = t.analysis
        if a is None:
            table.add_row(str(t.index), "–", f"not analysed ({t.audio})", "", "", "")
            continue
        reasons = sorted(a.delivery.reasons, key=lambda r: -r.weight)
        turn = a.turn
        latency = f"{turn.response_latency_s:+.2f} s" if turn and turn.response_latency_s is not None else "–"
        delta = f"{a.tone.loudness_delta_db:+.1f} dB" if a.tone.loudness_delta_db is not None else "–"
        table.add_row(str(t.index), Text(a.delivery.label, style=STYLE_COLOURS.get(a.delivery.label, "white")),
                      reasons[0].message if reasons else "–", latency,
                      "yes" if turn and turn.interrupted else "no", delta)
    console.print(table)
    if outcome.stopped:
        console.print(f"[yellow]Session ended early:[/] {outcome.stopped}")
    console.print(f"Saved session {outcome.session_id} in {data_dir}.")
    console.print(f"Coach report: [bold]voicerehearse serve --data-dir {data_dir}[/], then open "
                  f"http://localhost:8321/sessions/{outcome.session_id}", soft_wrap=True)


# --------------------------------------------------------------------------- commands


def _options(settings, **kw):
    from voicerehearse.audio.reply_end import ReplyEnd
    from voicerehearse.rehearsal import RehearsalOptions

    end = ReplyEnd.from_settings(settings, end_silence_s=kw.pop("end_silence"), max_reply_s=kw.pop("max_reply"))
    return RehearsalOptions(reply_end=end, lead_in_s=settings.prompt_lead_in_s, **kw)


def _open(data_dir, config, overrides):
    from voicerehearse.settings import load_settings
    from voicerehearse.store import Store

    settings = load_settings(config, overrides)
    return settings, Store.open(data_dir, settings=settings)


def _recover(console, store, settings):
    from voicerehearse.rehearsal import recover

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
                 help="A reply ends after this much silence (or press Enter). Default: setting reply_end_silence_s (1.2)."),
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
              help="Non-interactive run: DIR/turn-1.wav, turn-2.wav … are mixed into the microphone signal as the "
                   "replies (DIR/calibration.wav for the baseline).")
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
def practice(scenario, trainee, input_device, output_device, headset, replies, force_calibrate, skip_calibration,
             end_silence, max_reply, speak, engine, model, sample_rate, scenario_dirs, data_dir, config, overrides):
    """Rehearse SCENARIO (an id from `voicerehearse scenarios`, or a pack file) aloud.

    Each customer line is played while the microphone records; your reply ends after a pause or when you press
    Enter. Every take is written to disk as it is recorded; a session killed halfway is recovered at the next start.
    """
    from voicerehearse.audio.devices import input_device as check_input
    from voicerehearse.rehearsal import calibrate, latest_baseline, reply_file, run_session
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
                    replies=replies, end_silence=end_silence, max_reply=max_reply)
    interactive = replies is None and sys.stdin.isatty()
    console.print(Panel(Text(chosen.briefing or chosen.summary), title=f"{chosen.title} ({chosen.difficulty})",
                        border_style="magenta"))
    try:
        with KeyListener() as keys:
            view = RichView(console, live=console.is_terminal, wait=keys.wait_for_key if interactive else None)
            baseline = None if force_calibrate else latest_baseline(store, trainee)
            if baseline is None and not skip_calibration:
                if replies is not None and reply_file(replies, "calibration") is None:
                    view.notice(f"no {replies}/calibration.wav: practising without a baseline")
                else:
                    if interactive:
                        console.print("[dim]First, a calibration read. Press Enter to start.[/]")
                        keys.wait_for_key()
                    baseline = calibrate(store, trainee, opts, settings=settings, view=view, stop=keys.pressed)
                    console.print(f"Baseline stored for {trainee}.")
            outcome = run_session(store, chosen, trainee, opts, settings=settings, view=view, stop=keys.pressed,
                                  baseline=baseline)
    except KeyboardInterrupt:
        console.print("\nStopped.")
        sys.exit(130)
    _summary(console, outcome, store.data_dir)
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
    from voicerehearse.rehearsal import calibrate as run_calibration

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
                console.print("[dim]Press Enter to start the calibration read.[/]")
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
