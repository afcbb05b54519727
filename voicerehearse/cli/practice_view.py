"""The practice commands' terminal: the live display of a session (:class:`RichView`, the CLI's
:class:`~voicerehearse.rehearsal.view.SessionView`), the keys a trainee presses (:class:`KeyListener`), the
coaching as lines of text and the table that ends a session (:func:`print_summary`).
"""

from __future__ import annotations

import os
import queue
import select
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from voicerehearse.cli.common import lazy
from voicerehearse.cli.render import STYLE_COLOURS

if TYPE_CHECKING:
    from rich.console import Console

    from voicerehearse.rehearsal.view import SessionOutcome

# imported when first used: listing the commands must not import rich (see cli.common.lazy)
Group, Live = lazy("rich.console", "Group"), lazy("rich.live", "Live")
Panel, Table, Text = lazy("rich.panel", "Panel"), lazy("rich.table", "Table"), lazy("rich.text", "Text")


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


def print_summary(console: Console, outcome: SessionOutcome, data_dir: Path) -> None:
    """The session's turns as a table, how the call ended, and where the coach's report is."""
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

