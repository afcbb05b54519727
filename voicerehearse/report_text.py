"""The text writers of a :class:`~voicerehearse.report_model.SessionReport`: JSON (each turn's analysis record as
stored) and WebVTT (transcript cues, flags and comments as NOTE blocks). Registered in voicerehearse.report_formats.
"""

from __future__ import annotations

import json

from voicerehearse.report_model import REPORT_SCHEMA, ROUGH_TAG, SessionReport, TurnReport, WordView
from voicerehearse.settings import DEFAULTS, Settings


def write_json(report: SessionReport, settings: Settings = DEFAULTS) -> str:
    """The session with each turn's analysis record exactly as stored (schema voicerehearse.analysis/1)."""
    body = {
        "schema": REPORT_SCHEMA,
        "session": {"id": report.id, "trainee": report.trainee, "scenario_id": report.scenario_id,
                    "scenario_title": report.scenario_title, "source": report.source, "status": report.status,
                    "started_at": report.started_at.isoformat() if report.started_at else None},
        "turns": [{"index": t.index, "customer_text": t.customer_text, "audio_path": t.audio_path,
                   "transcript": _transcript(t),
                   "analysis": t.record, "comments": [c.as_json() for c in t.comments]} for t in report.turns],
    }
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def _transcript(turn: TurnReport) -> dict:
    t = turn.analysis.transcript if turn.analysis is not None else None
    return {"engine": t.engine if t else None, "model": t.model if t else None, "rough": turn.transcript_rough,
            "label": turn.transcript_label}


def vtt_time(seconds: float) -> str:
    """``>>> vtt_time(3725.5)`` gives ``'01:02:05.500'``."""
    ms = int(round(max(seconds, 0.0) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _vtt_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _note_text(text: str) -> str:
    # a NOTE block ends at a blank line and may not contain "-->"
    return " ".join(text.split()).replace("-->", "->")


def _word_cues(turn: TurnReport, max_words: int = 8, gap_s: float = 0.6):
    group: list[WordView] = []
    for w in turn.words:
        if w.start is None:
            continue
        if group and (len(group) >= max_words or w.start - group[-1].end > gap_s):
            yield group
            group = []
        group.append(w)
    if group:
        yield group


def write_vtt(report: SessionReport, settings: Settings = DEFAULTS) -> str:
    """WebVTT: transcript cues per turn, flags and comments as NOTE blocks.

    Turns are laid end to end (turn 2 starts where turn 1's recording ends), as a playlist would play them.
    """
    out = ["WEBVTT", "",
           _note_text(f"NOTE VoiceRehearse session {report.id}: {report.trainee}, {report.scenario_title}. "
                      "Turns are laid end to end in recording order."), ""]
    offset = 0.0
    for turn in report.turns:
        a = turn.analysis
        out += [_note_text(f"NOTE turn {turn.index + 1}: verdict {a.delivery.label if a else 'not analysed'}"
                           + (f", starts at {vtt_time(offset)}" if offset else "")), ""]
        if turn.transcript_source and turn.words:
            out += [_note_text(f"NOTE transcript turn {turn.index + 1}: {turn.transcript_source}"
                               + (f". {ROUGH_TAG} {turn.transcript_label}" if turn.transcript_label else "")), ""]
        events: list[tuple[float, str]] = []
        for n, group in enumerate(_word_cues(turn)):
            text = (f"{ROUGH_TAG} " if turn.transcript_label else "") + " ".join(w.word for w in group)
            cue = f"turn{turn.index + 1}-{n + 1}\n{vtt_time(offset + group[0].start)} --> " \
                  f"{vtt_time(offset + max(group[-1].end, group[0].start + 0.05))}\n{_vtt_text(text)}"
            events.append((group[0].start, cue))
        for f in turn.flags:
            when = ("about " if f.estimated else "") + f"{vtt_time(offset + f.start)}" \
                + (f" to {vtt_time(offset + f.end)}" if f.end is not None else "") if f.start is not None else "untimed"
            events.append((f.start if f.start is not None else -1.0,
                           _note_text(f"NOTE flag {f.severity} {f.kind} {when}: {f.message}")))
        for c in turn.comments:
            when = vtt_time(offset + c.start_s) + (f" to {vtt_time(offset + c.end_s)}" if c.end_s is not None else "")
            events.append((c.start_s, _note_text(f"NOTE comment {when}"
                                                 + (f" by {c.author}" if c.author else "") + f": {c.text}")))
        events.sort(key=lambda e: (e[0], not e[1].startswith("NOTE")))
        for _, block in events:
            out += [block, ""]
        offset += a.duration_s if a is not None else 0.0
    return "\n".join(out)
