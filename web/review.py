"""The review workflow of a session: its status, the coach's scorecard and replies to comments.

- status: a coach marks a session reviewed or shares it with the agent; the agent (a trainee login that sees the
  session) acknowledges it or disputes it with a reason;
- scorecard: coaches only fill the manual criteria of the session's rubric (each coach's answers are kept apart);
- replies: anyone who sees the session (the agent included) can reply to a comment;
- the coach's call: a coach says which style a turn's delivery really was (or clears it), the label the team's
  verdict is measured and refitted against (``voicerehearse verdict``).

Forms answer with a redirect to the session page (303); JSON clients get JSON.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, abort, current_app, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from voicerehearse.errors import ConfigError
from voicerehearse.labels import STYLES
from voicerehearse.report import session_report
from voicerehearse.report_model import analysis_of
from voicerehearse.review import manual_answers, rubric_for
from voicerehearse.scorecard import calibrate
from voicerehearse.store import Comment, CommentReply, ScorecardAnswers, SessionReview, User, valid_id
from voicerehearse.web.auth import get_session_or_404, get_turn_or_404, is_coach, require_coach
from voicerehearse.web.db import get_db, get_store
from voicerehearse.web.errors import wants_json

bp = Blueprint("review", __name__)

COACH_STATUSES = ("new", "reviewed", "shared")
AGENT_STATUSES = ("acknowledged", "disputed")
MAX_TEXT = 2000
DIFFER_ROWS = 100  # turns where the verdict and the coach differ, listed on the verdict page (newest first)


def _payload() -> dict:
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            abort(400, description="Send a JSON object.")
        return body
    return request.form.to_dict()


def _done(session_id: int, body: dict, status: int = 200):
    if wants_json() or request.is_json:
        return jsonify(body), status
    return redirect(url_for("replay.session_page", session_id=session_id) + body.get("anchor", ""), 303)


@bp.post("/sessions/<int:session_id>/status")
def set_status(session_id: int):
    practice = get_session_or_404(session_id)
    body = _payload()
    status = str(body.get("status") or "")
    allowed = COACH_STATUSES if is_coach() else AGENT_STATUSES
    if status not in COACH_STATUSES + AGENT_STATUSES:
        abort(400, description=f"Unknown status {status!r}.")
    if status not in allowed:
        abort(403, description="Only a coach can mark a session reviewed or shared." if status in COACH_STATUSES
              else "Only the agent can acknowledge or dispute their review.")
    reason = str(body.get("reason") or "").strip() or None
    if status == "disputed" and not reason:
        abort(400, description="Say why you dispute the review.")
    if reason and len(reason) > MAX_TEXT:
        abort(400, description=f"A reason holds at most {MAX_TEXT} characters.")
    db = get_db()
    review = db.get(SessionReview, practice.id)
    if review is None:
        review = SessionReview(session_id=practice.id)
        db.add(review)
    review.status = status
    review.reason = reason if status == "disputed" else None
    review.updated_by = g.user.id
    review.updated_at = datetime.now(timezone.utc)
    db.commit()
    return _done(practice.id, {"status": status, "reason": review.reason, "anchor": "#review"})


@bp.get("/api/sessions/<int:session_id>/scorecard")
def get_scorecard(session_id: int):
    practice = get_session_or_404(session_id)
    card = session_report(practice, coach_id=g.user.id, settings=current_app.config["SETTINGS"]).scorecard
    if card is None:
        abort(404, description="This session has no scorecard (its rubric does not load).")
    return jsonify(_card_json(card))


def _card_json(card) -> dict:
    return {"rubric": card.rubric.name, "title": card.rubric.title, "pass_mark_pct": card.rubric.pass_mark_pct,
            "score_pct": card.score_pct, "complete": card.complete, "passed": card.passed,
            "criteria": [{"id": r.criterion.id, "title": r.criterion.title, "kind": r.criterion.kind,
                          "weight": r.criterion.weight, "points": r.points, "rationale": r.rationale,
                          "turn": r.turn, "start": r.start, "end": r.end} for r in card.results]}


@bp.post("/sessions/<int:session_id>/scorecard")
def save_scorecard(session_id: int):
    require_coach()
    practice = get_session_or_404(session_id)
    body = _payload()
    body.pop("csrf_token", None)
    answers_in = body.get("answers", body) if request.is_json else body
    try:
        rubric = rubric_for(practice.scenario_id)
        answers = manual_answers(rubric, answers_in)
    except ConfigError as exc:
        abort(400, description=str(exc))
    db = get_db()
    row = db.scalar(select(ScorecardAnswers).where(ScorecardAnswers.session_id == practice.id,
                                                   ScorecardAnswers.coach_id == g.user.id))
    if row is None:
        row = ScorecardAnswers(session_id=practice.id, coach_id=g.user.id, rubric=rubric.name, answers={})
        db.add(row)
    row.rubric, row.answers = rubric.name, answers
    row.updated_at = datetime.now(timezone.utc)
    db.flush()
    card = session_report(practice, coach_id=g.user.id, settings=current_app.config["SETTINGS"]).scorecard
    row.score_pct = card.score_pct if card is not None else None
    db.commit()
    return _done(practice.id, {**(_card_json(card) if card else {}), "anchor": "#scorecard"})


@bp.post("/turns/<int:turn_id>/coach-label")
def set_coach_label(turn_id: int):
    """Coaches only: ``label`` = the style the delivery really was, or empty to clear the call."""
    require_coach()
    turn = get_turn_or_404(turn_id)
    label = str(_payload().get("label") or "").strip() or None
    if label is not None and label not in STYLES:
        abort(400, description=f"Unknown style {label!r}: say {', '.join(STYLES)}, or nothing to clear the call.")
    turn.coach_label = label
    turn.coach_label_by = g.user.username if label else None
    turn.coach_label_at = datetime.now(timezone.utc) if label else None
    get_db().commit()
    return _done(turn.session_id, {"turn": turn.id, "coach_label": label, "verdict": turn.label,
                                   "anchor": f"#turn-{turn.id}"})


@bp.get("/verdict")
def verdict_page():
    """Coaches only: the verdict against the coaches' own calls, per style and trainee, and where they differ."""
    require_coach()
    from voicerehearse.team_verdict import called_turns, team_view

    settings = current_app.config["SETTINGS"]
    view = team_view(called_turns(get_store()), settings)
    return render_template("verdict.html", view=view, differ=view.differ[:DIFFER_ROWS], shown_rows=DIFFER_ROWS,
                           custom_model=settings.delivery_model, settings=settings)


@bp.get("/sessions/<int:session_id>/calibration")
def calibration(session_id: int):
    """Coaches only: every coach's scorecard of the session side by side, with where they agree."""
    require_coach()
    practice = get_session_or_404(session_id)
    db = get_db()
    rows = db.execute(select(ScorecardAnswers, User.username)
                      .outerjoin(User, User.id == ScorecardAnswers.coach_id)
                      .where(ScorecardAnswers.session_id == practice.id)
                      .order_by(ScorecardAnswers.updated_at, ScorecardAnswers.id)).all()
    answers = {(name or f"removed coach {row.id}"): dict(row.answers or {}) for row, name in rows}
    try:
        rubric = rubric_for(practice.scenario_id)
    except ConfigError as exc:
        abort(404, description=f"This session has no scorecard: {exc}")
    analyses = (analysis_of(t.analysis)[0] for t in practice.turns)  # as the report parses them
    turns = [a for a in analyses if a is not None]  # not analysed, or an error record: nothing to judge
    try:
        found = calibrate(rubric, turns, answers,
                          tolerance_points=current_app.config["SETTINGS"].calibration_scale_tolerance_points)
    except ConfigError as exc:  # answers the rubric no longer takes
        abort(409, description=f"The saved scorecards do not fit the rubric any more: {exc}")
    return render_template("calibration.html", practice=practice, rubric=rubric, calibration=found)


@bp.post("/api/comments/<int:comment_id>/replies")
def reply(comment_id: int):
    comment = get_db().get(Comment, comment_id) if valid_id(comment_id) else None
    if comment is None:
        abort(404, description=f"No comment {comment_id}.")
    get_turn_or_404(comment.turn_id)  # 404 unless this login sees the session
    body = request.get_json(silent=True)
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        abort(400, description="A reply needs some text.")
    if len(text) > MAX_TEXT:
        abort(400, description=f"A reply holds at most {MAX_TEXT} characters.")
    db = get_db()
    row = CommentReply(comment_id=comment.id, author_id=g.user.id, text=text.strip())
    db.add(row)
    db.commit()
    return jsonify(reply={"id": row.id, "author": g.user.username, "text": row.text}), 201
