"""The session replay page: waveform with flags and comments, transcript, per-turn cards and plots.

Everything comes from the report's typed objects (voicerehearse.report); the colours of the events from
voicerehearse.palette, handed to the page in its data and on each element.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, jsonify, render_template, url_for

from voicerehearse.derived import ContourSpec
from voicerehearse.errors import AudioFormatError, StoreFormatError
from voicerehearse.labels import STYLES
from voicerehearse.palette import cue_colour, page_colours
from voicerehearse.report import TurnReport, session_report, turn_charts
from voicerehearse.review import LEAD_IN_S
from voicerehearse.schema import analysis_from_record
from voicerehearse.types import Span
from voicerehearse.web.auth import get_session_or_404, get_turn_or_404, is_coach
from voicerehearse.web.contour import contour, peaks
from voicerehearse.web.media import stored_audio

bp = Blueprint("replay", __name__)


def _turn_data(turn: TurnReport) -> dict:
    """What the page script needs for one turn (embedded as JSON, escaped by tojson)."""
    path = stored_audio(turn.audio_path)
    try:
        wave = peaks(path, current_app.config["WAVEFORM_PEAKS"]) if path is not None else None
    except (AudioFormatError, OSError):  # not readable as audio: the page says the recording is missing
        wave = None
    a = turn.analysis
    timing = a.turn if a is not None else None
    return {
        "id": turn.id,
        "index": turn.index,
        "duration": (a.duration_s if a is not None else None) or (wave or {}).get("duration"),
        "audio": url_for("media.turn_audio", turn_id=turn.id),
        "peaks": (wave or {}).get("peaks"),
        "contour": url_for("replay.turn_contour", turn_id=turn.id),
        "comments_url": url_for("comments.list_comments", turn_id=turn.id),
        # events at a moment of the recording, drawn on the waveform lanes (whole-reply cues are badges)
        "flags": [{"kind": e.kind, "severity": e.severity, "start": e.start, "end": e.end, "name": e.name,
                   "message": e.summary, "play": e.play_from, "colour": cue_colour(e.kind, e.severity)}
                  for e in turn.timed_events],
        "speech": _speech_spans(turn),
        "prompt": [timing.prompt_start_s, timing.prompt_end_s] if timing is not None else None,
        "words": [{"w": w.word, "s": w.start, "e": w.end, "c": w.conf} for w in turn.words if w.start is not None],
        "transcript_label": turn.transcript_label,  # the rough-fallback label, or None
        "comments": [c.as_json() for c in turn.comments],
        "missing": wave is None,
        "channels": _channel_names(turn, len((wave or {}).get("peaks") or [])),
    }


def _speech_spans(turn: TurnReport) -> list[list[float]]:
    """Where someone speaks (the reply, the customer's line, both sides of a call), merged: skip-silence plays
    only these."""
    a = turn.analysis
    if a is None:
        return []
    spans = list(a.speech.segments)
    if a.turn is not None:
        spans.append(Span(a.turn.prompt_start_s, a.turn.prompt_end_s))
    if a.stereo is not None:
        spans += [s for side in a.stereo.sides for s in side.segments]
    merged: list[list[float]] = []
    for s in sorted(spans, key=lambda s: (s.start, s.end)):
        if merged and s.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], s.end)
        else:
            merged.append([s.start, s.end])
    return [[round(start, 2), round(end, 2)] for start, end in merged]


def _channel_names(turn: TurnReport, count: int) -> list[str]:
    """Names of the drawn channels: agent / customer for a two-channel call analysed with its layout."""
    if count != 2:
        return []
    stereo = turn.analysis.stereo if turn.analysis is not None else None
    names = {s.channel: s.side for s in stereo.sides} if stereo is not None else {}
    return [str(names.get(i) or f"channel {i}") for i in range(2)]


@bp.get("/sessions/<int:session_id>")
def session_page(session_id: int):
    practice = get_session_or_404(session_id)
    settings = current_app.config["SETTINGS"]
    report = session_report(practice, coach_id=g.user.id, settings=settings)
    charts = turn_charts(report, settings)
    data = {"turns": [_turn_data(t) for t in report.turns], "can_edit": is_coach(), "lead_in_s": LEAD_IN_S,
            "reply_url": "/api/comments/{id}/replies", "colours": page_colours()}
    return render_template("session.html", report=report, practice=practice, data=data, charts=charts,
                           vendor=current_app.config["VENDOR_PRESENT"], cue_colour=cue_colour, styles=STYLES,
                           low_conf=settings.low_word_confidence_fraction)


@bp.get("/api/turns/<int:turn_id>/contour")
def turn_contour(turn_id: int):
    """Loudness and pitch over time with the trainee's baseline band (stored beside the recording; computed from
    the audio, block by block, and stored on the first view of a recording stored without it)."""
    turn = get_turn_or_404(turn_id)
    path = stored_audio(turn.audio_path)
    if path is None:
        abort(404, description="No such recording.")
    try:
        analysis = analysis_from_record(turn.analysis) if turn.analysis else None
    except StoreFormatError:  # an error record: the audio is drawn against the default level
        analysis = None
    spec = ContourSpec.of(analysis)  # what the analysis judged: its speech, on the agent's channel of a call
    return jsonify(contour(path, spec.segments, analysis.tone if analysis is not None else None,
                           current_app.config["SETTINGS"], channel=spec.channel))
