"""The session replay page: waveform with flags and comments, transcript, per-turn cards and plots."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, jsonify, render_template, url_for

from voicerehearse.report import session_report, turn_charts
from voicerehearse.review import LEAD_IN_S
from voicerehearse.web.auth import get_session_or_404, get_turn_or_404, is_coach
from voicerehearse.web.contour import contour, peaks
from voicerehearse.web.media import stored_audio

bp = Blueprint("replay", __name__)


def _turn_data(turn) -> dict:
    """What the page script needs for one turn (embedded as JSON, escaped by tojson)."""
    path = stored_audio(turn.audio_path)
    try:
        wave = peaks(path, current_app.config["WAVEFORM_PEAKS"]) if path is not None else None
    except (RuntimeError, ValueError):  # not readable as audio: the page says the recording is missing
        wave = None
    return {
        "id": turn.id,
        "index": turn.index,
        "duration": turn.duration_s or (wave or {}).get("duration"),
        "audio": url_for("media.turn_audio", turn_id=turn.id),
        "peaks": (wave or {}).get("peaks"),
        "contour": url_for("replay.turn_contour", turn_id=turn.id),
        "comments_url": url_for("comments.list_comments", turn_id=turn.id),
        # events at a moment of the recording, drawn on the waveform lanes (whole-reply cues are badges)
        "flags": [{"kind": e.kind, "severity": e.severity, "start": e.start, "end": e.end, "name": e.name,
                   "message": e.summary, "play": e.play_from} for e in turn.timed_events],
        "speech": _speech_spans(turn),
        "prompt": [turn.prompt_start_s, turn.prompt_end_s] if turn.prompt_start_s is not None else None,
        "words": [{"w": w.word, "s": w.start, "e": w.end, "c": w.conf} for w in turn.words if w.start is not None],
        "transcript_label": turn.transcript_label,  # the rough-fallback label, or None
        "comments": [c.as_json() for c in turn.comments],
        "missing": wave is None,
        "channels": _channel_names(turn, len((wave or {}).get("peaks") or [])),
    }


def _speech_spans(turn) -> list[list[float]]:
    """Where someone speaks (the reply, the customer's line, both sides of a call), merged: skip-silence plays
    only these."""
    spans = list(turn.segments)
    if turn.prompt_start_s is not None and turn.prompt_end_s is not None:
        spans.append((turn.prompt_start_s, turn.prompt_end_s))
    a = turn.analysis
    if a is not None and a.stereo is not None:
        spans += [(s.start, s.end) for side in a.stereo.sides for s in side.segments]
    merged: list[list[float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [[round(a, 2), round(b, 2)] for a, b in merged]


def _channel_names(turn, count: int) -> list[str]:
    """Names of the drawn channels: agent / customer for a two-channel call analysed with its layout."""
    if count != 2:
        return []
    sides = ((turn.record.get("stereo") or {}).get("sides") or [])
    names = {s.get("channel"): s.get("side") for s in sides}
    return [str(names.get(i) or f"channel {i}") for i in range(2)]


@bp.get("/sessions/<int:session_id>")
def session_page(session_id: int):
    practice = get_session_or_404(session_id)
    report = session_report(practice, coach_id=g.user.id)
    charts = turn_charts(report)
    data = {"turns": [_turn_data(t) for t in report.turns], "can_edit": is_coach(), "lead_in_s": LEAD_IN_S,
            "reply_url": "/api/comments/{id}/replies"}
    return render_template("session.html", report=report, practice=practice, data=data, charts=charts,
                           vendor=current_app.config["VENDOR_PRESENT"],
                           low_conf=current_app.config["SETTINGS"].low_word_confidence_fraction)


@bp.get("/api/turns/<int:turn_id>/contour")
def turn_contour(turn_id: int):
    """Loudness and pitch over time with the trainee's baseline band (computed from the audio, cached)."""
    turn = get_turn_or_404(turn_id)
    path = stored_audio(turn.audio_path)
    if path is None:
        abort(404, description="No such recording.")
    record = turn.analysis or {}
    sides = (record.get("stereo") or {}).get("sides") or []
    agent = next((s.get("channel") for s in sides if s.get("side") == "agent"), None)
    return jsonify(contour(path, record, current_app.config["SETTINGS"], channel=agent))
