"""Import a call recording for review: upload → analyse with the pipeline → store as a session."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from voicerehearse.errors import VoiceRehearseError
from voicerehearse.transcribe.calls import call_record
from voicerehearse.web.auth import require_coach
from voicerehearse.web.db import get_store
from voicerehearse.web.ingest import add_session, latest_baseline

bp = Blueprint("imports", __name__)

CHANNEL_MODES = {
    "mono": ("Mono (or mix all channels): the agent's voice alone", None),
    "agent0": ("Two channels: agent left (0), customer right (1)", "agent=0,customer=1"),
    "agent1": ("Two channels: customer left (0), agent right (1)", "agent=1,customer=0"),
}


def _form(error: str | None = None, status: int = 200, values: dict | None = None):
    return render_template("import.html", error=error, modes=CHANNEL_MODES, values=values or {},
                           extensions=current_app.config["UPLOAD_EXTENSIONS"],
                           max_mb=current_app.config["MAX_UPLOAD_MB"]), status


def _transcribe(path: str, stereo):
    """The call's words: each side of a two-channel call from its own channel, else one labelled stream."""
    from voicerehearse.settings import load_settings
    from voicerehearse.transcribe.calls import transcribe_call
    from voicerehearse.transcribe.engine import choose_engine

    settings = load_settings()
    channels = {"agent": stereo.agent, "customer": stereo.customer} if stereo is not None else None
    return transcribe_call(path, engine=choose_engine("auto", settings=settings), settings=settings,
                           channels=channels)


@bp.get("/import")
def import_form():
    require_coach()
    return _form()


@bp.post("/import")
def import_recording():
    from voicerehearse.pipeline import StereoLayout, analyze_file
    from voicerehearse.schema import analysis_record

    require_coach()
    values = {k: request.form.get(k, "").strip() for k in ("trainee", "title", "channels")}
    upload = request.files.get("recording")
    if upload is None or not upload.filename:
        return _form("Choose a recording to upload.", 400, values)
    suffix = Path(upload.filename).suffix.lower()
    allowed = current_app.config["UPLOAD_EXTENSIONS"]
    if suffix not in allowed:
        return _form(f"“{upload.filename}” is not a supported recording; use one of {', '.join(allowed)}.", 415, values)
    if not values["trainee"]:
        return _form("Say whose recording this is (trainee name).", 400, values)
    if len(values["trainee"]) > 120 or len(values["title"]) > 300:
        return _form("The trainee name (120) or title (300 characters) is too long.", 400, values)
    mode = values["channels"] or "mono"
    if mode not in CHANNEL_MODES:
        return _form("Choose how the channels are laid out.", 400, values)
    layout = CHANNEL_MODES[mode][1]
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=get_store().audio_dir("uploads"))
    os.close(fd)
    try:
        upload.save(tmp)
        try:
            stereo = StereoLayout.parse(layout) if layout else None
            call = _transcribe(tmp, stereo)
            words = call.side("agent") or call.side("mixed")
            analysis = analyze_file(tmp, stereo=stereo, baseline=latest_baseline(get_store(), values["trainee"]),
                                    transcript=words)
        except VoiceRehearseError as exc:
            message = str(exc).replace(tmp, upload.filename)
            return _form(f"Could not analyse “{upload.filename}”: {message}", 422, values)
        record = analysis_record(analysis)
        record["file"] = upload.filename
        record["call_transcript"] = call_record(call)
        session_id = add_session(get_store(), trainee=values["trainee"], scenario_id="import",
                                 scenario_title=values["title"] or f"Imported call: {upload.filename}",
                                 source="import", turns=[{"audio": tmp, "record": record}],
                                 note=f"Imported from {upload.filename} ({CHANNEL_MODES[mode][0]})")
    finally:
        Path(tmp).unlink(missing_ok=True)
    return redirect(url_for("replay.session_page", session_id=session_id), 303)
