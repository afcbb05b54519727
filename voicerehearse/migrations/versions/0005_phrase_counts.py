"""Language cues per turn and per session (helpful: assertive phrases; problem: aggressive or passive ones), so
the progress page can chart them from summary columns. The turns stored before get theirs from their analysis
JSON here, a batch at a time; the sessions' summaries follow when the store opens (SUMMARY_VERSION 2).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from voicerehearse.migrations import add_missing_columns

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH_ROWS = 500


def _counts(record) -> tuple[int | None, int | None]:
    """Frozen copy of store.phrase_counts as of this revision (a revision never imports the models)."""
    if isinstance(record, str):
        record = json.loads(record)
    transcript = (record or {}).get("transcript")
    if not isinstance(transcript, dict) or transcript.get("rough"):
        return None, None
    styles = [c.get("style") for c in record.get("cues") or () if isinstance(c, dict)]
    return styles.count("assertive"), sum(s in ("aggressive", "passive") for s in styles)


def upgrade() -> None:
    add_missing_columns("turns", sa.Column("helpful_phrases", sa.Integer, nullable=True),
                        sa.Column("problem_phrases", sa.Integer, nullable=True))
    add_missing_columns("sessions", sa.Column("helpful_phrase_count", sa.Integer, nullable=True),
                        sa.Column("problem_phrase_count", sa.Integer, nullable=True))
    conn = op.get_bind()
    turns = sa.table("turns", sa.column("id", sa.Integer), sa.column("analysis", sa.JSON),
                     sa.column("helpful_phrases", sa.Integer), sa.column("problem_phrases", sa.Integer))
    last = 0
    while True:
        rows = conn.execute(sa.select(turns.c.id, turns.c.analysis)
                            .where(turns.c.id > last, turns.c.analysis.is_not(None), turns.c.helpful_phrases.is_(None))
                            .order_by(turns.c.id).limit(BATCH_ROWS)).all()
        if not rows:
            break
        for turn_id, record in rows:
            helpful, problem = _counts(record)
            if helpful is not None:
                conn.execute(sa.update(turns).where(turns.c.id == turn_id)
                             .values(helpful_phrases=helpful, problem_phrases=problem))
        last = rows[-1][0]


def downgrade() -> None:
    raise NotImplementedError("the store does not go back to an earlier schema; restore a backup instead")
