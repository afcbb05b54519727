"""``voicerehearse practice | calibrate | scenarios | devices``: rehearse a call at the workstation.

The session itself is wired in :mod:`voicerehearse.rehearsal`; this module only parses options, renders the
live display and the results with rich, and turns domain errors into one line (``domain_errors``).
"""

from __future__ import annotations

import os
import queue
import select
import sys
import threading
import time
from pathlib import Path

import click

from voicerehearse.cli.common import config_option, domain_errors, lazy, set_option
from voicerehearse.cli.render import STYLE_COLOURS
from voicerehearse.errors import DeviceError
from voicerehearse.transcribe.names import engine_choices

# imported when first used: listing the commands must not import rich (see cli.common.lazy)
Console, Group, Live = lazy("rich.console", "Console"), lazy("rich.console", "Group"), lazy("rich.live", "Live")
Panel, Table, Text = lazy("rich.panel", "Panel"), lazy("rich.table", "Table"), lazy("rich.text", "Text")

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


# --------------------------------------------------------------------------- keys


class KeyListener:
    """Keys while active (terminal in cbreak mode; Ctrl-C still interrupts): Enter sets ``pressed`` (end my
    reply); every other key goes to a queue read by :meth:`wait_for` (space / n: next line, r: retry, p: play)."""

    def __init__(self):
        self.pressed = threading.Event()
        self.keys: queue.Queue[str] = queue.Queue()
        self._done = threading.Event()
        self._thread = None
        self._saved = None

    @property
    def active(self) -> bool:
        return self._thread is not None

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
                    if ch in (b"\n", b"\r"):
                        self.pressed.set()
                    else:
                        self.keys.put(ch.decode("latin-1").lower())

        self._thread = threading.Thread(target=run, daemon=True, name="keys")
        self._thread.start()
        return self

    def wait_for(self, keys: str, timeout_s: float | None = None) -> str | None:
        """The first of ``keys`` pressed (others are ignored), or None after ``timeout_s`` / without a terminal."""
        if self._thread is None:
            return None
        while not self.keys.empty():  # presses from before the question do not answer it
            self.keys.get_nowait()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while deadline is None or time.monotonic() < deadline:
            try:
                ch = self.keys.get(timeout=0.1)
            except queue.Empty:
                continue
            if ch in keys:
                return ch
        return None

    def wait_for_key(self) -> None:
        """Block until space or n (Ctrl-C still interrupts); without a terminal, return at once."""
        self.wait_for(" n")

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
    """Renders a session: the customer's line, a live meter while the trainee speaks, then the coaching.

    ``keys`` (a :class:`KeyListener`) makes it interactive: with ``step`` every customer line waits for space or
    n; without, lines follow by themselves ``next_delay_s`` after the feedback, unless r (retry) or p (play back)
    is pressed.
    """

    def __init__(self, console: Console, *, live: bool, keys: "KeyListener | None" = None, step: bool = False,
                 next_delay_s: float = 3.0):
        self.console = console
        self.live_enabled = live
        self.keys = keys if keys is not None and keys.active else None
        self.step = step
        self.next_delay_s = next_delay_s
        self._live: Live | None = None
        self._header: Text = Text("")
        self._last_refresh = -1.0
        self._talked_over = False

    def notice(self, message):
        self._stop_live()
        self.console.print(f"[yellow]![/] {message}")

    def ready(self, scenario, step):
        if self.keys is None or step.take > 1:
            return
        if self.step or step.number == 1:
            what = "the customer's first line" if step.number == 1 else "the next line"
            self.console.print(f"[dim]Press space for {what} (Ctrl-C stops the session)[/]")
            self.keys.wait_for(" n")

    def calibration_start(self, passage):
        self.console.print(Panel(Text(passage), title="Calibration: read this aloud in your normal, calm voice",
                                 subtitle="stops after a pause, or press Enter", border_style="cyan"))
        self.console.print(Text("Why: your tone is judged against this read — your own calm voice, not an average "
                                "speaker's — so read it as you would talk to a friendly customer.", style="dim"))
        self._header = Text("Calibration", style="bold cyan")
        self._start_live()

    def turn_start(self, scenario, step, prompt):
        turn = step.turn
        how = {"recorded": "recording", "espeak": "espeak-ng", "tone": "cue tone — read the line"}[prompt.kind]
        body = Group(Text(f"“{turn.customer}”", style="bold"),
                     Text(f"Goal: {turn.goal}", style="italic cyan") if turn.goal else Text(""))
        again = f" · take {step.take}" if step.take > 1 else ""
        self.console.print(Panel(body, title=f"{scenario.title} · turn {step.number}{again} · customer ({how})",
                                 border_style="blue"))
        self._header = Text(f"Turn {step.number}", style="bold")
        self._talked_over = False
        self._start_live()

    def _start_live(self):
        if self.live_enabled:
            self._live = Live(Text("listening…"), console=self.console, refresh_per_second=12, transient=True)
            self._live.start()

    def _stop_live(self):
        if self._live is not None:
            self._live.stop()
            self._live = None

    def progress(self, p, partial, provisional):
        if p.talking_over and not self._talked_over:
            self._talked_over = True
            if self._live is None:  # no live display (a pipe, a log): the warning still shows, once
                self.console.print(Text(NUDGE_TALK_OVER, style="bold red"))
        if self._live is None or p.elapsed_s - self._last_refresh < 0.05:
            return
        self._last_refresh = p.elapsed_s
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        if p.talking_over:
            phase = Text(NUDGE_TALK_OVER, style="bold white on red")
        elif p.phase == "customer":
            phase = Text("customer speaking…", style="cyan")
        elif p.ends_in_s is not None and p.pause_s >= 0.5:
            phase = Text(f"pause detected — keep talking or press Enter ({p.ends_in_s:.1f} s)", style="yellow")
        elif not p.reply_heard and p.waiting_s >= 2.0:
            phase = Text(NUDGE_WAITING, style="yellow")
        else:
            phase = Text("you're speaking" if p.reply_heard else "listening…", style="green")
        grid.add_row(self._header, phase)
        grid.add_row("Level", _bar(p.level_dbfs) + Text(f" {p.level_dbfs:5.0f} dBFS"))
        speaking_s = p.reply_frames / p.sample_rate
        grid.add_row("Elapsed", f"{p.elapsed_s:5.1f} s · speaking {speaking_s:4.1f} s")
        syllable_rate = provisional.pace.articulation_rate if provisional is not None else None
        pace = [f"{syllable_rate:.1f} syllables/s" if syllable_rate else "…"]
        if partial is not None and partial.words and speaking_s > 1:
            pace.append(f"{60 * len(partial.words) / speaking_s:.0f} wpm")
        grid.add_row("Pace", " · ".join(pace))
        if partial is not None and partial.text:
            heard = "Heard (rough)" if partial.rough or partial.note else "Heard"  # the fallback's words, labelled
            grid.add_row(heard, Text(partial.text[-80:], style="dim"))
        if provisional is not None and p.reply_heard and provisional.delivery.label in STYLE_COLOURS:
            label = provisional.delivery.label
            grid.add_row("So far", Text.assemble((label, STYLE_COLOURS[label]), (" (provisional)", "dim")))
        grid.add_row("", Text("Enter ends your reply · Ctrl-C stops the session", style="dim"))
        self._live.update(grid, refresh=False)

    def take_end(self, result):
        self._stop_live()
        self._last_refresh = -1.0
        why = {"silence": "after a pause", "key": "Enter", "no reply": "no reply heard", "max": "longest reply",
               "end of input": "end of input", "stopped": "stopped"}.get(result.reason, result.reason)
        self.console.print(Text(f"  recorded {result.duration_s:.1f} s ({why})", style="dim"))

    def turn_done(self, step, analysis, record, verdict_after_s, coaching):
        v = analysis.delivery
        colour = STYLE_COLOURS.get(v.label, "white")
        sure = f", {v.confidence:.0%} sure" if v.confidence is not None and v.label in STYLE_COLOURS else ""
        lines = [Text.assemble((v.label.upper(), f"bold {colour}"),
                               f"  (verdict {verdict_after_s:.2f} s after your reply{sure})")]
        lines += coaching_lines(coaching)
        self.console.print(Panel(Group(*lines), border_style=colour, title=f"Turn {step.number}: your reply"
                                 + (f" (take {step.take})" if step.take > 1 else "")))

    def choose(self, step):
        if self.keys is None:
            return "next"
        if self.step:
            self.console.print("[dim]space/n: next line · r: try this turn again · p: play your reply back[/]")
            key = self.keys.wait_for(" nrp")
        else:
            self.console.print(f"[dim]Next line in {self.next_delay_s:g} s · r: try this turn again · "
                               "p: play your reply back · space: go on now[/]")
            key = self.keys.wait_for(" nrp", self.next_delay_s)
        return {"r": "retry", "p": "play"}.get(key or "", "next")

    def call_end(self, outcome):
        from voicerehearse.scenarios.model import OUTCOME_TEXT

        colour = {"resolved": "green", "escalated": "yellow", "hung_up": "red"}.get(outcome, "white")
        self.console.print(Text.assemble("Call ended: ", (OUTCOME_TEXT.get(outcome, outcome), f"bold {colour}")))


NUDGE_TALK_OVER = "⚠ you're talking over the customer — let them finish"
NUDGE_WAITING = "the customer is waiting — take a breath and answer"


def coaching_lines(coaching) -> list[Text]:
    """Strengths first (✓), then at most two things to change: the moment, why, and a better line."""
    lines = [Text.assemble(("✓ ", "green"), s) for s in coaching.strengths]
    for c in coaching.changes:
        lines.append(Text.assemble(("→ ", "yellow"), (c.what, "bold"), f" {c.moment}. ", c.why))
        if c.how:
            lines.append(Text(f"    {c.how}", style="cyan"))
        lines.append(Text(f"    Try: “{c.better}”", style="cyan"))
    if coaching.note:
        lines.append(Text(coaching.note, style="dim"))
    return lines


def _summary(console: Console, outcome, data_dir: Path) -> None:
    table = Table(title=f"{outcome.scenario.title} — {outcome.trainee}", title_justify="left")
    for col in ("turn", "verdict", "first thing to change", "latency", "interrupted", "level Δ"):
        table.add_column(col)
    for t in outcome.turns:
        a = t.analysis
        number = str(t.index) + (f" (take {t.take})" if t.take > 1 else "")
        if a is None:
            table.add_row(number, "–", f"not analysed ({t.audio})", "", "", "")
            continue
        changes = t.coaching.changes if t.coaching is not None else ()
        turn = a.turn
        latency = f"{turn.response_latency_s:+.2f} s" if turn and turn.response_latency_s is not None else "–"
        delta = f"{a.tone.loudness_delta_db:+.1f} dB" if a.tone.loudness_delta_db is not None else "–"
        table.add_row(number, Text(a.delivery.label, style=STYLE_COLOURS.get(a.delivery.label, "white")),
                      f"{changes[0].what} {changes[0].moment}" if changes else "–", latency,
                      "yes" if turn and turn.interrupted else "no", delta)
    console.print(table)
    if outcome.outcome:
        from voicerehearse.scenarios.model import OUTCOME_TEXT

        console.print(f"Call outcome: {OUTCOME_TEXT.get(outcome.outcome, outcome.outcome)}")
    if outcome.stopped:
        console.print(f"[yellow]Session ended early:[/] {outcome.stopped}")
    console.print(f"Saved session {outcome.session_id} in {data_dir}.")
    console.print(f"Coach report: [bold]voicerehearse serve --data-dir {data_dir}[/], then open "
                  f"http://localhost:8321/sessions/{outcome.session_id}", soft_wrap=True)


# --------------------------------------------------------------------------- commands


def _options(settings, **kw):
    from voicerehearse.audio.reply_end import ReplyEnd
    from voicerehearse.rehearsal import RehearsalOptions, ReplyAt

    end = ReplyEnd.from_settings(settings, end_silence_s=kw.pop("end_silence"), max_reply_s=kw.pop("max_reply"))
    reply_at = kw.pop("reply_at", None)
    try:
        at = ReplyAt.parse(reply_at) if reply_at else ReplyAt()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--reply-at") from None
    return RehearsalOptions(reply_end=end, lead_in_s=settings.prompt_lead_in_s, reply_at=at, **kw)


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
