"""Background jobs as the coach sees them: an uploaded call queued, running (with progress), done or failed."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template, url_for

from voicerehearse import jobs
from voicerehearse.web.auth import require_coach
from voicerehearse.web.db import get_store

bp = Blueprint("jobs", __name__)


def _job_or_404(job_id: int):
    require_coach()
    job = jobs.status(get_store(), job_id)
    if job is None:
        abort(404)
    return job


@bp.get("/jobs/<int:job_id>")
def job_page(job_id: int):
    """The job's state; reloads itself every 2 s until it is done (then goes to the session) or failed."""
    job = _job_or_404(job_id)
    if job.status == "done" and job.result and "session_id" in job.result:
        return redirect(url_for("replay.session_page", session_id=job.result["session_id"]), 303)
    return render_template("job.html", job=job, info=jobs.describe(job), name=job.payload.get("display_name"))


@bp.get("/jobs/<int:job_id>.json")
def job_json(job_id: int):
    return jsonify(jobs.describe(_job_or_404(job_id)))
