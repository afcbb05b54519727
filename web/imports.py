"""Import a call recording for review: upload → :func:`voicerehearse.importing.import_call` (the same path as
``voicerehearse import``: transcribe, analyse, redact numbers, store) → the session page."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from voicerehearse.errors import VoiceRehearseError
from voicerehearse.web.auth import require_coach
from voicerehearse.web.db import get_store

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


@bp.get("/import")
def import_form():
    require_coach()
    return _form()


@bp.post("/import")
def import_recording():
    from voicerehearse.importing import BASELINE_RULES, import_call
    from voicerehearse.pipeline import StereoLayout
    from voicerehearse.transcribe.engine import choose_engine

    require_coach()
    values = {k: request.form.get(k, "").strip() for k in ("trainee", "title", "channels", "baseline")}
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
    rule = values["baseline"] or "latest"
    if rule not in BASELINE_RULES:
        return _form("Choose what the voice is compared with.", 400, values)
    layout = CHANNEL_MODES[mode][1]
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=get_store().audio_dir("uploads"))
    os.close(fd)
    if current_app.config["BACKGROUND_IMPORTS"]:  # queue it and answer at once; a worker stores it
        from voicerehearse import jobs

        upload.save(tmp)
        job_id = jobs.enqueue(get_store(), "import", {
            "audio": tmp, "trainee": values["trainee"], "title": values["title"] or None,
            "display_name": upload.filename, "stereo": layout, "engine": "auto", "baseline": rule,
            "note": f"Imported from {upload.filename} ({CHANNEL_MODES[mode][0]})"})
        return redirect(url_for("jobs.job_page", job_id=job_id), 303)
    try:
        upload.save(tmp)
        settings = current_app.config["SETTINGS"]
        try:
            result = import_call(get_store(), tmp, trainee=values["trainee"], title=values["title"] or None,
                                 display_name=upload.filename, stereo=StereoLayout.parse(layout) if layout else None,
                                 engine=choose_engine("auto", settings=settings), settings=settings, baseline=rule,
                                 note=f"Imported from {upload.filename} ({CHANNEL_MODES[mode][0]})")
        except VoiceRehearseError as exc:
            message = str(exc).replace(tmp, upload.filename)
            return _form(f"Could not analyse “{upload.filename}”: {message}", 422, values)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return redirect(url_for("replay.session_page", session_id=result.session_id), 303)
