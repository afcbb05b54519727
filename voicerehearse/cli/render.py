"""Readable rich summaries of analyses for the terminal (the CLI edge only)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from voicerehearse.cli.common import lazy

if TYPE_CHECKING:
    from voicerehearse.types import Analysis

# imported when first used: listing the commands must not import rich (see cli.common.lazy)
Console, Group = lazy("rich.console", "Console"), lazy("rich.console", "Group")
Panel, Table, Text = lazy("rich.panel", "Panel"), lazy("rich.table", "Table"), lazy("rich.text", "Text")

STYLE_COLOURS = {"aggressive": "red", "passive": "yellow", "assertive": "green", "no speech": "dim"}


def _fmt(value, spec: str, unit: str = "", none: str = "–") -> str:
    return none if value is None else f"{value:{spec}}{unit}"


def _span(start, end) -> str:
    if start is None:
        return ""
    return f"{start:.2f}–{end:.2f} s" if end is not None and end != start else f"{start:.2f} s"


def analysis_panel(a: Analysis) -> Panel:
    v = a.delivery
    colour = STYLE_COLOURS.get(v.label, "white")
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    sp = a.speech
    table.add_row("Speech", f"{sp.speaking_time_s:.1f} s in {len(sp.segments)} segment(s); "
                            f"{sp.pauses.count} pause(s), mean {_fmt(sp.pauses.mean_s, '.2f', ' s')}, "
                            f"longest {_fmt(sp.pauses.longest_s, '.2f', ' s')}")
    p = a.pace
    table.add_row("Pace", f"{_fmt(p.words_per_minute, '.0f', ' wpm', 'wpm: no transcript')} · "
                          f"{_fmt(p.syllables_per_second, '.1f', ' syll/s')} · "
                          f"articulation {_fmt(p.articulation_rate, '.1f', ' syll/s')}")
    t = a.tone
    table.add_row("Tone", f"level {_fmt(t.loudness_db, '.1f', ' dBFS')} ({_fmt(t.loudness_delta_db, '+.1f', ' dB')}) · "
                          f"pitch {_fmt(t.pitch_median_hz, '.0f', ' Hz')} ({_fmt(t.pitch_delta_st, '+.1f', ' st')}) · "
                          f"variability {_fmt(t.pitch_sd_st, '.1f', ' st')} · "
                          f"effort {_fmt(t.alpha_ratio_db, '.1f', ' dB')} ({_fmt(t.alpha_ratio_delta_db, '+.1f', ' dB')})")
    table.add_row("Voice", f"tension H1-A3 {_fmt(t.h1_a3_db, '.1f', ' dB')} ({_fmt(t.h1_a3_delta_db, '+.1f', ' dB')}) · "
                           f"brightness {_fmt(t.brightness_db, '.1f', ' dB')} ({_fmt(t.brightness_delta_db, '+.1f', ' dB')})")
    table.add_row("Baseline", t.baseline)
    if a.turn:
        tu = a.turn
        bleed = (f"prompt bleed {tu.bleed_gain_db:+.0f} dB, {1000 * tu.bleed_delay_s:.0f} ms late, ignored"
                 if tu.bleed_detected else "no prompt bleed heard")
        table.add_row("Turn", f"customer stopped {tu.prompt_end_s:.2f} s · reply {_fmt(tu.reply_start_s, '.2f', ' s')} · "
                              f"latency {_fmt(tu.response_latency_s, '+.2f', ' s')} · "
                              f"{len(tu.interruptions)} interruption(s) · {bleed}")
    if a.stereo:
        st = a.stereo
        sides = " · ".join(f"{s.side} {s.speaking_time_s:.1f} s ({_fmt(s.talk_ratio, '.0%')}, longest {s.longest_monologue_s:.1f} s)"
                           for s in st.sides)
        overs = ", ".join(f"{o.interrupter}→{o.interrupted} at {o.start:.1f} s" for o in st.talk_overs) or "none"
        table.add_row("Call", f"{sides} · patience {_fmt(st.patience_s, '.2f', ' s')} · talk-overs: {overs}")
    if a.transcript:
        tr = a.transcript
        label = f"{tr.engine}{' ' + tr.model if tr.model else ''}"
        table.add_row("Words", Text(f"[{label}] {tr.text or '(nothing recognised)'}"))
        if tr.note:
            table.add_row("", Text(tr.note, style="italic yellow"))
    reasons = Table.grid(padding=(0, 1))
    for r in v.reasons:  # what went well (assertive evidence) with a tick, the rest with a coloured bullet
        mark = Text("✓", style="green") if r.style == "assertive" else Text("•", style=STYLE_COLOURS.get(r.style, "white"))
        reasons.add_row(mark, Text(r.message), Text(_span(r.start, r.end), style="dim"))
    for note in v.notes:
        reasons.add_row(Text("i", style="dim"), Text(note, style="dim"), Text(""))
    sure = f"   confidence {v.confidence:.0%}" if v.confidence is not None else ""
    title = Text.assemble((f"{v.label.upper()}", f"bold {colour}"), sure)
    body = Group(table, Text(""), Text("Why", style="bold"), reasons) if reasons.row_count else table
    return Panel(body, title=f"{Path(a.file).name} ({a.duration_s:.1f} s)", subtitle=title, subtitle_align="left",
                 border_style=colour)


def print_analysis(console: Console, a: Analysis) -> None:
    console.print(analysis_panel(a))
