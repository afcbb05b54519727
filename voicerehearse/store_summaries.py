"""Session summaries: the figures the lists show, kept on each session row and recomputed in the same
transaction whenever its turns or comments are written (SQLAlchemy flush events), backfilled when a store opens.
"""

from __future__ import annotations

from sqlalchemy import and_, case, event, func, or_, select, true, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from voicerehearse.labels import STYLES
from voicerehearse.store_models import Comment, PracticeSession, Turn


# --------------------------------------------------------------------------- session summaries

SUMMARY_VERSION = 2  # raise when a summary's definition changes: older rows are recomputed when the store opens
SUMMARY_COLUMNS = ("turn_count", "aggressive_count", "passive_count", "assertive_count", "verdict", "duration_s",
                   "mean_wpm", "mean_loudness_delta_db", "mean_pitch_delta_st", "mean_latency_s",
                   "interruption_count", "comment_count", "helpful_phrase_count", "problem_phrase_count",
                   "summary_version")



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
