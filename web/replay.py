"""The session replay page: waveform with flags and comments, transcript, per-turn cards and plots."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, render_template, url_for

from voicerehearse.report import session_report, turn_charts
from voicerehearse.settings import load_settings
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
        "flags": [{"kind": f.kind, "severity": f.severity, "start": f.start, "end": f.end, "message": f.message}
                  for f in turn.timed_flags],
        "prompt": [turn.prompt_start_s, turn.prompt_end_s] if turn.prompt_start_s is not None else None,
        "words": [{"w": w.word, "s": w.start, "e": w.end, "c": w.conf} for w in turn.words if w.start is not None],
        "transcript_label": turn.transcript_label,  # the rough-fallback label, or None
        "comments": [c.as_json() for c in turn.comments],
        "missing": wave is None,
        "channels": _channel_names(turn, len((wave or {}).get("peaks") or [])),
    }


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
    report = session_report(practice)
    charts = turn_charts(report)
    data = {"turns": [_turn_data(t) for t in report.turns], "can_edit": is_coach()}
    return render_template("session.html", report=report, practice=practice, data=data, charts=charts,
                           vendor=current_app.config["VENDOR_PRESENT"],
                           low_conf=load_settings().low_word_confidence_fraction)


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
    return jsonify(contour(path, record, load_settings(), channel=agent))
