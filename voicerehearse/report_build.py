"""A stored practice session (:mod:`voicerehearse.store` rows) as a :class:`SessionReport`: its turns parsed once,
its comments with their authors and replies, and the review (top moments, card, scorecard, status).

``settings`` come from the edge (the web app's ``SETTINGS``, the CLI's loaded settings); nothing here reads the
config file.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import object_session

from voicerehearse.errors import ConfigError
from voicerehearse.report_model import CommentView, ReportError, SessionReport, turn_report
from voicerehearse.review import practice_card, rubric_for, top_moments
from voicerehearse.scorecard import score
from voicerehearse.settings import DEFAULTS, Settings
from voicerehearse.store import CommentReply, PracticeSession, ScorecardAnswers, SessionReview, User


def comment_view(comment, authors: dict[int, str] | None = None, replies=()) -> CommentView:
    """A :class:`voicerehearse.store.Comment` row as a view; ``authors`` maps user ids to names; ``replies``:
    its :class:`voicerehearse.store.CommentReply` rows."""
    authors = authors or {}
    author = authors.get(comment.author_id) if comment.author_id is not None else None
    return CommentView(comment.id, comment.turn_id, float(comment.start_s),
                       None if comment.end_s is None else float(comment.end_s), comment.text, author,
                       comment.updated_at, tuple((authors.get(r.author_id), r.text) for r in replies))


def replies_of(db, comment_ids) -> dict[int, list]:
    """Replies per comment id, oldest first (one query)."""
    out: dict[int, list] = {}
    ids = list(comment_ids)
    if db is None or not ids:
        return out
    for reply in db.scalars(select(CommentReply).where(CommentReply.comment_id.in_(ids))
                            .order_by(CommentReply.created_at, CommentReply.id)):
        out.setdefault(reply.comment_id, []).append(reply)
    return out


def author_names(db) -> dict[int, str]:
    return dict(db.execute(select(User.id, User.username)).all())


def session_report(session: PracticeSession, coach_id: int | None = None, *,
                   settings: Settings = DEFAULTS) -> SessionReport:
    """Build the report of a :class:`voicerehearse.store.PracticeSession` (inside an open DB session); the
    scorecard carries ``coach_id``'s answers when that coach saved some, else the latest saved. ``settings``:
    the cards' thresholds (dead air, talk-overs)."""
    db = object_session(session)
    authors = author_names(db) if db is not None else {}
    replies = replies_of(db, [c.id for t in session.turns for c in t.comments])
    turns = tuple(
        turn_report(t.id, t.index, t.customer_text, t.audio_path, t.analysis,
                    tuple(comment_view(c, authors, replies.get(c.id, ())) for c in t.comments), settings=settings,
                    coach_label=t.coach_label, coach_label_by=t.coach_label_by)
        for t in session.turns
    )
    return _reviewed(SessionReport(id=session.id, trainee=session.trainee.name, scenario_id=session.scenario_id,
                                   scenario_title=session.scenario_title, source=session.source,
                                   started_at=session.started_at, turns=turns, status=session.status,
                                   note=session.note), db, coach_id, settings)


def _reviewed(report: SessionReport, db, coach_id: int | None, settings: Settings) -> SessionReport:
    """The report with its top moments, call card, scorecard and review status."""
    analyses = [t.analysis for t in report.turns]
    moments = top_moments([(t.id, t.index, t.analysis) for t in report.turns])
    card = next((t.card for t in report.turns if t.card is not None), None)
    if card is None and report.source != "import":
        card = practice_card(analyses, settings)
    status, reason, answers = "new", None, {}
    if db is not None:
        review = db.get(SessionReview, report.id)
        if review is not None:
            status, reason = review.status, review.reason
        rows = db.scalars(select(ScorecardAnswers).where(ScorecardAnswers.session_id == report.id)
                          .order_by(ScorecardAnswers.updated_at.desc(), ScorecardAnswers.id.desc())).all()
        mine = [r for r in rows if coach_id is not None and r.coach_id == coach_id]
        if mine or rows:
            answers = dict((mine or rows)[0].answers or {})
    try:
        rubric = rubric_for(report.scenario_id)
        card_score = score(rubric, [a for a in analyses if a is not None], answers)
    except ConfigError:  # a rubric file that does not load (or answers the rubric no longer takes)
        card_score = None
    return replace(report, moments=moments, card=card, scorecard=card_score, review_status=status,
                   review_reason=reason)


def load_report(store, session_id: int, *, settings: Settings = DEFAULTS) -> SessionReport:
    """The report of session ``session_id`` in ``store``; ReportError when there is no such session."""
    with store.session() as db:
        session = db.get(PracticeSession, session_id)
        if session is None:
            raise ReportError(f"no session {session_id} in {store.data_dir}")
        return session_report(session, settings=settings)
