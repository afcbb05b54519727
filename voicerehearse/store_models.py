"""The store's tables (SQLAlchemy models): trainees, calibration reads, sessions and their turns, logins,
comments, reviews, scorecards, replies and background jobs. :mod:`voicerehearse.store` opens the database.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON}


class Trainee(Base):
    __tablename__ = "trainees"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    sessions: Mapped[list["PracticeSession"]] = relationship(back_populates="trainee", order_by="PracticeSession.started_at")
    baselines: Mapped[list["BaselineRecord"]] = relationship(back_populates="trainee", order_by="BaselineRecord.created_at")


class BaselineRecord(Base):
    """A calibration read and its measures (the fields of :class:`voicerehearse.types.Baseline`)."""

    __tablename__ = "baselines"
    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"))
    audio_path: Mapped[str] = mapped_column(String(500))
    measures: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    trainee: Mapped[Trainee] = relationship(back_populates="baselines")

    def to_baseline(self):
        """The :class:`voicerehearse.types.Baseline` the analysis compares against."""
        from voicerehearse.types import Baseline

        return Baseline(**self.measures, source=Path(self.audio_path).name)

    @staticmethod
    def measures_of(baseline) -> dict[str, Any]:
        from voicerehearse.types import BASELINE_MEASURES

        return {k: getattr(baseline, k) for k in BASELINE_MEASURES}


class PracticeSession(Base):
    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"))
    scenario_id: Mapped[str] = mapped_column(String(120))
    scenario_title: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(20), default="practice")  # practice | import | demo
    status: Mapped[str] = mapped_column(String(20), default="recording")  # recording | complete | recovered | stopped
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    baseline_id: Mapped[int | None] = mapped_column(ForeignKey("baselines.id"), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # ---- session summary: what the lists show, so they never read the turns or their analysis JSON. Kept by
    # refresh_session_summaries on every flush that writes turns or comments, backfilled when the store opens
    # (SUMMARY_COLUMNS below; all nullable, so older databases get them by migration 0002).
    turn_count: Mapped[int | None] = mapped_column(Integer, nullable=True)  # turn rows, each take its own row
    aggressive_count: Mapped[int | None] = mapped_column(Integer, nullable=True)  # turns with that verdict label
    passive_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    assertive_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    verdict: Mapped[str | None] = mapped_column(String(20), nullable=True)  # majority label; ties: worst style
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)  # recorded seconds over all turns
    mean_wpm: Mapped[float | None] = mapped_column(Float, nullable=True)  # means over the turns that have one
    mean_loudness_delta_db: Mapped[float | None] = mapped_column(Float, nullable=True)
    mean_pitch_delta_st: Mapped[float | None] = mapped_column(Float, nullable=True)
    mean_latency_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    interruption_count: Mapped[int | None] = mapped_column(Integer, nullable=True)  # turns that cut in
    comment_count: Mapped[int | None] = mapped_column(Integer, nullable=True)  # coach comments on its turns
    helpful_phrase_count: Mapped[int | None] = mapped_column(Integer, nullable=True)  # over its turns (0005)
    problem_phrase_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    summary_version: Mapped[int | None] = mapped_column(Integer, nullable=True)  # SUMMARY_VERSION when computed
    trainee: Mapped[Trainee] = relationship(back_populates="sessions")
    turns: Mapped[list["Turn"]] = relationship(back_populates="session", order_by="Turn.index",
                                               cascade="all, delete-orphan")
    __table_args__ = (Index("ix_sessions_trainee_started", "trainee_id", "started_at"),)


class Turn(Base):
    """One customer line and the trainee's reply: the recording and its analysis record (schema JSON)."""

    __tablename__ = "turns"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    index: Mapped[int] = mapped_column(Integer)
    customer_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    audio_path: Mapped[str] = mapped_column(String(500))  # relative to the data directory
    prompt_start_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    analysis: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # denormalised from the analysis for progress queries
    label: Mapped[str | None] = mapped_column(String(20), nullable=True)
    words_per_minute: Mapped[float | None] = mapped_column(Float, nullable=True)
    loudness_delta_db: Mapped[float | None] = mapped_column(Float, nullable=True)
    pitch_delta_st: Mapped[float | None] = mapped_column(Float, nullable=True)
    response_latency_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    interrupted: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    helpful_phrases: Mapped[int | None] = mapped_column(Integer, nullable=True)  # assertive language cues
    problem_phrases: Mapped[int | None] = mapped_column(Integer, nullable=True)  # aggressive or passive ones
    # the coach's own call of the delivery (a style, or None), who made it and when (0006): the labels a team's
    # verdict is measured and refitted against (voicerehearse.team_verdict)
    coach_label: Mapped[str | None] = mapped_column(String(20), nullable=True)
    coach_label_by: Mapped[str | None] = mapped_column(String(120), nullable=True)  # the coach's login name
    coach_label_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    session: Mapped[PracticeSession] = relationship(back_populates="turns")
    comments: Mapped[list["Comment"]] = relationship(back_populates="turn", order_by="Comment.start_s",
                                                     cascade="all, delete-orphan")

    def set_analysis(self, record: dict[str, Any]) -> None:
        """Store an analysis record (schema voicerehearse.analysis/1) and its headline figures."""
        self.analysis = record
        self.duration_s = record.get("duration_s")
        delivery = record.get("delivery") or {}
        self.label = delivery.get("label")
        self.words_per_minute = (record.get("pace") or {}).get("words_per_minute")
        tone = record.get("tone") or {}
        self.loudness_delta_db = tone.get("loudness_delta_db")
        self.pitch_delta_st = tone.get("pitch_delta_st")
        turn = record.get("turn") or {}
        self.response_latency_s = turn.get("response_latency_s")
        self.interrupted = turn.get("interrupted")
        self.helpful_phrases, self.problem_phrases = phrase_counts(record)


class User(Base):
    """A login: coaches see every trainee; a trainee account (``trainee_id`` set) sees only its own sessions."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20), default="coach")  # coach | trainee
    trainee_id: Mapped[int | None] = mapped_column(ForeignKey("trainees.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    # raised by logout and password changes: a login cookie carries the version it was issued with
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class Comment(Base):
    """A coach's comment pinned to a moment (start) or a span (start..end) of a turn's recording."""

    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)
    turn: Mapped[Turn] = relationship(back_populates="comments")




class SessionReview(Base):
    """Where a session's review stands: new -> reviewed (a coach) -> shared (with the agent) -> acknowledged or
    disputed (the agent, a dispute with its reason). No row: "new"."""

    __tablename__ = "session_reviews"
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="new")
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # the agent's reason for a dispute
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)


class ScorecardAnswers(Base):
    """One coach's answers to the manual criteria of a session's rubric (criterion id -> bool or 1-5)."""

    __tablename__ = "scorecard_answers"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    coach_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    rubric: Mapped[str] = mapped_column(String(120))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    score_pct: Mapped[float | None] = mapped_column(Float, nullable=True)  # the whole card's score when saved
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)
    __table_args__ = (Index("ux_scorecard_answers_session_coach", "session_id", "coach_id", unique=True),)


class CommentReply(Base):
    """A reply to a coach's comment (by the agent or a coach)."""

    __tablename__ = "comment_replies"
    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    __table_args__ = (Index("ix_comment_replies_comment", "comment_id"),)


class JobRow(Base):
    """A background job (see :mod:`voicerehearse.jobs`): leased by one worker at a time."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    worker: Mapped[str | None] = mapped_column(String(120), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    __table_args__ = (Index("ix_jobs_status", "status"),)

def phrase_counts(record: dict[str, Any]) -> tuple[int | None, int | None]:
    """(helpful, problem) language cues of an analysis record: assertive ones, and aggressive or passive ones.
    None for both when there are no words to trust: no transcript, or the rough fallback's (never evidence).

    >>> phrase_counts({"transcript": {"words": [], "rough": False}, "cues": [{"style": "assertive"},
    ...                {"style": "passive"}, {"style": "aggressive"}]})
    (1, 2)
    >>> phrase_counts({"transcript": {"rough": True}, "cues": [{"style": "assertive"}]})
    (None, None)
    """
    transcript = record.get("transcript")
    if not isinstance(transcript, dict) or transcript.get("rough"):
        return None, None
    styles = [c.get("style") for c in record.get("cues") or () if isinstance(c, dict)]
    return styles.count("assertive"), sum(s in ("aggressive", "passive") for s in styles)
