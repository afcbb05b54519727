"""Audio of a turn, with HTTP Range (206) so the player can seek; nothing outside the data directory."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from flask import Blueprint, abort, send_file

from voicerehearse.store import StoreError
from voicerehearse.web.auth import get_turn_or_404
from voicerehearse.web.db import get_store

bp = Blueprint("media", __name__, url_prefix="/media")

AUDIO_TYPES = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg",
               ".opus": "audio/ogg", ".m4a": "audio/mp4"}


def stored_audio(relative: str) -> Path | None:
    """The file of a stored recording, or None when the path leaves the audio folder (``<data_dir>/audio`` or
    the ``audio_dir`` setting's) or is not a file."""
    store = get_store()
    try:
        path = store.resolve_audio(relative)
    except StoreError:
        return None
    if not path.is_relative_to(store.audio_root) or not path.is_file():
        return None
    return path


def serve_audio(relative: str):
    """Send a stored audio file by its data-dir-relative path; 404 for anything outside ``<data_dir>/audio``."""
    path = stored_audio(relative)
    if path is None:
        abort(404, description="No such recording.")
    mimetype = AUDIO_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    # conditional=True: werkzeug answers Range with 206 + Content-Range, and 416 when unsatisfiable
    resp = send_file(path, mimetype=mimetype, conditional=True, etag=True, max_age=0)
    resp.headers["Accept-Ranges"] = "bytes"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.get("/turns/<int:turn_id>/audio")
def turn_audio(turn_id: int):
    return serve_audio(get_turn_or_404(turn_id).audio_path)
