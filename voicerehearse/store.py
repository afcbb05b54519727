"""Sessions, turns, baselines, comments and users in a real database (SQLite by default, WAL mode).

Audio files live under ``<data_dir>/audio``, or in the folder the ``audio_dir`` setting names (one folder several
workstations share); the database stores them as ``audio/<path in that folder>``, and :meth:`Store.resolve_audio`
refuses any path that would leave it.

Safe with many writers at once (several `import` processes, the web server's threads): the schema is brought to
the newest migration (voicerehearse/migrations, Alembic) once, under a lock — a file lock in the data directory
for SQLite, an advisory lock for PostgreSQL — and :func:`get_or_create_trainee` is idempotent
(``INSERT ... ON CONFLICT DO NOTHING``).

>>> import tempfile
>>> store = Store.open(tempfile.mkdtemp())
>>> with store.session() as db:
...     t = get_or_create_trainee(db, "Dana")
...     db.commit()
...     t.name
'Dana'
"""

from __future__ import annotations

import importlib.util
import os
import zlib
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, and_, case,
                        create_engine, event, func, or_, select, text, true, update)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from voicerehearse.errors import VoiceRehearseError
from voicerehearse.labels import STYLES

DATA_DIR_ENV = "VOICEREHEARSE_DATA_DIR"
SCHEMA_LOCK_FILE = ".schema.lock"  # in the data directory: one process at a time creates / upgrades the schema
SQLITE_BUSY_TIMEOUT_S = 30.0  # a writer waits this long for another writer's transaction before giving up
MAX_ID = 2**31 - 1  # largest row id every backend stores (PostgreSQL's INTEGER keys); larger ids name no row


class StoreError(VoiceRehearseError):
    """The database or the data directory cannot be used."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def default_data_dir(settings=None) -> Path:
    """``data_dir`` setting, else ``$VOICEREHEARSE_DATA_DIR``, else the platform's user data directory."""
    configured = getattr(settings, "data_dir", "") if settings is not None else ""
    if configured:
        return Path(configured).expanduser()
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("voicerehearse"))


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
        return {k: getattr(baseline, k) for k in
                ("loudness_db", "pitch_median_hz", "pitch_sd_st", "alpha_ratio_db", "articulation_rate")}


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


# --------------------------------------------------------------------------- session summaries

SUMMARY_VERSION = 2  # raise when a summary's definition changes: older rows are recomputed when the store opens
SUMMARY_COLUMNS = ("turn_count", "aggressive_count", "passive_count", "assertive_count", "verdict", "duration_s",
                   "mean_wpm", "mean_loudness_delta_db", "mean_pitch_delta_st", "mean_latency_s",
                   "interruption_count", "comment_count", "helpful_phrase_count", "problem_phrase_count",
                   "summary_version")


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


def _summary_figures() -> dict:
    """SET clauses computing each session's figures from its turns and comments (correlated aggregates)."""
    s, t, c = PracticeSession.__table__, Turn.__table__, Comment.__table__

    def of_turns(expr):
        return select(expr).where(t.c.session_id == s.c.id).scalar_subquery()

    return {
        "turn_count": of_turns(func.count(t.c.id)),
        **{f"{style}_count": of_turns(func.count(case((t.c.label == style, 1))))
           for style in STYLES},
        "duration_s": of_turns(func.sum(t.c.duration_s)),
        "mean_wpm": of_turns(func.avg(t.c.words_per_minute)),
        "mean_loudness_delta_db": of_turns(func.avg(t.c.loudness_delta_db)),
        "mean_pitch_delta_st": of_turns(func.avg(t.c.pitch_delta_st)),
        "mean_latency_s": of_turns(func.avg(t.c.response_latency_s)),
        "interruption_count": of_turns(func.count(case((t.c.interrupted == true(), 1)))),
        "helpful_phrase_count": of_turns(func.sum(t.c.helpful_phrases)),
        "problem_phrase_count": of_turns(func.sum(t.c.problem_phrases)),
        "comment_count": select(func.count(c.c.id)).join(t, c.c.turn_id == t.c.id)
                         .where(t.c.session_id == s.c.id).scalar_subquery(),
    }


def _majority_verdict():
    """The most frequent label; a tie goes to the worst style (aggressive, then passive); None without labels."""
    s = PracticeSession.__table__
    a, p, k = s.c.aggressive_count, s.c.passive_count, s.c.assertive_count
    return case((and_(a > 0, a >= p, a >= k), "aggressive"), (and_(p > 0, p >= k), "passive"), (k > 0, "assertive"),
                else_=None)


def refresh_session_summaries(conn: Connection, where) -> None:
    """Recompute the summary columns of the sessions matching ``where`` (a clause on the sessions table): two
    UPDATE statements whatever the number of sessions or turns."""
    s = PracticeSession.__table__
    if conn.dialect.name != "sqlite":  # SQLite has one writer at a time; elsewhere lock the rows first, so the
        # UPDATEs (each a new snapshot) count turns and comments another transaction committed meanwhile
        conn.execute(select(s.c.id).where(where).with_for_update())
    conn.execute(update(s).where(where).values(_summary_figures()))
    conn.execute(update(s).where(where).values(verdict=_majority_verdict(), summary_version=SUMMARY_VERSION))


def _stale_summaries():
    s = PracticeSession.__table__
    return or_(s.c.summary_version.is_(None), s.c.summary_version < SUMMARY_VERSION)


def _backfill_session_summaries(conn: Connection) -> None:
    """On open: the lists' index, and summaries for sessions stored before them (or by an older version)."""
    for index in PracticeSession.__table__.indexes:  # create_all makes indexes only with their table
        index.create(conn, checkfirst=True)
    if conn.execute(select(PracticeSession.__table__.c.id).where(_stale_summaries()).limit(1)).first() is not None:
        refresh_session_summaries(conn, _stale_summaries())


def _touched_sessions(db: Session) -> set[int]:
    """Sessions whose turns or comments this flush writes (new, changed or deleted), and new sessions."""
    ids, turn_ids = set(), set()
    for obj in (*db.new, *db.dirty, *db.deleted):
        if isinstance(obj, Turn) and obj.session_id is not None:
            ids.add(obj.session_id)
        elif isinstance(obj, Comment) and obj.turn_id is not None:
            turn_ids.add(obj.turn_id)
        elif isinstance(obj, PracticeSession) and obj in db.new:
            ids.add(obj.id)
    if turn_ids:
        ids.update(db.connection().scalars(select(Turn.session_id).where(Turn.id.in_(turn_ids))))
    return ids


@event.listens_for(Session, "after_flush")
def _summaries_follow_writes(db: Session, _context) -> None:
    """Whoever writes turns or comments (a rehearsal, an import, the demo, a coach's comment), the session's
    summary is recomputed in the same transaction."""
    ids = _touched_sessions(db)
    if ids:
        refresh_session_summaries(db.connection(), PracticeSession.__table__.c.id.in_(ids))
        db.info.setdefault("voicerehearse.summaries", set()).update(ids)


@event.listens_for(Session, "after_flush_postexec")
def _expire_stale_summaries(db: Session, _context) -> None:
    """Loaded sessions read their new summary from the database on next access."""
    ids = db.info.pop("voicerehearse.summaries", None)
    if ids:
        for obj in list(db.identity_map.values()):
            if isinstance(obj, PracticeSession) and obj.id in ids:
                db.expire(obj, SUMMARY_COLUMNS)


def _shown(url: str) -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even a URL
        return "(unparsable database_url)"


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg") is not None:
        url = "postgresql+psycopg://" + url[len("postgresql://"):]  # psycopg 3 rather than the psycopg2 default
    try:
        return create_engine(url, pool_pre_ping=True)
    except ImportError as exc:
        raise StoreError(f"the database driver is not installed ({exc.name}); for PostgreSQL: "
                         "pip install 'psycopg[binary]'") from None


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (fcntl on POSIX, msvcrt on Windows), held for the block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            import fcntl
        except ImportError:  # Windows
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
        else:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _create_schema(engine: Engine) -> None:
    """Bring the database to the newest migration (creating it, or adopting one made before migrations), once,
    whoever races."""
    from voicerehearse import migrations

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # other servers may share the database: lock inside it
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                         {"key": zlib.crc32(b"voicerehearse.schema")})
        migrations.upgrade(conn)
        _backfill_session_summaries(conn)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Store:
    """The database, the data directory and the audio folder. One per process (or per app / test).

    Stored audio paths start with ``audio/`` and are resolved against :attr:`audio_root` — ``<data_dir>/audio``
    by default, or the ``audio_dir`` setting: one folder several workstations share (imports are named by their
    content there, see :mod:`voicerehearse.sessions`, so two machines storing the same take never clash).
    """

    def __init__(self, engine: Engine, data_dir: Path, audio_root: Path | None = None):
        self.engine = engine
        self.data_dir = data_dir
        self.audio_root = audio_root or data_dir / "audio"
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, data_dir: str | os.PathLike | None = None, url: str = "", settings=None,
             audio_dir: str | os.PathLike = "") -> "Store":
        """Open (and create) the store: ``url`` or the ``database_url`` setting, else SQLite in ``data_dir``;
        recordings in ``audio_dir`` or the ``audio_dir`` setting, else ``<data_dir>/audio``."""
        data_dir = Path(data_dir) if data_dir else default_data_dir(settings)
        url = url or (getattr(settings, "database_url", "") if settings is not None else "")
        audio_dir = audio_dir or (getattr(settings, "audio_dir", "") if settings is not None else "")
        try:  # recordings, transcripts and password hashes: readable by their owner only
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            (data_dir / "audio").mkdir(mode=0o700, exist_ok=True)
            for path in (data_dir, data_dir / "audio"):
                path.chmod(0o700)
        except OSError as exc:
            raise StoreError(f"cannot use data directory {data_dir}: {exc.strerror}") from None
        audio_root = None
        if audio_dir:  # a shared folder: its owner sets who may read it (a group of workstations), not us
            audio_root = Path(audio_dir).expanduser()
            try:
                audio_root.mkdir(mode=0o700, parents=True, exist_ok=True)
                audio_root = audio_root.resolve(strict=True)
            except OSError as exc:
                raise StoreError(f"cannot use audio folder {audio_dir}: {exc.strerror}") from None
        url = url or f"sqlite:///{data_dir / 'voicerehearse.db'}"
        try:
            engine = _engine(url)
            with _file_lock(data_dir / SCHEMA_LOCK_FILE):
                _create_schema(engine)
                if engine.dialect.name == "sqlite" and engine.url.database:
                    Path(engine.url.database).chmod(0o600)  # WAL/SHM files take the database's mode
        except StoreError:
            raise
        except Exception as exc:  # driver errors differ per backend
            raise StoreError(f"cannot open database {_shown(url)}: {exc}") from None
        return cls(engine, data_dir.resolve(), audio_root)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as db:
            yield db

    def audio_dir(self, *parts: str) -> Path:
        path = self.audio_root.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def relative(self, path: Path) -> str:
        """How a file in the audio folder (``audio/...``) or elsewhere under the data directory is stored."""
        path = Path(path).resolve()
        if path.is_relative_to(self.audio_root):
            return "audio/" + path.relative_to(self.audio_root).as_posix()
        return path.relative_to(self.data_dir).as_posix()

    def resolve_audio(self, relative: str) -> Path:
        """The absolute path of a stored audio file; StoreError if it would leave the audio folder (for
        ``audio/...``) or the data directory."""
        first, _, rest = relative.partition("/")
        if first == "audio" and rest:
            base, where, path = self.audio_root, "audio folder", self.audio_root / rest
        else:
            base, where, path = self.data_dir, "data directory", self.data_dir / relative
        path = path.resolve()
        if not path.is_relative_to(base):
            raise StoreError(f"refusing a path outside the {where}: {relative}")
        return path


def get_or_create_trainee(db: Session, name: str) -> Trainee:
    """The trainee called ``name`` (surrounding spaces ignored), created on first use; StoreError for a
    blank or over-long name. Safe when other processes create the same trainee at the same moment."""
    name = name.strip()
    if not 1 <= len(name) <= 120:
        raise StoreError("a trainee's name needs 1 to 120 characters")
    trainee = db.scalar(select(Trainee).where(Trainee.name == name))
    if trainee is not None:
        return trainee
    dialect = db.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        db.flush()  # pending objects first, in this transaction
        db.execute(insert(Trainee).values(name=name, created_at=_now()).on_conflict_do_nothing(index_elements=["name"]))
    else:  # any other backend: try, and on a unique clash roll back to the savepoint and read the winner's row
        try:
            with db.begin_nested():
                db.add(Trainee(name=name))
        except IntegrityError:
            pass
    trainee = db.scalar(select(Trainee).where(Trainee.name == name))
    if trainee is None:  # pragma: no cover - the row exists by now unless the database lost it
        raise StoreError(f"could not create trainee {name!r}")
    return trainee


def valid_id(value: int) -> bool:
    """Whether ``value`` can name a stored row (1 .. MAX_ID); anything else names nothing (a 404, not a crash)."""
    return 0 < value <= MAX_ID
