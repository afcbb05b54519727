"""Downloads of a session through the report writers registry (json, vtt, html, pdf)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, g

from voicerehearse.report import WRITERS, ReportError, session_report
from voicerehearse.web.auth import get_session_or_404

bp = Blueprint("exports", __name__)


@bp.get("/sessions/<int:session_id>/export.<fmt>")
def export(session_id: int, fmt: str):
    writer = WRITERS.get(fmt)
    if writer is None:
        abort(404, description=f"Unknown export format {fmt!r}; choose one of {', '.join(sorted(WRITERS))}.")
    settings = current_app.config["SETTINGS"]
    report = session_report(get_session_or_404(session_id), coach_id=g.user.id, settings=settings)
    try:
        body = writer.write(report, settings)
    except ReportError as exc:  # e.g. the PDF renderer is not installed on this server
        abort(501, description=str(exc))
    name = f"voicerehearse-session-{session_id}.{writer.extension}"
    return Response(body, mimetype=writer.mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
